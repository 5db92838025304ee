"""Make-up slot search for a remainder: candidates on the policy's grid, every rule checked,
ranked (usual weekday and time, days already at the site, earlier first) and spread over days.

Pure and deterministic: the same query gives the same options.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from blocktime.core.intervals import Timeline, merge, subtract
from blocktime.core.model import Block, Busy, Engagement, Interval, Policy, Reason
from blocktime.core.series import check, onsite_per_day


@dataclass(frozen=True, slots=True)
class SlotQuery:
    """Everything the search needs. `busy` holds every calendar's busy time, blocktime's own
    blocks (with `site`) and holds included. `usual` is the engagement's usual start."""

    engagement: Engagement
    length: timedelta
    now: datetime
    tz: ZoneInfo
    policy: Policy
    busy: Sequence[Busy]
    usual: tuple[int, time] | None = None
    site_days: frozenset[date] = frozenset()
    declined: tuple[Interval, ...] = ()


@dataclass(frozen=True, slots=True)
class Slot:
    span: Interval
    score: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """One grid position of a day and every reason it was refused (empty: offerable)."""

    span: Interval
    reasons: tuple[Reason, ...]
    details: tuple[str, ...]


def usual_start(blocks: Sequence[Block], tz: ZoneInfo) -> tuple[int, time] | None:
    """The most common (weekday, local start time) of an engagement's blocks; earliest wins a tie.

    >>> from datetime import timedelta
    >>> tz = ZoneInfo("Europe/Warsaw")
    >>> def b(d: int, h: int) -> Block:
    ...     s = datetime(2026, 3, d, h, tzinfo=tz)
    ...     return Block("e", d, f"u{d}", Interval(s, s + timedelta(hours=1)), "HQ")
    >>> weekday, at = usual_start([b(24, 12), b(26, 9), b(31, 12)], tz) or (None, None)
    >>> weekday, str(at)
    (1, '12:00:00')
    """
    counts: dict[tuple[int, time], int] = {}
    for b in blocks:
        s = b.span.start.astimezone(tz)
        key = (s.weekday(), s.time())
        counts[key] = counts.get(key, 0) + 1
    if not counts:
        return None
    return min(counts, key=lambda k: (-counts[k], k))


#: The least time a client has to answer an offer: no option starts before now + answer_lead + this.
MIN_ANSWER_TIME = timedelta(hours=1)


def offer_notice(policy: Policy) -> timedelta:
    """How far ahead an option must start: the minimum notice, and time to answer before the
    option's own answer deadline (`answer_lead` before it starts)."""
    return max(policy.min_notice, policy.answer_lead + MIN_ANSWER_TIME)


def answer_deadline(created: datetime, starts: Sequence[datetime], policy: Policy) -> datetime:
    """When an offer stops taking answers: `offer_expiry` after it was made, but never later than
    `answer_lead` before its first option, so that every option is still ahead when the client picks.

    >>> from blocktime.core.model import Policy
    >>> made = datetime(2026, 3, 24, 13, tzinfo=UTC)
    >>> answer_deadline(made, [datetime(2026, 3, 26, 13, tzinfo=UTC)], Policy()).isoformat()
    '2026-03-25T13:00:00+00:00'
    """
    first = min(s.astimezone(UTC) for s in starts) if starts else None
    ttl = created.astimezone(UTC) + policy.offer_expiry
    return ttl if first is None else min(ttl, first - policy.answer_lead)


def makeup_length(remaining: timedelta, policy: Policy, block_length: timedelta) -> timedelta | None:
    """The make-up length for a remainder, or None when it is below the minimum (carried over)."""
    if remaining < policy.min_makeup:
        return None
    if policy.makeup_full_block:
        return block_length
    step = policy.granularity.total_seconds()
    return timedelta(seconds=math.ceil(remaining.total_seconds() / step) * step)


def _window(q: SlotQuery) -> Interval:
    now = q.now.astimezone(UTC)  # notice and horizon are elapsed time, not wall-clock time
    return Interval(now + offer_notice(q.policy), now + q.policy.horizon)


