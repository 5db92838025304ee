"""iTIP (RFC 5546) for blocks: REQUEST, its updates, CANCEL and DECLINECOUNTER out; REPLY and COUNTER in.

Every message is built from the same VEVENT as the calendar copy (`ics.event.build_event`), so the
UID, the times and the texts always agree; only the mailed copy leaves out SCHEDULE-AGENT. The
SEQUENCE is blocktime's own (stored per block): +1 for every significant change (§2.1.4).

>>> from blocktime.ics.itip import address
>>> address("MAILTO:It@Acme.Example")
'it@acme.example'
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from blocktime.core.model import Interval
from blocktime.errors import BadInput
from blocktime.ics.event import X_PLANNED_END, EventFacts, build_event, calendar_of, joined, text_of

ANSWERS = ("ACCEPTED", "DECLINED", "TENTATIVE")


def address(value: object) -> str:
    """The bare, lower-case e-mail address of a CAL-ADDRESS (`mailto:` in any case dropped)."""
    text = str(value).strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    return text.strip().lower()


def _attendees(ev: Any) -> list[vCalAddress]:
    found = ev.get("ATTENDEE")
    if found is None:
        return []
    return list(found) if isinstance(found, list) else [found]


def _mailed(facts: EventFacts, sent_by: str | None) -> Event:
    ev = build_event(facts, for_mail=True)
    if sent_by and address(sent_by) != address(facts.organizer.email):
        ev["ORGANIZER"].params["SENT-BY"] = f"mailto:{sent_by}"  # RFC 5545 §3.2.18
    return ev


def request(facts: EventFacts, *, sent_by: str | None = None) -> str:
    """REQUEST (§3.2.2) for a new block, or for a moved one (same UID, SEQUENCE+1, fresh DTSTAMP:
    §3.2.2.1). Attendees get PARTSTAT=NEEDS-ACTION;RSVP=TRUE, so Gmail and Outlook show the buttons."""
    return _text(calendar_of(_mailed(facts, sent_by), method="REQUEST"))


def copy_and_request(facts: EventFacts) -> tuple[str, str]:
    """`ics.event.calendar_copy(facts)` and `request(facts)` from one VEVENT: booking needs both,
    and they differ only in the calendar's METHOD and the copy's SCHEDULE-AGENT=CLIENT, so the
    REQUEST is the copy's content lines with those lines made again by icalendar (tests/ics/test_text.py
    holds both to `calendar_copy` and `request`)."""
    ev = build_event(facts, for_mail=False)
    cal = calendar_of(ev)
    lines = cal.content_lines()
    for a in _attendees(ev):
        del a.params["SCHEDULE-AGENT"]  # what build_event(for_mail=True) leaves out
    mailed = iter([ev.content_line("ATTENDEE", a) for a in _attendees(ev)])
    method = cal.content_line("METHOD", vText("REQUEST"))
    invite = []
    for line in lines:
        if line == "BEGIN:VEVENT":  # METHOD is the last of the calendar's own properties
            invite.append(method)
        invite.append(next(mailed) if line.startswith(("ATTENDEE;", "ATTENDEE:")) else line)
    return joined(lines), joined(invite)


def cancel(facts: EventFacts, *, sent_by: str | None = None) -> str:
    """CANCEL (§3.2.5): every attendee, STATUS:CANCELLED, the SEQUENCE of `facts` (one above the
    last REQUEST), no VALARM and no RSVP (there is nothing left to answer)."""
    from dataclasses import replace

    ev = _mailed(replace(facts, status="CANCELLED"), sent_by)
    ev.subcomponents = [c for c in ev.subcomponents if c.name != "VALARM"]
    for a in _attendees(ev):
        a.params.pop("RSVP", None)
        a.params.pop("PARTSTAT", None)
    return _text(calendar_of(ev, method="CANCEL"))


def decline_counter(facts: EventFacts, attendee: str, note: str = "", *, sent_by: str | None = None) -> str:
    """DECLINECOUNTER (§3.2.8) to the attendee who proposed another time: the event stays as it is.
    Only what §3.2.8 allows (no times, no SUMMARY); the mail's text says what stays."""
    full = _mailed(facts, sent_by)
    ev = Event()
    for name in ("UID", "SEQUENCE", "DTSTAMP", "ORGANIZER"):
        ev[name] = full[name]
    for a in _attendees(full):
        if address(a) == address(attendee):
            ev.add("ATTENDEE", a)
    if note:
        ev.add("COMMENT", note)
    return _text(calendar_of(ev, method="DECLINECOUNTER"))


