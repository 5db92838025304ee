"""blocktime.core.model: Interval (validation, elapsed-time arithmetic), WeeklyHours (parse,
on, allows) across the DST days of Europe/Warsaw and America/New_York, and the value types."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blocktime.core.model import (
    DEFAULT_HOURS,
    WEEKDAYS,
    Block,
    Interval,
    Policy,
    Reason,
    WeeklyHours,
    Window,
)

WAW = ZoneInfo("Europe/Warsaw")
NYC = ZoneInfo("America/New_York")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def at(tz: ZoneInfo | timezone, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=tz, fold=fold)  # type: ignore[misc]


def iv(tz: ZoneInfo | timezone, day: tuple[int, int, int], start: str, end: str) -> Interval:
    """An interval of one local day, e.g. iv(WAW, (2026, 3, 24), "12:00", "13:00")."""
    (h1, m1), (h2, m2) = (map(int, start.split(":")), map(int, end.split(":")))
    return Interval(at(tz, *day, h1, m1), at(tz, *day, h2, m2))


# --- Interval -------------------------------------------------------------------------------


class TestIntervalValidation:
    def test_naive_start_or_end_is_refused(self) -> None:
        aware = at(WAW, 2026, 3, 24, 12)
        with pytest.raises(ValueError, match="aware"):
            Interval(datetime(2026, 3, 24, 11), aware)
        with pytest.raises(ValueError, match="aware"):
            Interval(aware, datetime(2026, 3, 24, 13))

    @pytest.mark.parametrize("minutes", [0, -1, -60])
    def test_end_not_after_start_is_refused(self, minutes: int) -> None:
        start = at(WAW, 2026, 3, 24, 12)
        with pytest.raises(ValueError, match="before it starts"):
            Interval(start, start + timedelta(minutes=minutes))

    def test_the_same_instant_in_another_zone_is_an_empty_interval(self) -> None:
        start = at(WAW, 2026, 3, 24, 12)
        with pytest.raises(ValueError):
            Interval(start, start.astimezone(UTC))

    def test_end_in_another_zone_is_compared_as_an_instant(self) -> None:
        # 12:00 Warsaw is 11:00 UTC: an end at 11:30 UTC is after the start.
        span = Interval(at(WAW, 2026, 3, 24, 12), at(UTC, 2026, 3, 24, 11, 30))
        assert span.duration == timedelta(minutes=30)
        with pytest.raises(ValueError):
            Interval(at(WAW, 2026, 3, 24, 12), at(UTC, 2026, 3, 24, 11, 0))

    def test_autumn_overlap_wall_clock_going_backwards_is_still_a_valid_span(self) -> None:
        # 02:30 CEST (00:30 UTC) until the second 02:15 (CET, 01:15 UTC): 45 minutes later.
        span = Interval(at(WAW, 2026, 10, 25, 2, 30), at(WAW, 2026, 10, 25, 2, 15, fold=1))
        assert span.duration == timedelta(minutes=45)

    def test_autumn_overlap_second_occurrence_before_first_is_refused(self) -> None:
        # The second 02:15 (01:15 UTC) is after the first 02:45 (00:45 UTC).
        with pytest.raises(ValueError):
            Interval(at(WAW, 2026, 10, 25, 2, 15, fold=1), at(WAW, 2026, 10, 25, 2, 45))

    def test_intervals_are_frozen(self) -> None:
        span = iv(WAW, (2026, 3, 24), "12:00", "13:00")
        with pytest.raises(dataclasses.FrozenInstanceError):
            span.start = at(WAW, 2026, 3, 24, 11)  # type: ignore[misc]


class TestIntervalArithmetic:
    def test_duration_of_a_plain_day(self) -> None:
        assert iv(WAW, (2026, 3, 24), "08:00", "18:00").duration == timedelta(hours=10)

    @pytest.mark.parametrize(
        ("tz", "day", "hours"),
        [(WAW, (2026, 3, 29), 23), (WAW, (2026, 10, 25), 25), (NYC, (2026, 3, 8), 23), (NYC, (2026, 11, 1), 25)],
    )
    def test_duration_is_elapsed_time_across_dst(self, tz: ZoneInfo, day: tuple[int, int, int], hours: int) -> None:
        d = date(*day)
        span = Interval(at(tz, *day, 0), at(tz, *(d + timedelta(days=1)).timetuple()[:3], 0))
        assert span.duration == timedelta(hours=hours)

    def test_duration_across_the_spring_gap_in_one_zone(self) -> None:
        # 01:00 CET to 04:00 CEST on 2026-03-29: the wall clock moves 3 h, the world 2 h.
        assert iv(WAW, (2026, 3, 29), "01:00", "04:00").duration == 2 * H

    def test_overlaps_is_half_open(self) -> None:
        a = iv(WAW, (2026, 3, 24), "12:00", "13:00")
        assert not a.overlaps(iv(WAW, (2026, 3, 24), "13:00", "14:00"))
        assert not a.overlaps(iv(WAW, (2026, 3, 24), "11:00", "12:00"))
        assert a.overlaps(iv(WAW, (2026, 3, 24), "12:59", "14:00"))
        assert a.overlaps(iv(WAW, (2026, 3, 24), "11:00", "12:01"))
        assert a.overlaps(iv(WAW, (2026, 3, 24), "12:20", "12:40"))
        assert a.overlaps(iv(WAW, (2026, 3, 24), "11:00", "14:00"))

    def test_overlaps_across_zones(self) -> None:
        a = iv(WAW, (2026, 3, 24), "12:00", "13:00")  # 11:00-12:00 UTC
        assert a.overlaps(iv(UTC, (2026, 3, 24), "11:30", "11:45"))
        assert not a.overlaps(iv(UTC, (2026, 3, 24), "12:00", "12:30"))
        # New York is already on summer time (UTC-4) on 2026-03-24, Warsaw not yet (UTC+1).
        assert a.overlaps(iv(NYC, (2026, 3, 24), "07:00", "08:00"))
        assert not a.overlaps(iv(NYC, (2026, 3, 24), "08:00", "09:00"))
        assert not a.overlaps(iv(NYC, (2026, 3, 24), "06:00", "07:00"))

    def test_contains(self) -> None:
        day = iv(WAW, (2026, 3, 24), "08:00", "18:00")
        assert day.contains(iv(WAW, (2026, 3, 24), "08:00", "18:00"))
        assert day.contains(iv(WAW, (2026, 3, 24), "12:00", "13:00"))
        assert not day.contains(iv(WAW, (2026, 3, 24), "07:59", "09:00"))
        assert not day.contains(iv(WAW, (2026, 3, 24), "17:00", "18:01"))
        assert day.contains(iv(UTC, (2026, 3, 24), "07:00", "17:00"))
        assert not day.contains(iv(UTC, (2026, 3, 24), "07:00", "17:01"))

    def test_widen_keeps_the_zone(self) -> None:
        wide = iv(WAW, (2026, 3, 24), "12:00", "13:00").widen(15 * M, 30 * M)
        assert wide == iv(WAW, (2026, 3, 24), "11:45", "13:30")
        assert wide.start.tzinfo is WAW and wide.end.tzinfo is WAW

    def test_widen_is_elapsed_time_across_the_spring_gap(self) -> None:
        # 03:10 CEST minus 30 minutes is 01:40 CET (the wall clock skips 02:00-03:00).
        wide = iv(WAW, (2026, 3, 29), "03:10", "03:40").widen(30 * M, 0 * M)
        assert wide.start.astimezone(UTC) == at(UTC, 2026, 3, 29, 0, 40)
        assert wide.duration == 60 * M
        # A busy item that ends at 01:55 CET is 15 minutes before the block: inside a 30 min buffer.
        busy = iv(WAW, (2026, 3, 29), "01:00", "01:55")
        assert busy.overlaps(wide)

    def test_widen_is_elapsed_time_across_the_autumn_overlap(self) -> None:
        # 02:50 CEST + 30 minutes is 02:20 CET (the second 02:20), i.e. 01:20 UTC.
        wide = iv(WAW, (2026, 10, 25), "02:00", "02:50").widen(0 * M, 30 * M)
        assert wide.end.astimezone(UTC) == at(UTC, 2026, 10, 25, 1, 20)
        assert wide.duration == 80 * M


# Instants near the DST changes of both zones, shown in a zone of their own.
_ANCHORS = [
    at(UTC, 2026, 3, 8, 7),
    at(UTC, 2026, 3, 29, 1),
    at(UTC, 2026, 10, 25, 1),
    at(UTC, 2026, 11, 1, 6),
]
_ZONES: list[ZoneInfo | timezone] = [UTC, WAW, NYC, timezone(timedelta(hours=5, minutes=30))]
instants = st.builds(
    lambda a, k, z: (a + k * 5 * M).astimezone(z),
    st.sampled_from(_ANCHORS),
    st.integers(-72, 72),
    st.sampled_from(_ZONES),
)
spans = st.builds(
    lambda s, k, z: Interval(s, (s.astimezone(UTC) + k * 5 * M).astimezone(z)),
    instants,
    st.integers(1, 48),
    st.sampled_from(_ZONES),
)


def _minutes(span: Interval) -> range:
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    return range(
        int((span.start.astimezone(UTC) - epoch).total_seconds()) // 60,
        int((span.end.astimezone(UTC) - epoch).total_seconds()) // 60,
    )


@settings(max_examples=200, deadline=None)
@given(spans, spans)
def test_interval_predicates_agree_with_minute_sets(a: Interval, b: Interval) -> None:
    ma, mb = set(_minutes(a)), set(_minutes(b))
    assert a.duration == len(ma) * M
    assert a.overlaps(b) == b.overlaps(a) == bool(ma & mb)
    assert a.contains(b) == (mb <= ma)


@settings(max_examples=200, deadline=None)
@given(spans, st.integers(0, 120), st.integers(0, 120))
def test_widen_adds_elapsed_minutes(span: Interval, before: int, after: int) -> None:
    wide = span.widen(before * M, after * M)
    assert wide.start.tzinfo is span.start.tzinfo and wide.end.tzinfo is span.end.tzinfo
    assert wide.start.astimezone(UTC) == span.start.astimezone(UTC) - before * M
    assert wide.end.astimezone(UTC) == span.end.astimezone(UTC) + after * M
    assert wide.contains(span)


# --- WeeklyHours.parse ----------------------------------------------------------------------


class TestParse:
    def test_weekday_range(self) -> None:
        hours = WeeklyHours.parse("Mon-Fri 08:00-18:00")
        assert hours.windows == tuple(Window(d, time(8), time(18)) for d in range(5))

    def test_default_hours_are_mon_to_fri_8_to_18(self) -> None:
        assert WeeklyHours.parse("Mon-Fri 08:00-18:00") == DEFAULT_HOURS
        assert Policy().working_hours == DEFAULT_HOURS

    def test_single_day_case_and_spaces(self) -> None:
        assert WeeklyHours.parse("  wED 9:05 - 17:30 ").windows == (Window(2, time(9, 5), time(17, 30)),)

    def test_wrap_around_range(self) -> None:
        hours = WeeklyHours.parse("Fri-Mon 10:00-14:00")
        assert [w.weekday for w in hours.windows] == [4, 5, 6, 0]
        assert {(w.start, w.end) for w in hours.windows} == {(time(10), time(14))}

    def test_same_day_range_is_one_day(self) -> None:
        assert [w.weekday for w in WeeklyHours.parse("Sat-Sat 10:00-11:00").windows] == [5]

    def test_several_parts_with_commas_and_semicolons(self) -> None:
        hours = WeeklyHours.parse("Mon-Tue 09:00-12:00, Sat 10:00-11:00; Sun 01:00-02:00,")
        assert hours.windows == (
            Window(0, time(9), time(12)),
            Window(1, time(9), time(12)),
            Window(5, time(10), time(11)),
            Window(6, time(1), time(2)),
        )

    def test_24_00_means_end_of_day(self) -> None:
        (window,) = WeeklyHours.parse("Sun 00:00-24:00").windows
        assert window == Window(6, time(0), time.max)

    def test_every_weekday_name(self) -> None:
        for i, name in enumerate(WEEKDAYS):
            assert WeeklyHours.parse(f"{name} 08:00-09:00").windows[0].weekday == i

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "  ",
            ",;",
            "Mon",
            "Mon 08:00",
            "08:00-18:00",
            "Xyz 08:00-18:00",
            "Mon-Xyz 08:00-18:00",
            "Mon-Fri 8-18",
            "Mon-Fri 08:00-18:00 extra",
            "Mon-Fri 08.00-18.00",
            "Mon 18:00-08:00",  # ends before it starts
            "Mon 08:00-08:00",  # empty
            "Mon 24:00-24:00",
            "Mon 25:00-26:00",
            "Mon 08:60-09:00",
            "Mon 08:00-09:60",
            "Mon 08:00-24:30",
            "Mon 08:00-18:00, rubbish",
        ],
    )
    def test_bad_text_raises_value_error(self, text: str) -> None:
        with pytest.raises(ValueError):
            WeeklyHours.parse(text)

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(
            st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 23 * 60 + 59), st.integers(1, 24 * 60)),
            min_size=1,
            max_size=4,
        )
    )
    def test_round_trip_of_generated_text(self, parts: list[tuple[int, int, int, int]]) -> None:
        texts, expected = [], []
        for first, last, start, length in parts:
            end = min(start + length, 24 * 60)
            texts.append(
                f"{WEEKDAYS[first]}-{WEEKDAYS[last]} {start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
            )
            days = [(first + i) % 7 for i in range((last - first) % 7 + 1)]
            t_end = time.max if end == 24 * 60 else time(end // 60, end % 60)
            expected += [Window(d, time(start // 60, start % 60), t_end) for d in days]
        assert WeeklyHours.parse(", ".join(texts)).windows == tuple(expected)


# --- WeeklyHours.on / allows ------------------------------------------------------------------


class TestOn:
    def test_weekday_window_on_a_weekday(self) -> None:
        assert DEFAULT_HOURS.on(date(2026, 3, 24), WAW) == [iv(WAW, (2026, 3, 24), "08:00", "18:00")]

    def test_no_window_on_a_closed_day(self) -> None:
        assert DEFAULT_HOURS.on(date(2026, 3, 28), WAW) == []

    @pytest.mark.parametrize(
        ("tz", "day", "before", "after", "hours"),
        [
            (WAW, date(2026, 3, 29), 1, 2, 23),
            (WAW, date(2026, 10, 25), 2, 1, 25),
            (NYC, date(2026, 3, 8), -5, -4, 23),
            (NYC, date(2026, 11, 1), -4, -5, 25),
        ],
    )
    def test_whole_dst_day(self, tz: ZoneInfo, day: date, before: int, after: int, hours: int) -> None:
        assert day.weekday() == 6  # every one of these changes happens on a Sunday
        (opening,) = WeeklyHours.parse("Sun 00:00-24:00").on(day, tz)
        assert opening.start.utcoffset() == timedelta(hours=before)
        assert opening.end.utcoffset() == timedelta(hours=after)
        assert opening.end.astimezone(tz).date() == day + timedelta(days=1)
        assert opening.duration == timedelta(hours=hours)
        assert DEFAULT_HOURS.on(day, tz) == []  # Mon-Fri hours: closed on that Sunday

    @pytest.mark.parametrize(
        ("tz", "day", "offset"),
        [
            (WAW, date(2026, 3, 22), 1),
            (WAW, date(2026, 3, 29), 2),
            (WAW, date(2026, 10, 18), 2),
            (WAW, date(2026, 10, 25), 1),
            (NYC, date(2026, 3, 1), -5),
            (NYC, date(2026, 3, 8), -4),
            (NYC, date(2026, 10, 25), -4),
            (NYC, date(2026, 11, 1), -5),
        ],
    )
    def test_daytime_window_keeps_its_wall_clock(self, tz: ZoneInfo, day: date, offset: int) -> None:
        (opening,) = WeeklyHours.parse("Sun 08:00-18:00").on(day, tz)
        assert opening.start.astimezone(UTC) == datetime.combine(day, time(8), UTC) - timedelta(hours=offset)
        assert opening.end.astimezone(UTC) == datetime.combine(day, time(18), UTC) - timedelta(hours=offset)
        assert opening.duration == timedelta(hours=10)

    def test_window_across_the_spring_gap_is_shorter(self) -> None:
        (opening,) = WeeklyHours.parse("Sun 01:00-04:00").on(date(2026, 3, 29), WAW)
        assert opening.duration == 2 * H
        (opening,) = WeeklyHours.parse("Sun 01:00-04:00").on(date(2026, 11, 1), NYC)
        assert opening.duration == 4 * H

    def test_window_starting_where_the_gap_starts_opens_when_the_clocks_jump(self) -> None:
        (opening,) = WeeklyHours.parse("Sun 02:00-05:00").on(date(2026, 3, 29), WAW)
        assert opening.start.astimezone(UTC) == at(UTC, 2026, 3, 29, 1)  # 03:00 CEST
        assert opening.duration == 2 * H

    def test_window_edge_inside_the_gap_snaps_to_the_jump(self) -> None:
        (opening,) = WeeklyHours.parse("Sun 00:00-02:30").on(date(2026, 3, 29), WAW)
        assert opening.end.astimezone(UTC) == at(UTC, 2026, 3, 29, 1)  # clocks jump at 01:00 UTC
        (later,) = WeeklyHours.parse("Sun 02:30-09:00").on(date(2026, 3, 29), WAW)
        assert later.start.astimezone(UTC) == at(UTC, 2026, 3, 29, 1)
        (ny,) = WeeklyHours.parse("Sun 02:15-05:00").on(date(2026, 3, 8), ZoneInfo("America/New_York"))
        assert ny.start.astimezone(UTC) == at(UTC, 2026, 3, 8, 7)  # 02:00 EST = 07:00 UTC

    def test_a_window_wholly_inside_the_gap_is_empty(self) -> None:
        assert WeeklyHours.parse("Sun 02:00-03:00").on(date(2026, 3, 29), WAW) == []
        assert len(WeeklyHours.parse("Sun 02:00-03:00").on(date(2026, 3, 22), WAW)) == 1

    def test_two_windows_on_one_day(self) -> None:
        hours = WeeklyHours.parse("Tue 08:00-12:00, Tue 13:00-17:00, Wed 09:00-10:00")
        assert hours.on(date(2026, 3, 24), WAW) == [
            iv(WAW, (2026, 3, 24), "08:00", "12:00"),
            iv(WAW, (2026, 3, 24), "13:00", "17:00"),
        ]


class TestAllows:
    def test_inside_and_at_the_edges(self) -> None:
        assert DEFAULT_HOURS.allows(iv(WAW, (2026, 3, 24), "08:00", "18:00"), WAW)
        assert DEFAULT_HOURS.allows(iv(WAW, (2026, 3, 24), "12:00", "13:00"), WAW)
        assert not DEFAULT_HOURS.allows(iv(WAW, (2026, 3, 24), "07:59", "09:00"), WAW)
        assert not DEFAULT_HOURS.allows(iv(WAW, (2026, 3, 24), "17:30", "18:01"), WAW)
        assert not DEFAULT_HOURS.allows(iv(WAW, (2026, 3, 28), "12:00", "13:00"), WAW)  # Saturday

    @pytest.mark.parametrize(
        ("tz", "week_before", "dst_sunday", "utc_start", "inside"),
        [
            (WAW, date(2026, 3, 22), date(2026, 3, 29), time(6, 30), (False, True)),
            (WAW, date(2026, 10, 18), date(2026, 10, 25), time(6, 30), (True, False)),
            (NYC, date(2026, 3, 1), date(2026, 3, 8), time(12, 30), (False, True)),
            (NYC, date(2026, 10, 25), date(2026, 11, 1), time(12, 30), (True, False)),
        ],
    )
    def test_spans_given_in_utc_are_judged_by_the_local_wall_clock(
        self, tz: ZoneInfo, week_before: date, dst_sunday: date, utc_start: time, inside: tuple[bool, bool]
    ) -> None:
        hours = WeeklyHours.parse("Sun 08:00-18:00")
        for day in (week_before, dst_sunday):
            local_8 = datetime.combine(day, time(8), tz).astimezone(UTC)
            assert hours.allows(Interval(local_8, local_8 + H), tz)
            assert not hours.allows(Interval(local_8 - M, local_8 + H), tz)
            local_18 = datetime.combine(day, time(18), tz).astimezone(UTC)
            assert hours.allows(Interval(local_18 - H, local_18), tz)
            assert not hours.allows(Interval(local_18 - H, local_18 + M), tz)
        # The same UTC clock time is outside the hours on one side of the change, inside on the other.
        got = tuple(
            hours.allows(Interval(start, start + H), tz)
            for start in (datetime.combine(d, utc_start, UTC) for d in (week_before, dst_sunday))
        )
        assert got == inside

    def test_local_day_not_utc_day_decides(self) -> None:
        # 01:00 UTC on Monday 2026-11-02 is 20:00 EST on Sunday 2026-11-01.
        hours = WeeklyHours.parse("Sun 19:00-23:00")
        assert hours.allows(iv(UTC, (2026, 11, 2), "01:00", "02:00"), NYC)
        assert not hours.allows(iv(UTC, (2026, 11, 2), "01:00", "02:00"), WAW)

    def test_adjacent_windows_join(self) -> None:
        hours = WeeklyHours.parse("Mon 08:00-12:00, Mon 12:00-18:00")
        assert hours.allows(iv(WAW, (2026, 3, 23), "11:00", "13:00"), WAW)
        assert hours.allows(iv(WAW, (2026, 3, 23), "08:00", "18:00"), WAW)

    def test_overlapping_windows_join(self) -> None:
        hours = WeeklyHours.parse("Mon-Fri 08:00-18:00, Wed 07:00-09:00")
        assert hours.allows(iv(WAW, (2026, 3, 25), "07:30", "09:30"), WAW)  # Wednesday
        assert not hours.allows(iv(WAW, (2026, 3, 24), "07:30", "09:30"), WAW)  # Tuesday

    def test_a_gap_between_windows_is_closed(self) -> None:
        hours = WeeklyHours.parse("Mon 08:00-12:00, Mon 13:00-18:00")
        assert not hours.allows(iv(WAW, (2026, 3, 23), "11:30", "13:30"), WAW)
        assert not hours.allows(iv(WAW, (2026, 3, 23), "12:00", "13:00"), WAW)
        assert hours.allows(iv(WAW, (2026, 3, 23), "13:00", "14:00"), WAW)

    def test_across_midnight_needs_both_days_open(self) -> None:
        span = Interval(at(WAW, 2026, 3, 23, 23), at(WAW, 2026, 3, 24, 1))
        assert WeeklyHours.parse("Mon 20:00-24:00, Tue 00:00-02:00").allows(span, WAW)
        assert not WeeklyHours.parse("Mon 20:00-24:00").allows(span, WAW)
        assert not WeeklyHours.parse("Tue 00:00-02:00").allows(span, WAW)

    def test_all_of_a_spring_forward_sunday(self) -> None:
        hours = WeeklyHours.parse("Sun 00:00-24:00")
        span = Interval(at(WAW, 2026, 3, 29, 1, 30), at(WAW, 2026, 3, 29, 3, 30))  # one hour
        assert span.duration == H
        assert hours.allows(span, WAW)
        assert hours.allows(Interval(at(WAW, 2026, 3, 29, 0), at(WAW, 2026, 3, 30, 0)), WAW)
        assert not hours.allows(Interval(at(WAW, 2026, 3, 29, 0), at(WAW, 2026, 3, 30, 0, 1)), WAW)

    def test_autumn_overlap_window_ends_at_the_first_occurrence(self) -> None:
        hours = WeeklyHours.parse("Sun 00:00-02:45")
        first = Interval(at(WAW, 2026, 10, 25, 2, 30), at(WAW, 2026, 10, 25, 2, 40))
        second = Interval(at(WAW, 2026, 10, 25, 2, 30, fold=1), at(WAW, 2026, 10, 25, 2, 40, fold=1))
        assert hours.allows(first, WAW)
        assert not hours.allows(second, WAW)  # 01:30 UTC: the window closed at 00:45 UTC


# --- the small value types ---------------------------------------------------------------------


def test_reason_values_are_their_names() -> None:
    assert {r.value for r in Reason} >= {
        "OUTSIDE_HOURS",
        "SITE_CLOSED",
        "TOO_SOON",
        "TRAVEL",
        "BUSY",
        "DAY_FULL",
        "NONEXISTENT_TIME",
    }
    assert all(r.value == r.name == str(r) for r in Reason)


def test_block_id_is_engagement_and_number() -> None:
    block = Block("acme", 7, "uid", iv(WAW, (2026, 3, 24), "12:00", "13:00"), "Acme HQ")
    assert block.id == "acme-7"
    assert block.makeup_for is None
