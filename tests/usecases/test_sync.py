"""The daemon's pass against a real Radicale: edits made by another client over plain HTTP
(shortened, moved, deleted block; an overlapping new event) lead to the right action, once."""

from __future__ import annotations

import json
from pathlib import Path

import icalendar
import niquests
import pytest

from tests.conftest import Runner
from tests.helpers import backend
from tests.servers import Account
from tests.stores import StoreDB

BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue,thu", "--count", "4")


class OtherClient:
    """Another calendar app: plain HTTP with Basic auth, If-Match on what it read."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.http = niquests.Session()
        self.http.auth = (account.username or "", account.password or "")

    def edit(self, href: str, change) -> None:  # type: ignore[no-untyped-def]
        href = self.account.root + href  # the store keeps server paths
        got = self.http.get(href)
        assert got.status_code == 200
        cal = icalendar.Calendar.from_ical(got.text)
        change(cal.walk("VEVENT")[0])
        r = self.http.put(href, data=cal.to_ical(), headers={"If-Match": got.headers["ETag"],
                                                           "Content-Type": "text/calendar"})
        assert r.status_code in (200, 201, 204), r.status_code

    def delete(self, href: str) -> None:
        assert self.http.delete(self.account.root + href).status_code in (200, 204)

    def put_new(self, calendar: str, uid: str, start: str, end: str, summary: str) -> None:
        b = backend(self.account)
        cal = b.ensure_calendar(calendar)
        body = (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
                f"DTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:{summary}\r\n"
                "END:VEVENT\r\nEND:VCALENDAR\r\n")
        r = self.http.put(self.account.root + b.href_for(cal, uid), data=body,
                          headers={"Content-Type": "text/calendar"})
        assert r.status_code in (200, 201, 204)


def _href(cli: Runner, data_dir: Path, block: str) -> str:

    db = StoreDB(data_dir)
    uid = cli.json("agenda", "--all")["blocks"]
    (row,) = [b for b in uid if b["id"] == block]
    (href,) = db.execute("SELECT href FROM blocks WHERE uid=?", (row["uid"],)).fetchone()
    return str(href)


def _queued(data_dir: Path, uid: str) -> list[tuple[str, int, str]]:

    db = StoreDB(data_dir)
    return [tuple(r) for r in db.execute("SELECT kind, sequence, recipient FROM mail_outbox WHERE ref=?", (uid,))]


def _once(cli: Runner, now: str) -> dict:  # type: ignore[type-arg]
    code, out, err = cli("daemon", "--once", "--json", now=now)
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def booked(cli: Runner, radicale: Account) -> Runner:
    cli.json(*BOOK)
    first = _once(cli, "2026-03-20T09:00")
    assert first["errors"] == []
    return cli


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_shortened_block_becomes_cut_short_once(booked: Runner, account: Account, data_dir: Path) -> None:
    from datetime import UTC, datetime

    OtherClient(account).edit(_href(booked, data_dir, "acme-1"), lambda ev: ev["DTEND"].__setattr__(
        "dt", datetime(2026, 3, 24, 11, 40, tzinfo=UTC)))
    report = _once(booked, "2026-03-24T13:05")
    assert any("acme-1 was shortened" in a and "offer acme-o1" in a for a in report["actions"])
    status = booked.json("status", "acme", now="2026-03-24T13:05")
    assert status["remaining_minutes"] == 20 and [o["id"] for o in status["open_offers"]] == ["acme-o1"]
    again = _once(booked, "2026-03-24T13:20")
    assert not any("acme-1" in a for a in again["actions"])
    assert [o["id"] for o in booked.json("offers", now="2026-03-24T13:20")["offers"]] == ["acme-o1"]


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_moved_block_is_adopted_and_attendees_updated(booked: Runner, account: Account, data_dir: Path) -> None:
    from datetime import UTC, datetime

    def move(ev) -> None:  # type: ignore[no-untyped-def]
        ev["DTSTART"].dt = datetime(2026, 3, 26, 14, 0, tzinfo=UTC)
        ev["DTEND"].dt = datetime(2026, 3, 26, 15, 0, tzinfo=UTC)

    OtherClient(account).edit(_href(booked, data_dir, "acme-2"), move)
    report = _once(booked, "2026-03-21T09:00")
    assert any("acme-2 was moved" in a for a in report["actions"])
    (moved,) = [b for b in booked.json("agenda")["blocks"] if b["id"] == "acme-2"]
    assert moved["start"] == "2026-03-26T15:00:00+01:00" and moved["sequence"] == 1
    assert ("update", 1, "it@acme.example") in _queued(data_dir, moved["uid"])
    again = _once(booked, "2026-03-21T09:20")
    assert again["actions"] == []


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_deleted_block_cancels_and_returns_minutes(booked: Runner, account: Account, data_dir: Path) -> None:
    (uid,) = [b["uid"] for b in booked.json("agenda")["blocks"] if b["id"] == "acme-3"]
    OtherClient(account).delete(_href(booked, data_dir, "acme-3"))
    report = _once(booked, "2026-03-21T09:00")
    assert any("acme-3 was deleted" in a and "60 min" in a for a in report["actions"])
    assert booked.json("status", "acme", now="2026-03-21T09:00")["remaining_minutes"] == 60
    assert ("cancel", 1, "it@acme.example") in _queued(data_dir, uid)
    assert "acme-3" not in [b["id"] for b in booked.json("agenda")["blocks"]]
    assert _once(booked, "2026-03-21T09:30")["actions"] == []
    assert booked.json("status", "acme", now="2026-03-21T09:30")["remaining_minutes"] == 60


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_new_overlapping_event_is_a_conflict_and_a_hold_overlap_replans(
    booked: Runner, account: Account, data_dir: Path
) -> None:
    other = OtherClient(account)
    other.put_new("Private", "dentist-1", "20260402T103000Z", "20260402T113000Z", "Dentist")
    report = _once(booked, "2026-03-21T09:00")
    assert report["actions"] == ["conflict: 'Dentist' overlaps acme-4"]
    status = booked.json("daemon", "--status", now="2026-03-21T09:00")
    assert [c["summary"] for c in status["conflicts"]] == ["Dentist"]
    assert _once(booked, "2026-03-21T09:15")["actions"] == []  # reported once
    # an event on top of a held option re-plans that offer
    cut = booked.json("cut-short", "acme-1", "--ended-at", "12:30", now="2026-03-24T13:05")
    first = cut["offer"]["options"][0]
    start = first["start"]
    from datetime import UTC, datetime, timedelta

    s = datetime.fromisoformat(start).astimezone(UTC)
    other.put_new("Private", "on-hold", f"{s:%Y%m%dT%H%M%SZ}", f"{s + timedelta(minutes=30):%Y%m%dT%H%M%SZ}",
                  "Something else")
    report = _once(booked, "2026-03-24T13:20")
    assert any("offer acme-o1 overlapped a new event: re-planned as acme-o2" in a for a in report["actions"])
    offers = booked.json("offers", now="2026-03-24T13:20")["offers"]
    assert [o["id"] for o in offers] == ["acme-o2"]
    assert start not in [o["start"] for o in offers[0]["options"]]


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_quiet_pass_makes_one_request_per_calendar(booked: Runner, account: Account) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from blocktime.config.loading import load
    from blocktime.usecases.session import Session
    from blocktime.usecases.sync import sync_pass

    cfg = load(str(booked.config))
    with Session(cfg, datetime(2026, 3, 21, 9, tzinfo=ZoneInfo("Europe/Warsaw"))) as s:
        report = sync_pass(s)
        assert report.errors == [] and report.changed == 0
        assert s.backend.requests == report.calendars  # type: ignore[attr-defined]


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_block_reported_gone_but_still_there_is_not_cancelled(
    booked: Runner, account: Account, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Absence is never deletion, on any backend: a deletion the server reports (or a complete
    round implies) is confirmed by a GET and a search by UID before a CANCEL goes out."""
    from dataclasses import replace

    from blocktime.backends.caldav import CalDAVBackend

    assert _once(booked, "2026-03-21T08:00")["actions"] == []
    href = _href(booked, data_dir, "acme-3")
    real = CalDAVBackend.changes

    def says_gone(self, calendar, token):  # type: ignore[no-untyped-def]
        got = real(self, calendar, token)
        if not href.startswith(calendar.url):
            return got
        return replace(got, deleted=(*got.deleted, href), complete=True, changed=())

    monkeypatch.setattr(CalDAVBackend, "changes", says_gone)
    report = _once(booked, "2026-03-21T09:00")
    assert report["errors"] == [] and report["actions"] == [], report
    (uid,) = [b["uid"] for b in booked.json("agenda")["blocks"] if b["id"] == "acme-3"]
    assert not any(kind == "cancel" for kind, _s, _r in _queued(data_dir, uid))
    assert booked.json("status", "acme", now="2026-03-21T09:00")["remaining_minutes"] == 0


