"""Busy time from real-world-shaped calendars: Google, Outlook, series with overrides, DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from blocktime.ics.busy import busy_from_texts

SAMPLES = Path(__file__).resolve().parents[2] / "sample_ics"
WAW = ZoneInfo("Europe/Warsaw")
NY = ZoneInfo("America/New_York")


def _busy(name: str, tz: ZoneInfo = WAW, start: datetime | None = None, end: datetime | None = None):
    text = (SAMPLES / name).read_text()
    start = start or datetime(2026, 3, 1, tzinfo=tz)
    end = end or datetime(2026, 5, 1, tzinfo=tz)
    return busy_from_texts([(name, text)], start, end, tz)


def test_google_export_keeps_the_standup_at_nine_across_dst() -> None:
    result = _busy("google_work.ics")
    standups = [b for b in result.busy if b.summary == "Team standup"]
    assert {b.span.start.astimezone(WAW).strftime("%H:%M") for b in standups} == {"09:00"}
    by_day = {b.span.start.astimezone(WAW).date().isoformat(): b for b in standups}
    # before the change 09:00 is 08:00 UTC, after it 07:00 UTC: X-WR-TIMEZONE was applied
    assert by_day["2026-03-24"].span.start.astimezone(UTC).hour == 8
    assert by_day["2026-03-31"].span.start.astimezone(UTC).hour == 7
    assert result.warnings == []


def test_transparent_and_cancelled_events_take_no_time() -> None:
    summaries = {b.summary for b in _busy("google_work.ics").busy}
    assert "Reminder: send invoices" not in summaries
    assert "Quarterly review (cancelled)" not in summaries
    assert "Client lunch (Globex)" in summaries


def test_all_day_event_covers_the_local_day() -> None:
    (day,) = [b for b in _busy("google_work.ics").busy if b.summary == "Conference (all day)"]
    assert day.span.start == datetime(2026, 4, 2, tzinfo=WAW)
    assert day.span.end == datetime(2026, 4, 3, tzinfo=WAW)


def test_outlook_windows_zone_names_resolve() -> None:
    result = _busy("outlook_export.ics")
    (dentist,) = [b for b in result.busy if b.summary == "Dentysta"]
    assert dentist.span.start == datetime(2026, 4, 9, 11, 0, tzinfo=WAW)
    assert dentist.span.start.astimezone(WAW).utcoffset() == timedelta(hours=2)
    assert "Focus time" not in {b.summary for b in result.busy}  # TRANSP:TRANSPARENT


def test_series_with_exdate_and_override() -> None:
    calls = [b for b in _busy("recurring_overrides.ics").busy if b.uid == "supplier-call-series@example.com"]
    starts = {b.span.start.astimezone(WAW).strftime("%m-%d %H:%M") for b in calls}
    assert "03-24 11:30" not in starts  # EXDATE
    assert "03-31 11:30" not in starts and "03-31 15:00" in starts  # RECURRENCE-ID override
    assert "04-07 11:30" in starts  # after DST, same wall clock
    assert "04-14 11:30" not in starts  # UNTIL


def test_floating_time_is_read_in_the_organizers_zone() -> None:
    for tz in (WAW, NY):
        (gym,) = [b for b in _busy("recurring_overrides.ics", tz).busy if b.uid == "gym-floating@example.com"]
        assert gym.span.start == datetime(2026, 4, 16, 12, 30, tzinfo=tz)


NY_SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:ny-weekly
DTSTAMP:20260101T000000Z
DTSTART;TZID=America/New_York:20260302T090000
DTEND;TZID=America/New_York:20260302T100000
RRULE:FREQ=WEEKLY;COUNT=40
SUMMARY:NY weekly
END:VEVENT
END:VCALENDAR
"""


def test_new_york_series_keeps_wall_clock_over_both_transitions() -> None:
    result = busy_from_texts(
        [("ny", NY_SERIES)], datetime(2026, 3, 1, tzinfo=NY), datetime(2026, 12, 1, tzinfo=NY), NY
    )
    assert len(result.busy) == 40
    assert {b.span.start.astimezone(NY).hour for b in result.busy} == {9}
    offsets = {b.span.start.astimezone(NY).utcoffset() for b in result.busy}
    assert offsets == {timedelta(hours=-5), timedelta(hours=-4)}


def test_malformed_objects_are_skipped_with_a_warning() -> None:
    good = (SAMPLES / "outlook_export.ics").read_text()
    result = busy_from_texts(
        [("broken.ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:notadate\n"), ("good", good)],
        datetime(2026, 3, 1, tzinfo=WAW), datetime(2026, 5, 1, tzinfo=WAW), WAW,
    )
    assert any("broken.ics" in w for w in result.warnings)
    assert [b.summary for b in result.busy] == ["Dentysta"]


def test_duration_instead_of_dtend_and_date_time_without_end() -> None:
    text = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:dur
DTSTAMP:20260101T000000Z
DTSTART:20260324T080000Z
DURATION:PT90M
SUMMARY:with duration
END:VEVENT
BEGIN:VEVENT
UID:point
DTSTAMP:20260101T000000Z
DTSTART:20260324T100000Z
SUMMARY:a point in time
END:VEVENT
END:VCALENDAR
"""
    result = busy_from_texts([("t", text)], datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC), WAW)
    assert [(b.uid, b.span.duration) for b in result.busy] == [("dur", timedelta(minutes=90))]


def test_a_broken_exdate_is_dropped_and_the_series_kept() -> None:
    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:bad-exdate\r\n"
            "DTSTAMP:20260101T000000Z\r\nDTSTART:20260401T080000Z\r\nDTEND:20260401T090000Z\r\n"
            "RRULE:FREQ=DAILY;COUNT=3\r\nEXDATE:2026XXXX\r\nSUMMARY:damaged\r\nEND:VEVENT\r\n"
            "BEGIN:VEVENT\r\nUID:fine\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260402T100000Z\r\n"
            "DTEND:20260402T110000Z\r\nSUMMARY:fine\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    result = busy_from_texts([("export.ics", text)], datetime(2026, 3, 1, tzinfo=UTC),
                             datetime(2026, 5, 1, tzinfo=UTC), WAW)
    assert sorted(b.uid for b in result.busy) == ["bad-exdate"] * 3 + ["fine"]
    (warning,) = result.warnings
    assert warning.startswith("skipped a broken EXDATE of 'bad-exdate' in export.ics (")


def test_an_invitation_the_organizer_declined_is_free_time_a_tentative_one_is_not() -> None:
    text = (SAMPLES / "google_invitations.ics").read_text()
    start, end = datetime(2026, 3, 20, tzinfo=WAW), datetime(2026, 4, 20, tzinfo=WAW)
    me = frozenset({"anna@example.com"})
    mine = busy_from_texts([("invitations", text)], start, end, WAW, me=me)
    spans = {(b.summary, b.span.start.astimezone(WAW).strftime("%m-%d %H:%M")) for b in mine.busy}
    assert spans == {("Board sync (maybe)", "03-31 12:00"), ("Steering group", "03-25 12:00"),
                     ("Steering group", "04-01 12:00"), ("Steering group", "04-15 12:00")}
    assert mine.warnings == []
    # somebody else's calendar (or no address known): every invitation takes its time
    theirs = busy_from_texts([("invitations", text)], start, end, WAW, me=frozenset({"piotr@vendor.example"}))
    assert len(theirs.busy) == 7
