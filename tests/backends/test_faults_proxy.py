"""A faulty network between blocktime and a real Radicale (tests/proxy.py): dropped connections
(before the server saw the request, or after it handled it and the answer was lost), delays past
the timeout, 5xx and 429 answers, an outage. Requests that are safe to repeat are retried; what
still fails ends in one clear line; a re-run finishes the job with nothing lost and nothing doubled.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

import blocktime.backends.caldav as caldav_module
from blocktime.backends.caldav import CalDAVBackend
from tests.conftest import Runner, write_config
from tests.faults import assert_consistent, rows, server_objects
from tests.helpers import backend
from tests.proxy import Fault, FaultProxy
from tests.servers import Account, RadicaleServer

BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "mon-fri", "--count", "{n}")
WARSAW = ZoneInfo("Europe/Warsaw")


def book(n: int) -> tuple[str, ...]:
    return tuple(a.format(n=n) for a in BOOK)


class QuickBackend(CalDAVBackend):
    """The CalDAV backend with a 1 s timeout (a delayed answer times out fast) and short retry waits."""

    retry_delays = (0.02, 0.05, 0.1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "timeout": 1})


@pytest.fixture
def proxy(radicale_server: RadicaleServer) -> Iterator[FaultProxy]:
    with FaultProxy(radicale_server.port, lifetime=120) as p:
        yield p


@pytest.fixture
def net(radicale: Account, proxy: FaultProxy, tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    """The CLI talking to Radicale through the proxy; its calendar exists (so busy time is read)."""
    monkeypatch.setattr(caldav_module, "CalDAVBackend", QuickBackend)
    b = backend(radicale)
    b.ensure_calendar("blocktime")
    b.close()
    return Runner(write_config(tmp_path / "config.toml", replace(radicale, url=proxy.url(radicale.url))), capsys)


def _one_line_error(code: int, err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("blocktime: error:")]
    assert code == 1 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


FAULTS = {
    "PUT dropped before the server saw it": Fault("drop", method="PUT", times=2),
    "PUT handled, answer lost": Fault("drop", after=True, method="PUT", times=2),
    "PUT handled, answer late (timeout)": Fault("delay", seconds=1.5, after=True, method="PUT"),
    "PUT answered 503": Fault("status", status=503, method="PUT", times=2),
    "PUT handled, then 500": Fault("status", status=500, after=True, method="PUT", times=2),
    "REPORT answered 502 twice": Fault("status", status=502, method="REPORT", times=2),
    "PROPFIND dropped": Fault("drop", method="PROPFIND"),
    "GET answered 504": Fault("status", status=504, method="GET", times=3),
    "429 Retry-After": Fault("status", status=429, retry_after="1", times=1),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_a_transient_fault_is_retried_and_the_booking_completes(
    net: Runner, proxy: FaultProxy, radicale: Account, data_dir: Path, fault: Fault
) -> None:
    proxy.add(replace(fault))
    if fault.method == "GET":  # blocktime reads an object back only after a lost answer
        proxy.drop(method="PUT", after=True)
    doc = net.json(*book(6))
    assert len(doc["booked"]) == 6
    assert proxy.injected(), "the fault never fired"
    assert proxy.faults == []
    assert_consistent(radicale, data_dir, blocks=6)
    if fault.after:  # the repeat of a create that had landed was refused (If-None-Match), not doubled
        assert proxy.methods()["PUT"] > 6


def test_a_lost_answer_to_a_move_is_not_applied_twice(net: Runner, proxy: FaultProxy, radicale: Account,
                                                     data_dir: Path) -> None:
    """The If-Match PUT landed but its answer was lost: the repeat gets 412, the copy is re-read and
    the same change applied again: still SEQUENCE 1, one update per attendee."""
    net.json(*book(3))
    proxy.drop(method="PUT", after=True)
    code, _, err = net("move", "acme-2", "--to", "2026-03-25 15:00", "--json")
    assert code == 0, err
    (obj,) = [o for o in server_objects(radicale).values() if "20260325T110000Z" in o.href]
    ev = icalendar.Calendar.from_ical(obj.data).walk("VEVENT")[0]
    assert ev["DTSTART"].dt.astimezone(WARSAW).hour == 15 and int(ev["SEQUENCE"]) == 1
    assert rows(data_dir, "SELECT kind, sequence FROM mail_outbox WHERE kind='update'") == [("update", 1)]
    assert proxy.injected() == {"drop after": 1}
    assert_consistent(radicale, data_dir, blocks=3)


def test_a_lost_answer_to_a_cancel_is_fine(net: Runner, proxy: FaultProxy, radicale: Account, data_dir: Path) -> None:
    net.json(*book(3))
    proxy.drop(method="DELETE", after=True)
    code, _, err = net("cancel", "acme-3", "--json")
    assert code == 0, err
    assert proxy.injected() == {"drop after": 1}
    assert_consistent(radicale, data_dir, blocks=2)


def test_cut_short_and_offer_through_faults(net: Runner, proxy: FaultProxy, radicale: Account,
                                           data_dir: Path) -> None:
    net.json(*book(4))
    proxy.drop(method="PUT", after=True, times=2).fail(503, method="REPORT")
    cut = net.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")
    assert cut["block"]["state"] == "cut_short" and len(cut["offer"]["options"]) == 3
    assert proxy.faults == []
    assert_consistent(radicale, data_dir, blocks=4, holds=3)


CHAOS = (Fault("drop"), Fault("drop", after=True), Fault("status", status=500),
         Fault("status", status=503), Fault("status", status=503, after=True), Fault("delay", seconds=0.05))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chaos_then_a_calm_rerun_books_exactly_once(net: Runner, proxy: FaultProxy, radicale: Account,
                                                   data_dir: Path, seed: int) -> None:
    """Half the requests meet a fault: each run books or stops with one clear line; a calm
    re-run then completes, and the server holds exactly the 20 blocks, once each."""
    proxy.chaos(seed, 0.5, CHAOS)
    for _ in range(3):
        code, out, err = net(*book(20), "--json")
        if code == 0:
            assert len(json.loads(out)["booked"]) == 20
        else:
            line = _one_line_error(code, err)
            assert ("attempts" in line or "refused" in line or "failed" in line), line
    assert sum(proxy.injected().values()) >= 5
    proxy.calm()
    doc = net.json(*book(20))
    assert len(doc["booked"]) == 20
    assert_consistent(radicale, data_dir, blocks=20)
    assert len(server_objects(radicale)) == 20


def test_persistent_failure_is_one_line_and_a_rerun_finishes(net: Runner, proxy: FaultProxy, radicale: Account,
                                                             data_dir: Path) -> None:
    net.json(*book(2))
    proxy.fail(503, method="PUT", times=100)
    code, _, err = net(*book(6))
    line = _one_line_error(code, err)
    assert "failed PUT" in line and "HTTP 503, 4 attempts" in line and radicale.password not in err
    assert rows(data_dir, "SELECT COUNT(*) FROM blocks WHERE state='pending'")[0][0] >= 1
    proxy.calm()
    assert len(net.json(*book(6))["booked"]) == 6
    assert_consistent(radicale, data_dir, blocks=6)


def test_an_outage_longer_than_the_retries_is_one_line(net: Runner, proxy: FaultProxy, radicale: Account,
                                                       data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    real = CalDAVBackend.create

    def create(self: CalDAVBackend, href: str, data: str) -> str | None:
        proxy.outage(30)  # the server goes away in the middle of the run
        return real(self, href, data)

    monkeypatch.setattr(CalDAVBackend, "create", create)
    code, _, err = net(*book(3))
    line = _one_line_error(code, err)
    assert "cannot reach the calendar server" in line and "4 attempts" in line
    assert radicale.password not in err
    # down from the start: said at once (a wrong URL or a stopped server is no transient fault)
    started = time.monotonic()
    code, _, err = net(*book(3))
    assert "cannot reach the calendar server" in _one_line_error(code, err) and "attempts" not in err
    assert time.monotonic() - started < 1.5
    monkeypatch.setattr(CalDAVBackend, "create", real)
    proxy.resume()
    assert len(net.json(*book(3))["booked"]) == 3
    assert_consistent(radicale, data_dir, blocks=3)


def test_a_short_outage_mid_run_is_ridden_out(net: Runner, proxy: FaultProxy, radicale: Account,
                                             data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections refused (and open ones reset) for 0.3 s during the writes: the default waits
    (0.2, 0.5, 1 s) outlast it."""
    monkeypatch.setattr(QuickBackend, "retry_delays", CalDAVBackend.retry_delays)
    real = CalDAVBackend.create
    calls = {"n": 0}

    def create(self: CalDAVBackend, href: str, data: str) -> str | None:
        calls["n"] += 1
        if calls["n"] == 3:
            proxy.outage(0.3)
        return real(self, href, data)

    monkeypatch.setattr(CalDAVBackend, "create", create)
    code, out, err = net("--debug", *book(8), "--json")
    assert code == 0, err
    assert len(json.loads(out)["booked"]) == 8
    assert any("retrying in" in line and "ConnectionError" in line for line in err.splitlines())
    assert_consistent(radicale, data_dir, blocks=8)


