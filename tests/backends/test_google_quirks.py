"""Google's CalDAV as its documentation allows at worst, against the adversarial stand-in: objects
renamed to names of Google's own, quota refusals (403 rateLimitExceeded/userRateLimitExceeded,
429) without Retry-After, calendars hidden from the home listing, X- properties dropped."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from blocktime.backends.google import GoogleBackend
from blocktime.backends.pacing import GOOGLE
from blocktime.config.auth import BearerAuth
from tests.backends.conftest import google_token
from tests.backends.standin_google import GoogleCalDAV
from tests.backends.standin_http import StandIn
from tests.backends.test_google import BLOCKTIME_CAL, BOOK
from tests.conftest import Runner
from tests.stores import StoreDB, lose_store

pytestmark = pytest.mark.standin
TEAM = "c_9team@group.calendar.google.com"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GoogleBackend, "throttle_base", 0.001)


def _backend(app: GoogleCalDAV, server: StandIn, data_dir: Path) -> GoogleBackend:
    b = GoogleBackend(app.account, BearerAuth(google_token(app, server, data_dir)), base=f"{server.root}/caldav/v2/")
    return b


def _cli(app: GoogleCalDAV, server: StandIn, tmp_path: Path, data_dir: Path, capsys: Any, name: str) -> Runner:
    google_token(app, server, data_dir)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[organizer]\nname = "Anna Nowak"\nemail = "anna@example.com"\ntimezone = "Europe/Warsaw"\n'
                   f'[calendar]\nprofile = "google"\nurl = "{server.root}/caldav/v2/"\n'
                   f'username = "{app.account}"\nname = "{name}"\n')
    return Runner(cfg, capsys)


def _ics(uid: str, summary: str = "x") -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20260320T090000Z\r\nDTSTART:20260324T110000Z\r\nDTEND:20260324T120000Z\r\n"
            f"SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def _pass(cli: Runner, now: str) -> dict:  # type: ignore[type-arg]
    code, out, err = cli("daemon", "--once", "--json", now=now)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("rename", ["uid", "opaque"])
def test_google_renaming_every_object_changes_nothing(
    google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path, data_dir: Path,
    capsys: pytest.CaptureFixture[str], rename: str
) -> None:
    app, server = google_standin
    app.rename = rename
    cli = _cli(app, server, tmp_path, data_dir, capsys, "blocktime")
    booked = cli.json(*BOOK, "--skip-conflicts")["booked"]
    names = set(app.calendars[BLOCKTIME_CAL].objects)
    assert (len(names) == 2 and not any(n.startswith("bt-acme") and "@" not in n for n in names)) or rename == "opaque"
    first = _pass(cli, "2026-03-20T10:00")
    assert first["errors"] == [] and first["actions"] == [], first
    db = StoreDB(data_dir)
    hrefs = {h.rsplit("/", 1)[-1] for (h,) in db.execute("SELECT href FROM blocks")}
    assert hrefs == names  # the store follows the names Google chose
    assert db.execute("SELECT count(*) FROM mail_outbox WHERE kind='cancel'").fetchone()[0] == 0
    doc = cli.json("cut-short", booked[0]["id"], "--ended-at", "12:35", now="2026-03-24T13:05")
    assert doc["block"]["remaining"] == 25
    uid = next(b["uid"] for b in cli.json("agenda")["blocks"] if b["id"] == booked[1]["id"])
    app.web_delete(BLOCKTIME_CAL, uid)
    report = _pass(cli, "2026-03-24T14:00")
    assert any(f"{booked[1]['id']} was deleted" in a for a in report["actions"]), report


def test_a_renamed_object_is_found_by_a_new_process(google_standin: tuple[GoogleCalDAV, StandIn],
                                                    tmp_path: Path) -> None:
    app, server = google_standin
    b = _backend(app, server, tmp_path)
    cal = b.ensure_calendar("blocktime")
    href = b.href_for(cal, "bt-ren@blocktime")
    b.create(href, _ics("bt-ren@blocktime"))
    assert href.rsplit("/", 1)[-1] not in app.calendars[BLOCKTIME_CAL].objects  # Google renamed it
    later = _backend(app, server, tmp_path)  # nothing cached
    got = later.get(href)
    assert got is not None and got.href != href and "UID:bt-ren@blocktime" in got.data
    assert got.etag is not None
    later.update(href, _ics("bt-ren@blocktime", "edited"), got.etag)
    assert "SUMMARY:edited" in app.calendars[BLOCKTIME_CAL].objects[got.href.rsplit("/", 1)[-1]][1]
    fresh = _backend(app, server, tmp_path)
    current = fresh.get(href)
    assert current is not None
    fresh.delete(href, current.etag)  # not a 404 at the old name taken for "done"
    assert not app.calendars[BLOCKTIME_CAL].objects


def test_quota_refusals_without_retry_after_are_retried_with_jittered_backoff(
    google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path
) -> None:
    app, server = google_standin
    b = _backend(app, server, tmp_path)
    waits: list[float] = []
    b.sleep = waits.append
    app.throttle = [(403, None), (429, None), (403, None)]
    assert len(b.calendars()) == 2
    assert app.refused == [403, 429, 403] and len(waits) == 3
    for attempt, wait in enumerate(waits):  # 1 s, 2 s, 4 s ... each scaled by a random 0.5-1
        assert 0.0005 * 2**attempt <= wait <= 0.001 * 2**attempt


def test_a_real_403_is_still_forbidden(google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path) -> None:
    from tests.backends.standin_http import Reply

    app, server = google_standin
    b = _backend(app, server, tmp_path)
    original = app.handle
    app.handle = lambda req: Reply(403, b'{"error": {"code": 403, "message": "Forbidden"}}')  # type: ignore[method-assign]
    from blocktime.errors import ServerError

    with pytest.raises(ServerError, match="forbidden"):
        b.calendars()
    app.handle = original  # type: ignore[method-assign]


def test_a_burst_of_50_bookings_finishes_through_googles_quota_refusals(
    google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app, server = google_standin
    assert app.quota_every  # on by default: every 3rd write is refused for quota, no Retry-After
    cli = _cli(app, server, tmp_path, data_dir, capsys, "blocktime")
    doc = cli.json("book", "--client", "Burst", "--site", "Acme HQ", "--attendee", "it@acme.example",
                   "--start", "2026-03-23 10:00", "--length", "30m", "--every", "mon,tue,wed,thu,fri",
                   "--count", "50", "--skip-conflicts")
    assert len(doc["booked"]) + len(doc["refused"]) == 50 and len(doc["booked"]) >= 45
    assert len(app.calendars[BLOCKTIME_CAL].objects) == len(doc["booked"])
    assert {403, 429} <= set(app.refused)


def test_writes_in_flight_at_google_stay_within_its_cap(google_standin: tuple[GoogleCalDAV, StandIn],
                                                          tmp_path: Path) -> None:
    """Issue 27: a few writes at once (the gate starts at 4), never more than `pacing.GOOGLE.cap`,
    counted at the wire itself."""
    app, server = google_standin
    app.quota_every = 0
    b = _backend(app, server, tmp_path)
    cal = b.ensure_calendar("blocktime")
    inflight, most, lock = [0], [0], threading.Lock()
    send = b._send

    def slow_send(*args: Any, **kw: Any) -> Any:
        with lock:
            inflight[0] += 1
            most[0] = max(most[0], inflight[0])
        try:
            time.sleep(0.01)  # widen the window in which writers overlap
            return send(*args, **kw)
        finally:
            with lock:
                inflight[0] -= 1

    b._send = slow_send
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: b.create(b.href_for(cal, f"bt-w{i}@blocktime"), _ics(f"bt-w{i}@blocktime")), range(8)))
    assert 2 <= most[0] <= GOOGLE.cap and len(app.calendars[BLOCKTIME_CAL].objects) == 8


def test_a_calendar_id_hidden_from_the_listing_opens_at_its_documented_url(
    google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path
) -> None:
    app, server = google_standin
    assert TEAM in app.hidden  # not enabled on Google's sync-select page
    b = _backend(app, server, tmp_path)
    assert TEAM not in {c.url for c in b.calendars()}
    cal = b.ensure_calendar(TEAM)
    assert cal.url.endswith(f"/caldav/v2/{TEAM}/events/")
    b.create(b.href_for(cal, "bt-team@blocktime"), _ics("bt-team@blocktime"))
    assert len(app.calendars[TEAM].objects) == 1


def test_repair_on_google_rebuilds_from_the_uids_and_says_what_it_cannot(
    google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app, server = google_standin
    assert app.drop_x  # on by default: Google keeps only properties of its own model
    cli = _cli(app, server, tmp_path, data_dir, capsys, "blocktime")
    before = {b["uid"]: b["start"] for b in cli.json(*BOOK, "--skip-conflicts")["booked"]}
    lose_store(data_dir)
    doc = cli.json("repair", now="2026-03-20T10:00")
    assert doc["blocks"] == 2 and doc["engagements"] == 1
    assert len(doc["lost"]) == 1 and "acme: 2 block(s) rebuilt from their UIDs" in doc["lost"][0]
    assert "attendees" in doc["lost"][0]
    after = {b["uid"]: b["start"] for b in cli.json("agenda", now="2026-03-20T10:00")["blocks"]}
    assert after == before
    assert _pass(cli, "2026-03-20T11:00")["actions"] == []  # the rebuilt store syncs quietly


def test_uid_facts_name_engagement_and_start_and_check_the_digest() -> None:
    from datetime import UTC, datetime

    from blocktime.core.series import block_uid
    from blocktime.usecases.repair import uid_facts

    start = datetime(2026, 3, 24, 11, tzinfo=UTC)
    assert uid_facts(block_uid("acme-hq-2", start)) == ("acme-hq-2", start)
    assert uid_facts(block_uid("acme", start).replace("acme", "acmf")) is None
    assert uid_facts("hold-acme-o1-1@blocktime") is None


def test_line_breaks_survive_googles_html_and_the_end_alarm_counts_from_the_start(
    google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import icalendar

    app, server = google_standin
    assert app.html_description  # on by default: a plain line break comes back as a space
    cli = _cli(app, server, tmp_path, data_dir, capsys, "blocktime")
    cli.json(*BOOK, "--skip-conflicts")
    (text, *_rest) = [t for _e, t in app.calendars[BLOCKTIME_CAL].objects.values()]
    ev = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    lines = str(ev["DESCRIPTION"]).split("<br>")
    assert len(lines) > 3 and lines[0].startswith("Training: ") and lines[2].startswith("Where: ")
    (alarm,) = ev.walk("VALARM")
    trigger = alarm["TRIGGER"]
    assert str(trigger.params.get("RELATED", "START")) == "START" and trigger.dt == -timedelta(minutes=10)
    assert "ends at" in str(alarm["DESCRIPTION"])


def test_calendar_name_may_be_a_google_calendar_id_and_doctor_says_so(
    google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app, server = google_standin
    cli = _cli(app, server, tmp_path, data_dir, capsys, TEAM)
    code, out, _err = cli("doctor")
    assert code == 0, out
    assert "opened by its calendar id" in out and "syncselect" in out
    booked = cli.json(*BOOK, "--skip-conflicts")["booked"]
    assert len(app.calendars[TEAM].objects) == len(booked) == 2
    assert _pass(cli, "2026-03-20T10:00")["actions"] == []
    app.web_delete(TEAM, booked[0]["uid"])  # the calendar Google does not list is still watched
    report = _pass(cli, "2026-03-20T11:00")
    assert any(f"{booked[0]['id']} was deleted" in a for a in report["actions"]), report


def test_without_a_search_by_uid_the_calendar_is_listed_instead(
    google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path
) -> None:
    from blocktime.backends.base import AlreadyExists

    app, server = google_standin
    app.uid_search = False  # not documented either way: the guide says only "all reports except free-busy"
    b = _backend(app, server, tmp_path)
    cal = b.ensure_calendar("blocktime")
    href = b.href_for(cal, "bt-list@blocktime")
    b.create(href, _ics("bt-list@blocktime"))
    with pytest.raises(AlreadyExists):
        b.create(href, _ics("bt-list@blocktime", "again"))
    later = _backend(app, server, tmp_path)
    got = later.get(href)
    assert got is not None and "SUMMARY:x" in got.data and not later.uid_filter