def test_candidates_are_what_a_round_names_or_implies_inside_its_window_only() -> None:
    from datetime import UTC, datetime

    from blocktime.backends.base import CalendarInfo, Changes
    from blocktime.usecases.absence import Tracked, candidates

    cal = CalendarInfo("/cal/blocktime/", "blocktime")
    d = [datetime(2026, m, 1, tzinfo=UTC) for m in range(1, 13)]
    old = Tracked("old@blocktime", "/cal/blocktime/old.ics", d[0], d[0].replace(hour=1))
    inside = Tracked("in@blocktime", "/cal/blocktime/in.ics", d[5], d[5].replace(hour=1))
    named = Tracked("named@blocktime", "/cal/blocktime/named.ics", d[0], d[0].replace(hour=1))
    seen = Tracked("seen@blocktime", "/cal/blocktime/seen.ics", d[5], d[5].replace(hour=1))
    other = Tracked("other@blocktime", "/cal/other/x.ics", d[5], d[5].replace(hour=1))
    tracked = [old, inside, named, seen, other]
    windowed = Changes((), ("/cal/blocktime/named.ics", "/cal/blocktime/seen.ics"), "t", complete=True,
                       window=(d[3], d[11]))
    assert candidates(windowed, cal, tracked, {"seen@blocktime"}) == [inside, named]
    whole = Changes((), (), "t", complete=True)
    assert candidates(whole, cal, tracked, {"seen@blocktime"}) == [old, inside, named]
    incremental = Changes((), ("/cal/blocktime/named.ics",), "t")
    assert candidates(incremental, cal, tracked, set()) == [named]


