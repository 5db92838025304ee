"""Damage in one place never hides busy time elsewhere: each class of damage from issue 11, shaped
after what real exports contain, next to good events that must survive it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from blocktime.ics.busy import busy_from_texts

WAW = ZoneInfo("Europe/Warsaw")
START, END = datetime(2026, 3, 16, tzinfo=WAW), datetime(2026, 4, 20, tzinfo=WAW)


def cal(*events: str, head: str = "") -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", *head.splitlines(), *events,
                        "END:VCALENDAR", ""])


def event(uid: str, start: str = "20260317T090000Z", end: str = "20260317T100000Z", *extra: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"DTSTART{start}"
                        if start.startswith(";") else f"DTSTART:{start}",
                        f"DTEND{end}" if end.startswith(";") else f"DTEND:{end}", *extra, "END:VEVENT"])


def busy(text: str, start: datetime = START, end: datetime = END) -> tuple[dict[str, list[datetime]], list[str]]:
    result = busy_from_texts([("export.ics", text)], start, end, WAW)
    out: dict[str, list[datetime]] = {}
    for b in result.busy:
        out.setdefault(b.uid, []).append(b.span.start)
    return out, result.warnings


def test_an_event_without_dtstart_costs_only_itself() -> None:
    broken = "BEGIN:VEVENT\r\nUID:nostart\r\nDTEND:20260318T100000Z\r\nSUMMARY:x\r\nEND:VEVENT"
    got, warnings = busy(cal(event("a"), broken, event("b", "20260319T090000Z", "20260319T100000Z")))
    assert set(got) == {"a", "b"}
    assert any("'nostart'" in w and "DTSTART" in w for w in warnings)


def test_a_broken_valarm_never_costs_its_event() -> None:
    """`TRIGGER;RELATED=START:PT-2H` was found in a railway operator's export."""
    alarm = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;RELATED=START:PT-2H\r\nDESCRIPTION:x\r\nEND:VALARM"
    got, warnings = busy(cal(event("train", "20260317T090000Z", "20260317T100000Z", alarm)))
    assert got == {"train": [datetime(2026, 3, 17, 9, tzinfo=UTC)]} and warnings == []


def test_one_bad_time_among_many_good_events() -> None:
    good = [event(f"e{i}", f"202603{17 + i % 10}T0{i % 9}0000Z", f"202603{17 + i % 10}T0{i % 9}3000Z")
            for i in range(200)]
    bad = event("bad", "20260317T250000Z", "20260317T260000Z")
    got, warnings = busy(cal(*good[:100], bad, *good[100:]))
    assert len(got) == 200 and "bad" not in got
    assert any("'bad'" in w for w in warnings)


def test_a_broken_rrule_keeps_its_first_occurrence() -> None:
    got, warnings = busy(cal(event("r", "20260317T090000Z", "20260317T100000Z", "RRULE:FREQ=WEEKLY;BYDAY=XX")))
    assert got == {"r": [datetime(2026, 3, 17, 9, tzinfo=UTC)]}
    assert any("'r'" in w and "RRULE" in w for w in warnings)


def test_exchange_rrule_with_spaces_and_lower_case_is_read() -> None:
    rule = "RRULE:freq=weekly;byday=MO, TU, WE, TH, FR;count=10"
    got, warnings = busy(cal(event("x", "20260316T080000Z", "20260316T083000Z", rule)))
    assert len(got["x"]) == 10 and warnings == []
    assert {d.weekday() for d in got["x"]} == {0, 1, 2, 3, 4}


def test_a_runaway_series_keeps_its_dtstart() -> None:
    got, warnings = busy(cal(event("run", "20260317T090000Z", "20260317T091000Z", "RRULE:FREQ=SECONDLY")))
    assert got == {"run": [datetime(2026, 3, 17, 9, tzinfo=UTC)]}
    assert any("'run'" in w and "DTSTART kept" in w for w in warnings)


def test_all_day_event_ending_when_it_starts_is_one_day() -> None:
    result = busy_from_texts([("t", cal(event("d", ";VALUE=DATE:20260320", ";VALUE=DATE:20260320")))],
                             START, END, WAW)
    (b,) = result.busy
    assert (b.span.start, b.span.end) == (datetime(2026, 3, 20, tzinfo=WAW), datetime(2026, 3, 21, tzinfo=WAW))
    assert result.warnings == ["read 'd' in t as one day: an all-day event that ends when it starts"]


def test_byte_order_marks_and_several_calendars_in_one_text() -> None:
    text = "\ufeff" + cal(event("one")) + "\ufeff" + cal(event("two", "20260318T090000Z", "20260318T100000Z"))
    got, warnings = busy(text)
    assert set(got) == {"one", "two"} and warnings == []


def test_each_calendar_keeps_its_own_x_wr_timezone() -> None:
    """Google: UTC times plus X-WR-TIMEZONE; a series keeps the wall time of that zone over DST."""
    rule = "RRULE:FREQ=WEEKLY;COUNT=4"
    ny = cal(event("ny", "20260310T130000Z", "20260310T140000Z", rule), head="X-WR-TIMEZONE:America/New_York")
    waw = cal(event("waw", "20260317T080000Z", "20260317T090000Z", rule), head="X-WR-TIMEZONE:Europe/Warsaw")
    result = busy_from_texts([("two", ny + waw)], START, END, WAW)
    walls = {(b.uid, b.span.start.astimezone(ZoneInfo(z)).strftime("%H:%M")) for b in result.busy
             for u, z in (("ny", "America/New_York"), ("waw", "Europe/Warsaw")) if b.uid == u}
    assert walls == {("ny", "09:00"), ("waw", "09:00")}


