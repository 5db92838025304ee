"""Nightly scheduling: catch-up once after downtime; DST nights fire exactly once at local time."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from blocktime.core.schedule import catch_up_due, last_nightly, next_nightly

WAW = ZoneInfo("Europe/Warsaw")
NY = ZoneInfo("America/New_York")
AT = time(1, 30)


def test_catch_up_once_after_days_off() -> None:
    last = datetime(2026, 3, 16, 1, 30, tzinfo=WAW)  # Monday night
    back = datetime(2026, 3, 18, 9, 0, tzinfo=WAW)  # Wednesday morning: two nights missed
    assert catch_up_due(last, back, AT, WAW)
    assert not catch_up_due(back, back + timedelta(hours=3), AT, WAW)  # after the one catch-up
    assert catch_up_due(None, back, AT, WAW)
    assert not catch_up_due(datetime(2026, 3, 18, 1, 30, tzinfo=WAW), back, AT, WAW)


@pytest.mark.parametrize(("tz", "spring", "autumn"), [
    (WAW, datetime(2026, 3, 29), datetime(2026, 10, 25)),
    (NY, datetime(2026, 3, 8), datetime(2026, 11, 1)),
])
def test_dst_nights(tz: ZoneInfo, spring: datetime, autumn: datetime) -> None:
    for night in (spring, autumn):
        before = datetime.combine(night.date() - timedelta(days=1), time(12), tz)
        nxt = next_nightly(before, AT, tz)
        assert nxt.astimezone(tz).time() == AT and nxt.date() == night.date()
        after = next_nightly(nxt, AT, tz)
        assert after.date() == night.date() + timedelta(days=1)
        assert last_nightly(nxt + timedelta(minutes=1), AT, tz) == nxt


@pytest.mark.parametrize(("tz", "night"), [(WAW, datetime(2026, 3, 29)), (WAW, datetime(2026, 10, 25)),
                                           (NY, datetime(2026, 3, 8)), (NY, datetime(2026, 11, 1))])
def test_apscheduler_cron_fires_once_at_local_time_on_dst_nights(tz: ZoneInfo, night: datetime) -> None:
    from apscheduler.triggers.cron import CronTrigger

    from blocktime.core.schedule import safe_nightly

    at = safe_nightly(AT, tz, night.date() - timedelta(days=30))  # what the daemon uses in this zone
    trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=tz)
    start = datetime.combine(night.date() - timedelta(days=1), time(12), tz)
    fires = []
    prev = None
    now = start
    for _ in range(3):
        nxt = trigger.get_next_fire_time(prev, now)
        fires.append(nxt)
        prev, now = nxt, nxt + timedelta(seconds=1)
    assert [f.astimezone(tz).time() for f in fires] == [at] * 3
    assert [f.date() for f in fires] == [night.date() + timedelta(days=i) for i in range(3)]
    assert len({f.date() for f in fires}) == 3  # exactly once per night


def test_safe_nightly_times_per_zone() -> None:
    from datetime import date

    from blocktime.core.schedule import safe_at, safe_nightly

    start = date(2026, 1, 1)
    assert safe_at(time(1, 30), WAW, start)
    assert not safe_at(time(2, 30), WAW, start)  # skipped in March, repeated in October
    assert not safe_at(time(1, 30), NY, start)  # repeated on the first Sunday of November
    assert safe_nightly(time(1, 30), WAW, start) == time(1, 30)
    assert safe_nightly(time(1, 30), NY, start) == time(3, 0)
    assert safe_at(time(2, 30), ZoneInfo("Asia/Tokyo"), start)


def test_config_rejects_an_unsafe_nightly_time_for_the_zone() -> None:
    from blocktime.config.loading import from_mapping
    from blocktime.errors import BadInput

    ny = {"organizer": {"timezone": "America/New_York"}}
    assert from_mapping(ny).daemon.nightly == time(3, 0)
    with pytest.raises(BadInput, match="repeated on DST nights"):
        from_mapping({**ny, "daemon": {"nightly": "01:30"}})
    assert from_mapping({"organizer": {"timezone": "Asia/Tokyo"}, "daemon": {"nightly": "02:30"}}).daemon.nightly \
        == time(2, 30)
