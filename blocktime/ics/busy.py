"""Busy time from real-world calendar objects, expanded here rather than trusted to the server.

Recurring series are expanded with recurring-ical-events (RRULE, RDATE, EXDATE, RECURRENCE-ID
overrides); Google's X-WR-TIMEZONE is applied by its `of()`; Windows zone names (Outlook) are
resolved by icalendar. Floating times and all-day dates are read in the organizer's zone.
TRANSP:TRANSPARENT and STATUS:CANCELLED do not block time (RFC 5545 §3.8.2.7, §3.8.1.11).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from blocktime.core.model import Busy, Interval
from blocktime.ics.event import X_SITE, x_text


@dataclass(slots=True)
class BusyResult:
    busy: list[Busy] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _aware(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0), tz)


def busy_from_texts(
    texts: Iterable[tuple[str, str]], start: datetime, end: datetime, tz: ZoneInfo
) -> BusyResult:
    """Busy intervals in [start, end) from (label, iCalendar text) pairs; bad objects are
    skipped with a warning naming the label, never a crash."""
    import icalendar
    import recurring_ical_events

    result = BusyResult()
    window = Interval(start, end)
    for label, text in texts:
        try:
            cal = icalendar.Calendar.from_ical(text)
            try:
                occurrences = recurring_ical_events.of(cal).between(start, end)
            except Exception as exc:  # one bad series must not hide the rest of a file
                result.warnings.append(f"skipped a broken series in {label}: {type(exc).__name__}")
                occurrences = recurring_ical_events.of(cal, skip_bad_series=True).between(start, end)
            for ev in occurrences:
                item = _busy(ev, tz)
                if item is not None and item.span.overlaps(window):
                    result.busy.append(item)
        except Exception as exc:  # real calendars hold every kind of damage
            result.warnings.append(f"skipped unreadable calendar data in {label}: {type(exc).__name__}")
    result.busy.sort(key=lambda b: (b.span.start, b.span.end, b.uid))
    return result


def _busy(ev: Any, tz: ZoneInfo) -> Busy | None:
    if str(ev.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    if str(ev.get("STATUS", "")).upper() == "CANCELLED":
        return None
    if "DTSTART" not in ev:
        return None
    raw_start = ev["DTSTART"].dt
    start = _aware(raw_start, tz)
    if "DTEND" in ev:
        stop = _aware(ev["DTEND"].dt, tz)
    elif "DURATION" in ev:
        stop = start + ev["DURATION"].dt
    elif isinstance(raw_start, datetime):
        stop = start  # RFC 5545 §3.6.1: a DATE-TIME start without end takes no time
    else:
        stop = _aware(raw_start + timedelta(days=1), tz)
    if stop <= start:
        return None
    site = x_text(ev, X_SITE)
    # UTC from here on: comparisons between one zone's datetimes are cheap, across zones they are not
    span = Interval(start.astimezone(UTC), stop.astimezone(UTC))
    return Busy(span, str(ev.get("UID", "")), str(ev.get("SUMMARY", "")), site)
