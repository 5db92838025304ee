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
            result.warnings.extend(f"skipped a series in {label}: {why}" for why in bound_series(cal, end, tz))
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


#: dateutil walks a rule period by period from DTSTART (and to the year 9999 when it never
#: matches), so a series costs about (periods from DTSTART to the window's end) x (times per
#: period); a series above this is left out with a warning. RFC 5545 §3.3.10 sets no limit.
MAX_SERIES_WORK = 100_000
#: a rule that may never match is walked to the year 9999: at most this many periods
MAX_BLIND_WALK = 500_000
_PERIOD = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400, "WEEKLY": 7 * 86400,
           "MONTHLY": 28 * 86400, "YEARLY": 365 * 86400}
_TIME_PARTS = (("BYSECOND", 1), ("BYMINUTE", 60), ("BYHOUR", 3600))
_DATE_PARTS = ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY")
#: the BY parts that filter (rather than expand) the periods of a frequency (RFC 5545 §3.3.10 table)
_FILTERS = {"HOURLY": ("BYHOUR", *_DATE_PARTS), "DAILY": _DATE_PARTS, "WEEKLY": ("BYMONTH",), "MONTHLY": ("BYMONTH",),
            "YEARLY": ()}


def bound_series(cal: Any, end: datetime, tz: ZoneInfo) -> list[str]:
    """Remove the VEVENT series whose expansion up to `end` would run away: repeating every second
    or minute, too many periods since DTSTART, a BYSETPOS beyond its period, dates that never
    occur (February 30), or an INTERVAL that may never meet its BY filters. Returns why each
    removed series was left out."""
    out = []
    for ev in list(cal.walk("VEVENT")):
        rules = ev.get("RRULE")
        if rules is None:
            continue
        try:
            first = _aware(ev["DTSTART"].dt, tz)
            whys = (_runaway(r, first, end) for r in (rules if isinstance(rules, list) else [rules]))
            why = next((w for w in whys if w), None)
        except Exception as exc:  # a rule we cannot read, the expansion could not either
            why = f"unreadable RRULE ({type(exc).__name__})"
        if why is not None:
            for parent in cal.walk():
                if ev in parent.subcomponents:
                    parent.subcomponents.remove(ev)
            out.append(f"{str(ev.get('UID', '?'))[:80]!r}: {why}")
    return out


def _runaway(rule: Any, first: datetime, end: datetime) -> str | None:
    from dateutil.rrule import rrulestr

    freq = str(rule["FREQ"][0]).upper()
    interval = int(rule.get("INTERVAL", [1])[0])
    if freq not in _PERIOD or interval < 1:
        return f"FREQ={freq};INTERVAL={interval} is not a rule"
    period = _PERIOD[freq]
    if period < 3600:
        return f"FREQ={freq}: a calendar event does not repeat every {freq[:-2].lower()}"
    times = 1
    for part, unit in _TIME_PARTS:
        if period > unit and part in rule:
            times *= len(rule[part])
    days = min(period // 86400, 366) if period > 86400 and any(p in rule for p in _DATE_PARTS) else 1
    if any(int(p) == 0 or abs(int(p)) > times * days for p in rule.get("BYSETPOS", [])):
        return "BYSETPOS beyond the occurrences of a period: it never occurs"
    if max(0.0, (end - first).total_seconds()) / (period * interval) * times > MAX_SERIES_WORK:
        return f"FREQ={freq} since {first:%Y-%m-%d} repeats too often to expand"
    dates = [f"{k}={','.join(str(v)[-2:] if k == 'BYDAY' else str(v) for v in vs)}"
             for k, vs in rule.items() if k in _DATE_PARTS]
    # The Gregorian calendar repeats every 400 years: dates that never occur in one such cycle
    # (BYDAY ordinals dropped: a superset) never occur at all.
    if dates and rrulestr(";".join(["FREQ=YEARLY", *dates]), dtstart=datetime(9599, 1, 1)).after(
            datetime(9599, 1, 1), inc=True) is None:
        return "its dates never occur"
    blind = (9999 - first.year) * (365 * 86400 // period) / interval
    if interval > 1 and any(p in rule for p in _FILTERS[freq]) and blind > MAX_BLIND_WALK:
        return f"FREQ={freq};INTERVAL={interval} with BY filters may never occur"
    return None


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
