"""blocktime.core.intervals: merge, subtract, clip and Timeline.overlapping, by example and
as properties checked against minute sets (instants near DST changes, several zones)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from blocktime.core.intervals import Timeline, clip, merge, subtract
from blocktime.core.model import Interval

WAW = ZoneInfo("Europe/Warsaw")
NYC = ZoneInfo("America/New_York")
M = timedelta(minutes=1)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def t(
    tz: ZoneInfo | timezone, hh: int, mm: int = 0, *, day: tuple[int, int, int] = (2026, 3, 24), fold: int = 0
) -> datetime:
    return datetime(*day, hh, mm, tzinfo=tz, fold=fold)


def span(a: datetime, b: datetime) -> Interval:
    return Interval(a, b)


def utc_pairs(ivs: list[Interval]) -> list[tuple[datetime, datetime]]:
    return [(i.start.astimezone(UTC), i.end.astimezone(UTC)) for i in ivs]


# --- merge --------------------------------------------------------------------------------------


def test_merge_empty() -> None:
    assert merge([]) == []


def test_merge_sorts_and_joins_overlapping_touching_and_nested() -> None:
    a = span(t(WAW, 9), t(WAW, 10))
    b = span(t(WAW, 10), t(WAW, 11))  # touches a
    c = span(t(WAW, 10, 30), t(WAW, 10, 45))  # inside b
    d = span(t(WAW, 13), t(WAW, 14))
    e = span(t(WAW, 13, 30), t(WAW, 15))  # overlaps d
    assert merge([e, c, a, d, b]) == [span(t(WAW, 9), t(WAW, 11)), span(t(WAW, 13), t(WAW, 15))]


def test_merge_keeps_a_one_minute_gap() -> None:
    a, b = span(t(WAW, 9), t(WAW, 10)), span(t(WAW, 10, 1), t(WAW, 11))
    assert merge([b, a]) == [a, b]


def test_merge_across_zones() -> None:
    # 12:00-13:00 Warsaw is 11:00-12:00 UTC; 07:00-08:00 New York (UTC-4) is the same hour.
    merged = merge([span(t(UTC, 12), t(UTC, 12, 30)), span(t(WAW, 12), t(WAW, 13)), span(t(NYC, 7), t(NYC, 8))])
    assert utc_pairs(merged) == [(t(UTC, 11), t(UTC, 12, 30))]


def test_merge_orders_the_autumn_overlap_by_instant_not_wall_clock() -> None:
    day = (2026, 10, 25)
    second = span(t(WAW, 2, 10, day=day, fold=1), t(WAW, 2, 50, day=day, fold=1))  # 01:10-01:50 UTC
    first = span(t(WAW, 2, 30, day=day), t(WAW, 2, 40, day=day))  # 00:30-00:40 UTC
    assert utc_pairs(merge([second, first])) == utc_pairs([first, second])


# --- subtract -----------------------------------------------------------------------------------


def test_subtract_nothing_taken() -> None:
    base = [span(t(WAW, 8), t(WAW, 18))]
    assert subtract(base, []) == base


def test_subtract_cuts_holes_and_edges() -> None:
    base = [span(t(WAW, 8), t(WAW, 18))]
    taken = merge([span(t(WAW, 7), t(WAW, 9)), span(t(WAW, 12), t(WAW, 13)), span(t(WAW, 17), t(WAW, 19))])
    assert subtract(base, taken) == [span(t(WAW, 9), t(WAW, 12)), span(t(WAW, 13), t(WAW, 17))]


def test_subtract_everything_taken() -> None:
    assert subtract([span(t(WAW, 8), t(WAW, 18))], [span(t(WAW, 7), t(WAW, 19))]) == []


def test_subtract_touching_taken_leaves_base_whole() -> None:
    base = [span(t(WAW, 8), t(WAW, 18))]
    taken = [span(t(WAW, 6), t(WAW, 8)), span(t(WAW, 18), t(WAW, 20))]
    assert subtract(base, taken) == base


def test_subtract_merges_the_base_first() -> None:
    base = [span(t(WAW, 10), t(WAW, 12)), span(t(WAW, 8), t(WAW, 11))]
    assert subtract(base, [span(t(WAW, 9), t(WAW, 10))]) == [span(t(WAW, 8), t(WAW, 9)), span(t(WAW, 10), t(WAW, 12))]


def test_subtract_taken_that_started_long_before() -> None:
    base = [span(t(WAW, 8), t(WAW, 18))]
    taken = [span(t(WAW, 0), t(WAW, 10)), span(t(WAW, 11), t(WAW, 12))]
    assert subtract(base, taken) == [span(t(WAW, 10), t(WAW, 11)), span(t(WAW, 12), t(WAW, 18))]


def test_subtract_by_instant_in_the_autumn_overlap() -> None:
    day = (2026, 10, 25)
    base = [span(t(WAW, 2, 10, day=day, fold=1), t(WAW, 3, 0, day=day))]  # 01:10-02:00 UTC
    taken = [span(t(WAW, 2, 30, day=day), t(WAW, 2, 40, day=day))]  # 00:30-00:40 UTC: before base
    assert utc_pairs(subtract(base, taken)) == utc_pairs(base)


# --- clip ---------------------------------------------------------------------------------------


def test_clip() -> None:
    bounds = span(t(WAW, 8), t(WAW, 18))
    ivs = [
        span(t(WAW, 6), t(WAW, 7)),  # before: dropped
        span(t(WAW, 7), t(WAW, 9)),
        span(t(WAW, 12), t(WAW, 13)),
        span(t(WAW, 17), t(WAW, 19)),
        span(t(WAW, 18), t(WAW, 19)),  # touching: dropped
    ]
    assert clip(ivs, bounds) == [
        span(t(WAW, 8), t(WAW, 9)),
        span(t(WAW, 12), t(WAW, 13)),
        span(t(WAW, 17), t(WAW, 18)),
    ]


def test_clip_by_instant_in_the_autumn_overlap() -> None:
    day = (2026, 10, 25)
    bounds = span(t(WAW, 2, 30, day=day), t(WAW, 3, 30, day=day))  # 00:30-02:30 UTC
    inner = span(t(WAW, 2, 10, day=day, fold=1), t(WAW, 2, 20, day=day, fold=1))  # 01:10-01:20 UTC
    assert utc_pairs(clip([inner], bounds)) == utc_pairs([inner])


# --- Timeline -----------------------------------------------------------------------------------


def test_timeline_empty() -> None:
    assert Timeline([], lambda i: i).overlapping(span(t(WAW, 8), t(WAW, 9))) == []


def test_timeline_half_open_and_long_items() -> None:
    long = span(t(WAW, 0), t(WAW, 23))
    short = span(t(WAW, 9), t(WAW, 10))
    later = span(t(WAW, 10), t(WAW, 11))
    line = Timeline([later, short, long], lambda i: i)
    assert line.overlapping(span(t(WAW, 9, 30), t(WAW, 10))) == [long, short]
    assert line.overlapping(span(t(WAW, 10), t(WAW, 10, 30))) == [long, later]
    assert line.overlapping(span(t(WAW, 23), t(WAW, 23, 30))) == []


def test_timeline_finds_an_item_across_the_autumn_change_from_another_zone() -> None:
    # 00:00-06:00 Warsaw on 2026-10-25 lasts 7 hours (22:00-05:00 UTC). A query in UTC at
    # 04:30 must still reach back to it.
    item = span(t(WAW, 0, day=(2026, 10, 25)), t(WAW, 6, day=(2026, 10, 25)))
    query = span(t(UTC, 4, 30, day=(2026, 10, 25)), t(UTC, 4, 45, day=(2026, 10, 25)))
    assert Timeline([item], lambda i: i).overlapping(query) == [item]


def test_timeline_reaches_back_across_the_spring_gap() -> None:
    # The query starts at 04:00 CEST (02:00 UTC); a 3-hour item from 23:30 UTC is still running.
    item = span(t(UTC, 23, 30, day=(2026, 3, 28)), t(UTC, 2, 30, day=(2026, 3, 29)))
    query = span(t(WAW, 4, day=(2026, 3, 29)), t(WAW, 5, day=(2026, 3, 29)))
    assert Timeline([item], lambda i: i).overlapping(query) == [item]


# --- properties ---------------------------------------------------------------------------------

# Five-minute steps around the four 2026 DST changes of Warsaw and New York (one per week of
# offsets), each instant written in one of several zones (fold=1 appears in the repeated hours).
_ANCHORS = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
]
_ZONES: list[ZoneInfo | timezone] = [UTC, WAW, NYC, timezone(timedelta(hours=-3))]


@st.composite
def interval_lists(draw: st.DrawFn, max_size: int = 8) -> list[Interval]:
    anchor = draw(st.sampled_from(_ANCHORS))
    out = []
    for _ in range(draw(st.integers(0, max_size))):
        k = draw(st.integers(-36, 36))
        n = draw(st.integers(1, 24))
        start = (anchor + k * 5 * M).astimezone(draw(st.sampled_from(_ZONES)))
        end = (anchor + (k + n) * 5 * M).astimezone(draw(st.sampled_from(_ZONES)))
        out.append(Interval(start, end))
    return out


def minutes(iv: Interval) -> set[int]:
    a = int((iv.start.astimezone(UTC) - EPOCH).total_seconds()) // 60
    b = int((iv.end.astimezone(UTC) - EPOCH).total_seconds()) // 60
    return set(range(a, b))


def cover(ivs: list[Interval]) -> set[int]:
    return set().union(*(minutes(i) for i in ivs)) if ivs else set()


def assert_sorted_disjoint(ivs: list[Interval]) -> None:
    """Sorted, and not even touching (touching intervals must have been merged)."""
    for (_, end), (start, _) in pairwise(utc_pairs(ivs)):
        assert end < start


SETTINGS = settings(max_examples=200, deadline=None)


@SETTINGS
@given(interval_lists())
def test_merge_is_sorted_disjoint_and_covers_the_same_minutes(ivs: list[Interval]) -> None:
    merged = merge(ivs)
    assert_sorted_disjoint(merged)
    assert cover(merged) == cover(ivs)
    assert utc_pairs(merge(merged)) == utc_pairs(merged)
    assert utc_pairs(merge(list(reversed(ivs)))) == utc_pairs(merged)


@SETTINGS
@given(interval_lists(), interval_lists())
def test_subtract_removes_exactly_the_taken_minutes(base: list[Interval], taken: list[Interval]) -> None:
    taken_m = merge(taken)
    rest = subtract(base, taken_m)
    assert cover(rest) == cover(base) - cover(taken)
    assert_sorted_disjoint(rest)
    assert not any(r.overlaps(x) for r in rest for x in taken)
    merged_base = merge(base)
    assert all(any(b.contains(r) for b in merged_base) for r in rest)


@SETTINGS
@given(interval_lists(), interval_lists(max_size=1))
def test_clip_keeps_each_interval_s_part_inside_bounds(ivs: list[Interval], bounds_list: list[Interval]) -> None:
    if not bounds_list:
        return
    (bounds,) = bounds_list
    clipped = clip(ivs, bounds)
    expected = [minutes(i) & minutes(bounds) for i in ivs]
    assert [minutes(c) for c in clipped] == [m for m in expected if m]
    assert all(bounds.contains(c) for c in clipped)


@SETTINGS
@given(interval_lists(max_size=12), interval_lists(max_size=4))
def test_timeline_overlapping_equals_a_brute_force_scan(items: list[Interval], queries: list[Interval]) -> None:
    tagged = list(enumerate(items))
    line = Timeline(tagged, lambda it: it[1])
    for q in queries:
        found = [i for i, _ in line.overlapping(q)]
        assert sorted(found) == [i for i, iv in tagged if minutes(iv) & minutes(q)]
        assert len(found) == len(set(found))
        starts = [items[i].start.astimezone(UTC) for i in found]
        assert starts == sorted(starts)