def test_retry_after_is_honoured_and_capped(net: Runner, proxy: FaultProxy, data_dir: Path, radicale: Account,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setattr(QuickBackend, "retry_after_cap", 0.4)
    proxy.fail(429, retry_after="3600", method="PUT")
    started = time.monotonic()
    assert len(net.json(*book(1))["booked"]) == 1
    assert 0.4 <= time.monotonic() - started < 5
    assert proxy.injected() == {"429": 1}
    assert_consistent(radicale, data_dir, blocks=1)


def test_retries_are_logged_without_secrets(net: Runner, proxy: FaultProxy, radicale: Account) -> None:
    proxy.fail(503, method="PUT").drop(method="REPORT")
    code, _, err = net("--debug", *book(2))
    assert code == 0, err
    retries = [line for line in err.splitlines() if "retrying in" in line]
    assert any("PUT /" in line and "HTTP 503" in line for line in retries), err
    assert any("REPORT /" in line for line in retries), err
    assert radicale.password not in err


def test_requests_that_are_unsafe_to_repeat_go_out_once(proxy: FaultProxy, radicale: Account) -> None:
    """An unconditional PUT (Google's create has no If-None-Match) is not repeated after a 503."""
    b = QuickBackend(proxy.url(radicale.url), radicale.username, radicale.password)
    try:
        cal = b.ensure_calendar("blocktime")
        proxy.fail(503, method="PUT", times=3)
        r = b._put(b.href_for(cal, "x@test"), "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", {})
        assert r.status == 503 and proxy.injected() == {"503": 1}
    finally:
        b.close()


def test_a_403_on_one_write_does_not_end_the_daemon_pass(net: Runner, proxy: FaultProxy, radicale: Account,
                                                         data_dir: Path) -> None:
    """A 403 refuses one object (a precondition, a read-only calendar), not the login: the pass
    reports it and goes on (sync, inbox, outbox); it is no refused login that stops every pass."""
    net.json(*book(2))
    proxy.fail(403, method="PUT", times=100)
    code, _, err = net(*book(6))
    assert code != 0 and "forbidden" in err and "refused the username" not in err
    before = len(proxy.seen)
    code, out, err = net("daemon", "--once")
    assert "refused the username" not in out + err and "forbidden" in out + err
    assert "REPORT" in {s.method for s in proxy.seen[before:]}  # the pass went on to sync the calendar
