"""Busy time from real-world calendar objects, expanded here rather than trusted to the server.

Each text is split before parsing (see `rawtext`): VEVENTs are read UID by UID with their
RECURRENCE-ID overrides, so damage costs only the group it is in, and groups that cannot reach
the window are never parsed. Zones are bounded first (see `zones`). Recurring series are expanded
with recurring-ical-events (RRULE, RDATE, EXDATE, overrides); Google's X-WR-TIMEZONE is applied by
its `of()`. Floating times and all-day dates are read in the organizer's zone. TRANSP:TRANSPARENT
and STATUS:CANCELLED do not block time (RFC 5545 §3.8.2.7, §3.8.1.11), nor does an invitation that
the organizer's own ATTENDEE declined (PARTSTAT=DECLINED, §3.2.12: Google and Outlook keep those in
the calendar); a TENTATIVE one stays busy.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from blocktime.core.model import Busy, Interval
from blocktime.ics.event import X_SITE, x_text
from blocktime.ics.rawtext import Group, Parts, group_text, split_or_warn
from blocktime.ics.reach import may_touch
from blocktime.ics.runaway import anchor_series, bound_series
from blocktime.ics.zones import named_zone, table_zone

#: seconds of work one UID group (an object) may take, parsing and expansion together; past it
#: the group is left out with a warning, keeping what was found (its DTSTART at least). A safety
#: net for pathological input only: the corpus' worst object takes ~25 ms on an idle machine, and a
#: loaded machine (CI beside other work: 20× slower seen) must not drop real busy time
OBJECT_BUDGET = 2.0
_DATES = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")


@dataclass(slots=True)
class BusyResult:
    busy: list[Busy] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _aware(value: date | datetime, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0), tz)


class _Zones:
    """The zones of one text by TZID, resolved once: IANA as icalendar reads it, a custom
    VTIMEZONE as a bounded table, else the IANA zone the name points to, else the organizer's."""

    def __init__(self, defs: dict[str, list[str]], years: tuple[int, int], tz: ZoneInfo, label: str,
                 warn: Callable[[str], None]) -> None:
        self.defs, self.years, self.tz, self.label, self.warn = defs, years, tz, label, warn
        self.known: dict[str, tzinfo] = {}

    def get(self, tzid: str) -> tzinfo:
        if tzid not in self.known:
            self.known[tzid] = self._resolve(tzid)
        return self.known[tzid]

    def _resolve(self, tzid: str) -> tzinfo:
        lines = self.defs.get(tzid)
        why = "no VTIMEZONE"
        if lines is not None:
            try:
                return table_zone(tzid, lines, *self.years)
            except Exception as exc:  # an impossible offset, a rule that is no rule, no observance
                why = f"unusable VTIMEZONE ({str(exc)[:80] or type(exc).__name__})"
        named = named_zone(tzid, lines)
        zone: tzinfo = named or self.tz
        self.warn(f"read TZID {tzid[:60]!r} in {self.label} as {getattr(zone, 'key', zone)}: {why}")
        return zone

    def fix(self, ev: Any) -> None:
        """Attach the bounded zone to every date-time whose TZID icalendar did not read as IANA."""
        for name in _DATES:
            values = ev.get(name)
            for prop in values if isinstance(values, list) else [values]:
                tzid = getattr(prop, "params", {}).get("TZID")
                if not tzid:
                    continue
                for item in getattr(prop, "dts", [prop]):
                    item.dt = self._attach(item.dt, str(tzid))

    def _attach(self, value: Any, tzid: str) -> Any:
        if isinstance(value, tuple):  # an RDATE period
            return tuple(self._attach(v, tzid) for v in value)
        if isinstance(value, datetime) and not isinstance(value.tzinfo, ZoneInfo):
            return value.replace(tzinfo=self.get(tzid))
        return value