def _text(cal: Calendar) -> str:
    return text_of(cal)


# The calendar copy ---------------------------------------------------------------------------

def _own_event(cal: Calendar, uid: str) -> Any:
    for ev in cal.walk("VEVENT"):
        if str(ev.get("UID")) == uid and "RECURRENCE-ID" not in ev:
            return ev
    raise ValueError(f"no event {uid} in the object")


def moved_copy(text: str, facts: EventFacts) -> str:
    """The server's copy moved to `facts` (times, SEQUENCE, DTSTAMP, texts, blocktime's own alarm),
    attendees back to NEEDS-ACTION (a new time needs a new answer); anything else a user edited stays."""
    cal = Calendar.from_ical(text)
    ev = _own_event(cal, facts.block.uid)
    fresh = build_event(facts, for_mail=False)
    ev.pop("DURATION", None)
    for name in ("DTSTART", "DTEND", "SEQUENCE", "DTSTAMP", "SUMMARY", "DESCRIPTION", X_PLANNED_END):
        ev.pop(name, None)
        ev[name] = fresh[name]
    ours = [c for c in ev.subcomponents if c.name == "VALARM" and _ends_related(c)]
    ev.subcomponents = [c for c in ev.subcomponents if c not in ours] + list(fresh.walk("VALARM"))
    invited = set(facts.engagement.attendees)
    for a in _attendees(ev):
        if address(a) in {address(x) for x in invited}:
            a.params["PARTSTAT"] = "NEEDS-ACTION"
            a.params["RSVP"] = "TRUE"
    return _text(cal)


def _ends_related(alarm: Any) -> bool:
    trigger = alarm.get("TRIGGER")
    return trigger is not None and str(trigger.params.get("RELATED", "")).upper() == "END"


def answered_copy(text: str, uid: str, attendee: str, partstat: str) -> str:
    """The server's copy with one attendee's answer written into PARTSTAT (no SEQUENCE change:
    an answer is not a change of the event, RFC 5546 §2.1.4)."""
    cal = Calendar.from_ical(text)
    ev = _own_event(cal, uid)
    for a in _attendees(ev):
        if address(a) == address(attendee):
            a.params["PARTSTAT"] = partstat
            a.params.pop("RSVP", None)
    return _text(cal)


# Incoming: REPLY and COUNTER -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Answer:
    """One attendee's REPLY (§3.2.3) to one event."""

    uid: str
    attendee: str
    partstat: str
    sequence: int
    stamp: datetime | None
    note: str


@dataclass(frozen=True, slots=True)
class Counter:
    """One attendee's COUNTER (§3.2.7): a proposed new time. `end` None: the proposal gave none."""

    uid: str
    attendee: str
    sequence: int
    stamp: datetime | None
    start: datetime
    end: datetime | None
    note: str


_GOOGLE_ESCAPES = re.compile(r"\\([\\;,nN])")


def _note(ev: Any, attendee: vCalAddress) -> str:
    """COMMENT (RFC 5545, Outlook and Apple), else Google's X-RESPONSE-COMMENT parameter, which
    Google writes HTML-escaped and with TEXT escapes inside the quoted value."""
    comment = ev.get("COMMENT")
    if comment is not None:
        first = comment[0] if isinstance(comment, list) else comment
        return str(first).strip()
    raw = attendee.params.get("X-RESPONSE-COMMENT")
    if raw is None:
        return ""
    text = _GOOGLE_ESCAPES.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), str(raw))
    return html.unescape(text).strip()


