"""Issue 24, point 7: a CalDAV server that names the objects it stores itself, and answers a PUT
without a Location header. A real Radicale behind the loopback proxy (`FaultProxy.rename_creates`):
a create of `…/NAME.ics` is stored as `…/srv-<hash>.ics`, so blocktime's own href answers 404.

Before, a cut-short or move straight after booking failed ("event … is no longer on the calendar"),
and a DELETE answered 404 was taken as done while the event stayed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import Runner, write_config
from tests.helpers import backend, objects
from tests.proxy import FaultProxy
from tests.servers import Account, RadicaleServer

BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue,thu", "--count", "3")


@pytest.fixture
def renaming(radicale_server: RadicaleServer) -> Iterator[FaultProxy]:
    with FaultProxy(radicale_server.port, lifetime=120) as p:
        p.rename_creates = True
        yield p


@pytest.fixture
def cli(radicale: Account, renaming: FaultProxy, tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> Runner:
    return Runner(write_config(tmp_path / "config.toml", replace(radicale, url=renaming.url(radicale.url))), capsys)


def _names(account: Account) -> list[str]:
    b = backend(account)
    try:
        cal = next(c for c in b.calendars() if c.name == "blocktime")
        return sorted(o.href.rsplit("/", 1)[-1] for o in b.list_range(cal, datetime(2026, 1, 1, tzinfo=UTC),
                                                                       datetime(2027, 1, 1, tzinfo=UTC)))
    finally:
        b.close()


def test_cut_short_move_and_cancel_straight_after_booking(cli: Runner, radicale: Account) -> None:
    booked = cli.json(*BOOK)["booked"]
    assert len(booked) == 3
    assert all(n.startswith("srv-") for n in _names(radicale))  # the server chose every name
    # a cut-short before any sync: the block is found by its UID and shortened there
    got = cli.json("cut-short", "acme-1", "--ended-at", "12:40", now="2026-03-24T13:00")
    assert got["block"]["state"] == "cut_short"
    (short,) = [t for t in objects(radicale) if "UID:bt-acme-20260324T110000Z" in t]
    assert "DTEND:20260324T114000Z" in short
    # a move and a cancel, each still before any sync
    moved = cli.json("move", "acme-2", "--to", "2026-03-26 15:00", now="2026-03-24T13:05")
    assert moved["block"]["start"] == "2026-03-26T15:00:00+01:00"
    cli.json("cancel", "acme-3", now="2026-03-24T13:10")
    texts = objects(radicale)
    assert not [t for t in texts if "UID:bt-acme-20260331T100000Z" in t]  # really deleted
    assert len([t for t in texts if "BEGIN:VEVENT" in t and "hold-" not in t]) == 2
    # the daemon's pass agrees: nothing gone, nothing to repeat
    report = cli.json("daemon", "--once", now="2026-03-24T13:20")
    assert report["errors"] == [] and not any("deleted" in a for a in report["actions"]), report


def test_an_offer_s_holds_are_released_where_the_server_keeps_them(cli: Runner, radicale: Account) -> None:
    cli.json(*BOOK)
    offer = cli.json("cut-short", "acme-1", "--ended-at", "12:30", now="2026-03-24T13:00")["offer"]
    assert len([t for t in objects(radicale) if "hold-" in t]) == len(offer["options"]) == 3
    cli.json("decline", offer["id"], now="2026-03-24T13:05")
    assert not [t for t in objects(radicale) if "hold-" in t]  # each DELETE's 404 was checked by UID