def busy_from_texts(
    texts: Iterable[tuple[str, str]], start: datetime, end: datetime, tz: ZoneInfo, *,
    me: frozenset[str] = frozenset(),
) -> BusyResult:
    """Busy intervals in [start, end) from (label, iCalendar text) pairs; whatever cannot be read
    is left out with a warning naming the label (and UID), never a crash. `me`: the organizer's
    own addresses, lower case (an invitation one of them declined takes no time)."""
    result = BusyResult()
    split = (item for label, text in texts if (item := split_or_warn(label, text, result.warnings)) is not None)
    return busy_from_parts(split, start, end, tz, result, me=me)


def busy_from_parts(
    items: Iterable[tuple[str, str, Parts]], start: datetime, end: datetime, tz: ZoneInfo,
    result: BusyResult | None = None, *, me: frozenset[str] = frozenset(),
) -> BusyResult:
    """`busy_from_texts` for texts already split, or sketched (`rawtext.sketch_text`: those that
    can reach the window are split in full here). Only groups that `may_touch` it are parsed."""
    result = result if result is not None else BusyResult()
    years = (start.year - 1, end.year + 1)
    for label, text, parts in items:
        if not parts.groups and "BEGIN:VCALENDAR" not in text[:100_000].upper():  # (tasks alone are fine)
            result.warnings.append(f"skipped unreadable calendar data in {label}: no calendar found")
        if not parts.complete:
            if not any(_may_touch(group, start, end) for group in parts.groups.values()):
                continue
            split = split_or_warn(label, text, result.warnings)
            if split is None:
                continue
            parts = split[2]
        zones = _Zones(parts.zones, years, tz, label, result.warnings.append)
        for group in parts.groups.values():
            try:
                if not may_touch(group, start, end):
                    continue
                _group(group_text(group), zones, start, end, tz, label, result, me)
            except Exception as exc:  # one UID never costs another
                result.warnings.append(f"skipped {group.uid[:80]!r} in {label}: {type(exc).__name__}")
    result.busy.sort(key=lambda b: (b.span.start, b.span.end, b.uid))
    return result


def _may_touch(group: Group, start: datetime, end: datetime) -> bool:
    try:
        return may_touch(group, start, end)
    except Exception:  # said where the group is read in full
        return True


def _group(text: str, zones: _Zones, start: datetime, end: datetime, tz: ZoneInfo, label: str,
           result: BusyResult, me: frozenset[str] = frozenset()) -> None:
    """Busy time of one UID group: parsed alone, damaged properties dropped, expanded within a budget."""
    import icalendar
    import recurring_ical_events

    deadline = clock.monotonic() + OBJECT_BUDGET
    window = Interval(start, end)
    cal = icalendar.Calendar.from_ical(text)
    warn = result.warnings.append
    keep: list[Any] = []  # events read as they stand; the first occurrence of a skipped series
    for ev in cal.walk("VEVENT"):
        uid = str(ev.get("UID", "?"))[:80]
        causes = {}
        for name, why in list(ev.errors):
            if name is not None and name in ev and name not in ("SUMMARY", "STATUS", "TRANSP", X_SITE):
                del ev[name]
                causes[name] = why[:80]
                if name != "DTSTART":
                    warn(f"skipped a broken {name} of {uid!r} in {label} ({causes[name]})")
        if "DTSTART" not in ev:
            cal.subcomponents.remove(ev)
            warn(f"skipped {uid!r} in {label}: no usable DTSTART" + (f" ({causes['DTSTART']})" if causes else ""))
            continue
        zones.fix(ev)
        if "RECURRENCE-ID" in causes:  # an override that cannot say what it replaces: its own time
            cal.subcomponents.remove(ev)
            keep.append(ev)
    for ev, why in bound_series(cal, end, tz):
        warn(f"skipped a series in {label}: {str(ev.get('UID', '?'))[:80]!r}: {why} (its DTSTART kept)")
        keep.append(ev)
    events = cal.walk("VEVENT")
    found: list[tuple[Any, Any]] = []  # (component, the occurrence's (start, end) or None: its own)
    if len(events) == 1 and not any(p in events[0] for p in ("RRULE", "RDATE", "RECURRENCE-ID")):
        keep += events  # a single event: nothing to expand (X-WR-TIMEZONE moves no instant)
    elif events:
        anchor_series(cal, start)
        try:
            for series in recurring_ical_events.of(cal).series:
                for occurrence in series.between(start, end):
                    # one event: its occurrences differ only in time (no copy of it for each)
                    found.append((events[0], (occurrence.start, occurrence.end)) if len(events) == 1
                                 else (occurrence.as_component(False), None))
                    if clock.monotonic() > deadline:
                        raise TimeoutError
        except TimeoutError:
            warn(f"skipped the rest of {_uid(cal)!r} in {label}: expanding it took over {OBJECT_BUDGET} s")
            keep += events
        except Exception as exc:  # a series the library cannot expand
            warn(f"skipped a broken series in {label}: {_uid(cal)!r}: {type(exc).__name__} (its DTSTART kept)")
            keep += [ev for ev in events if "RECURRENCE-ID" not in ev]
    items: dict[tuple[datetime, datetime, str], Busy] = {}
    said = False
    for ev, when in found + [(ev, None) for ev in keep]:
        item, one_day = _busy(ev, tz, when, me)
        if one_day and not said:
            said = True
            warn(f"read {_uid(cal)!r} in {label} as one day: an all-day event that ends when it starts")
        if item is not None and item.span.overlaps(window):
            items.setdefault((item.span.start, item.span.end, item.uid), item)
    result.busy.extend(items.values())


