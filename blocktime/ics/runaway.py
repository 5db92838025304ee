"""Recurrence rules that would run away when expanded (RFC 5545 §3.3.10 sets no limit).

Estimated from the rule alone, before dateutil walks it: dateutil walks a rule period by period
from DTSTART, and to the year 9999 when it never matches.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def _aware(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0), tz)


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


def bound_series(cal: Any, end: datetime, tz: ZoneInfo) -> list[tuple[Any, str]]:
    """Remove the VEVENT series whose expansion up to `end` would run away: repeating every second
    or minute, too many periods since DTSTART, a BYSETPOS beyond its period, dates that never
    occur (February 30), or an INTERVAL that may never meet its BY filters. Returns each removed
    VEVENT with why it was left out."""
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
            out.append((ev, why))
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


_DAYS = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 31, "YEARLY": 366}


def anchor(first: Any, rule: str, target: Any) -> Any:
    """A later start for `rule` than `first` (date or date-time, as `target`) that yields the same
    occurrences from `target` on: whole periods of the rule are skipped, so that a series since
    1900 is not walked from 1900 on every query. `first` itself when that cannot be done (COUNT)."""
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    if "COUNT" in parts or first >= target:
        return first
    freq, step = parts.get("FREQ", ""), max(1, int(parts.get("INTERVAL", "1")))
    if freq in ("DAILY", "WEEKLY"):
        period = step * _DAYS[freq]
        days = (target - first).days
        return first + timedelta(days=days - days % period)
    if freq in ("MONTHLY", "YEARLY"):
        months = (target.year - first.year) * 12 + target.month - first.month
        period = step * (12 if freq == "YEARLY" else 1)
        months -= months % period
        while months > 0:
            y, m = divmod(first.month - 1 + months, 12)
            try:
                moved = first.replace(year=first.year + y, month=m + 1)
            except ValueError:  # the 31st, February 29th: an earlier period has the day
                moved = target
            if moved < target:
                return moved
            months -= period
        return first
    raise ValueError(f"FREQ={freq} cannot be anchored")


def _naive(value: Any) -> Any:
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value


def anchor_series(cal: Any, start: datetime) -> None:
    """Move the DTSTART (and DTEND) of every long-running series to a whole number of periods
    before `start`, so that its expansion does not re-walk the years before. The moved start may
    not match the rule (RFC 5545: DTSTART always counts), so it is put the event's length and two
    days (any UTC offset) before `start`, where it cannot touch the window. A plain yearly rule
    (a birthday) is read as the equal monthly rule with INTERVAL=12, which dateutil walks faster."""
    for ev in cal.walk("VEVENT"):
        rule = ev.get("RRULE")
        if rule is None or isinstance(rule, list) or "RECURRENCE-ID" in ev:
            continue
        try:
            first = ev["DTSTART"].dt
            text = rule.to_ical().decode("ascii")
            freq = str(rule["FREQ"][0]).upper()
            if freq not in _DAYS:
                continue
            length = _naive(ev["DTEND"].dt) - _naive(first) if "DTEND" in ev else timedelta(0)
            reach = timedelta(days=2) + abs(length)
            if isinstance(first, datetime):
                target: Any = start.astimezone(first.tzinfo) if first.tzinfo else start.replace(tzinfo=None)
            else:
                target = start.date()
            moved = anchor(first, text, target - reach)
        except (KeyError, ValueError, TypeError, OverflowError):
            continue
        if moved != first:
            ev["DTSTART"].dt = moved
            if "DTEND" in ev:
                ev["DTEND"].dt = moved + length
        if freq == "YEARLY" and set(rule) <= {"FREQ", "INTERVAL", "UNTIL", "COUNT", "WKST"}:
            # the same dates (DTSTART's day of DTSTART's month, every k years), but dateutil then
            # looks at one month per period instead of every day of the year
            rule["FREQ"], rule["INTERVAL"] = ["MONTHLY"], [12 * int(rule.get("INTERVAL", [1])[0])]
