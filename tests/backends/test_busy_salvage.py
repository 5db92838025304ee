"""Lenient servers store what Radicale refuses (issue 11): damaged objects read back through the
Google and Graph stand-ins, and written straight into a Radicale storage folder, still give their
busy time, and never hide their neighbours'."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from blocktime.backends.graph_ics import ICS_PROP, UID_PROP
from blocktime.config.loading import from_mapping
from blocktime.usecases.calendar import read_busy
from blocktime.usecases.session import Session
from tests.backends.conftest import google_token, graph_token
from tests.backends.standin_google import GoogleCalDAV
from tests.backends.standin_graph import RECORDED, Graph
from tests.backends.standin_http import StandIn
from tests.servers import Account, RadicaleServer

WAW = ZoneInfo("Europe/Warsaw")
WEEK = (datetime(2026, 3, 23, tzinfo=WAW), datetime(2026, 3, 30, tzinfo=WAW))
NOW = datetime(2026, 3, 20, 9, tzinfo=WAW)


def _cal(*parts: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//damaged//EN", *parts, "END:VCALENDAR", ""])


def _ev(uid: str, start: str, end: str, *extra: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260301T000000Z", start, end, *extra, "END:VEVENT"])


_DAILY_ZONE = ("BEGIN:VTIMEZONE\r\nTZID:Custom/Daily\r\nBEGIN:STANDARD\r\nDTSTART:19000101T030000\r\n"
               "RRULE:FREQ=DAILY\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n"
               "DTSTART:19000101T020000\r\nRRULE:FREQ=DAILY\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
               "END:DAYLIGHT\r\nEND:VTIMEZONE")
_BAD_ZONE = ("BEGIN:VTIMEZONE\r\nTZID:Customized Time Zone\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n"
             "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+9900\r\nEND:STANDARD\r\nEND:VTIMEZONE")
#: object name -> damaged text; every one has busy time in WEEK that must be found
DAMAGED = {
    "railway.ics": "\ufeff" + _cal(_ev(
        "rail@db", "DTSTART:20260324T063000Z", "DTEND:20260324T091500Z", "SUMMARY:ICE 598",
        "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER;RELATED=START:PT-2H", "DESCRIPTION:Train", "END:VALARM")),
    "exchange.ics": _cal(_BAD_ZONE, _ev(
        "stand-up@exchange", "DTSTART;TZID=Customized Time Zone:20260323T083000",
        "DTEND;TZID=Customized Time Zone:20260323T084500", "RRULE:FREQ=WEEKLY;BYDAY=MO, TU, WE, TH, FR;COUNT=5",
        "SUMMARY:Stand-up")),
    "one-bad-time.ics": _cal(
        _ev("good-1@x", "DTSTART:20260325T120000Z", "DTEND:20260325T130000Z"),
        _ev("bad@x", "DTSTART:20260325T250000Z", "DTEND:20260325T260000Z"),
        _ev("good-2@x", "DTSTART:20260326T120000Z", "DTEND:20260326T130000Z")),
    "daily-zone.ics": _cal(_DAILY_ZONE, _ev(
        "daily@x", "DTSTART;TZID=Custom/Daily:20200101T170000", "DTEND;TZID=Custom/Daily:20200101T173000",
        "RRULE:FREQ=DAILY")),
}
FOUND = {"rail@db": 1, "stand-up@exchange": 5, "good-1@x": 1, "good-2@x": 1, "daily@x": 7}


def _by_uid(busy: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for b in busy:
        out[b.uid] = out.get(b.uid, 0) + 1
    return out


def _session(calendar: dict[str, str]) -> Session:
    cfg = from_mapping({"organizer": {"name": "Anna Nowak", "email": "anna@example.com", "timezone": "Europe/Warsaw"},
                        "calendar": calendar})
    return Session(cfg, NOW)


@pytest.mark.standin
def test_damaged_objects_at_google_still_give_busy_time(
        google_standin: tuple[GoogleCalDAV, StandIn], data_dir: Path) -> None:
    app, server = google_standin
    google_token(app, server, data_dir)
    primary = app.calendars[app.account]
    before = len(primary.objects)
    for name, text in DAMAGED.items():
        primary.objects[name] = ('"' + uuid.uuid4().hex[:16] + '"', text)
    primary.unfiltered.add("daily-zone.ics")
    with _session({"profile": "google", "url": f"{server.root}/caldav/v2/", "username": app.account,
                   "name": "blocktime"}) as s:
        found = _by_uid(read_busy(s, *WEEK))
    assert {uid: found.get(uid) for uid in FOUND} == FOUND
    assert len(set(found) - set(FOUND)) >= min(before, 1)  # the sample export's own events are still there
    with _session({"profile": "google", "url": f"{server.root}/caldav/v2/", "username": app.account,
                   "name": "blocktime"}) as s:
        (home,) = [c for c in s.backend.calendars() if c.name == primary.name]
        got = s.backend.get(home.url.rstrip("/") + "/railway.ics")
    assert got is not None and got.data.startswith("BEGIN:VCALENDAR")  # the BOM is gone at decoding


@pytest.mark.standin
def test_damaged_copies_behind_graph_events_still_give_busy_time(
        graph_standin: tuple[Graph, StandIn], data_dir: Path) -> None:
    """Events in Outlook whose iCalendar copy (the extended property) is damaged: a BOM and a broken
    alarm (the codec sets such a copy aside), a broken RRULE and EXDATE (they reach busy extraction,
    which drops them and keeps the event). Graph's own times are laid over the copy."""
    app, server = graph_standin
    graph_token(app, server, data_dir)
    template = {k: v for k, v in json.loads((RECORDED / "event.json").read_text()).items() if k != "@odata.context"}
    calendar = next(iter(app.calendars))
    copies = {"rail@db": DAMAGED["railway.ics"],
              "broken-rule@x": _cal(_ev("broken-rule@x", "DTSTART:20260327T080000Z", "DTEND:20260327T090000Z",
                                        "RRULE:FREQ=WEEKLY;BYDAY=XX", "EXDATE:2026XXXX"))}
    for i, (uid, text) in enumerate(copies.items()):
        ev = copy.deepcopy(template)
        ev.update(id=f"AAMkdamaged{i}=", subject=uid, iCalUId=f"ical-{i}", attendees=[],
                  start={"dateTime": f"2026-03-2{7 + i}T08:00:00.0000000", "timeZone": "W. Europe Standard Time"},
                  end={"dateTime": f"2026-03-2{7 + i}T09:00:00.0000000", "timeZone": "W. Europe Standard Time"})
        ev["_calendar"] = calendar
        ev["_ext"] = {ICS_PROP.lower(): (ICS_PROP, text), UID_PROP.lower(): (UID_PROP, uid)}
        app.events[ev["id"]] = ev
    with _session({"profile": "outlook", "url": f"{server.root}/v1.0", "name": "blocktime"}) as s:
        busy = read_busy(s, *WEEK)
    starts = {b.uid: b.span.start for b in busy}
    assert starts["rail@db"] == datetime(2026, 3, 27, 8, tzinfo=ZoneInfo("Europe/Berlin"))
    assert starts["broken-rule@x"] == datetime(2026, 3, 28, 8, tzinfo=ZoneInfo("Europe/Berlin"))
    assert any(b.summary == "Tailspin Toys Proposal" for b in busy)  # the recorded neighbour


