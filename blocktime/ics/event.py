"""Block -> VEVENT (RFC 5545) for the calendar copy and for iTIP invites (RFC 5546).

Times are written in UTC: no VTIMEZONE to get wrong (see PITFALLS: RDATE-style VTIMEZONEs), and
Outlook handles UTC invites best. The organizer's zone is kept in X-BLOCKTIME-TZ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Alarm, Calendar, Event, vCalAddress, vText

from blocktime.core.model import Block, Engagement, Organizer
from blocktime.notes import render, when

PRODID = "-//blocktime//blocktime 0.1//EN"
X_ENGAGEMENT = "X-BLOCKTIME-ENGAGEMENT"
X_BLOCK = "X-BLOCKTIME-BLOCK"
X_SITE = "X-BLOCKTIME-SITE"
X_CLIENT = "X-BLOCKTIME-CLIENT"
X_PLANNED_END = "X-BLOCKTIME-PLANNED-END"
X_MAKEUP_FOR = "X-BLOCKTIME-MAKEUP-FOR"
X_TZ = "X-BLOCKTIME-TZ"


@dataclass(frozen=True, slots=True)
class EventFacts:
    """Everything needed to write one block as an event."""

    block: Block
    engagement: Engagement
    organizer: Organizer
    sequence: int
    stamp: datetime
    status: str = "CONFIRMED"


_ESCAPED = re.compile(r"\\([\\;,nN])")


def x_text(component: Any, name: str) -> str | None:
    """An X- property's text value, unescaped (RFC 5545 §3.3.11); icalendar keeps X- raw."""
    if name not in component:
        return None
    raw = component[name]
    raw = raw[0] if isinstance(raw, list) else raw
    text = raw.to_ical().decode("utf-8") if hasattr(raw, "to_ical") else str(raw)
    return _ESCAPED.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def _address(email: str, name: str | None = None, **params: str) -> vCalAddress:
    addr = vCalAddress(f"mailto:{email}")
    if name:
        addr.params["CN"] = vText(name)
    for key, value in params.items():
        addr.params[key.replace("_", "-").upper()] = value
    return addr


def attendee(email: str, language: str, *, for_mail: bool = False) -> vCalAddress:
    """An invited attendee who has not answered yet; the calendar copy says the server must not
    schedule on its own (blocktime sends the invitations)."""
    params = {"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE", "CUTYPE": "INDIVIDUAL",
              "LANGUAGE": language}
    if not for_mail:
        params["SCHEDULE-AGENT"] = "CLIENT"
    return _address(email, None, **params)


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def build_event(facts: EventFacts, *, for_mail: bool) -> Event:
    """The VEVENT of a block. The calendar copy marks attendees SCHEDULE-AGENT=CLIENT so a
    scheduling server does not send a second invite (RFC 6638 §7.1); the mailed copy does not."""
    block, eng, org = facts.block, facts.engagement, facts.organizer
    tz = org.timezone
    times = when(block.span.start, block.span.end, tz, eng.language)
    ev = Event()
    ev.add("UID", block.uid)
    ev.add("DTSTAMP", _utc(facts.stamp))
    ev.add("SEQUENCE", facts.sequence)
    ev.add("DTSTART", _utc(block.span.start))
    ev.add("DTEND", _utc(block.span.end))
    ev.add("SUMMARY", render("summary", eng.language, client=eng.client, **times))
    ev.add("LOCATION", eng.site)
    ev.add(
        "DESCRIPTION",
        render("event", eng.language, client=eng.client, site=eng.site, organizer=org.name, **times),
    )
    ev.add("STATUS", facts.status)
    ev.add("TRANSP", "OPAQUE")
    ev.add("CATEGORIES", ["blocktime"])
    ev.add("ORGANIZER", _address(org.email, org.name))
    for email in eng.attendees:
        ev.add("ATTENDEE", attendee(email, eng.language, for_mail=for_mail))
    ev.add(X_ENGAGEMENT, vText(eng.key))
    ev.add(X_BLOCK, str(block.number))
    ev.add(X_SITE, vText(eng.site))
    ev.add(X_CLIENT, vText(eng.client))
    ev.add(X_TZ, tz.key)
    ev.add(X_PLANNED_END, _utc(block.span.end).strftime("%Y%m%dT%H%M%SZ"))
    if block.makeup_for:
        ev.add(X_MAKEUP_FOR, vText(block.makeup_for))
    if facts.status != "CANCELLED":
        alarm = Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("TRIGGER", -timedelta(minutes=10), parameters={"RELATED": "END"})
        alarm.add("DESCRIPTION", render("alarm", eng.language, client=eng.client, **times))
        ev.add_component(alarm)
    return ev


