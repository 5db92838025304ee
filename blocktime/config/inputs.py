"""Reading what people type: durations, weekdays, date-times in the organizer's zone."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from blocktime.errors import BadInput

_DURATION = r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$"  # compiled on first use


def duration(text: str, *, flag: str = "duration", bare_minutes: bool = False) -> timedelta:
    """`45m`, `1h`, `1h30m`, `2d` -> timedelta. A bare number is refused (`3`: 3 minutes or 3
    hours?), except where `bare_minutes` keeps the config files' older form (minutes).

    >>> duration("1h30m")
    datetime.timedelta(seconds=5400)
    >>> duration("3", flag="--length")
    Traceback (most recent call last):
    ...
    blocktime.errors.BadInput: --length 3: give a unit: 3h or 3m
    """
    raw = str(text).strip()
    # isdecimal, not isdigit: int() refuses digits such as "²".
    m = None if raw.isdecimal() else re.match(_DURATION, raw, re.I)
    if not raw.isdecimal() and (m is None or not any(m.groups())):
        raise BadInput(f"cannot read {flag} {raw!r}", "use 45m, 1h or 1h30m")
    if m is None and not bare_minutes and raw.lstrip("0"):
        raise BadInput(f"{flag} {raw}: give a unit: {raw}h or {raw}m")
    try:
        if m is None:
            value = timedelta(minutes=int(raw))
        else:
            d, h, mi = (int(g) if g else 0 for g in m.groups())
            value = timedelta(days=d, hours=h, minutes=mi)
    except (OverflowError, ValueError):  # beyond timedelta, or more digits than int() reads
        raise BadInput(f"{flag} {raw!r} is too long", "use 45m, 1h or 1h30m") from None
    if value <= timedelta(0):
        raise BadInput(f"{flag} {raw!r} must be longer than zero")
    if value > LONGEST:
        raise BadInput(f"{flag} {raw!r} is too long", f"at most {LONGEST.days} days")
    return value


#: the longest duration blocktime reads (ten years): far below what overflows a datetime
LONGEST = timedelta(days=3660)
#: the years blocktime works in: dates near the ends of `datetime` overflow when moved or zoned
YEARS = range(1900, 9001)

_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def is_address(text: str) -> bool:
    """Whether `text` can be an e-mail address (one check for the config, `book`, `engagement set`
    and `statement --to`: an @ with something on both sides, no space).

    >>> is_address("it@acme.example"), is_address("it @acme.example"), is_address("@acme.example")
    (True, False, False)
    """
    return "@" in text and " " not in text and not text.startswith("@") and not text.endswith("@")


def _weekday(word: str) -> int | None:
    """`tue`, `tues` or `tuesday` -> 1; None for anything else (`monkey`, `monfri`)."""
    hits = [i for i, name in enumerate(_DAY_NAMES) if len(word) >= 3 and name.startswith(word)]
    return hits[0] if hits else None


def weekdays(text: str) -> frozenset[int]:
    """`tue,thu` or `mon-fri` -> weekday numbers (0 = Monday)."""
    out: set[int] = set()
    for part in str(text).lower().replace(" ", "").split(","):
        if not part:
            continue
        ends = part.split("-")
        idx = [i for i in map(_weekday, ends) if i is not None]
        if len(idx) != len(ends) or len(ends) > 2:
            raise BadInput(f"cannot read weekday {part!r}", "use mon,tue,wed,thu,fri,sat,sun or mon-fri")
        if len(idx) == 1:
            out.add(idx[0])
        else:
            a, b = idx
            out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    if not out:
        raise BadInput("no weekdays given", "use for example tue,thu")
    return frozenset(out)


def zone(name: str) -> ZoneInfo:
    """An IANA zone such as Europe/Warsaw."""
    try:
        if not name or name != name.strip() or ".." in name or name.startswith("/"):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BadInput(f"unknown time zone {name!r}", "use an IANA name such as Europe/Warsaw") from None


def moment(text: str, tz: ZoneInfo, now: datetime | None = None) -> datetime:
    """ISO 8601 (`2026-03-24T12:00`, with or without offset) or friendly forms
    (`2026-03-24 12:00`, `24.03.2026 12:00`, `tomorrow 12:00`, `next tue 9:30`) in `tz`.
    A local time that does not exist (DST gap) is bad input; in the overlap the first is taken."""
    raw = " ".join(str(text).split())
    if not raw:
        raise BadInput("empty date and time")
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        parsed = _friendly(raw, tz, now)
    if parsed is None:
        raise BadInput(f"cannot read date and time {raw!r}", "use 2026-03-24T12:00 or '2026-03-24 12:00'")
    if parsed.year not in YEARS:  # also keeps moving it to another offset clear of overflow
        raise BadInput(f"{raw} is out of range", f"use a date in the years {YEARS[0]} to {YEARS[-1]}")
    if parsed.tzinfo is not None:
        return parsed.astimezone(tz)
    from blocktime.core.series import local

    aware = local(parsed, tz)
    if aware is None:
        raise BadInput(f"{raw} does not exist in {tz.key}: the clocks skip that hour", "pick another time")
    return aware


def day(text: str) -> date:
    """`2026-04-07` -> a date in the years blocktime works in."""
    try:
        value = date.fromisoformat(str(text).strip())
    except ValueError:
        raise BadInput(f"cannot read date {text!r}", "use 2026-04-07") from None
    if value.year not in YEARS:
        raise BadInput(f"{value} is out of range", f"use a date in the years {YEARS[0]} to {YEARS[-1]}")
    return value


_FRIENDLY_DATE: list[tuple[str, Callable[[re.Match[str]], tuple[int, int, int]]]] = [  # compiled on first use
    (r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$", lambda m: (int(m[3]), int(m[2]), int(m[1]))),
    (r"^(\d{4})/(\d{1,2})/(\d{1,2})$", lambda m: (int(m[1]), int(m[2]), int(m[3]))),
    (r"^(\d{4})-(\d{1,2})-(\d{1,2})$", lambda m: (int(m[1]), int(m[2]), int(m[3]))),
]


def _friendly(raw: str, tz: ZoneInfo, now: datetime | None) -> datetime | None:
    parts = raw.lower().split(" ")
    clock = re.match(r"^(\d{1,2})(?::(\d{2}))?$", parts[-1]) if len(parts) >= 2 else None
    if clock is None:
        return None
    hour, minute = int(clock[1]), int(clock[2] or 0)
    if hour > 23 or minute > 59:
        return None
    day_words = parts[:-1]
    today = (now or datetime.now(tz)).astimezone(tz).date()
    if day_words == ["today"]:
        day = today
    elif day_words == ["tomorrow"]:
        day = today + timedelta(days=1)
    elif (
        len(day_words) in (1, 2)
        and (target := _weekday(day_words[-1])) is not None  # not "next month" -> Monday
        and day_words[0] in ("next", day_words[-1])
    ):
        day = today + timedelta(days=(target - today.weekday() - 1) % 7 + 1)
    elif len(day_words) == 1:
        for pattern, pick in _FRIENDLY_DATE:
            m = re.match(pattern, day_words[0])
            if m:
                try:
                    y, mo, d = pick(m)
                    return datetime(y, mo, d, hour, minute)
                except ValueError:
                    return None
        return None
    else:
        return None
    return datetime(day.year, day.month, day.day, hour, minute)
