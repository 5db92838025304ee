"""Time zones of real-world calendar objects, bounded before anything is expanded with them.

A custom VTIMEZONE (RFC 5545 §3.6.5) handed to dateutil as a `tzical` re-walks each observance's
RRULE from its DTSTART on every `utcoffset()`: a rule repeating daily since 1900 makes one daily
event cost tens of seconds. Here a VTIMEZONE becomes a finite, sorted table of transitions for the
years in question (every RRULE walked once, from an anchor near those years), looked up by
bisection. A VTIMEZONE that cannot be used falls back to the IANA zone its TZID or X-LIC-LOCATION
names (Windows names through icalendar's map).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from itertools import islice
from zoneinfo import ZoneInfo, available_timezones

from blocktime.ics.rawtext import name_of, value_of
from blocktime.ics.runaway import anchor

#: rule steps walked per observance at most (a daily rule over the table's years needs ~4,000)
MAX_STEPS = 20_000
_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)(?::?(\d\d))?$")
_STAMP = re.compile(r"(\d{8})(?:T(\d{6}))?Z?$")


def parse_offset(text: str) -> timedelta:
    """A UTC offset (RFC 5545 §3.3.14, `+0100`, `-053000`); ValueError beyond ±23:59:59."""
    m = _OFFSET.match(text.strip())
    if not m or int(m.group(3)) > 59 or int(m.group(4) or 0) > 59 or int(m.group(2)) > 23:
        raise ValueError(f"not a UTC offset: {text[:20]!r}")
    value = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)), seconds=int(m.group(4) or 0))
    return -value if m.group(1) == "-" else value


def parse_local(text: str) -> datetime:
    """A DATE or DATE-TIME value read as a wall time (a trailing Z is ignored)."""
    m = _STAMP.match(text.strip())
    if not m:
        raise ValueError(f"not a date-time: {text[:30]!r}")
    return datetime.strptime(m.group(1) + (m.group(2) or "000000"), "%Y%m%d%H%M%S")


class TableZone(tzinfo):
    """A zone from a finite table of transitions (UTC instants, offset after each one)."""

    def __init__(self, name: str, instants: list[datetime], offsets: list[timedelta],
                 dsts: list[timedelta], names: list[str]) -> None:
        self.name = name
        self._instants = instants  # naive UTC, sorted
        self._offsets = offsets  # len(instants) + 1: offsets[i] holds before instants[i]
        self._dsts, self._names = dsts, names
        self._walls = [u + min(offsets[i], offsets[i + 1]) for i, u in enumerate(instants)]

    def __repr__(self) -> str:
        return f"TableZone({self.name!r}, {len(self._instants)} transitions)"

    def _index(self, dt: datetime) -> int:
        """Index into the offsets for a wall time: the later offset of an overlap or gap when
        `fold` is 1, the earlier one when it is 0 (as zoneinfo does)."""
        wall = dt.replace(tzinfo=None, fold=0)
        i = bisect_right(self._walls, wall)  # transitions whose earlier wall time has passed
        if i == 0:
            return 0
        u = self._instants[i - 1]
        if wall >= u + max(self._offsets[i - 1], self._offsets[i]):
            return i
        return i if dt.fold else i - 1

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return self._offsets[0] if dt is None else self._offsets[self._index(dt)]

    def dst(self, dt: datetime | None) -> timedelta:
        return self._dsts[0] if dt is None else self._dsts[self._index(dt)]

    def tzname(self, dt: datetime | None) -> str:
        return self._names[0] if dt is None else self._names[self._index(dt)]

    def fromutc(self, dt: datetime) -> datetime:
        utc = dt.replace(tzinfo=None)
        i = bisect_right(self._instants, utc)
        wall = (utc + self._offsets[i]).replace(tzinfo=self)
        if self._index(wall) != i:
            wall = wall.replace(fold=1)
        return wall


@dataclass(slots=True)
class _Observance:
    start: datetime
    before: timedelta
    after: timedelta
    daylight: bool
    name: str
    rules: list[str]
    dates: list[datetime]


def _observances(lines: list[str]) -> Iterator[_Observance]:
    props: dict[str, list[str]] | None = None
    kind = ""
    for line in lines:
        name = name_of(line)
        value = value_of(line).strip()
        if name == "BEGIN" and value.upper() in ("STANDARD", "DAYLIGHT"):
            props, kind = {}, value.upper()
        elif name == "END" and props is not None:
            before = parse_offset(props["TZOFFSETFROM"][0]) if "TZOFFSETFROM" in props else None
            after = parse_offset(props["TZOFFSETTO"][0])
            dates = [parse_local(v) for line_value in props.get("RDATE", []) for v in line_value.split(",")
                     if _STAMP.match(v.strip())]
            yield _Observance(parse_local(props["DTSTART"][0]), after if before is None else before, after,
                              kind == "DAYLIGHT", (props.get("TZNAME") or [kind.title()])[0],
                              props.get("RRULE", []), dates)
            props = None
        elif props is not None:
            props.setdefault(name, []).append(value)


def _onsets(obs: _Observance, lo: datetime, hi: datetime) -> tuple[datetime | None, list[datetime]]:
    """The last onset before `lo` (wall time) and the onsets in [lo, hi)."""
    from dateutil.rrule import rrulestr

    found = [obs.start, *obs.dates]
    for text in obs.rules:
        first = anchor(obs.start, text, lo.replace(year=lo.year - 2))
        rule = rrulestr(text, dtstart=first, ignoretz=True)
        for onset in islice(iter(rule), MAX_STEPS):
            if onset >= hi:
                break
            found.append(onset)
    before = [x for x in found if x < lo]
    return (max(before) if before else None), sorted(x for x in found if lo <= x < hi)


def table_zone(tzid: str, lines: list[str], first_year: int, last_year: int) -> TableZone:
    """The VTIMEZONE `lines` as a table of its transitions in [first_year, last_year]; ValueError
    when it has no usable observance or an impossible offset. Tables are immutable and shared: an
    account of Outlook objects repeats the same VTIMEZONE in every one."""
    return _table(tzid, tuple(lines), first_year, last_year)


@lru_cache(maxsize=512)
def _table(tzid: str, lines: tuple[str, ...], first_year: int, last_year: int) -> TableZone:
    lo, hi = datetime(max(first_year, 3), 1, 1), datetime(min(last_year, 9997) + 1, 1, 1)
    latest: tuple[datetime, _Observance] | None = None
    points: list[tuple[datetime, _Observance]] = []
    for obs in _observances(list(lines)):
        last, inside = _onsets(obs, lo, hi)
        if last is not None and (latest is None or last - obs.before > latest[0]):
            latest = (last - obs.before, obs)
        points += [(onset - obs.before, obs) for onset in inside]
    points.sort(key=lambda p: p[0])
    if latest is None and not points:
        raise ValueError(f"VTIMEZONE {tzid[:60]!r} has no usable STANDARD or DAYLIGHT")
    first = latest[1] if latest else points[0][1]
    initial = first.after if latest else first.before
    instants, offsets = [p[0] for p in points], [initial, *(p[1].after for p in points)]
    observed = [first, *(p[1] for p in points)]
    dsts = [(o.after - o.before if o.after > o.before else timedelta(hours=1)) if o.daylight else timedelta(0)
            for o in observed]
    names = [o.name if latest or i else tzid for i, o in enumerate(observed)]
    return TableZone(tzid, instants, offsets, dsts, names)


@lru_cache(maxsize=1)
def _iana_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def named_zone(tzid: str, lines: list[str] | None = None) -> ZoneInfo | None:
    """The IANA zone a TZID names (also `/vendor/Europe/Berlin`, a Windows id or an Outlook display
    name, any case) or that the VTIMEZONE's X-LIC-LOCATION names; None if neither names one."""
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    candidates = [tzid]
    candidates += [value_of(x) for x in lines or [] if name_of(x) == "X-LIC-LOCATION"]
    windows = {k.lower(): v for k, v in WINDOWS_TO_OLSON.items()}
    names = _iana_names()
    for raw in candidates:
        clean = raw.strip().strip('"').strip("/").strip()
        bare = re.sub(r"\s+\d$", "", clean).lower()  # Outlook's "Eastern Standard Time 1"
        if bare in windows:
            return ZoneInfo(windows[bare])
        segments = clean.split("/")
        for i in range(len(segments)):
            found = names.get("/".join(segments[i:]).lower())
            if found:
                return ZoneInfo(found)
        shown = display_zone(raw)
        if shown is not None and shown.lower() in windows:
            return ZoneInfo(windows[shown.lower()])
    return None


