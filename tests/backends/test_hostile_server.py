"""A malicious or broken calendar server cannot hang, crash or trick blocktime: XML entity bombs
and external entities, huge, compressed or endless answers, broken calendar data inside a valid
multistatus, and a server that never answers. Every run ends in time, with one clean error line
or with the bad objects skipped and a warning — and never with a local file read into an event."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from blocktime.backends.caldav import CalDAVBackend
from tests.conftest import Runner, write_config
from tests.hostile import (
    CALENDARS,
    LAUGHS,
    Handler,
    HostileServer,
    Request,
    fixed,
    gzip_bomb,
    many_responses,
    multistatus,
    object_response,
    prop_response,
    running,
    send,
    streamed,
    trickle,
    xxe_doctype,
)

BOOK = ("book", "--client", "Acme", "--site", "HQ", "--start", "2026-03-24 12:00", "--length", "1h",
        "--every", "tue", "--count", "2", "--skip-conflicts")
SECRET = "LOCAL-FILE-CONTENT-7f3a9c"  # what an external entity would pull into an event


def _event(uid: str, start: str, summary: str = "Busy") -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20260301T000000Z\r\nDTSTART:{start}\r\nDURATION:PT1H\r\n"
            f"SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


@pytest.fixture
def hostile(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[
        tuple[Runner, list[HostileServer]]]:
    """(runner, servers): `serve(...)` starts a hostile server and points the config at it."""
    servers: list[HostileServer] = []
    runner = Runner(tmp_path / "config.toml", capsys)

    yield runner, servers
    for s in servers:
        s.stop()


def serve(hostile: tuple[Runner, list[HostileServer]], **kw: object) -> HostileServer:
    runner, servers = hostile
    srv = HostileServer(**kw).start()  # type: ignore[arg-type]
    servers.append(srv)
    write_config(runner.config, None, calendar={"url": srv.url, "username": "anna", "password": "Hostile-Pw-1"})
    return srv


def _fails_cleanly(runner: Runner, *args: str, within: float, says: str = "") -> str:
    started = time.monotonic()
    code, out, err = runner(*args)
    took = time.monotonic() - started
    assert took < within, f"took {took:.1f} s"
    assert code == 1, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("blocktime: error: "), err
    assert says in lines[0], lines[0]
    return lines[0]


def _everything(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file())


# (a) entity expansion and external entities ----------------------------------------------------------

@pytest.mark.parametrize("stage", ["principal", "home", "calendars", "query"])
def test_a_billion_laughs_is_refused_at_every_step(hostile: tuple[Runner, list[HostileServer]],
                                                   stage: str) -> None:
    body = multistatus(prop_response("/dav/", "<d:displayname>&lol9;</d:displayname>"),
                       object_response(CALENDARS["Work"] + "x.ics", "BEGIN:VCALENDAR&lol9;"), doctype=LAUGHS)
    serve(hostile, answers={stage: fixed(207, body)})
    _fails_cleanly(hostile[0], *BOOK, within=10, says="not valid XML")


def test_external_entities_are_never_resolved(hostile: tuple[Runner, list[HostileServer]], tmp_path: Path,
                                              data_dir: Path) -> None:
    """A local file named by an external entity (in the calendar data, in an href, in a display
    name) or an external DTD on the network is never read: nothing of it reaches an event, the
    store, the outbox or the output, and the DTD is never fetched."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    srv = serve(hostile)
    dtd = f'<!DOCTYPE d:multistatus SYSTEM "{srv.url}evil.dtd">\n'
    calendars = multistatus(
        prop_response("/dav/cals/", "<d:resourcetype><d:collection/></d:resourcetype>"),
        prop_response(CALENDARS["blocktime"], "<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>"
                                              "<d:displayname>blocktime</d:displayname>"),
        prop_response(CALENDARS["Work"], "<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>"
                                         "<d:displayname>&xxe;</d:displayname>"),
        doctype=xxe_doctype(str(secret)))
    xxe_event = escape(_event("xxe@x", "20260324T110000Z", "SUMMARY-START")).replace("SUMMARY-START", "&xxe;")
    query = multistatus(object_response(CALENDARS["Work"] + "&xxe;.ics", xxe_event),
                        object_response(CALENDARS["Work"] + "b.ics", escape(_event("b@x", "20260331T100000Z"))),
                        doctype=xxe_doctype(str(secret)))
    srv.answers.update(calendars=fixed(207, calendars), query=fixed(207, query),
                       sync=fixed(207, dtd.encode() + query))
    code, out, err = hostile[0](*BOOK)
    assert "internal error" not in err and "Traceback" not in err, err
    assert code in (0, 1), err
    seen = [r.path for r in srv.seen]
    assert not any("evil.dtd" in p or SECRET in p for p in seen), seen
    assert SECRET not in out + err and SECRET not in _everything(data_dir)
    backend = CalDAVBackend(srv.url, "anna", "Hostile-Pw-1")
    try:  # the same answers read directly: the entity stays unresolved
        from datetime import UTC, datetime

        for cal in backend.calendars():
            assert SECRET not in cal.name
            for obj in backend.list_range(cal, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)):
                assert SECRET not in obj.data and SECRET not in obj.href
    finally:
        backend.close()


