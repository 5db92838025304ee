"""Typed, frozen domain values: engagements, blocks, policies, busy time and refusals."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from blocktime.core.travel import Routes, text

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Reason(StrEnum):
    """Why a block or slot was not offered or booked."""

    OUTSIDE_HOURS = "OUTSIDE_HOURS"
    SITE_CLOSED = "SITE_CLOSED"
    TOO_SOON = "TOO_SOON"
    TRAVEL = "TRAVEL"
    BUSY = "BUSY"
    DAY_FULL = "DAY_FULL"
    NONEXISTENT_TIME = "NONEXISTENT_TIME"
    BEYOND_HORIZON = "BEYOND_HORIZON"
    DECLINED = "DECLINED"
    HELD = "HELD"


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """A half-open span [start, end) of aware datetimes.

    Comparisons and arithmetic use elapsed (UTC) time: Python compares and subtracts two
    datetimes that share a tzinfo by wall clock, which is wrong across a DST change.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Interval needs aware datetimes")
        if _utc(self.end) <= _utc(self.start):
            raise ValueError(f"Interval ends ({self.end}) before it starts ({self.start})")

    @property
    def duration(self) -> timedelta:
        return _utc(self.end) - _utc(self.start)

    def overlaps(self, other: Interval) -> bool:
        return _utc(self.start) < _utc(other.end) and _utc(other.start) < _utc(self.end)

    def contains(self, other: Interval) -> bool:
        return _utc(self.start) <= _utc(other.start) and _utc(other.end) <= _utc(self.end)

    def widen(self, before: timedelta, after: timedelta) -> Interval:
        return Interval(_shift(self.start, -before), _shift(self.end, after))


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def _shift(dt: datetime, by: timedelta) -> datetime:
    """`dt` moved by elapsed time `by`, in its own zone (`dt + by` would move the wall clock)."""
    return (_utc(dt) + by).astimezone(dt.tzinfo)


@dataclass(frozen=True, slots=True)
class Window:
    """One weekly opening: a weekday (0 = Monday) with a wall-clock start and end."""

    weekday: int
    start: time
    end: time


_DAY = r"(mon|tue|wed|thu|fri|sat|sun)"
_WINDOW_RE = re.compile(
    rf"^\s*{_DAY}(?:\s*-\s*{_DAY})?\s+(\d{{1,2}}):(\d{{2}})\s*-\s*(\d{{1,2}}):(\d{{2}})\s*$", re.I
)


