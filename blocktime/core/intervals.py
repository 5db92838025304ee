"""Interval algebra on aware datetimes: merge, subtract, clip and overlap lookup."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

from blocktime.core.model import Interval

T = TypeVar("T")


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals."""
    out: list[Interval] = []
    for iv in sorted(intervals):
        if out and iv.start <= out[-1].end:
            if iv.end > out[-1].end:
                out[-1] = Interval(out[-1].start, iv.end)
        else:
            out.append(iv)
    return out


def subtract(base: Iterable[Interval], taken: Sequence[Interval]) -> list[Interval]:
    """The parts of `base` not covered by `taken` (which must be merged and sorted)."""
    out: list[Interval] = []
    starts = [t.start for t in taken]
    for iv in merge(base):
        cursor = iv.start
        i = max(bisect_left(starts, iv.start) - 1, 0)
        while i < len(taken) and taken[i].start < iv.end:
            t = taken[i]
            if t.end > cursor:
                if t.start > cursor:
                    out.append(Interval(cursor, t.start))
                cursor = max(cursor, t.end)
            i += 1
        if cursor < iv.end:
            out.append(Interval(cursor, iv.end))
    return out


def clip(intervals: Iterable[Interval], bounds: Interval) -> list[Interval]:
    """The parts of `intervals` inside `bounds`."""
    out = []
    for iv in intervals:
        start, end = max(iv.start, bounds.start), min(iv.end, bounds.end)
        if start < end:
            out.append(Interval(start, end))
    return out


class Timeline(Generic[T]):
    """Items with spans, sorted, for fast "what overlaps this span" queries."""

    def __init__(self, items: Iterable[T], span_of: Callable[[T], Interval]) -> None:
        self._span_of = span_of
        self._items = sorted(items, key=lambda it: span_of(it).start)
        self._starts = [span_of(it).start for it in self._items]
        self._longest = max((span_of(it).duration for it in self._items), default=None)

    def overlapping(self, span: Interval) -> list[T]:
        """Items whose span overlaps `span` (half-open: touching is not overlapping)."""
        if self._longest is None:
            return []
        lo = bisect_left(self._starts, span.start - self._longest)
        hi = bisect_left(self._starts, span.end)
        return [it for it in self._items[lo:hi] if self._span_of(it).overlaps(span)]
