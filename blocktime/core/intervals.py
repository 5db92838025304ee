"""Interval algebra on aware datetimes: merge, subtract, clip and overlap lookup.

Every comparison is made in UTC: Python compares two datetimes that share a tzinfo by wall
clock (ignoring `fold` and DST gaps), which orders some instants wrongly around a DST change.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar

from blocktime.core.model import Interval

T = TypeVar("T")


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals."""
    out: list[Interval] = []
    for iv in sorted(intervals, key=lambda iv: (_utc(iv.start), _utc(iv.end))):
        if out and _utc(iv.start) <= _utc(out[-1].end):
            if _utc(iv.end) > _utc(out[-1].end):
                out[-1] = Interval(out[-1].start, iv.end)
        else:
            out.append(iv)
    return out


def subtract(base: Iterable[Interval], taken: Sequence[Interval]) -> list[Interval]:
    """The parts of `base` not covered by `taken` (which must be merged and sorted)."""
    out: list[Interval] = []
    starts = [_utc(t.start) for t in taken]
    for iv in merge(base):
        cursor = iv.start
        i = max(bisect_left(starts, _utc(iv.start)) - 1, 0)
        while i < len(taken) and starts[i] < _utc(iv.end):
            t = taken[i]
            if _utc(t.end) > _utc(cursor):
                if starts[i] > _utc(cursor):
                    out.append(Interval(cursor, t.start))
                cursor = max(cursor, t.end, key=_utc)
            i += 1
        if _utc(cursor) < _utc(iv.end):
            out.append(Interval(cursor, iv.end))
    return out


def clip(intervals: Iterable[Interval], bounds: Interval) -> list[Interval]:
    """The parts of `intervals` inside `bounds`."""
    out = []
    for iv in intervals:
        start = max(iv.start, bounds.start, key=_utc)
        end = min(iv.end, bounds.end, key=_utc)
        if _utc(start) < _utc(end):
            out.append(Interval(start, end))
    return out


class Timeline(Generic[T]):
    """Items with spans, sorted, for fast "what overlaps this span" queries."""

    def __init__(self, items: Iterable[T], span_of: Callable[[T], Interval]) -> None:
        self._span_of = span_of
        self._items = sorted(items, key=lambda it: _utc(span_of(it).start))
        self._starts = [_utc(span_of(it).start) for it in self._items]
        self._longest = max((span_of(it).duration for it in self._items), default=None)

    def overlapping(self, span: Interval) -> list[T]:
        """Items whose span overlaps `span` (half-open: touching is not overlapping)."""
        if self._longest is None:
            return []
        lo = bisect_left(self._starts, _utc(span.start) - self._longest)
        hi = bisect_left(self._starts, _utc(span.end))
        return [it for it in self._items[lo:hi] if self._span_of(it).overlaps(span)]
