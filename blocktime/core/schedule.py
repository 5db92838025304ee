"""When the nightly pass is due: pure wall-clock arithmetic, DST-safe for times outside 02:00-03:00."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


def last_nightly(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The most recent nightly time at or before `now` (local wall clock `at`)."""
    local = now.astimezone(tz)
    today = datetime.combine(local.date(), at, tz)
    return today if today <= now else datetime.combine(local.date() - timedelta(days=1), at, tz)


def next_nightly(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The next nightly time strictly after `now`."""
    return datetime.combine(last_nightly(now, at, tz).date() + timedelta(days=1), at, tz)


def catch_up_due(last_run: datetime | None, now: datetime, at: time, tz: ZoneInfo) -> bool:
    """True when a nightly time passed since the last nightly run (the machine was off or the
    daemon stopped): then exactly one catch-up pass runs, however many nights were missed."""
    return last_run is None or last_run < last_nightly(now, at, tz)


def ambiguous_or_missing(day: date, at: time, tz: ZoneInfo) -> bool:
    """True when local `at` on `day` does not exist (spring gap) or happens twice (autumn)."""
    first = datetime.combine(day, at, tz)
    second = first.replace(fold=1)
    if first.utcoffset() != second.utcoffset():
        return True  # the hour is repeated (or skipped: both folds then disagree as well)
    back = first.astimezone(ZoneInfo("UTC")).astimezone(tz)
    return back.replace(tzinfo=None) != first.replace(tzinfo=None)


@lru_cache(maxsize=256)  # a team's config asks the same question once per trainer
def safe_at(at: time, tz: ZoneInfo, start: date, days: int = 800) -> bool:
    """`at` exists exactly once on every day from `start` for `days` days in `tz`. Only days on
    which the zone's offset changes can fail, so only those are looked at closely."""
    days_to_check = []
    before = datetime.combine(start, time(0), tz).utcoffset()
    for i in range(days):
        day = start + timedelta(days=i)
        after = datetime.combine(day + timedelta(days=1), time(0), tz).utcoffset()
        if after != before:
            days_to_check.append(day)
        before = after
    return not any(ambiguous_or_missing(day, at, tz) for day in days_to_check)


def safe_nightly(preferred: time, tz: ZoneInfo, start: date) -> time:
    """`preferred`, or the next half hour after it that is safe in `tz` (US zones repeat 01:00-02:00,
    European ones 02:00-03:00)."""
    base = datetime.combine(start, preferred)
    for step in range(48):
        candidate = (base + timedelta(minutes=30 * step)).time()
        if safe_at(candidate, tz, start):
            return candidate
    return preferred