def wall(day: date, at: time, tz: ZoneInfo) -> datetime:
    """Local wall-clock `at` on `day`; a time that does not exist (spring gap) becomes the instant
    the clocks jump, and a repeated one (autumn) its first occurrence."""
    first = datetime.combine(day, at, tz)
    u_before = first.astimezone(UTC)  # fold=0: read with the offset before the change
    u_after = first.replace(fold=1).astimezone(UTC)
    if u_after >= u_before:
        return first  # exists (once, or twice: fold=0 is the first)
    lo, hi = u_after, u_before  # the jump lies between the two readings
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == u_before.astimezone(tz).utcoffset():
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0).astimezone(tz)


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Weekly opening hours, e.g. ``WeeklyHours.parse("Mon-Fri 08:00-18:00")``.

    >>> sat = WeeklyHours.parse("Mon-Tue 09:00-12:00, Sat 10:00-11:00").windows[2]
    >>> (sat.weekday, sat.start.isoformat(), sat.end.isoformat())
    (5, '10:00:00', '11:00:00')
    """

    windows: tuple[Window, ...]

    @classmethod
    def parse(cls, text: str) -> WeeklyHours:
        windows: list[Window] = []
        for part in re.split(r"[,;]", text):
            if not part.strip():
                continue
            m = _WINDOW_RE.match(part)
            if not m:
                raise ValueError(f"cannot read opening hours {part.strip()!r} (try 'Mon-Fri 08:00-18:00')")
            first = WEEKDAYS.index(m.group(1).lower())
            last = WEEKDAYS.index((m.group(2) or m.group(1)).lower())
            h1, m1, h2, m2 = (int(m.group(i)) for i in range(3, 7))
            if not (h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60):
                raise ValueError(f"not a time of day in {part.strip()!r}")
            start = time(h1, m1)
            end = time.max if (h2, m2) == (24, 0) else time(h2, m2)
            if end <= start:
                raise ValueError(f"opening ends before it starts in {part.strip()!r}")
            days = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
            windows.extend(Window(d, start, end) for d in days)
        if not windows:
            raise ValueError("opening hours are empty")
        return cls(tuple(windows))

    def on(self, day: date, tz: ZoneInfo) -> list[Interval]:
        """The opening intervals of one local day, as aware datetimes (DST-safe: wall clock;
        an edge inside a DST gap is the moment the clocks jump)."""
        out = []
        for w in self.windows:
            if w.weekday == day.weekday():
                start = wall(day, w.start, tz)
                end = wall(day + timedelta(days=1), time(0), tz) if w.end == time.max else wall(day, w.end, tz)
                if end.astimezone(UTC) > start.astimezone(UTC):  # a window inside a DST gap is empty
                    out.append(Interval(start, end))
        return out

    def allows(self, span: Interval, tz: ZoneInfo) -> bool:
        """True when the openings cover all of `span` (adjacent or overlapping windows join,
        also across midnight)."""
        day, last = span.start.astimezone(tz).date(), span.end.astimezone(tz).date()
        openings: list[Interval] = []
        while day <= last:
            openings += self.on(day, tz)
            day += timedelta(days=1)
        reach, end = _utc(span.start), _utc(span.end)
        for o in sorted(openings, key=lambda o: _utc(o.start)):
            if _utc(o.start) <= reach < _utc(o.end):
                reach = _utc(o.end)
        return reach >= end


DEFAULT_HOURS = WeeklyHours.parse("Mon-Fri 08:00-18:00")


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules a block or make-up slot must keep. Defaults follow the product brief."""

    working_hours: WeeklyHours = DEFAULT_HOURS
    booking_notice: timedelta = timedelta(0)
    min_notice: timedelta = timedelta(hours=48)
    travel: timedelta = timedelta(minutes=30)
    buffer: timedelta = timedelta(0)
    max_blocks_per_day: int = 2
    granularity: timedelta = timedelta(minutes=15)
    horizon: timedelta = timedelta(days=21)
    options: int = 3
    offer_expiry: timedelta = timedelta(hours=72)
    answer_lead: timedelta = timedelta(hours=24)
    min_makeup: timedelta = timedelta(minutes=15)
    makeup_full_block: bool = False
    routes: Routes = field(default_factory=Routes)  # areas and travel by pair; `travel` is every other pair's time

    def travel_between(self, a: str, b: str) -> timedelta:
        """The travel time between blocks at sites `a` and `b` (none within one area).

        >>> p = Policy(routes=Routes.of({"Rynek 1": "Wrocław"}, {("Kraków", "Wrocław"): timedelta(hours=3)}))
        >>> p.travel_between("Rynek 1", "Kraków"), p.travel_between("Rynek 1", "Łódź")
        (datetime.timedelta(seconds=10800), datetime.timedelta(seconds=1800))
        """
        found = self.routes.lookup(a, b)
        return self.travel if found is None else found

    @property
    def longest_travel(self) -> timedelta:
        return max(self.travel, self.routes.longest)

    @property
    def reach(self) -> timedelta:
        """How far around a span busy time can matter: the longest travel or the buffer, and a
        day more, so that the whole day (whose on-site blocks the day limit counts) is seen.

        >>> Policy(travel=timedelta(hours=3)).reach
        datetime.timedelta(days=1, seconds=10800)
        """
        return max(self.longest_travel, self.buffer) + timedelta(days=1)

    def travel_text(self, a: str, b: str) -> str:
        """`travel 3 h 30 min from Wrocław`: the pair's time, and where from (the area of `b`)."""
        return f"travel {text(self.travel_between(a, b))} from {self.routes.place(b)}"


@dataclass(frozen=True, slots=True)
class Engagement:
    """A training programme with one client at one site."""

    key: str
    client: str
    site: str
    attendees: tuple[str, ...]
    language: str = "en"
    length: timedelta = timedelta(hours=1)
    site_hours: WeeklyHours | None = None


@dataclass(frozen=True, slots=True)
class Held:
    """What a hold promises: option `option` of offer `offer` to `client`, until `until`."""

    offer: str
    option: int
    client: str
    until: datetime


@dataclass(frozen=True, slots=True)
class Busy:
    """Time already taken in a calendar. `site` is set for on-site blocks (travel applies);
    `held` for a slot another open offer holds: planning counts it like a block at its site."""

    span: Interval
    uid: str = ""
    summary: str = ""
    site: str | None = None
    held: Held | None = None


@dataclass(frozen=True, slots=True)
class Block:
    """One fixed on-site session; its planned end is a hard stop."""

    engagement: str
    number: int
    uid: str
    span: Interval
    site: str
    makeup_for: str | None = None

    @property
    def id(self) -> str:
        return f"{self.engagement}-{self.number}"


@dataclass(frozen=True, slots=True)
class Pattern:
    """A booking pattern: weekly on `weekdays` from `first` (local wall clock), `count` times;
    or, when `dates` is given, exactly those local start times."""

    first: datetime
    length: timedelta
    weekdays: frozenset[int] = frozenset()
    count: int = 1
    dates: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class Refusal:
    """A block that was not booked, with every reason that applies."""

    span: Interval
    reasons: tuple[Reason, ...]
    details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BookingPlan:
    """What `book` will do: blocks to create, blocks that already exist, and refusals."""

    create: tuple[Block, ...] = ()
    existing: tuple[Block, ...] = ()
    refused: tuple[Refusal, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Organizer:
    """The consultant whose calendar blocktime keeps."""

    name: str
    email: str
    timezone: ZoneInfo
    language: str = "en"