def test_a_truncated_file_keeps_its_whole_events() -> None:
    text = cal(event("whole"))[: -len("END:VCALENDAR\r\n")] + "BEGIN:VEVENT\r\nUID:half\r\nDTSTART:2026031"
    got, _ = busy(text)
    assert set(got) == {"whole"}


def test_an_event_that_never_ends_before_the_next_begins() -> None:
    text = cal(event("a").replace("END:VEVENT", ""), event("b", "20260318T090000Z", "20260318T100000Z"))
    got, _ = busy(text)
    assert set(got) == {"a", "b"}


def test_overrides_stay_with_their_master_when_a_neighbour_is_broken() -> None:
    master = event("s", "20260316T090000Z", "20260316T100000Z", "RRULE:FREQ=WEEKLY;COUNT=3")
    moved = event("s", "20260324T150000Z", "20260324T160000Z", "RECURRENCE-ID:20260323T090000Z")
    broken = event("n", "2026XXXX", "20260317T100000Z")
    got, _ = busy(cal(master, broken, moved))
    assert sorted(got["s"]) == [datetime(2026, 3, 16, 9, tzinfo=UTC), datetime(2026, 3, 24, 15, tzinfo=UTC),
                                datetime(2026, 3, 30, 9, tzinfo=UTC)]


def test_an_override_with_a_broken_recurrence_id_keeps_its_own_time_and_the_series() -> None:
    master = event("s", "20260316T090000Z", "20260316T100000Z", "RRULE:FREQ=WEEKLY;COUNT=3")
    moved = event("s", "20260324T150000Z", "20260324T160000Z", "RECURRENCE-ID:2026XXXX")
    got, warnings = busy(cal(master, moved))
    assert sorted(got["s"]) == [datetime(2026, 3, 16, 9, tzinfo=UTC), datetime(2026, 3, 23, 9, tzinfo=UTC),
                                datetime(2026, 3, 24, 15, tzinfo=UTC), datetime(2026, 3, 30, 9, tzinfo=UTC)]
    assert warnings == ["skipped a broken RECURRENCE-ID of 's' in export.ics (Wrong date format 2026XXXX)"]


def test_long_yearly_and_monthly_series_land_on_their_days() -> None:
    """Anchored near the window (no walk from 2004): the days must not move."""
    birthdays = [event(f"y{m}", f";VALUE=DATE:2004{m:02d}29", f";VALUE=DATE:2004{m:02d}30", "RRULE:FREQ=YEARLY")
                 for m in (3, 4)]
    leap = event("leap", ";VALUE=DATE:20040229", ";VALUE=DATE:20040301", "RRULE:FREQ=YEARLY")
    last_sunday = event("ls", "19000325T090000Z", "19000325T100000Z", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU")
    monthly = event("m31", "20040131T090000Z", "20040131T100000Z", "RRULE:FREQ=MONTHLY;INTERVAL=2")
    got, warnings = busy(cal(*birthdays, leap, last_sunday, monthly), datetime(2028, 1, 1, tzinfo=UTC),
                         datetime(2028, 12, 31, tzinfo=UTC))
    assert warnings == []
    days = {uid: sorted(d.astimezone(WAW).date() for d in v) for uid, v in got.items()}
    assert days["y3"] == [date(2028, 3, 29)] and days["y4"] == [date(2028, 4, 29)]
    assert days["leap"] == [date(2028, 2, 29)]
    assert days["ls"] == [date(2028, 3, 26)]
    assert days["m31"] == [date(2028, 1, 31), date(2028, 3, 31), date(2028, 5, 31), date(2028, 7, 31)]


def test_an_event_whose_end_comes_before_its_start_is_read_swapped() -> None:
    got, _ = busy(cal(event("sw", "20260317T100000Z", "20260317T090000Z")))
    assert got == {"sw": [datetime(2026, 3, 17, 9, tzinfo=UTC)]}


def test_far_away_events_are_not_parsed_but_a_long_one_is_kept() -> None:
    """The raw-text filter must not drop an event that starts long before the window and lasts."""
    long_one = event("long", ";VALUE=DATE:20251201", ";VALUE=DATE:20260501")
    old_series = event("old", "20200101T090000Z", "20200101T100000Z", "RRULE:FREQ=DAILY;UNTIL=20200110T000000Z")
    by_duration = "\r\n".join(["BEGIN:VEVENT", "UID:dur", "DTSTART:20260310T090000Z", "DURATION:P10D", "END:VEVENT"])
    got, _ = busy(cal(long_one, old_series, by_duration))
    assert set(got) == {"long", "dur"}


def test_budget_per_object_keeps_what_was_found(monkeypatch: object) -> None:
    import blocktime.ics.busy as busy_module

    monkeypatch.setattr(busy_module, "OBJECT_BUDGET", -1.0)  # type: ignore[attr-defined]
    got, warnings = busy(cal(event("b", "20260316T090000Z", "20260316T100000Z", "RRULE:FREQ=DAILY")))
    assert got["b"] == [datetime(2026, 3, 16, 9, tzinfo=UTC)]
    assert any("'b'" in w and "took over" in w for w in warnings)


def test_a_reply_decoded_with_its_byte_order_mark_is_read() -> None:
    """Mail parts decoded with their charset keep a BOM in front of the calendar."""
    from blocktime.ics.itip import read_itip
    from tests.ics.test_itip import MS_REPLY
    from tests.ics.test_itip import WAW as ITIP_ZONE

    method, (answer,) = read_itip("\ufeff" + MS_REPLY, ITIP_ZONE)
    assert method == "REPLY" and answer == read_itip(MS_REPLY, ITIP_ZONE)[1][0]
