"""Booking pattern -> blocks, each checked against busy time and the policy, with reasons."""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from blocktime.core.intervals import Timeline
from blocktime.core.model import (
    Block,
    BookingPlan,
    Busy,
    Engagement,
    Interval,
    Pattern,
    Policy,
    Reason,
    Refusal,
    WeeklyHours,
)
from blocktime.core.model import wall as wall_clock


def local(naive: datetime, tz: ZoneInfo) -> datetime | None:
    """Attach `tz` to a wall-clock time; None when that time does not exist (DST gap).

    In the autumn overlap the first occurrence (fold=0) is taken.
    """
    aware = naive.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(ZoneInfo("UTC")).astimezone(tz)
    if back.replace(tzinfo=None) != naive.replace(tzinfo=None, fold=0):
        return None
    return aware


def block_uid(engagement_key: str, start: datetime, generation: int = 0) -> str:
    """A deterministic UID, so that re-running a booking finds what it already wrote. A slot booked
    again after its block was cancelled gets the next `generation` (calendar clients keep a
    cancelled UID cancelled, RFC 5546 §3.2.5)."""
    stamp = start.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")
    import hashlib  # here, not at the top: `--now` (series.local) need not load OpenSSL

    digest = hashlib.sha256(f"{engagement_key}|{stamp}".encode()).hexdigest()[:8]
    return f"bt-{engagement_key}-{stamp}-{digest}{f'-{generation}' if generation else ''}@blocktime"


def parse_block_uid(uid: str) -> tuple[str, datetime] | None:
    """(engagement key, start) of a UID that `block_uid` made (any generation), else None.

    >>> from datetime import UTC
    >>> at = datetime(2026, 3, 24, 11, tzinfo=UTC)
    >>> parse_block_uid(block_uid("acme", at, 2)) == ("acme", at)
    True
    >>> parse_block_uid("bt-acme-20260324T110000Z-00000000@blocktime") is None  # digest does not match
    True
    """
    m = re.fullmatch(r"bt-(.+)-(\d{8}T\d{6}Z)-([0-9a-f]{8})(?:-\d+)?@blocktime", uid)
    if m is None:
        return None
    key, stamp, digest = m.groups()
    try:
        start = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=ZoneInfo("UTC"))
    except ValueError:
        return None
    return (key, start) if block_uid(key, start).endswith(f"-{digest}@blocktime") else None


def fresh_uid(engagement_key: str, start: datetime, retired: Container[str]) -> str:
    """The first `block_uid` of the slot that no retired (cancelled) block holds.

    >>> from datetime import UTC
    >>> at = datetime(2026, 3, 24, 11, tzinfo=UTC)
    >>> fresh_uid("acme", at, {block_uid("acme", at)}) == block_uid("acme", at, 1)
    True
    """
    generation = 0
    while block_uid(engagement_key, start, generation) in retired:
        generation += 1
    return block_uid(engagement_key, start, generation)


def wall_times(pattern: Pattern, tz: ZoneInfo) -> list[datetime]:
    """The pattern's start times as naive local wall-clock values (stable across DST), each once."""
    if pattern.dates:
        walls = {d.astimezone(tz).replace(tzinfo=None) if d.tzinfo else d for d in pattern.dates}
        return sorted(walls)
    first = pattern.first.astimezone(tz).replace(tzinfo=None) if pattern.first.tzinfo else pattern.first
    days = sorted(pattern.weekdays) or [first.weekday()]
    from dateutil.rrule import WEEKLY, rrule  # only booking needs it, not every date typed in

    return list(rrule(WEEKLY, dtstart=first, byweekday=days, count=pattern.count))


