"""iTIP out (REQUEST, update, CANCEL, DECLINECOUNTER) and in (REPLY, COUNTER), as pure functions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocktime.errors import BadInput
from blocktime.ics.event import calendar_copy, x_text
from blocktime.ics.itip import (
    Answer,
    Counter,
    address,
    answered_copy,
    cancel,
    decline_counter,
    moved_copy,
    proposal,
    read_itip,
    request,
)
from tests.ics.test_event import facts

WAW = ZoneInfo("Europe/Warsaw")
# Text people write in notes and names: punctuation iCalendar escapes, line breaks, Polish, emoji.
NOTE = st.text(alphabet=st.sampled_from(list("abc XYZ,;:\\\"'\nąćęłńóśźżĄŁŻ😀☕—–")), min_size=1, max_size=120)


def _event(text: str) -> icalendar.Event:
    (ev,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    return ev


def _people(ev: icalendar.Event) -> list[icalendar.vCalAddress]:
    found = ev["ATTENDEE"]
    return found if isinstance(found, list) else [found]


def _lines_ok(text: str) -> bool:
    return all(len(line.encode("utf-8")) <= 75 for line in text.split("\r\n"))


def test_request_is_the_calendar_copy_without_schedule_agent() -> None:
    text = request(facts())
    ev = _event(text)
    copy = _event(calendar_copy(facts()))
    assert str(icalendar.Calendar.from_ical(text)["METHOD"]) == "REQUEST"
    for name in ("UID", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY", "LOCATION", "DESCRIPTION"):
        assert ev[name] == copy[name]
    assert all("SCHEDULE-AGENT" not in a.params for a in _people(ev))
    assert all(a.params["PARTSTAT"] == "NEEDS-ACTION" and a.params["RSVP"] == "TRUE" for a in _people(ev))
    assert "SENT-BY" not in ev["ORGANIZER"].params
    assert _lines_ok(text)


def test_a_separate_sender_is_sent_by_of_the_organizer() -> None:
    ev = _event(request(facts(), sent_by="calendar@mailer.example"))
    assert address(ev["ORGANIZER"]) == "anna@example.com"
    assert ev["ORGANIZER"].params["SENT-BY"] == "mailto:calendar@mailer.example"
    assert "SENT-BY" not in _event(request(facts(), sent_by="ANNA@example.com"))["ORGANIZER"].params


def test_cancel_lists_every_attendee_with_the_next_sequence_and_no_alarm() -> None:
    f = replace(facts(), sequence=3)
    text = cancel(f)
    ev = _event(text)
    assert str(icalendar.Calendar.from_ical(text)["METHOD"]) == "CANCEL"
    assert str(ev["STATUS"]) == "CANCELLED" and ev["SEQUENCE"] == 3
    assert [address(a) for a in _people(ev)] == ["a@acme.example", "b@acme.example"]
    assert all("RSVP" not in a.params and "PARTSTAT" not in a.params for a in _people(ev))
    assert "VALARM" not in text and not ev.walk("VALARM")


def test_declinecounter_names_only_the_proposer() -> None:
    text = decline_counter(facts(), "B@acme.example", "Thursday, as planned; sorry")
    ev = _event(text)
    assert str(icalendar.Calendar.from_ical(text)["METHOD"]) == "DECLINECOUNTER"
    assert [address(a) for a in _people(ev)] == ["b@acme.example"]
    assert str(ev["COMMENT"]) == "Thursday, as planned; sorry"
    assert "DTSTART" not in ev and "SUMMARY" not in ev and ev["SEQUENCE"] == 2


def test_moved_copy_moves_our_parts_and_keeps_the_users() -> None:
    original = calendar_copy(facts())
    cal = icalendar.Calendar.from_ical(original)
    ev = cal.walk("VEVENT")[0]
    ev.add("X-USER-NOTE", "bring the projector")
    own = icalendar.Alarm()
    own.add("ACTION", "DISPLAY")
    own.add("DESCRIPTION", "leave for Acme")
    own.add("TRIGGER", -timedelta(minutes=45))
    ev.add_component(own)
    for a in _people(ev):
        a.params["PARTSTAT"] = "ACCEPTED"
    start = datetime(2026, 3, 26, 15, tzinfo=WAW)
    f = facts()
    moved_facts = replace(f, sequence=3, block=replace(f.block, span=replace(f.block.span, start=start,
                                                                                 end=start + timedelta(hours=1))))
    moved = _event(moved_copy(cal.to_ical().decode(), moved_facts))
    assert moved["DTSTART"].dt == datetime(2026, 3, 26, 14, tzinfo=UTC) and moved["SEQUENCE"] == 3
    assert str(moved["SUMMARY"]) == "Training: Acme — until 16:00"
    assert str(moved["X-BLOCKTIME-PLANNED-END"]) == "20260326T150000Z"
    assert str(moved["X-USER-NOTE"]) == "bring the projector"
    alarms = {str(a["DESCRIPTION"]) for a in moved.walk("VALARM")}
    assert alarms == {"leave for Acme", "Acme: the block ends at 16:00"}
    assert {a.params["PARTSTAT"] for a in _people(moved)} == {"NEEDS-ACTION"}
    assert all(a.params["SCHEDULE-AGENT"] == "CLIENT" for a in _people(moved))


def test_answered_copy_sets_one_attendee() -> None:
    uid = facts().block.uid
    ev = _event(answered_copy(calendar_copy(facts()), uid, "b@acme.example", "DECLINED"))
    assert {address(a): a.params["PARTSTAT"] for a in _people(ev)} == {
        "a@acme.example": "NEEDS-ACTION", "b@acme.example": "DECLINED"}
    with pytest.raises(ValueError):
        answered_copy(calendar_copy(facts()), "other@uid", "b@acme.example", "DECLINED")


MS_REPLY = (  # Exchange's shape: no ORGANIZER, a Windows zone name without VTIMEZONE, COMMENT escaped
    "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\n"
    "BEGIN:VEVENT\r\nATTENDEE;PARTSTAT=ACCEPTED;CN=Ana Ruiz:MAILTO:Ana@Example.test\r\n"
    "COMMENT;LANGUAGE=en-US:Uh huh\\, here's my comment\\n\r\nUID:u-1\r\n"
    "DTSTART;TZID=Eastern Standard Time:20260803T113000\r\nDTEND;TZID=Eastern Standard Time:20260803T120000\r\n"
    "SEQUENCE:2\r\nDTSTAMP:20260801T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_reads_an_exchange_reply() -> None:
    method, (a,) = read_itip(MS_REPLY, WAW)
    assert method == "REPLY"
    assert a == Answer("u-1", "ana@example.test", "ACCEPTED", 2, datetime(2026, 8, 1, 10, tzinfo=UTC),
                       "Uh huh, here's my comment")


def test_reads_a_counter_in_a_windows_zone_and_floating_time() -> None:
    counter = MS_REPLY.replace("METHOD:REPLY", "METHOD:COUNTER")
    _, (c,) = read_itip(counter, WAW)
    assert isinstance(c, Counter)
    assert c.start == datetime(2026, 8, 3, 17, 30, tzinfo=WAW)  # 11:30 New York is 17:30 Warsaw
    assert c.end is not None and c.end - c.start == timedelta(minutes=30)
    assert proposal(c, timedelta(hours=1)).duration == timedelta(hours=1)  # the block keeps its length
    floating = counter.replace(";TZID=Eastern Standard Time", "")
    _, (f,) = read_itip(floating, WAW)
    assert isinstance(f, Counter) and f.start == datetime(2026, 8, 3, 11, 30, tzinfo=WAW)
    duration = floating.replace("DTEND:20260803T120000", "DURATION:PT45M")
    _, (d,) = read_itip(duration, WAW)
    assert isinstance(d, Counter) and d.end == datetime(2026, 8, 3, 12, 15, tzinfo=WAW)


@pytest.mark.parametrize(("change", "needle"), [
    (("METHOD:REPLY", "METHOD:REQUEST"), "not a REPLY or COUNTER"),
    (("METHOD:REPLY\r\n", ""), "without METHOD"),
    (("PARTSTAT=ACCEPTED", "PARTSTAT=NEEDS-ACTION"), "NEEDS-ACTION"),
    (("UID:u-1\r\n", ""), "no UID"),
    (("BEGIN:VCALENDAR", "BEGIN:NONSENSE"), "not an iCalendar"),
])
def test_bad_replies(change: tuple[str, str], needle: str) -> None:
    with pytest.raises(BadInput, match=needle):
        read_itip(MS_REPLY.replace(*change), WAW)


def test_an_all_day_proposal_is_refused() -> None:
    counter = MS_REPLY.replace("METHOD:REPLY", "METHOD:COUNTER").replace(
        "DTSTART;TZID=Eastern Standard Time:20260803T113000", "DTSTART;VALUE=DATE:20260803")
    with pytest.raises(BadInput, match="whole day"):
        read_itip(counter, WAW)


def test_google_response_comment_is_unescaped() -> None:
    reply = MS_REPLY.replace("COMMENT;LANGUAGE=en-US:Uh huh\\, here's my comment\\n\r\n", "").replace(
        "ATTENDEE;PARTSTAT=ACCEPTED;CN=Ana Ruiz:",
        'ATTENDEE;PARTSTAT=DECLINED;X-RESPONSE-COMMENT="Declined because it&#39\\;s late":')
    _, (a,) = read_itip(reply, WAW)
    assert isinstance(a, Answer) and a.note == "Declined because it's late" and a.partstat == "DECLINED"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(note=NOTE)
def test_reply_notes_survive_escaping(note: str) -> None:
    cal = icalendar.Calendar()
    cal.add("METHOD", "REPLY")
    ev = icalendar.Event()
    ev.add("UID", "u-1")
    ev.add("DTSTAMP", datetime(2026, 3, 20, tzinfo=UTC))
    attendee = icalendar.vCalAddress("mailto:a@acme.example")
    attendee.params["PARTSTAT"] = "TENTATIVE"
    ev.add("ATTENDEE", attendee)
    ev.add("COMMENT", note)
    cal.add_component(ev)
    text = cal.to_ical().decode()
    assert _lines_ok(text)
    _, (a,) = read_itip(text, WAW)
    assert isinstance(a, Answer) and a.note == note.strip()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(client=NOTE, site=NOTE, language=st.sampled_from(["en", "pl"]))
def test_names_survive_every_invite(client: str, site: str, language: str) -> None:
    f = facts(language, site)
    f = replace(f, engagement=replace(f.engagement, client=client))
    for text in (request(f), cancel(f), calendar_copy(f)):
        assert _lines_ok(text)
        ev = _event(text)
        assert str(ev["LOCATION"]) == site
        assert x_text(ev, "X-BLOCKTIME-SITE") == site and x_text(ev, "X-BLOCKTIME-CLIENT") == client
        assert client in str(ev["SUMMARY"]) and client in str(ev["DESCRIPTION"])