#: damage that Radicale still serves (it leaves out, silently, every object its own parser refuses:
#: a BOM, a broken alarm, a rule with spaces, an impossible offset, any unparsable value; and its
#: time-range filter runs for minutes on a zone repeating daily since 1900)
RADICALE_SERVES = {
    "lower-case-rule.ics": _cal(_ev("lower@x", "DTSTART:20260323T063000Z", "DTEND:20260323T070000Z",
                                    "RRULE:freq=daily;count=3")),
    "all-day-no-length.ics": _cal(_ev("allday@x", "DTSTART;VALUE=DATE:20260324", "DTEND;VALUE=DATE:20260324")),
    "outlook-zone-name.ics": _cal(_ev("outlook@x", "DTSTART;TZID=W. Europe Standard Time:20260325T083000",
                                      "DTEND;TZID=W. Europe Standard Time:20260325T093000")),
    "every-second.ics": _cal(_ev("runaway@x", "DTSTART:20260326T063000Z", "DTEND:20260326T063500Z",
                                 "RRULE:FREQ=SECONDLY")),
}


def test_damaged_objects_in_a_radicale_storage_folder_still_give_busy_time(
        radicale_server: RadicaleServer, radicale: Account, data_dir: Path) -> None:
    """Written straight into Radicale's storage folder (a sync tool, an import or an older version
    wrote them; Radicale refuses such PUTs)."""
    with _session({"url": radicale.url, "username": radicale.username or "", "password": radicale.password or "",
                   "name": "blocktime"}) as s:
        target = s.backend.ensure_calendar("damaged")
        folder = radicale_server.workdir / "collections" / "collection-root" / target.url.strip("/")
        for name, text in RADICALE_SERVES.items():
            (folder / name).write_bytes(text.encode("utf-8"))
        busy = read_busy(s, *WEEK)
    got = {b.uid: (b.span.start.astimezone(WAW).strftime("%d %H:%M"), b.span.end.astimezone(WAW).strftime("%d %H:%M"))
           for b in busy if b.uid != "lower@x"}
    assert _by_uid(busy)["lower@x"] == 3
    assert got == {"allday@x": ("24 00:00", "25 00:00"), "outlook@x": ("25 08:30", "25 09:30"),
                   "runaway@x": ("26 07:30", "26 07:35")}