def _when(span: Interval, tz: ZoneInfo) -> str:
    """`12:30-13:30`, `all day`, or `03-24 09:00-03-26 17:00` for a span over several days."""
    s, e = span.start.astimezone(tz), span.end.astimezone(tz)
    if s.time() == e.time() == time(0):
        days = (e.date() - s.date()).days
        return "all day" if days == 1 else f"all day {s:%m-%d}-{e.date() - timedelta(days=1):%m-%d}"
    if s.date() == e.date():
        return f"{s:%H:%M}-{e:%H:%M}"
    return f"{s:%m-%d %H:%M}-{e:%m-%d %H:%M}"


def _day(dt: datetime, tz: ZoneInfo) -> date:
    return dt.astimezone(tz).date()


def _opening(what: str, hours: WeeklyHours, span: Interval, tz: ZoneInfo) -> str:
    """`working hours Sat: none` or `site open Tue 08:00-16:00`: the openings of the span's first day."""
    day = _day(span.start, tz)
    openings = ", ".join(_when(o, tz) for o in hours.on(day, tz)) or "none"
    return f"{what} {day:%a}: {openings}"


def held_text(b: Busy, tz: ZoneInfo) -> str:
    """`held for Piekarnia, offer piekarnia-o1 option 2, until Tue 2026-03-24 13:00`."""
    assert b.held is not None
    h = b.held
    return f"held for {h.client}, offer {h.offer} option {h.option}, until {h.until.astimezone(tz):%a %Y-%m-%d %H:%M}"


def check(
    span: Interval,
    *,
    site: str,
    uid: str,
    tz: ZoneInfo,
    policy: Policy,
    site_hours: WeeklyHours | None,
    busy: Timeline[Busy],
    planned: Sequence[Busy] = (),
    onsite_per_day: Mapping[date, int],
    notice: timedelta,
    now: datetime,
) -> tuple[list[Reason], list[str]]:
    """Every reason `span` cannot be booked for `site`; empty when it can."""
    reasons: list[Reason] = []
    details: list[str] = []
    earliest = now.astimezone(UTC) + notice  # elapsed time (`now + notice` is wall-clock time)
    if span.start < earliest:
        reasons.append(Reason.TOO_SOON)
        details.append(f"starts before {earliest.astimezone(tz):%a %Y-%m-%d %H:%M}")
    if not policy.working_hours.allows(span, tz):
        reasons.append(Reason.OUTSIDE_HOURS)
        details.append(_opening("working hours", policy.working_hours, span, tz))
    if site_hours is not None and not site_hours.allows(span, tz):
        reasons.append(Reason.SITE_CLOSED)
        details.append(_opening("site open", site_hours, span, tz))
    widest = max(policy.buffer, policy.longest_travel)
    near = span.widen(widest, widest)
    for b in [*busy.overlapping(near), *(p for p in planned if p.span.overlaps(near))]:
        if b.uid == uid:
            continue
        if b.span.overlaps(span.widen(policy.buffer, policy.buffer)):
            reason = Reason.HELD if b.held else Reason.BUSY
            if reason not in reasons:
                reasons.append(reason)
            details.append(held_text(b, tz) if b.held else f"busy: {b.summary or 'event'} {_when(b.span, tz)}")
            continue
        if b.site is None:
            continue
        travel = policy.travel_between(site, b.site)
        if travel and b.span.overlaps(span.widen(travel, travel)):
            if Reason.TRAVEL not in reasons:
                reasons.append(Reason.TRAVEL)
            details.append(policy.travel_text(site, b.site) + (f" ({held_text(b, tz)})" if b.held else ""))
    day = _day(span.start, tz)
    if onsite_per_day.get(day, 0) >= policy.max_blocks_per_day:
        reasons.append(Reason.DAY_FULL)
        n = policy.max_blocks_per_day
        whole = Interval(wall_clock(day, time(0), tz), wall_clock(day + timedelta(days=1), time(0), tz))
        held = [held_text(b, tz) for b in busy.overlapping(whole)
                if b.held and b.site is not None and _day(b.span.start, tz) == day and b.uid != uid]
        details.append(f"already {n} on-site block{'s' if n > 1 else ''} that day"
                       + (f" ({'; '.join(held)})" if held else ""))
    return reasons, details


