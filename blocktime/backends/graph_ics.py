"""Microsoft Graph event JSON <-> the iCalendar text the rest of blocktime reads and writes.

Graph's `iCalUId` is read-only and assigned by Exchange, so blocktime keeps its own UID, and its
whole iCalendar copy (X-BLOCKTIME facts, SEQUENCE, the end-relative alarm), in two single-value
extended properties. Reading an event starts from that copy and lays Graph's own fields over it,
so an edit made in Outlook (moved, renamed, cancelled) comes back; events that blocktime did not
write get their UID from iCalUId. Times go out and come back in UTC (`Prefer: outlook.timezone`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PS_PUBLIC_STRINGS = "{00020329-0000-0000-C000-000000000046}"
UID_PROP = f"String {PS_PUBLIC_STRINGS} Name blocktime-uid"
ICS_PROP = f"String {PS_PUBLIC_STRINGS} Name blocktime-ics"
PRODID = "-//blocktime//Microsoft Graph//EN"


def _when(value: date | datetime) -> dict[str, str]:
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value  # floating: read as UTC
        return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
    return {"dateTime": f"{value.isoformat()}T00:00:00", "timeZone": "UTC"}


def _show_as(ev: Any) -> str:
    status = str(ev.get("STATUS", "")).upper()
    if status == "TENTATIVE":
        return "tentative"
    if status == "CANCELLED" or str(ev.get("TRANSP", "")).upper() == "TRANSPARENT":
        return "free"
    return "busy"


def _reminder(ev: Any) -> dict[str, Any]:
    """Graph reminders count from the start only (`reminderMinutesBeforeStart`): an alarm related
    to the START is taken as it is, else one related to the END becomes a reminder as many minutes
    before the start (the alarm that would name the end cannot be placed before it)."""
    found: dict[str, int] = {}
    for alarm in ev.walk("VALARM"):
        trigger = alarm.get("TRIGGER")
        if trigger is None or not isinstance(trigger.dt, timedelta) or trigger.dt > timedelta(0):
            continue
        related = str(trigger.params.get("RELATED", "START")).upper()
        found.setdefault(related, int(-trigger.dt.total_seconds() // 60))
    minutes = found.get("START", found.get("END"))
    if minutes is None:
        return {"isReminderOn": False}
    return {"isReminderOn": True, "reminderMinutesBeforeStart": minutes}


def to_graph(text: str) -> tuple[str, dict[str, Any]]:
    """(UID, Graph event body) for the first VEVENT of `text`; the text itself rides along."""
    from icalendar import Calendar

    cal = Calendar.from_ical(text)
    events = cal.walk("VEVENT")
    if not events:
        raise ValueError("no VEVENT in the object")
    ev = events[0]
    uid = str(ev["UID"])
    start = ev.decoded("DTSTART")
    if "DTEND" in ev:
        end = ev.decoded("DTEND")
    elif "DURATION" in ev:
        end = start + ev.decoded("DURATION")
    else:
        end = start + (timedelta(days=1) if not isinstance(start, datetime) else timedelta(0))
    categories: list[str] = []
    for item in ev.get("CATEGORIES", []) if isinstance(ev.get("CATEGORIES"), list) else [ev.get("CATEGORIES")]:
        if item is not None:
            categories.extend(str(c) for c in item.cats)
    body: dict[str, Any] = {
        "subject": str(ev.get("SUMMARY", "")),
        "body": {"contentType": "text", "content": str(ev.get("DESCRIPTION", ""))},
        "start": _when(start),
        "end": _when(end),
        "isAllDay": not isinstance(start, datetime),
        "location": {"displayName": str(ev.get("LOCATION", ""))},
        "showAs": _show_as(ev),
        "categories": categories,
        **_reminder(ev),
        "singleValueExtendedProperties": [{"id": UID_PROP, "value": uid}, {"id": ICS_PROP, "value": text}],
    }
    return uid, body


def extended(event: dict[str, Any]) -> dict[str, str]:
    """blocktime's extended properties of a Graph event, by our id (Graph may change the case)."""
    ours = {UID_PROP.lower(): UID_PROP, ICS_PROP.lower(): ICS_PROP}
    out = {}
    for prop in event.get("singleValueExtendedProperties") or []:
        key = ours.get(str(prop.get("id", "")).lower())
        if key is not None and prop.get("value") is not None:
            out[key] = str(prop["value"])
    return out


