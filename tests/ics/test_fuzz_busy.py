"""Fuzzing the busy import (blocktime.ics.busy): damaged real-world calendars give busy time or
warnings, never an exception, never a runaway expansion, and damage in one object never hides the
busy time of another."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from blocktime.ics.busy import busy_from_texts
from tests.fuzzing import BAD_RULES, CALENDARS, mutate, mutations

WAW = ZoneInfo("Europe/Warsaw")
ZONES = st.sampled_from([WAW, ZoneInfo("America/New_York"), ZoneInfo("UTC")])
START = datetime(2026, 3, 16, tzinfo=WAW)
END = datetime(2026, 4, 20, tzinfo=WAW)
FUZZ = settings(max_examples=150, deadline=None)
#: one call on a small damaged file; generous for a loaded CI machine, far below a runaway rule
BOUND = 10.0


def _check(texts: list[tuple[str, str]], tz: ZoneInfo) -> tuple[list[object], list[str]]:
    started = time.monotonic()
    result = busy_from_texts(texts, START, END, tz)
    assert time.monotonic() - started < BOUND
    for b in result.busy:
        assert b.span.start.tzinfo is not None and b.span.start < b.span.end
        assert b.span.start < END and b.span.end > START
    assert all(isinstance(w, str) and w for w in result.warnings)
    return list(result.busy), result.warnings


@FUZZ
@given(st.sampled_from(sorted(CALENDARS)), mutations, ZONES)
@example("google_work.ics", [("rule", 0.2, 0.0, "FREQ=SECONDLY")], WAW)
@example("google_work.ics", [("rule", 0.2, 0.0, "FREQ=DAILY;BYSETPOS=5")], WAW)
@example("outlook_export.ics", [("rule", 0.5, 0.0, "FREQ=HOURLY;INTERVAL=2;BYHOUR=5")], WAW)
@example("recurring_overrides.ics", [("date", 0.0, 0.0, "99991231T235959Z")], WAW)
def test_damaged_calendars_give_busy_time_or_warnings(name: str, muts: list[tuple[str, float, float, str]],
                                                      tz: ZoneInfo) -> None:
    _check([(name, mutate(CALENDARS[name], muts))], tz)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(max_size=2000), st.binary(max_size=2000).map(lambda b: b.decode("latin-1"))), ZONES)
def test_any_text_gives_busy_time_or_warnings(text: str, tz: ZoneInfo) -> None:
    _check([("noise", text)], tz)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(CALENDARS)), st.sampled_from(sorted(CALENDARS)), mutations)
def test_damage_in_one_object_never_hides_another(good: str, bad: str,
                                                  muts: list[tuple[str, float, float, str]]) -> None:
    alone, _ = _check([(good, CALENDARS[good])], WAW)
    both, _ = _check([(good, CALENDARS[good]), (f"damaged {bad}", mutate(CALENDARS[bad], muts))], WAW)
    assert all(b in both for b in alone)


def _series(rule: str, start: str = "20260317T090000Z") -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:r@x\r\nDTSTAMP:20260301T000000Z\r\n"
            f"DTSTART:{start}\r\nDURATION:PT30M\r\nRRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(BAD_RULES), st.sampled_from(["19000101T000000Z", "20260317T090000Z", "00010101T000000",
                                                   "99990101T000000Z", "20260317"]))
def test_runaway_rules_end_quickly(rule: str, start: str) -> None:
    """Every second since 1900, a BYSETPOS beyond its day, February 30th: dateutil would walk such
    rules for minutes or hours (to the year 9999). They are left out, with a warning."""
    _check([("rule", _series(rule, start))], WAW)


def test_a_runaway_series_is_left_out_with_a_warning_and_the_rest_stays() -> None:
    fine = _series("FREQ=WEEKLY;BYDAY=TU;COUNT=3").replace("UID:r@x", "UID:fine@x")
    for rule in ("FREQ=SECONDLY", "FREQ=MINUTELY;INTERVAL=15", "FREQ=DAILY;BYSETPOS=5",
                 "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=HOURLY;INTERVAL=2;BYHOUR=5",
                 "FREQ=HOURLY;BYMINUTE=" + ",".join(map(str, range(60))), "FREQ=DAILY;INTERVAL=x"):
        busy, warnings = _check([("fine", fine), ("bad", _series(rule, "19000101T000000Z"))], WAW)
        assert [b.uid for b in busy] == ["fine@x"] * 3, rule  # type: ignore[attr-defined]
        assert any(w.startswith("skipped a") and " in bad" in w for w in warnings), (rule, warnings)


def test_ordinary_series_are_still_expanded() -> None:
    """The limits leave real-world rules alone: weekdays since 2000, hourly since 2020, every other
    week, the last Sunday of March since 1900, leap days."""
    cases = {
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR": ("20000103T080000Z", 25),
        "FREQ=HOURLY;BYHOUR=9,10": ("20200106T090000Z", 70),
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH": ("20260317T090000Z", 6),
        "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU": ("19000325T090000Z", 1),
        "FREQ=DAILY": ("18950101T090000Z", 35),
        "FREQ=MONTHLY;BYMONTHDAY=-1": ("19700131T090000Z", 1),
    }
    for rule, (start, count) in cases.items():
        busy, warnings = _check([("ok", _series(rule, start))], WAW)
        assert warnings == [] and len(busy) == count, (rule, len(busy), warnings)
    leap = _series("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "20240229T090000Z")
    got = busy_from_texts([("leap", leap)], datetime(2027, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC), WAW)
    assert got.warnings == [] and [b.span.start.date().isoformat() for b in got.busy] == ["2028-02-29"]
    assert got.busy[0].span.end - got.busy[0].span.start == timedelta(minutes=30)


ZONE_RULES = ["FREQ=DAILY", "FREQ=WEEKLY", "FREQ=MONTHLY", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
              "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "FREQ=DAILY;INTERVAL=2", "FREQ=DAILY;COUNT=999999",
              "FREQ=HOURLY", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=DAILY;UNTIL=20991231T000000Z"]


def _zoned(zone_start: str, std_rule: str, dst_rule: str, event_rule: str, offset: str) -> str:
    zone = (f"BEGIN:VTIMEZONE\r\nTZID:Custom/Zone\r\nBEGIN:STANDARD\r\nDTSTART:{zone_start}T030000\r\n"
            f"RRULE:{std_rule}\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:{offset}\r\nEND:STANDARD\r\n"
            f"BEGIN:DAYLIGHT\r\nDTSTART:{zone_start}T020000\r\nRRULE:{dst_rule}\r\nTZOFFSETFROM:{offset}\r\n"
            "TZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n")
    event = ("BEGIN:VEVENT\r\nUID:z@x\r\nDTSTAMP:20260301T000000Z\r\nDTSTART;TZID=Custom/Zone:20200101T100000\r\n"
             f"DURATION:PT1H\r\nRRULE:{event_rule}\r\nEND:VEVENT\r\n")
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + zone + event + "END:VCALENDAR\r\n"


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["19000101", "16010101", "19700329", "20260301"]), st.sampled_from(ZONE_RULES),
       st.sampled_from(ZONE_RULES), st.sampled_from(["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "FREQ=HOURLY"]),
       st.sampled_from(["+0100", "+9900", "-1200", "+0100x"]))
# Found by test_damaged_calendars_give_busy_time_or_warnings (issue 11): zone rules repeating daily
# since 1900, used by a daily event, made dateutil re-walk the zone from 1900 on every occurrence:
# 22 s for this one object. The zone is now a bounded table; the bound lives in the code.
@example("19000101", "FREQ=DAILY", "FREQ=DAILY", "FREQ=DAILY", "+0100")
def test_custom_zones_are_bounded_before_expansion(zone_start: str, std_rule: str, dst_rule: str,
                                                   event_rule: str, offset: str) -> None:
    busy, warnings = _check([("zoned", _zoned(zone_start, std_rule, dst_rule, event_rule, offset))], WAW)
    assert busy or warnings
