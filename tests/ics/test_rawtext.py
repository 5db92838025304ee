"""The raw pre-scan (blocktime.ics.rawtext) never costs busy time: busy extraction that skips the
groups `may_touch` rules out finds exactly what full expansion of every group finds, on the corpus
and on generated accounts; a series' COUNT bound is never before its last occurrence; and the UID
read from raw text is the one a full parse gives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import blocktime.ics.busy as busy_mod
from blocktime.backends.base import StoredObject
from blocktime.ics.busy import busy_from_parts, busy_from_texts
from blocktime.ics.objects import split_by_uid
from blocktime.ics.rawtext import master_uid, sketch_text, split_or_warn, split_text
from blocktime.ics.reach import series_end
from tests.fuzzing import CALENDARS, mutate, mutations
from tests.ics.corpus_reference import corpus_files, parse, window_of

WAW = ZoneInfo("Europe/Warsaw")
Found = set[tuple[str, datetime, datetime, str]]


@contextmanager
def _full_expansion() -> Iterator[None]:
    """Every group parsed and expanded: no pre-scan."""
    with mock.patch.object(busy_mod, "may_touch", lambda *_: True):
        yield


def _busy(texts: list[tuple[str, str]], start: datetime, end: datetime, tz: ZoneInfo = WAW,
          sketch: bool = False) -> Found:
    """Busy time as `busy_from_texts` finds it, or (`sketch`) as the sync pass does: every text
    sketched, only those that can reach the window split in full."""
    with mock.patch.object(busy_mod, "OBJECT_BUDGET", 60.0):  # no run may stop early on a busy machine
        if sketch:
            warnings: list[str] = []
            items = [i for label, text in texts if (i := split_or_warn(label, text, warnings, sketch_text))]
            result = busy_from_parts(items, start, end, tz)
        else:
            result = busy_from_texts(texts, start, end, tz)
    return {(b.uid, b.span.start, b.span.end, b.summary) for b in result.busy}


def _same_both_ways(texts: list[tuple[str, str]], start: datetime, end: datetime, tz: ZoneInfo = WAW) -> None:
    with _full_expansion():
        full = _busy(texts, start, end, tz)
    for sketch in (False, True):
        fast = _busy(texts, start, end, tz, sketch)
        assert fast == full, (sketch, sorted(full - fast)[:5], sorted(fast - full)[:5])


#: windows of the sync pass' size (now .. horizon + a week) at moments across the corpus' years
WINDOWS = [datetime(y, m, 10, 9, tzinfo=WAW) for y, m in ((1997, 3), (2005, 10), (2012, 6), (2019, 3), (2026, 3))]


@pytest.mark.slow
def test_the_pre_scan_misses_no_busy_time_on_the_corpus() -> None:
    checked = 0
    for path in corpus_files():
        text = path.read_bytes().decode("utf-8", "replace")
        window = window_of(parse(text))
        middle = [window[0] + (window[1] - window[0]) / 2] if window else []
        # the 1.6 MB Google export takes seconds to expand in full: its middle and two moments only
        for start in (WINDOWS if len(text) < 500_000 else WINDOWS[-1:]) + middle:
            _same_both_ways([(path.name, text)], start, start + timedelta(days=28))
            checked += 1
    assert checked > 1000


def test_a_sketch_has_the_groups_of_a_full_split_on_the_corpus() -> None:
    for path in corpus_files():
        text = path.read_bytes().decode("utf-8", "replace")
        assert sketch_text(text).groups == split_text(text).groups, path.name


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(CALENDARS)), mutations)
def test_a_sketch_has_the_groups_of_a_full_split_on_damaged_calendars(
    name: str, muts: list[tuple[str, float, float, str]]
) -> None:
    text = mutate(CALENDARS[name], muts)
    assert sketch_text(text).groups == split_text(text).groups


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("BEGIN:VEVENT\r\n DTSTART;=UID:x1\tEND:VCALENDARRULE ſıK\f\"")),
               max_size=300))
def test_a_sketch_has_the_groups_of_a_full_split_on_any_text(text: str) -> None:
    assert sketch_text(text).groups == split_text(text).groups


def test_the_raw_uid_is_the_parsed_masters_uid_on_the_corpus() -> None:
    from blocktime.usecases.sync import _parse

    compared = 0
    for path in corpus_files():
        text = path.read_bytes().decode("utf-8", "replace")
        if len(text) > 500_000:
            continue  # the Google export: seconds to split, and nothing new
        try:
            objects = split_by_uid(text)
        except Exception:
            continue  # what icalendar cannot read whole is not a CalDAV object
        for _uid, obj in objects:
            ev = _parse(StoredObject("/x.ics", None, obj))
            assert master_uid(split_text(obj)) == (None if ev is None else str(ev.get("UID", ""))), path.name
            compared += 1
    assert compared > 500


# --- generated accounts -----------------------------------------------------------------------

VTIMEZONE = ("BEGIN:VTIMEZONE\r\nTZID:Europe/Warsaw\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
             "DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
             "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nDTSTART:19701025T030000\r\n"
             "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n")
FIRST = datetime(2024, 1, 1, 7, 0)
KINDS = ("zoned", "utc", "floating", "all-day", "unknown zone")


def _when(kind: str, name: str, at: datetime) -> str:
    if kind == "all-day":
        return f"{name};VALUE=DATE:{at:%Y%m%d}"
    return {"zoned": f"{name};TZID=Europe/Warsaw:{at:%Y%m%dT%H%M%S}",
            "utc": f"{name}:{at:%Y%m%dT%H%M%S}Z", "floating": f"{name}:{at:%Y%m%dT%H%M%S}",
            "unknown zone": f"{name};TZID=Mars/Olympus:{at:%Y%m%dT%H%M%S}"}[kind]


weekdays = st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU", "1MO", "-1FR", "2TU", "5SU"])
rules = st.builds(
    lambda freq, interval, end, byday, other: ";".join(
        p for p in (f"FREQ={freq}", interval, end, byday, other) if p),
    st.sampled_from(["DAILY", "WEEKLY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY"]),
    st.sampled_from(["", "INTERVAL=1", "INTERVAL=2", "INTERVAL=3"]),
    st.one_of(st.integers(1, 40).map(lambda n: f"COUNT={n}"),
              st.integers(0, 1200).map(lambda d: f"UNTIL={FIRST + timedelta(days=d):%Y%m%dT%H%M%S}Z"),
              st.just("")),
    st.one_of(st.just(""), st.lists(weekdays, min_size=1, max_size=3, unique=True).map(
        lambda ds: "BYDAY=" + ",".join(ds))),
    st.sampled_from(["", "", "BYMONTH=2", "BYMONTHDAY=31", "BYMONTHDAY=15", "BYSETPOS=2", "BYHOUR=8,16",
                     "WKST=SU", "BYMONTH=1,7;BYMONTHDAY=29"]),
)


@st.composite
def objects(draw: st.DrawFn, n: int) -> str:
    """One CalDAV object: an event or a series (with EXDATE, RDATE, moved occurrences) in one of
    the ways real calendars write time, starting somewhere over five years."""
    kind = draw(st.sampled_from(KINDS))
    start = FIRST + timedelta(days=draw(st.integers(0, 5 * 365)), minutes=15 * draw(st.integers(0, 48)))
    if kind == "all-day":
        start = start.replace(hour=0, minute=0)
    length = draw(st.sampled_from([timedelta(minutes=30), timedelta(hours=2), timedelta(days=1), timedelta(days=3)]))
    uid = f"gen-{n}"
    lines = [f"UID:{uid}", "DTSTAMP:20240101T000000Z", _when(kind, "DTSTART", start), f"SUMMARY:event {n}"]
    ending = draw(st.sampled_from(["DTEND", "DTEND", "DURATION", "none"]))
    if ending == "DTEND":
        lines.append(_when(kind, "DTEND", start + length))
    elif ending == "DURATION":
        hours = length.days * 24 + length.seconds // 3600
        lines.append(f"DURATION:P{length.days}D" if kind == "all-day" else f"DURATION:PT{hours}H30M")
    if draw(st.booleans()):
        lines.append(f"TRANSP:{draw(st.sampled_from(['OPAQUE', 'TRANSPARENT']))}")
    rule = draw(st.one_of(st.none(), rules))
    overrides: list[list[str]] = []
    if rule is not None:
        lines.append(f"RRULE:{rule}")
        if draw(st.booleans()):
            lines.append(_when(kind, "EXDATE", start + timedelta(weeks=1)))
        if draw(st.integers(0, 5)) == 0:
            lines.append(_when(kind, "RDATE", start + timedelta(days=draw(st.integers(-400, 900)))))
        for k in range(draw(st.integers(0, 2))):
            original = start + timedelta(weeks=draw(st.integers(0, 30)))
            moved = original + timedelta(days=draw(st.integers(-800, 800)))
            recurrence = _when(kind, "RECURRENCE-ID", original)
            if draw(st.integers(0, 5)) == 0:
                recurrence = recurrence.replace("RECURRENCE-ID", "RECURRENCE-ID;RANGE=THISANDFUTURE", 1)
            overrides.append([f"UID:{uid}", "DTSTAMP:20240101T000000Z", recurrence, _when(kind, "DTSTART", moved),
                              _when(kind, "DTEND", moved + length), f"SUMMARY:event {n} moved {k}"])
    events = [lines, *overrides]
    body = "".join("BEGIN:VEVENT\r\n" + "".join(f"{line}\r\n" for line in ev) + "END:VEVENT\r\n" for ev in events)
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//blocktime test//EN\r\n"
            + (VTIMEZONE if kind == "zoned" else "") + body + "END:VCALENDAR\r\n")


@st.composite
def accounts(draw: st.DrawFn) -> list[tuple[str, str]]:
    return [(f"/cal/gen-{n}.ics", draw(objects(n))) for n in range(draw(st.integers(1, 4)))]


@settings(max_examples=50, deadline=None)
@given(accounts(), st.integers(0, 6 * 365), st.sampled_from([1, 7, 35]),
       st.sampled_from([WAW, ZoneInfo("America/New_York"), ZoneInfo("Pacific/Kiritimati")]))
def test_the_pre_scan_misses_no_busy_time_on_generated_accounts(
    account: list[tuple[str, str]], day: int, days: int, tz: ZoneInfo
) -> None:
    start = datetime(2024, 1, 1, tzinfo=tz) + timedelta(days=day)
    _same_both_ways(account, start, start + timedelta(days=days), tz)


@settings(max_examples=300, deadline=None)
@given(rules, st.integers(0, 3 * 365), st.sampled_from([0, 9, 23]))
@example("FREQ=MONTHLY;COUNT=3", 30, 9)  # 31 January: February and April have no 31st
@example("FREQ=YEARLY;COUNT=2", 59, 9)  # 29 February
@example("FREQ=WEEKLY;COUNT=3;BYDAY=SU;WKST=MO", 0, 9)
def test_a_count_bound_is_never_before_the_last_occurrence(rule: str, day: int, hour: int) -> None:
    import icalendar
    import recurring_ical_events

    first = datetime(2024, 1, 1, hour, tzinfo=UTC) + timedelta(days=day)
    bound = series_end(rule, first.date())
    if bound is None or "COUNT" not in rule:
        return
    text = ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20240101T000000Z\r\n"
            f"DTSTART:{first:%Y%m%dT%H%M%S}Z\r\nDTEND:{first + timedelta(hours=1):%Y%m%dT%H%M%S}Z\r\n"
            f"RRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    found = recurring_ical_events.of(icalendar.Calendar.from_ical(text)).between(
        first - timedelta(days=1), datetime(2100, 1, 1, tzinfo=UTC))
    last = max(ev["DTSTART"].dt for ev in found)
    assert last.date() <= bound, (rule, first, last)


def test_series_end_reads_until_and_safe_counts_only() -> None:
    first = date(2026, 3, 2)  # a Monday
    assert series_end("FREQ=WEEKLY;UNTIL=20260401T000000Z", first) == date(2026, 4, 1)
    assert series_end("FREQ=WEEKLY;COUNT=4", first) == first + timedelta(weeks=5)
    assert series_end("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=4", first) == first + timedelta(weeks=5)
    assert series_end("FREQ=DAILY;INTERVAL=2;COUNT=5", first) == first + timedelta(days=12)
    for unclear in ("FREQ=WEEKLY", "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3", "FREQ=WEEKLY;BYDAY=1MO;COUNT=2",
                    "FREQ=YEARLY;BYMONTH=2;COUNT=2", "FREQ=DAILY;BYSETPOS=1;COUNT=2", "FREQ=WEEKLY;COUNT=x"):
        assert series_end(unclear, first) is None, unclear
    assert series_end("FREQ=MONTHLY;COUNT=3", date(2026, 1, 31)) is None


def test_an_object_of_overrides_alone_has_no_master() -> None:
    text = ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20260301T090000Z\r\n"
            "DTSTART:20260301T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    assert master_uid(split_text(text)) is None
    assert master_uid(split_text(text.replace("RECURRENCE-ID:20260301T090000Z\r\n", ""))) == "a"
    assert master_uid(split_text(text.replace("UID:a\r\nRECURRENCE-ID:20260301T090000Z\r\n", ""))) == ""