_PREFIX = re.compile(r"^\((?:utc|gmt)\s*(?:([+-])\s*(\d{1,2})(?:[:.]?(\d{2}))?)?\)\s*", re.I)


def _plain(text: str) -> tuple[int | None, str]:
    """(UTC offset in minutes of a `(UTC+01:00)` prefix, or None; the name after it) compared
    without quotes, escapes, accents, case and extra spaces."""
    import unicodedata

    text = text.strip().strip('"').replace("\\,", ",").replace("\\;", ";")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = re.sub(r"\s+", " ", text).strip().casefold()
    m = _PREFIX.match(text)
    if m is None:
        return None, text
    offset = 0 if m.group(1) is None else (1 if m.group(1) == "+" else -1) * (
        int(m.group(2)) * 60 + int(m.group(3) or 0))
    return offset, text[m.end():].strip()


@lru_cache(maxsize=1)
def _display_names() -> list[tuple[int | None, str, str]]:
    from blocktime.ics.zonenames import NAMES

    return [(*_plain(name), other) for name, other in NAMES.items()]


def display_zone(tzid: str) -> str | None:
    """The Windows zone id an Outlook display name means (CLDR's names, see `zonenames`): the whole
    name; else the name without its `(UTC±hh:mm)` prefix when only one zone has it; else, for the
    names older Windows used, the one zone whose name it extends or shortens at a comma, with the same
    offset ("(UTC+02:00) Athens, Bucharest, Istanbul" is today's "(UTC+02:00) Athens, Bucharest").
    None when nothing matches for sure.

    >>> display_zone(r"(UTC+01:00) Sarajevo\\, Skopje\\, Warsaw\\, Zagreb"), display_zone("Kuala Lumpur, Singapore")
    ('Central European Standard Time', 'Singapore Standard Time')
    >>> display_zone("(UTC+02:00) Athens, Bucharest, Istanbul"), display_zone("Mitteleuropäische Zeit")
    ('GTB Standard Time', None)
    """
    offset, body = _plain(tzid)
    if not body:
        return None
    known = _display_names()
    rules: list[Callable[[int | None, str], bool]] = [
        lambda o, b: o == offset and b == body,
        lambda o, b: b == body and offset in (None, o),
        lambda o, b: offset is not None and o == offset and (body.startswith(b + ",") or b.startswith(body + ",")),
    ]
    for rule in rules:
        ids = {other for o, b, other in known if rule(o, b)}
        if len(ids) == 1:
            return ids.pop()
        if ids:
            return None  # more than one zone: not sure
    return None