def _pass(cli: Runner, now: str, refresh: bool = True):  # type: ignore[no-untyped-def]
    """One sync pass in-process: (its report, the requests it made)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from blocktime.config.loading import load
    from blocktime.usecases.session import Session
    from blocktime.usecases.sync import sync_pass

    with Session(load(str(cli.config)), datetime.fromisoformat(now).replace(tzinfo=ZoneInfo("Europe/Warsaw"))) as s:
        report = sync_pass(s, refresh=refresh)
        return report, s.backend.requests  # type: ignore[attr-defined]


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_daemon_once_reads_the_calendar_list_once_a_day(booked: Runner, account: Account) -> None:
    """`daemon --once` (a pass that may refresh the list) makes one request per calendar when the
    list it keeps is less than a day old; a day later it reads the list again and finds new ones."""
    report, requests = _pass(booked, "2026-03-20T09:15")
    assert report.errors == [] and requests == report.calendars
    OtherClient(account).put_new("Private", "p-1", "20260301T100000Z", "20260301T110000Z", "Past")
    assert _pass(booked, "2026-03-21T08:59")[0].calendars == report.calendars
    later, requests = _pass(booked, "2026-03-21T09:00")
    assert later.errors == [] and later.calendars == report.calendars + 1 and requests > later.calendars


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_calendar_that_fails_makes_the_next_pass_read_the_list_again(
    booked: Runner, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blocktime.backends.caldav import CalDAVBackend
    from blocktime.errors import ServerError

    real, real_tag = CalDAVBackend.changes, CalDAVBackend.change_tag

    def gone(self, calendar, token):  # type: ignore[no-untyped-def]
        if calendar.name == "blocktime":
            raise ServerError("404 Not Found")
        return real(self, calendar, token)

    def tag_gone(self, calendar):  # type: ignore[no-untyped-def]
        if calendar.name == "blocktime":
            raise ServerError("404 Not Found")
        return real_tag(self, calendar)

    monkeypatch.setattr(CalDAVBackend, "changes", gone)
    monkeypatch.setattr(CalDAVBackend, "change_tag", tag_gone)
    failed, _ = _pass(booked, "2026-03-20T09:15", refresh=False)
    assert failed.errors and "404" in failed.errors[0]
    monkeypatch.setattr(CalDAVBackend, "changes", real)
    monkeypatch.setattr(CalDAVBackend, "change_tag", real_tag)
    again, requests = _pass(booked, "2026-03-20T09:30", refresh=False)
    assert again.errors == [] and requests > again.calendars  # the list was read again
    quiet, requests = _pass(booked, "2026-03-20T09:45", refresh=False)
    assert requests == quiet.calendars


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_only_events_that_can_reach_the_horizon_are_parsed_and_none_is_missed(
    booked: Runner, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass over many past events parses none of them whole; a weekly series that began in
    January and whose 11th and 12th (last, COUNT) occurrences fall on acme-2 and acme-4 is still
    a conflict with both."""
    import blocktime.ics.busy as busy
    import blocktime.usecases.sync as sync

    other = OtherClient(account)
    for n in range(30):
        other.put_new("Private", f"old-{n}", f"202502{n % 28 + 1:02d}T100000Z", f"202502{n % 28 + 1:02d}T110000Z",
                      f"Old {n}")
    other.put_new("Private", "weekly", "20260115T103000Z", "20260115T113000Z", "Weekly call")
    b = backend(account)
    href = b.href_for(b.ensure_calendar("Private"), "weekly")
    got = other.http.get(account.root + href)
    body = got.text.replace("END:VEVENT", "RRULE:FREQ=WEEKLY;COUNT=12\r\nEND:VEVENT")
    assert other.http.put(account.root + href, data=body, headers={"Content-Type": "text/calendar"}).ok
    parsed: list[str] = []
    real_group, real_parse = busy._group, sync._parse
    monkeypatch.setattr(busy, "_group", lambda text, *a: (parsed.append(text), real_group(text, *a))[1])
    monkeypatch.setattr(sync, "_parse", lambda obj: (parsed.append(obj.data), real_parse(obj))[1])
    report = _once(booked, "2026-03-21T09:00")  # a day on: the new calendar is listed
    assert sorted(report["actions"]) == ["conflict: 'Weekly call' overlaps acme-2",
                                         "conflict: 'Weekly call' overlaps acme-4"]
    assert len(parsed) == 1 and "Weekly call" in parsed[0]


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_the_own_calendar_is_read_first_and_the_others_while_one_is_handled(
    booked: Runner, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import blocktime.usecases.sync as sync
    from blocktime.backends.caldav import CalDAVBackend

    OtherClient(account).put_new("Private", "p-1", "20260301T100000Z", "20260301T110000Z", "Past")
    reads: list[tuple[str, str]] = []
    private_read = threading.Event()
    real_changes, real_handle = CalDAVBackend.changes, sync._handle

    def changes(self, calendar, token):  # type: ignore[no-untyped-def]
        reads.append((calendar.name, threading.current_thread().name))
        if calendar.name == "Private":
            private_read.set()
        return real_changes(self, calendar, token)

    def handle(session, calendar, got, report):  # type: ignore[no-untyped-def]
        if calendar.name == "blocktime":  # the next calendar is being read meanwhile
            assert private_read.wait(30)
        real_handle(session, calendar, got, report)

    monkeypatch.setattr(CalDAVBackend, "changes", changes)
    monkeypatch.setattr(sync, "_handle", handle)
    report, _ = _pass(booked, "2026-03-21T09:00")  # a day on: the list is read again, "Private" in it
    assert report.errors == [] and report.calendars == 2
    assert [name for name, _ in reads] == ["blocktime", "Private"]
    assert all(thread.startswith("sync-read") for _, thread in reads)


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_with_no_future_block_and_no_hold_no_event_is_parsed(
    booked: Runner, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing blocktime keeps lies ahead (every block has happened, no offer is open): others'
    new events cannot conflict with anything, so none is parsed, however near."""
    import blocktime.ics.busy as busy

    OtherClient(account).put_new("Private", "soon", "20260410T100000Z", "20260410T110000Z", "Soon")
    parsed: list[str] = []
    real_group = busy._group
    monkeypatch.setattr(busy, "_group", lambda text, *a: (parsed.append(text), real_group(text, *a))[1])
    report = _once(booked, "2026-04-08T09:00")
    assert report["errors"] == [] and report["changed"] >= 1 and parsed == []



@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_calendar_made_again_where_a_deleted_one_was_starts_its_sync_over(
        booked: Runner, account: Account, data_dir: Path) -> None:
    """blocktime's calendar has its plain name as its path, so one made after the user deleted it
    sits at the same URL; the sync token kept for that URL belongs to the deleted one (SabreDAV
    would answer it with "no changes"). Making the calendar forgets token and tag: the next pass
    reads it whole and finds the blocks gone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from blocktime.config.loading import load
    from blocktime.usecases.session import Session

    db = StoreDB(data_dir)
    ((url, token),) = db.execute("SELECT url, token FROM sync_state WHERE name='blocktime'").fetchall()
    assert token
    with niquests.Session() as s:
        s.auth = (account.username or "", account.password or "")
        assert s.delete(account.root + url).status_code in (200, 204)
    with Session(load(str(booked.config)), datetime(2026, 3, 21, 9, 0, tzinfo=ZoneInfo("Europe/Warsaw"))) as session:
        made = session.target()
        assert made.created and made.url == url
    kept = StoreDB(data_dir).execute("SELECT token, tag FROM sync_state WHERE url=?", (url,)).fetchall()
    assert [tuple(r) for r in kept] == [(None, None)]
    report = _once(booked, "2026-03-21T09:05")
    assert report["errors"] == [] and any("was deleted on the calendar" in a for a in report["actions"]), report
