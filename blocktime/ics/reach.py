"""Whether a VEVENT group can reach a window at all, read from its raw lines before any parsing
(DTSTART, DTEND/DURATION, RRULE's UNTIL or COUNT, RDATE, RECURRENCE-ID): what busy extraction
skips. It may say yes for a group that misses the window, never no for one that reaches it."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from blocktime.ics.rawtext import Group, value_of

_DAY = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DURATION = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?")
#: wall time can be this far from UTC (UTC-12 to UTC+14), and a day more for safety
_SLACK = timedelta(days=2)


def _day(line: str | None) -> date | None:
    m = _DAY.search(value_of(line)) if line else None
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def may_touch(group: Group, start: datetime, end: datetime) -> bool:
    """False only when the raw lines show that no VEVENT of `group` can reach [start, end):
    starting after it, or ending (series: UNTIL or COUNT, plus the length) before it. Anything
    unclear: True."""
    lo, hi = (start - _SLACK).date(), (end + _SLACK).date()
    try:
        return any(_may_touch(props, lo, hi) for props in group.props)
    except (ValueError, OverflowError):  # a length or a date beyond the calendar
        return True


def _may_touch(props: dict[str, str], lo: date, hi: date) -> bool:
    first = _day(props.get("DTSTART"))
    if first is None or "RDATE" in props or "EXRULE" in props or _RANGE in props.get("RECURRENCE-ID", ""):
        return True
    if first >= hi:
        return False
    last = _day(props.get("DTEND")) if "DTEND" in props else first
    if last is None:
        return True
    if "DURATION" in props:
        m = _DURATION.match(value_of(props["DURATION"]).strip().lstrip("+"))
        if not m:
            return True
        last += timedelta(weeks=int(m.group(1) or 0), days=int(m.group(2) or 0) + 1)
    if "RRULE" in props:
        end_of_series = series_end(value_of(props["RRULE"]), first)
        if end_of_series is None:
            return True
        last = end_of_series + (last - first) + timedelta(days=1)
    return last >= lo


_RANGE = "RANGE="  # RECURRENCE-ID;RANGE=THISANDFUTURE moves the occurrences after it too (§3.2.13)
#: the longest a period of each FREQ can be, and the rule parts that never leave a period of it
#: without an occurrence, so that COUNT occurrences end within COUNT periods (RFC 5545 §3.3.10)
_PERIOD = {"SECONDLY": timedelta(seconds=1), "MINUTELY": timedelta(minutes=1), "HOURLY": timedelta(hours=1),
           "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1), "MONTHLY": timedelta(days=31),
           "YEARLY": timedelta(days=366)}
_EXPANDING = {"DAILY": {"BYHOUR", "BYMINUTE", "BYSECOND"}, "WEEKLY": {"BYHOUR", "BYMINUTE", "BYSECOND", "BYDAY"}}
_WEEKDAYS = frozenset({"MO", "TU", "WE", "TH", "FR", "SA", "SU"})


def series_end(rule: str, first: date) -> date | None:
    """A day on or after the start of a series' last occurrence, from its RRULE value: UNTIL, or
    COUNT where every period of the rule holds an occurrence; None when the raw rule cannot tell."""
    parts = dict(p.partition("=")[::2] for p in rule.strip().upper().split(";") if p)
    if "UNTIL" in parts:
        return _day("X:" + parts["UNTIL"][:8])  # (with a COUNT too, the earlier of the two ends it)
    freq, count, interval = parts.get("FREQ", ""), parts.get("COUNT", ""), parts.get("INTERVAL", "1")
    if freq not in _PERIOD or not count.isdigit() or not interval.isdigit() or int(interval) < 1:
        return None
    for name, value in parts.items():
        if name in ("FREQ", "COUNT", "INTERVAL", "WKST"):
            continue
        if name not in _EXPANDING.get(freq, ()) or (name == "BYDAY" and not set(value.split(",")) <= _WEEKDAYS):
            return None  # a part that may leave periods empty (BYMONTH, BYSETPOS, 5MO …)
    if freq in ("MONTHLY", "YEARLY") and first.day > 28:
        return None  # the 31st, or 29 February, is skipped where it does not exist
    span = _PERIOD[freq] * (int(count) + 1) * int(interval)
    return first + timedelta(days=span.days + (span.seconds > 0))  # a day started is a day
