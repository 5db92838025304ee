"""The block's event (calendar copy) and its iTIP REQUEST/CANCEL invites."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from blocktime.core.model import Block, Engagement, Interval, Organizer
from blocktime.core.series import block_uid
from blocktime.ics.event import EventFacts, calendar_copy, x_text
from blocktime.ics.itip import cancel, request

WAW = ZoneInfo("Europe/Warsaw")


def facts(language: str = "en", site: str = "Acme HQ, ul. Prosta 1; Warszawa") -> EventFacts:
    start = datetime(2026, 3, 24, 12, tzinfo=WAW)
    eng = Engagement("acme", "Acme", site, ("a@acme.example", "b@acme.example"), language)
    block = Block("acme", 3, block_uid("acme", start), Interval(start, start + timedelta(hours=1)), site)
    org = Organizer("Anna Nowak", "anna@example.com", WAW)
    return EventFacts(block, eng, org, 2, datetime(2026, 3, 20, 8, tzinfo=UTC))


def _event(text: str) -> icalendar.Event:
    (ev,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    return ev


def test_calendar_copy_states_the_hard_end_and_carries_blocktime_facts() -> None:
    ev = _event(calendar_copy(facts()))
    assert str(ev["SUMMARY"]) == "Training: Acme — until 13:00"
    assert str(ev["LOCATION"]) == "Acme HQ, ul. Prosta 1; Warszawa"
    assert ev["DTSTART"].dt == datetime(2026, 3, 24, 11, tzinfo=UTC)
    assert ev["DTEND"].dt == datetime(2026, 3, 24, 12, tzinfo=UTC)
    assert ev["SEQUENCE"] == 2
    assert str(ev["X-BLOCKTIME-ENGAGEMENT"]) == "acme"
    assert str(ev["X-BLOCKTIME-BLOCK"]) == "3"
    assert x_text(ev, "X-BLOCKTIME-SITE") == "Acme HQ, ul. Prosta 1; Warszawa"
    attendees = ev["ATTENDEE"]
    assert all(a.params["SCHEDULE-AGENT"] == "CLIENT" for a in attendees)
    (alarm,) = ev.walk("VALARM")
    assert alarm["TRIGGER"].dt == -timedelta(minutes=10)
    assert alarm["TRIGGER"].params["RELATED"] == "END"
    desc = str(ev["DESCRIPTION"])
    assert "13:00" in desc and "new date" in desc
    for harsh in ("must", "not allowed", "MUST"):
        assert harsh not in desc


def test_polish_note() -> None:
    ev = _event(calendar_copy(facts("pl")))
    assert str(ev["SUMMARY"]) == "Szkolenie: Acme — do 13:00"
    desc = str(ev["DESCRIPTION"])
    assert "wtorek, 24 marca 2026" in desc and "nowy termin" in desc


def test_request_invite_is_itip_ready() -> None:
    text = request(facts())
    cal = icalendar.Calendar.from_ical(text)
    assert str(cal["METHOD"]) == "REQUEST"
    ev = _event(text)
    assert str(ev["ORGANIZER"]) == "mailto:anna@example.com"
    for a in ev["ATTENDEE"]:
        assert a.params["PARTSTAT"] == "NEEDS-ACTION"
        assert a.params["RSVP"] == "TRUE"
        assert "SCHEDULE-AGENT" not in a.params
    assert "DTSTAMP" in ev and ev["DTSTART"].dt.utcoffset() == timedelta(0)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_cancel_has_no_alarm() -> None:
    text = cancel(facts())
    assert "METHOD:CANCEL" in text
    assert "VALARM" not in text


def test_same_block_same_uid() -> None:
    assert _event(calendar_copy(facts()))["UID"] == _event(request(facts()))["UID"]