def _days(q: SlotQuery) -> list[date]:
    w = _window(q)
    first, last = w.start.astimezone(q.tz).date(), w.end.astimezone(q.tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _open_hours(q: SlotQuery, day: date) -> list[Interval]:
    hours = q.policy.working_hours.on(day, q.tz)
    site = q.engagement.site_hours
    if site is not None:
        allowed = site.on(day, q.tz)
        hours = [
            Interval(max(h.start, s.start), min(h.end, s.end))
            for h in hours for s in allowed if max(h.start, s.start) < min(h.end, s.end)
        ]
    return merge(hours)


def _grid(opening: Interval, length: timedelta, step: timedelta, tz: ZoneInfo) -> list[Interval]:
    """Starts aligned to the wall-clock grid (e.g. :00, :15) inside `opening`."""
    local_start = opening.start.astimezone(tz)
    midnight = datetime.combine(local_start.date(), time(0), tz)
    offset = (local_start - midnight) // step
    start = midnight + offset * step
    if start < opening.start:
        start += step
    out = []
    while start + length <= opening.end:
        out.append(Interval(start, start + length))
        start += step
    return out


def _relevant(q: SlotQuery, within: Interval | None = None) -> list[Busy]:
    """Busy items that can matter inside `within` (default: the search window), travel and buffer
    reach included (O(n), no sort of the whole list)."""
    reach = q.policy.reach
    w = within or _window(q)
    lo, hi = w.start - reach, w.end + reach
    return [b for b in q.busy if b.span.end > lo and b.span.start < hi]


def candidates(q: SlotQuery, day: date) -> list[Candidate]:
    """Every grid position of `day` inside working hours, with its refusal reasons (`why`); a day
    past the horizon is checked against its own busy time too (BEYOND_HORIZON is one reason more)."""
    busy = _relevant(q, Interval(datetime.combine(day, time(0), q.tz),
                                 datetime.combine(day + timedelta(days=1), time(0), q.tz)))
    timeline = Timeline(busy, lambda b: b.span)
    per_day = onsite_per_day(busy, q.tz)
    w = _window(q)
    out = []
    for opening in q.policy.working_hours.on(day, q.tz):
        for span in _grid(opening, q.length, q.policy.granularity, q.tz):
            reasons, details = check(
                span, site=q.engagement.site, uid="", tz=q.tz, policy=q.policy,
                site_hours=q.engagement.site_hours, busy=timeline, onsite_per_day=per_day,
                notice=offer_notice(q.policy), now=q.now,
            )
            if span.end > w.end:
                reasons.append(Reason.BEYOND_HORIZON)
            if any(span.overlaps(d) for d in q.declined):
                reasons.append(Reason.DECLINED)
                details.append("the client declined this time in an earlier offer")
            out.append(Candidate(span, tuple(reasons), tuple(details)))
    return out


def _blocked(q: SlotQuery, busy: Sequence[Busy]) -> list[Interval]:
    """Busy time widened by the buffer, and other sites' blocks widened by travel."""
    spans = []
    for b in busy:
        pad = q.policy.buffer
        if b.site is not None:
            pad = max(pad, q.policy.travel_between(q.engagement.site, b.site))
        spans.append(b.span.widen(pad, pad) if pad else b.span)
    return merge([*spans, *q.declined])


def _score(q: SlotQuery, span: Interval, first_day: date) -> float:
    local = span.start.astimezone(q.tz)
    score = -float((local.date() - first_day).days)  # earlier is better
    if local.date() in q.site_days:
        score += 5.0
    if q.usual is not None:
        weekday, at = q.usual
        if local.weekday() == weekday:
            score += 4.0
        minutes = abs((local.hour * 60 + local.minute) - (at.hour * 60 + at.minute))
        score += 3.0 * max(0.0, 1.0 - minutes / 240.0)
    return score


def search(q: SlotQuery) -> list[Slot]:
    """The best `policy.options` slots, on different days when such days exist."""
    return pick(all_slots(q), q.policy.options, q.tz)


def all_slots(q: SlotQuery) -> list[Slot]:
    """Every offerable grid position in the window, scored (free intervals minus blocked time)."""
    busy = _relevant(q)
    blocked = _blocked(q, busy)
    starts = [b.start for b in blocked]
    per_day = onsite_per_day(busy, q.tz)
    window = _window(q)
    days = _days(q)
    found: list[Slot] = []
    for day in days:
        if per_day.get(day, 0) >= q.policy.max_blocks_per_day:
            continue
        for opening in _open_hours(q, day):
            lo = max(opening.start, window.start)
            hi = min(opening.end, window.end)
            if lo >= hi:
                continue
            i = max(bisect_left(starts, lo) - 1, 0)
            near = blocked[i:bisect_left(starts, hi)]
            for free in subtract([Interval(lo, hi)], near):
                for span in _grid(free, q.length, q.policy.granularity, q.tz):
                    found.append(Slot(span, _score(q, span, days[0])))
    return found


def pick(slots: Sequence[Slot], count: int, tz: ZoneInfo) -> list[Slot]:
    """Best first; one per day while other days remain; never two that overlap."""
    ranked = sorted(slots, key=lambda s: (-s.score, s.span.start))
    chosen: list[Slot] = []
    days: set[date] = set()
    for s in ranked:  # first pass: distinct days
        d = s.span.start.astimezone(tz).date()
        if d not in days:
            chosen.append(s)
            days.add(d)
        if len(chosen) == count:
            break
    for s in ranked:  # second pass: fill up when there were too few days
        if len(chosen) == count:
            break
        if all(not s.span.overlaps(c.span) for c in chosen):
            chosen.append(s)
    return sorted(chosen, key=lambda s: s.span.start)