# (b) huge answers ------------------------------------------------------------------------------------

def test_millions_of_elements_are_cut_off_at_the_size_cap(hostile: tuple[Runner, list[HostileServer]]) -> None:
    srv = serve(hostile, answers={"query": streamed(many_responses(200 * 2**20))})
    _fails_cleanly(hostile[0], *BOOK, within=20, says="larger than 64 MB")
    assert srv.sent < 120 * 2**20  # it stopped reading long before the 200 MB


def test_a_declared_huge_length_is_refused_before_reading(hostile: tuple[Runner, list[HostileServer]]) -> None:
    srv = serve(hostile, answers={"query": streamed(trickle(200 * 2**20, b" " * 2**16), length=200 * 2**20)})
    _fails_cleanly(hostile[0], *BOOK, within=10, says="larger than 64 MB")
    assert srv.sent < 32 * 2**20


def test_a_gzip_bomb_counts_at_its_unpacked_size(hostile: tuple[Runner, list[HostileServer]]) -> None:
    bomb = gzip_bomb(200 * 2**20)  # 200 MB of XML in about 200 kB
    assert len(bomb) < 2**20
    serve(hostile, answers={"query": fixed(207, bomb, Content_Encoding="gzip")})
    _fails_cleanly(hostile[0], *BOOK, within=20, says="larger than 64 MB")


