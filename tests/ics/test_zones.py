"""Custom VTIMEZONEs become bounded tables that agree with the zone they describe; unusable ones
fall back to the IANA zone their name points to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from blocktime.ics.busy import busy_from_texts
from blocktime.ics.rawtext import split_text
from blocktime.ics.zones import TableZone, named_zone, parse_offset, table_zone

BERLIN = ZoneInfo("Europe/Berlin")
WAW = ZoneInfo("Europe/Warsaw")


def vtimezone(tzid: str, std: str = "19701025T030000", dst: str = "19700329T020000",
              std_rule: str = "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", dst_rule: str = "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
              to_std: str = "+0100", to_dst: str = "+0200", extra: str = "") -> str:
    return (f"BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\n{extra}BEGIN:STANDARD\r\nDTSTART:{std}\r\nRRULE:{std_rule}\r\n"
            f"TZOFFSETFROM:{to_dst}\r\nTZOFFSETTO:{to_std}\r\nTZNAME:CET\r\nEND:STANDARD\r\n"
            f"BEGIN:DAYLIGHT\r\nDTSTART:{dst}\r\nRRULE:{dst_rule}\r\nTZOFFSETFROM:{to_std}\r\n"
            f"TZOFFSETTO:{to_dst}\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n")


def zone_lines(text: str) -> list[str]:
    (lines,) = split_text("BEGIN:VCALENDAR\r\n" + text + "END:VCALENDAR\r\n").zones.values()
    return lines


def test_a_custom_zone_agrees_with_the_iana_zone_every_hour_and_at_both_folds() -> None:
    zone = table_zone("My Berlin", zone_lines(vtimezone("My Berlin")), 2025, 2027)
    wall = datetime(2025, 1, 1)
    while wall < datetime(2028, 1, 1):
        for fold in (0, 1):
            mine = wall.replace(tzinfo=zone, fold=fold)
            iana = wall.replace(tzinfo=BERLIN, fold=fold)
            assert mine.utcoffset() == iana.utcoffset(), (wall, fold)
        utc = wall.replace(tzinfo=UTC)
        got, want = utc.astimezone(zone), utc.astimezone(BERLIN)
        assert (got.replace(tzinfo=None), got.fold, got.utcoffset()) == (
            want.replace(tzinfo=None), want.fold, want.utcoffset())
        wall += timedelta(minutes=30)


def test_a_zone_with_daily_rules_since_1900_is_a_small_table() -> None:
    lines = zone_lines(vtimezone("Daily", "19000101T030000", "19000101T020000", "FREQ=DAILY", "FREQ=DAILY"))
    zone = table_zone("Daily", lines, 2025, 2027)
    assert isinstance(zone, TableZone) and "2190 transitions" in repr(zone)  # two a day for three years


def test_unusable_zone_falls_back_to_the_iana_zone_it_names() -> None:
    bad = vtimezone("Custom Warsaw", to_std="+9900", extra="X-LIC-LOCATION:Europe/Warsaw\r\n")
    ev = ("BEGIN:VEVENT\r\nUID:u\r\nDTSTART;TZID=Custom Warsaw:20260317T090000\r\n"
          "DTEND;TZID=Custom Warsaw:20260317T100000\r\nEND:VEVENT\r\n")
    result = busy_from_texts([("f", "BEGIN:VCALENDAR\r\n" + bad + ev + "END:VCALENDAR\r\n")],
                             datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC), BERLIN)
    assert [b.span.start for b in result.busy] == [datetime(2026, 3, 17, 9, tzinfo=WAW)]
    assert len(result.warnings) == 1 and "unusable VTIMEZONE" in result.warnings[0]
    assert "Europe/Warsaw" in result.warnings[0]


def test_names_point_to_iana_zones() -> None:
    assert named_zone("w. europe standard time") == ZoneInfo("Europe/Berlin")
    assert named_zone("/citadel.org/20190914_1/America/Argentina/Buenos_Aires") == ZoneInfo(
        "America/Argentina/Buenos_Aires")
    assert named_zone("Nowhere/Land") is None
    assert parse_offset("-053000") == -timedelta(hours=5, minutes=30)


def test_an_unknown_tzid_without_vtimezone_is_read_in_the_organizers_zone() -> None:
    ev = "BEGIN:VEVENT\r\nUID:u\r\nDTSTART;TZID=Nowhere:20260317T090000\r\nDURATION:PT1H\r\nEND:VEVENT\r\n"
    result = busy_from_texts([("f", "BEGIN:VCALENDAR\r\n" + ev + "END:VCALENDAR\r\n")],
                             datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC), WAW)
    assert [b.span.start for b in result.busy] == [datetime(2026, 3, 17, 9, tzinfo=WAW)]
    assert result.warnings == ["read TZID 'Nowhere' in f as Europe/Warsaw: no VTIMEZONE"]


def test_a_zone_icalendar_cached_elsewhere_does_not_replace_the_objects_own() -> None:
    """icalendar keeps the first VTIMEZONE it parses for a TZID for the whole process; an object
    read here is expanded with its own definition, bounded."""
    import icalendar

    tzid = "Test/Cache-Poisoned-By-Another-Object"
    daily = vtimezone(tzid, "19000101T030000", "19000101T020000", "FREQ=DAILY", "FREQ=DAILY", to_std="+0500")
    icalendar.Calendar.from_ical("BEGIN:VCALENDAR\r\n" + daily + "END:VCALENDAR\r\n")
    ev = (f"BEGIN:VEVENT\r\nUID:u\r\nDTSTART;TZID={tzid}:20260701T090000\r\nDURATION:PT1H\r\n"
          "RRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n")
    text = "BEGIN:VCALENDAR\r\n" + vtimezone(tzid) + ev + "END:VCALENDAR\r\n"
    result = busy_from_texts([("f", text)], datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC), WAW)
    assert [b.span.start.astimezone(BERLIN).hour for b in result.busy] == [9, 9, 9]
    assert result.warnings == []


# Issue 24, point 8: Outlook's display-name TZIDs, as seen in real exports (the research behind each is
# in the closing note); every one is read in its own zone, never the organizer's.
DISPLAY_NAMES = [
    ("(UTC+01:00) Amsterdam\\, Berlin\\, Bern\\, Rome\\, Stockholm\\, Vienna", "Europe/Berlin"),  # outlook.com
    ("(UTC+00:00) Dublin, Edinburgh, Lisbon, London", "Europe/London"),
    ("(UTC-03:00) Brasília", "America/Sao_Paulo"),  # accent; CLDR writes Brasilia
    ('"(UTC+01:00) Sarajevo, Skopje, Warsaw, Zagreb"', "Europe/Warsaw"),  # quoted
    ("Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Berlin"),  # Exchange 2003: no prefix
    ("Kuala Lumpur, Singapore", "Asia/Singapore"),
    ("(UTC+02:00) Athens, Bucharest, Istanbul", "Europe/Bucharest"),  # before Windows split Istanbul off
    ("(UTC-05:00) Eastern Time (US & Canada)", "America/New_York"),
    ("Eastern Standard Time 1", "America/New_York"),  # Outlook numbers a second copy of a zone
    ("(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Berlin"),  # older GMT prefix
    ("(UTC) Coordinated Universal Time", "Etc/UTC"),
]


@pytest.mark.parametrize(("tzid", "zone"), DISPLAY_NAMES)
def test_outlook_display_names_name_their_zone(tzid: str, zone: str) -> None:
    found = named_zone(tzid)
    assert found is not None and found.key == zone


def test_a_name_no_table_knows_names_no_zone() -> None:
    assert named_zone("Mitteleuropäische Zeit ") is None  # localised: the VTIMEZONE or the warning decides
    assert named_zone("(UTC+05:00) Somewhere Else") is None


def test_the_display_name_table_maps_onto_the_windows_ids_icalendar_knows() -> None:
    """One source for the IANA side: every Windows id of `zonenames` is in icalendar's CLDR table."""
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    from blocktime.ics.zonenames import NAMES

    assert len(NAMES) >= 139
    assert set(NAMES.values()) <= set(WINDOWS_TO_OLSON)


def test_a_display_name_tzid_without_vtimezone_is_read_in_its_own_zone() -> None:
    """Before: read in the organizer's zone (an hour and more off). 09:00 in Singapore is 02:00 in
    Warsaw (CET), whatever the organizer's zone."""
    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\n"
            "BEGIN:VEVENT\r\nUID:kl-1\r\nDTSTAMP:20260301T000000Z\r\n"
            "DTSTART;TZID=\"Kuala Lumpur, Singapore\":20260312T090000\r\n"
            "DTEND;TZID=\"Kuala Lumpur, Singapore\":20260312T100000\r\nSUMMARY:Call with KL\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n")
    waw = ZoneInfo("Europe/Warsaw")
    result = busy_from_texts([("outlook", text)], datetime(2026, 3, 1, tzinfo=waw), datetime(2026, 4, 1, tzinfo=waw),
                             waw)
    (call,) = result.busy
    assert call.span.start.astimezone(waw) == datetime(2026, 3, 12, 2, 0, tzinfo=waw)
    assert result.warnings == ["read TZID 'Kuala Lumpur, Singapore' in outlook as Asia/Singapore: no VTIMEZONE"]
