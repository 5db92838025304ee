"""Checks that a received mail is an iMIP message Gmail and Outlook accept (RFC 6047, PITFALLS)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import parseaddr

import icalendar

from blocktime.ics.itip import address


def parts(msg: EmailMessage) -> tuple[EmailMessage, EmailMessage, EmailMessage, EmailMessage]:
    """(text/plain, text/html, text/calendar, invite.ics) of the required layout."""
    assert msg.get_content_type() == "multipart/mixed"
    top = list(msg.iter_parts())
    assert [p.get_content_type() for p in top] == ["multipart/alternative", "application/ics"]
    alt = list(top[0].iter_parts())
    assert [p.get_content_type() for p in alt] == ["text/plain", "text/html", "text/calendar"]
    ics = top[1]
    assert ics.get_content_disposition() == "attachment" and ics.get_filename() == "invite.ics"
    return alt[0], alt[1], alt[2], ics  # type: ignore[return-value]


def calendar(msg: EmailMessage) -> tuple[str, icalendar.Calendar]:
    _, _, cal_part, ics = parts(msg)
    raw = cal_part.get_payload(decode=True)
    assert isinstance(raw, bytes)
    assert ics.get_payload(decode=True) == raw  # the attachment is the same file
    text = raw.decode("utf-8")
    return text, icalendar.Calendar.from_ical(text)


def check_imip(msg: EmailMessage, method: str, language: str = "en") -> icalendar.Event:
    """Every rule we know for an iMIP mail; returns its VEVENT."""
    _, html, cal_part, _ = parts(msg)
    text, cal = calendar(msg)
    assert cal_part.get_content_charset() == "utf-8"
    assert cal_part.get_param("method") == method == str(cal["METHOD"])  # Outlook rejects a mismatch
    lines = text.split("\r\n")
    assert lines[-1] == "" and all("\n" not in line and "\r" not in line for line in lines)
    assert max(len(line.encode("utf-8")) for line in lines) <= 75  # RFC 5545 §3.1 folding
    for prop in ("PRODID", "VERSION"):
        assert prop in cal
    (ev,) = cal.walk("VEVENT")
    for prop in ("UID", "DTSTAMP", "SEQUENCE", "ORGANIZER"):
        assert prop in ev, prop
    attendees = ev.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert attendees and all("SCHEDULE-AGENT" not in a.params for a in attendees)
    if method in ("REQUEST", "CANCEL"):
        for prop in ("DTSTART", "DTEND", "SUMMARY", "STATUS"):
            assert prop in ev, prop
        assert ev["DTSTART"].dt.utcoffset().total_seconds() == 0  # UTC times
    if method == "REQUEST":
        assert all(a.params["PARTSTAT"] == "NEEDS-ACTION" and a.params["RSVP"] == "TRUE" for a in attendees)
        assert str(ev["STATUS"]) == "CONFIRMED" and ev.walk("VALARM")
    if method == "CANCEL":
        assert str(ev["STATUS"]) == "CANCELLED" and not ev.walk("VALARM") and "VALARM" not in text
    # From, Reply-To and ORGANIZER agree; the mail says the attendees' language
    organizer = ev["ORGANIZER"]
    sender = address(organizer.params.get("SENT-BY", organizer))
    assert parseaddr(str(msg["From"]))[1].lower() == sender
    assert parseaddr(str(msg["Reply-To"]))[1].lower() == address(organizer)
    assert str(msg["Content-Language"]) == language
    assert all(a.params.get("LANGUAGE") == language for a in attendees)
    assert f'lang="{language}"' in html.get_content()
    assert msg["Message-ID"] and msg["Date"]
    return ev