def graph_time(value: dict[str, Any], all_day: bool) -> date | datetime:
    """A Graph dateTimeTimeZone as an aware UTC datetime (or a date for all-day events)."""
    text = str(value["dateTime"])
    head, _, frac = text.partition(".")
    moment = datetime.fromisoformat(head + ("." + frac[:6] if frac else ""))
    if all_day:
        return moment.date()
    name = str(value.get("timeZone") or "UTC")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(name))
    return moment.astimezone(UTC)


def _zone(name: str) -> Any:
    if name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

        olson = WINDOWS_TO_OLSON.get(name)
        return ZoneInfo(olson) if olson else UTC


def _replace(ev: Any, name: str, value: Any, **params: str) -> None:
    ev.pop(name, None)
    if value is not None and value != "":
        ev.add(name, value, parameters=params or None)


def from_graph(event: dict[str, Any]) -> str:
    """The iCalendar text of a Graph event: blocktime's own copy with Graph's fields laid over it."""
    from icalendar import Calendar, Event, vCalAddress

    props = extended(event)
    ev: Any = None
    if ICS_PROP in props:
        try:
            ev = next(iter(Calendar.from_ical(props[ICS_PROP]).walk("VEVENT")), None)
        except ValueError:
            ev = None
    own = ev is not None
    if ev is None:
        ev = Event()
    uid = props.get(UID_PROP) or event.get("iCalUId") or event["id"]
    _replace(ev, "UID", str(uid))
    all_day = bool(event.get("isAllDay"))
    if "start" in event:
        _replace(ev, "DTSTART", graph_time(event["start"], all_day))
    if "end" in event:
        ev.pop("DURATION", None)
        _replace(ev, "DTEND", graph_time(event["end"], all_day))
    if "subject" in event:
        _replace(ev, "SUMMARY", event.get("subject") or "")
    if "location" in event:
        _replace(ev, "LOCATION", (event.get("location") or {}).get("displayName") or "")
    body = event.get("body") or {}
    if body.get("contentType", "text").lower() == "text" and "content" in body:
        _replace(ev, "DESCRIPTION", (body.get("content") or "").replace("\r\n", "\n"))
    show = str(event.get("showAs", "busy")).lower()
    # the signed-in user declined it (an invitation Outlook keeps): free time, as a declined
    # invitation is in CalDAV (ics.busy); a tentative one stays busy
    declined = str((event.get("responseStatus") or {}).get("response", "")).lower() == "declined"
    _replace(ev, "TRANSP", "TRANSPARENT" if show == "free" or declined else "OPAQUE")
    old = str(ev.get("STATUS", "")).upper()
    if event.get("isCancelled"):
        status = "CANCELLED"
    elif show == "tentative":
        status = "TENTATIVE"
    else:
        status = old if old in ("CONFIRMED", "CANCELLED") else "CONFIRMED"
    _replace(ev, "STATUS", status)
    if event.get("lastModifiedDateTime"):
        _replace(ev, "LAST-MODIFIED", graph_time({"dateTime": event["lastModifiedDateTime"].rstrip("Z")}, False))
    if not own:
        stamp = event.get("lastModifiedDateTime") or event.get("createdDateTime")
        _replace(ev, "DTSTAMP", graph_time({"dateTime": str(stamp or "1970-01-01T00:00:00").rstrip("Z")}, False))
        organizer = ((event.get("organizer") or {}).get("emailAddress") or {}).get("address")
        if organizer:
            _replace(ev, "ORGANIZER", vCalAddress(f"mailto:{organizer}"))
        for att in event.get("attendees") or []:
            address = (att.get("emailAddress") or {}).get("address")
            if address:
                partstat = {"accepted": "ACCEPTED", "declined": "DECLINED", "tentativelyAccepted": "TENTATIVE"}
                response = (att.get("status") or {}).get("response", "none")
                ev.add("ATTENDEE", vCalAddress(f"mailto:{address}"),
                       parameters={"PARTSTAT": partstat.get(response, "NEEDS-ACTION")})
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add_component(ev)
    return str(cal.to_ical().decode("utf-8"))