def calendar_of(*events: Event, method: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    if method:
        cal.add("METHOD", method)
    for ev in events:
        cal.add_component(ev)
    return cal


def text_of(component: Any) -> str:
    """`component.to_ical()` as text, the same characters at a third of the cost (icalendar
    folds every line char by char, RFC 5545 §3.1; most lines fit and need no folding)."""
    return joined(component.content_lines())


def joined(lines: Any) -> str:
    """Content lines (`Component.content_lines()`) as iCalendar text, folded as icalendar folds."""
    return "\r\n".join(_folded(line) for line in lines if line) + "\r\n"


def _folded(line: Any) -> str:
    """`line.to_ical()` as text: pieces of at most 74 octets, never inside a character, one octet
    fewer when a piece would end in `\\` or `^` (icalendar keeps an escape with what it escapes).
    tests/ics/test_text.py holds this to the library on random lines."""
    if len(line) < 75 and (line.isascii() or len(line.encode("utf-8")) < 75):
        return str(line)
    raw = line.encode("utf-8")
    pieces, at = [], 0
    while len(raw) - at > 74:
        cut = at + 74
        while raw[cut] & 0xC0 == 0x80:  # a UTF-8 continuation octet: back to the character's start
            cut -= 1
        if raw[cut - 1] in b"\\^":
            cut -= 1
        pieces.append(raw[at:cut])
        at = cut
    pieces.append(raw[at:])
    return b"\r\n ".join(pieces).decode("utf-8")


def calendar_copy(facts: EventFacts) -> str:
    """The object stored on the organizer's calendar."""
    return text_of(calendar_of(build_event(facts, for_mail=False)))



X_OFFER = "X-BLOCKTIME-OFFER"
X_OPTION = "X-BLOCKTIME-OPTION"
X_DELIVERED = "X-BLOCKTIME-DELIVERED-MINUTES"
X_REMAINING = "X-BLOCKTIME-REMAINING-MINUTES"
X_EXPIRES = "X-BLOCKTIME-EXPIRES"


@dataclass(frozen=True, slots=True)
class HoldFacts:
    """A tentative, opaque event that keeps an offered slot free until the offer ends."""

    uid: str
    offer: str
    number: int
    start: datetime
    end: datetime
    engagement: Engagement
    organizer: Organizer
    expires: datetime
    stamp: datetime
    source: str = ""
    minutes: int = 0


def hold_copy(h: HoldFacts) -> str:
    from blocktime.notes import minutes, moment

    eng, lang, tz = h.engagement, h.engagement.language, h.organizer.timezone
    ev = Event()
    ev.add("UID", h.uid)
    ev.add("DTSTAMP", _utc(h.stamp))
    ev.add("SEQUENCE", 0)
    ev.add("DTSTART", _utc(h.start))
    ev.add("DTEND", _utc(h.end))
    ev.add("SUMMARY", render("hold_summary", lang, client=eng.client))
    ev.add("LOCATION", eng.site)
    ev.add("DESCRIPTION", render(
        "hold", lang, offer=h.offer, number=str(h.number), client=eng.client,
        length=minutes(int((h.end - h.start).total_seconds() // 60), lang),
        expires=moment(h.expires, tz, lang),
    ))
    ev.add("STATUS", "TENTATIVE")
    ev.add("TRANSP", "OPAQUE")
    ev.add("CATEGORIES", ["blocktime", "hold"])
    ev.add("ORGANIZER", _address(h.organizer.email, h.organizer.name))
    ev.add(X_ENGAGEMENT, vText(eng.key))
    ev.add(X_OFFER, vText(h.offer))
    ev.add(X_OPTION, str(h.number))
    ev.add(X_EXPIRES, _utc(h.expires).strftime("%Y%m%dT%H%M%SZ"))
    if h.source:
        ev.add(X_MAKEUP_FOR, vText(h.source))
        ev.add(X_REMAINING, str(h.minutes))
    ev.add(X_TZ, tz.key)
    return text_of(calendar_of(ev))


def patch_event(text: str, uid: str, *, end: datetime | None = None,
                summary: str | None = None, extra: dict[str, str] | None = None,
                invite: tuple[str, ...] = (), uninvite: tuple[str, ...] = (), language: str = "en") -> str:
    """Change a few properties of the server's own copy, keeping everything else (a user's
    edits to description, alarms or attendees survive). `invite` adds attendees not yet listed,
    `uninvite` takes some off (addresses compared without case)."""
    from icalendar import Calendar

    cal = Calendar.from_ical(text)
    found = False
    for ev in cal.walk("VEVENT"):
        if str(ev.get("UID")) != uid or "RECURRENCE-ID" in ev:
            continue
        found = True
        if end is not None:
            ev.pop("DURATION", None)
            ev.pop("DTEND", None)
            ev.add("DTEND", _utc(end))
        if summary is not None:
            ev.pop("SUMMARY", None)
            ev.add("SUMMARY", summary)
        for key, value in (extra or {}).items():
            ev.pop(key, None)
            ev.add(key, vText(value))
        if invite or uninvite:
            listed = ev.get("ATTENDEE", [])
            listed = listed if isinstance(listed, list) else [listed]
            off = {a.lower() for a in uninvite}
            kept = [a for a in listed if str(a).removeprefix("mailto:").lower() not in off]
            have = {str(a).removeprefix("mailto:").lower() for a in kept}
            kept += [attendee(a, language) for a in invite if a.lower() not in have]
            ev.pop("ATTENDEE", None)
            for a in kept:
                ev.add("ATTENDEE", a)
    if not found:
        raise ValueError(f"no event {uid} in the object")
    return text_of(cal)


def cut_short_copy(text: str, uid: str, start: datetime, ended_at: datetime, delivered: int, remaining: int,
                   language: str, client: str, tz: Any) -> str:
    """A block's event (written for its planned span) as it reads once cut short: the real end,
    a summary that says so, delivered and remaining minutes; the planned end, SEQUENCE and the
    description stay. The calendar copy and `export` both go through here, so they match."""
    summary = render("cut_summary", language, client=client, **when(start, ended_at, tz, language))
    return patch_event(text, uid, end=ended_at, summary=summary,
                       extra={X_DELIVERED: str(delivered), X_REMAINING: str(remaining)})