def _uid(cal: Any) -> str:
    return next((str(ev.get("UID", "?"))[:80] for ev in cal.walk("VEVENT")), "?")


def declined(ev: Any, me: frozenset[str]) -> bool:
    """Whether one of `me` is an ATTENDEE of `ev` with PARTSTAT=DECLINED (an address compared
    without `mailto:` and case)."""
    values = ev.get("ATTENDEE")
    for a in values if isinstance(values, list) else ([values] if values is not None else []):
        address = str(a).strip().lower()
        address = address[7:] if address.startswith("mailto:") else address
        if address in me and str(getattr(a, "params", {}).get("PARTSTAT", "")).upper() == "DECLINED":
            return True
    return False


def _busy(ev: Any, tz: ZoneInfo, when: tuple[Any, Any] | None = None,
          me: frozenset[str] = frozenset()) -> tuple[Busy | None, bool]:
    """The busy span of one occurrence of `ev` (None when it takes no time), and whether an all-day
    event ending on its start day was read as one day. `when`: the occurrence's (start, end) as
    recurring-ical-events computed them; None: the event's own."""
    if str(ev.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None, False
    if str(ev.get("STATUS", "")).upper() == "CANCELLED":
        return None, False
    if me and declined(ev, me):
        return None, False
    if "DTSTART" not in ev:
        return None, False
    raw_start = ev["DTSTART"].dt if when is None else when[0]
    start = _aware(raw_start, tz)
    one_day = False
    if when is not None:
        stop = start + when[1] if isinstance(when[1], timedelta) else _aware(when[1], tz)
    elif "DTEND" in ev:
        stop = _aware(ev["DTEND"].dt, tz)
    elif "DURATION" in ev:
        stop = start + ev["DURATION"].dt
    elif isinstance(raw_start, datetime):
        stop = start  # RFC 5545 §3.6.1: a DATE-TIME start without end takes no time
    else:
        stop = _aware(raw_start + timedelta(days=1), tz)
    if stop == start and not isinstance(raw_start, datetime):
        stop, one_day = _aware(raw_start + timedelta(days=1), tz), True
    if stop < start:  # an end before the start: the two were swapped (as recurring-ical-events reads it)
        start, stop = stop, start
    if stop == start:
        return None, False
    site = x_text(ev, X_SITE)
    # UTC from here on: comparisons between one zone's datetimes are cheap, across zones they are not
    span = Interval(start.astimezone(UTC), stop.astimezone(UTC))
    return Busy(span, str(ev.get("UID", "")), str(ev.get("SUMMARY", "")), site), one_day