def test_an_answer_trickling_in_is_cut_off_at_the_deadline(hostile: tuple[Runner, list[HostileServer]],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """One byte every 0.1 s never trips the read timeout; the whole-answer deadline ends it."""
    monkeypatch.setattr(CalDAVBackend, "response_deadline", 2.0)
    serve(hostile, answers={"query": streamed(trickle(10**6), delay=0.1)})
    _fails_cleanly(hostile[0], *BOOK, within=10, says="slower than 2 s")


def test_the_defaults_are_bounded() -> None:
    assert CalDAVBackend.connect_timeout <= 30 and CalDAVBackend.read_timeout <= 60
    assert CalDAVBackend.response_deadline <= 300 and CalDAVBackend.max_response_bytes <= 128 * 2**20
    b = CalDAVBackend("http://127.0.0.1:9/dav/")
    assert b.client.timeout == (CalDAVBackend.connect_timeout, CalDAVBackend.read_timeout)
    assert b.client.huge_tree is False  # lxml's limits on depth and text size stay on


# (c) broken calendar data inside a valid multistatus --------------------------------------------------

BROKEN = {
    "garbage.ics": "this is not a calendar",
    "empty.ics": "",
    "truncated.ics": _event("t@x", "20260324T110000Z")[:90],
    "no-end.ics": _event("ne@x", "20260324T110000Z").replace("END:VCALENDAR\r\n", ""),
    "bad-date.ics": _event("bd@x", "20261345T250000Z"),
    "runaway.ics": _event("rr@x", "19000101T000000Z").replace("PT1H", "PT1H\r\nRRULE:FREQ=SECONDLY"),
    "never.ics": _event("nv@x", "20260101T100000Z").replace("PT1H", "PT1H\r\nRRULE:FREQ=DAILY;BYSETPOS=9"),
    "huge-duration.ics": _event("hd@x", "20260324T110000Z").replace("PT1H", "P99999999W"),
    "vcard.ics": "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Nobody\r\nEND:VCARD\r\n",
    "bidi.ics": _event("bidi@x", "20260407T100000Z", "\u202eowned"),
}


def test_broken_objects_are_skipped_with_a_warning_and_the_good_one_still_counts(
        hostile: tuple[Runner, list[HostileServer]]) -> None:
    good = _event("good@x", "20260324T110000Z")  # 12:00-13:00 Warsaw on the first Tuesday

    def answer(h: Handler, r: Request) -> None:
        objects = {} if r.path != CALENDARS["Work"] else {**BROKEN, "good.ics": good}
        rows = [object_response(r.path + name, escape(text)) for name, text in objects.items()]
        nested = '<d:getetag>"1"</d:getetag><c:calendar-data><x:a xmlns:x="x">1</x:a></c:calendar-data>'
        rows.append(prop_response(r.path + "nested.ics", nested))
        send(h, 207, multistatus(*rows))

    serve(hostile, answers={"query": answer})
    started = time.monotonic()
    code, out, err = hostile[0](*BOOK, "--json")
    assert time.monotonic() - started < 20
    assert code == 0 and "internal error" not in err and "Traceback" not in err, err
    import json

    doc = json.loads(out)
    assert [b["start"] for b in doc["booked"]] == ["2026-03-31T12:00:00+02:00"]
    assert [r["reasons"] for r in doc["refused"]] == [["BUSY"]]  # the good event still blocks its slot
    warnings = [line for line in err.splitlines() if line.strip()]
    assert warnings and all(line.startswith("blocktime: WARNING: skipped") for line in warnings), err
    assert any("runaway.ics" in w for w in warnings) and any("never.ics" in w for w in warnings)


# (d) silence -----------------------------------------------------------------------------------------

def _short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Half a second of silence is a timeout here, and the retries come quickly (30 s and 0.2/0.5/1 s
    in real life: a server that never answers is given up after its second silence, 2 x 30 s)."""
    monkeypatch.setattr(CalDAVBackend, "read_timeout", 0.5)
    monkeypatch.setattr(CalDAVBackend, "retry_delays", (0.1, 0.1))


def test_a_server_that_never_answers_is_ended_by_the_timeout(hostile: tuple[Runner, list[HostileServer]],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _short_waits(monkeypatch)
    monkeypatch.setattr(CalDAVBackend, "retry_delays", (0.1, 0.1, 0.1, 0.1, 0.1))
    serve(hostile, silent=True, lifetime=60)
    # the first silence is retried once; the second ends it (not five more read timeouts)
    started = time.monotonic()
    _fails_cleanly(hostile[0], *BOOK, within=10, says="cannot reach the calendar server")
    assert time.monotonic() - started < 3.2  # six silences would take at least 6 x 0.5 s + 5 x 0.1 s


def test_an_answer_that_stops_halfway_is_ended_by_the_timeout(hostile: tuple[Runner, list[HostileServer]],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _short_waits(monkeypatch)

    def stall(h: Handler, r: Request) -> None:
        h.send_response(207)
        h.send_header("Content-Type", "application/xml")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.wfile.write(b'<?xml version="1.0"?>\n<d:multistatus xmlns:d="DAV:">')
        h.wfile.flush()
        h.server.stopping.wait(30)

    serve(hostile, answers={"query": stall})
    _fails_cleanly(hostile[0], *BOOK, within=10, says="calendar server")


def test_the_hostile_server_itself_is_bounded() -> None:
    with running(silent=True, lifetime=0.5) as srv:
        time.sleep(1.0)
        assert srv.stopping.is_set()