def _when(value: Any, tz: ZoneInfo, what: str) -> datetime:
    dt = value.dt
    if not isinstance(dt, datetime):
        if isinstance(dt, date):
            raise BadInput(f"the proposed {what} is a whole day, not a time")
        raise BadInput(f"cannot read the proposed {what}")
    if not 1900 <= dt.year <= 9000:  # far from the edges of datetime, where moving it overflows
        raise BadInput(f"the proposed {what} {dt:%Y-%m-%d} is out of range")
    return dt.astimezone(tz) if dt.tzinfo is not None else dt.replace(tzinfo=tz)  # floating: organizer's


def read_itip(text: str, tz: ZoneInfo) -> tuple[str, list[Answer | Counter]]:
    """METHOD and the answers or proposals of an iTIP message. Matching is on UID + attendee, since
    Outlook.com omits ORGANIZER; Windows zone names (Outlook) are resolved by icalendar; floating
    times are read in `tz`."""
    try:
        cal = Calendar.from_ical(text.replace("\ufeff", ""))  # a BOM from the mail's decoding
    except Exception as exc:  # anything a mail client can produce
        raise BadInput(f"not an iCalendar file ({type(exc).__name__})") from None
    if cal.name != "VCALENDAR":
        raise BadInput(f"not an iCalendar file (it holds a {cal.name})")
    method = str(cal.get("METHOD", "")).upper()
    if method not in ("REPLY", "COUNTER"):
        raise BadInput(f"this is an iTIP {method or 'file without METHOD'}, not a REPLY or COUNTER",
                       "import the attendee's answer (an .ics or the whole .eml)")
    out: list[Answer | Counter] = []
    events: list[Any] = cal.walk("VEVENT")
    for ev in events:
        try:
            out.extend(_read_event(ev, method, tz))
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError) as exc:
            # icalendar raises these (BrokenCalendarProperty is a ValueError) on damaged properties
            raise BadInput(f"cannot read the {method}: a damaged event ({type(exc).__name__})",
                           "ask the attendee to answer again") from None
    if not out:
        raise BadInput(f"the {method} holds no event")
    return method, out


def _read_event(ev: Any, method: str, tz: ZoneInfo) -> list[Answer | Counter]:
    """The answers or proposals of one VEVENT, one per ATTENDEE."""
    out: list[Answer | Counter] = []
    uid = str(ev.get("UID", "")).strip()
    people = _attendees(ev)
    if not uid or not people:
        raise BadInput("the reply has no UID or no ATTENDEE")
    sequence = int(ev.get("SEQUENCE", 0))
    stamp_prop = ev.get("DTSTAMP")
    stamp = stamp_prop.dt.astimezone(UTC) if stamp_prop is not None else None
    for who in people:
        note = _note(ev, who)
        if method == "REPLY":
            partstat = str(who.params.get("PARTSTAT", "")).upper()
            if partstat not in ANSWERS:
                raise BadInput(f"the reply's answer {partstat or '(none)'} is not one of {', '.join(ANSWERS)}")
            out.append(Answer(uid, address(who), partstat, sequence, stamp, note))
        else:
            if "DTSTART" not in ev:
                raise BadInput("the proposal has no DTSTART")
            start = _when(ev["DTSTART"], tz, "start")
            end = None
            if "DTEND" in ev:
                end = _when(ev["DTEND"], tz, "end")
            elif "DURATION" in ev and isinstance(ev["DURATION"].dt, timedelta):
                end = start + ev["DURATION"].dt
            if end is not None and end <= start:
                raise BadInput("the proposed time ends before it starts")
            out.append(Counter(uid, address(who), sequence, stamp, start, end, note))
    return out


def proposal(c: Counter, length: timedelta) -> Interval:
    """The proposed block: its start, and the block's own length (a block is sold by length)."""
    return Interval(c.start, (c.start.astimezone(UTC) + length).astimezone(c.start.tzinfo))