def plan_booking(
    engagement: Engagement,
    pattern: Pattern,
    *,
    tz: ZoneInfo,
    policy: Policy,
    busy: Iterable[Busy],
    known: Mapping[str, Block],
    next_number: int,
    now: datetime,
    retired: Container[str] = frozenset(),
) -> BookingPlan:
    """Decide which blocks of `pattern` to create, which exist already, and which are refused.

    `busy` is every calendar's busy time (blocktime's own blocks included: a block whose UID is
    already booked is reported as existing, not as a conflict). `known` maps the engagement's
    stored blocks by UID; `retired` holds the UIDs of its cancelled blocks (a slot booked again gets a
    new UID). A known block moved since is reported as existing too: re-running a booking books
    nothing twice. Pure and deterministic: the same inputs give the same plan.
    """
    busy_list = list(busy)
    timeline = Timeline(busy_list, lambda b: b.span)
    per_day: dict[date, int] = {}
    own_days: dict[str, list[date]] = {}  # by UID: a candidate's own event must not fill its day
    for b in busy_list:
        if b.site is not None:
            per_day[_day(b.span.start, tz)] = per_day.get(_day(b.span.start, tz), 0) + 1
            if b.uid:
                own_days.setdefault(b.uid, []).append(_day(b.span.start, tz))
    create: list[Block] = []
    existing: list[Block] = []
    refused: list[Refusal] = []
    number = next_number
    planned: list[Busy] = []
    for wall in wall_times(pattern, tz):
        start = local(wall, tz)
        if start is None:
            shifted = wall.replace(tzinfo=tz)
            why = f"{wall:%a %Y-%m-%d %H:%M} does not exist in {tz.key} (clocks change)"
            shifted_end = (shifted.astimezone(UTC) + pattern.length).astimezone(tz)
            refused.append(
                Refusal(Interval(shifted, shifted_end), (Reason.NONEXISTENT_TIME,), (why,))
            )
            continue
        # Wall-clock end: a block that spans a DST change keeps its local end time (when that
        # time does not exist, the block's length in elapsed time: never a time in the gap).
        end = local(wall + pattern.length, tz) or (start.astimezone(UTC) + pattern.length).astimezone(tz)
        span = Interval(start, end)
        uid = fresh_uid(engagement.key, start, retired)
        if uid in known:
            existing.append(known[uid])
            continue
        counts = per_day
        if uid in own_days:  # its own event is on the calendar already (a re-run): not a rival
            counts = dict(per_day)
            for d in own_days[uid]:
                counts[d] -= 1
        reasons, details = check(
            span,
            site=engagement.site,
            uid=uid,
            tz=tz,
            policy=policy,
            site_hours=engagement.site_hours,
            busy=timeline,
            planned=planned,
            onsite_per_day=counts,
            notice=policy.booking_notice,
            now=now,
        )
        if reasons:
            refused.append(Refusal(span, tuple(reasons), tuple(details)))
            continue
        block = Block(engagement.key, number, uid, span, engagement.site)
        number += 1
        create.append(block)
        planned.append(Busy(span, uid, f"Training: {engagement.client}", engagement.site))
        per_day = counts  # the block replaces its own earlier event, if any
        day = _day(start, tz)
        per_day[day] = per_day.get(day, 0) + 1
    return BookingPlan(tuple(create), tuple(existing), tuple(refused))


def onsite_per_day(busy: Iterable[Busy], tz: ZoneInfo) -> dict[date, int]:
    """On-site blocks (busy items with a site) per local day, for DAY_FULL."""
    out: dict[date, int] = {}
    for b in busy:
        if b.site is not None:
            out[_day(b.span.start, tz)] = out.get(_day(b.span.start, tz), 0) + 1
    return out
