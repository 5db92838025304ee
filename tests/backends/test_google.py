"""Google Calendar over CalDAV with OAuth2, against the loopback stand-in (tests/recorded/google)."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from blocktime.backends.google import GoogleBackend, calendar_id, principal_url, without_attendees
from blocktime.config.auth import BearerAuth, TokenStore
from blocktime.errors import BadInput, ServerError
from tests.backends.conftest import google_token
from tests.backends.standin_google import GoogleCalDAV
from tests.backends.standin_http import StandIn
from tests.cli.test_cli import one_error_line
from tests.conftest import Runner

pytestmark = pytest.mark.standin
BLOCKTIME_CAL = "c_8s1blocktime@group.calendar.google.com"
BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue,thu", "--count", "4")


def _backend(app: GoogleCalDAV, server: StandIn, data_dir: Path, **kw: bool) -> GoogleBackend:
    return GoogleBackend(app.account, BearerAuth(google_token(app, server, data_dir, **kw)),
                         base=f"{server.root}/caldav/v2/")


@pytest.fixture
def google_cli(google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path, data_dir: Path,
               capsys: pytest.CaptureFixture[str]) -> Runner:
    app, server = google_standin
    google_token(app, server, data_dir)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[organizer]\nname = "Anna Nowak"\nemail = "anna@example.com"\ntimezone = "Europe/Warsaw"\n'
                   f'[calendar]\nprofile = "google"\nurl = "{server.root}/caldav/v2/"\n'
                   f'username = "{app.account}"\nname = "blocktime"\n')
    return Runner(cfg, capsys)


def test_urls_follow_googles_documented_form() -> None:
    base = "https://apidata.googleusercontent.com/caldav/v2/"
    assert principal_url(base, "anna@gmail.com") == base + "anna@gmail.com/user"
    assert calendar_id(base + "c_123%40group.calendar.google.com/events/") == "c_123@group.calendar.google.com"


def test_create_looks_first_and_never_sends_if_none_match(
    google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path
) -> None:
    app, server = google_standin
    b = _backend(app, server, tmp_path)
    cal = b.ensure_calendar("blocktime")
    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:g1@blocktime\r\n"
            "DTSTAMP:20260320T090000Z\r\nDTSTART:20260324T110000Z\r\nDTEND:20260324T120000Z\r\nSUMMARY:x\r\n"
            "ORGANIZER:mailto:anna@example.com\r\nATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;SCHEDULE-AGENT=CLIENT:\r\n"
            " mailto:it@acme.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    b.create(b.href_for(cal, "g1@blocktime"), text)
    puts = [r for r in app.requests if r.method == "PUT"]
    assert len(puts) == 1 and "if-none-match" not in puts[0].headers
    looks = [r for r in app.requests if r.method == "REPORT" and b'name="UID"' in r.body]
    assert looks and b"g1@blocktime" in looks[-1].body  # looked (by UID) before writing
    assert "ATTENDEE" not in app.received[0] and "it@acme.example" not in app.received[0]
    assert "ORGANIZER" in app.received[0]
    assert "MKCALENDAR" not in {r.method for r in app.requests}


def test_missing_calendar_is_one_clear_error_without_mkcalendar(
    google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path
) -> None:
    app, server = google_standin
    b = _backend(app, server, tmp_path)
    with pytest.raises(ServerError) as info:
        b.ensure_calendar("Trainings")
    assert "cannot create one over CalDAV" in info.value.message and "Create new calendar" in (info.value.hint or "")
    assert b.ensure_calendar(BLOCKTIME_CAL).name == "blocktime"  # the calendar id works too
    assert "MKCALENDAR" not in {r.method for r in app.requests}


def test_an_expired_token_is_refreshed_and_stored_0600(
    google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path
) -> None:
    app, server = google_standin
    b = _backend(app, server, tmp_path, expired=True)
    assert {c.name for c in b.calendars()} == {"Anna Nowak", "blocktime"}
    assert [r.path for r in app.requests if r.method == "POST"] == ["/token"]
    stored = tmp_path / "tokens" / "google.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    doc = json.loads(stored.read_text())
    assert doc["access_token"] == "ya29.standin-1" and doc["refresh_token"] == app.refresh_token
    assert doc["expires_at"] > time.time() + 3000
    assert all(r.header("Authorization") == "Bearer ya29.standin-1" for r in app.requests if r.method != "POST")


def test_a_revoked_grant_asks_to_sign_in_again(
    google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path
) -> None:
    app, server = google_standin
    b = _backend(app, server, tmp_path, expired=True)
    app.refresh_token = "revoked"
    with pytest.raises(ServerError) as info:
        b.calendars()
    assert "invalid_grant" in info.value.message and "Testing" in info.value.message and "7 days" in info.value.message
    hint = info.value.hint or ""
    assert "blocktime auth google" in hint and "publish the consent screen" in hint
    assert "\n" not in info.value.message + (info.value.hint or "")


def test_no_token_at_all_says_how_to_sign_in(google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path) -> None:
    app, server = google_standin
    b = GoogleBackend(app.account, BearerAuth(TokenStore(tmp_path, "google")), base=f"{server.root}/caldav/v2/")
    with pytest.raises(BadInput) as info:
        b.calendars()
    assert "not signed in to Google" in info.value.message and "--client-secrets" in (info.value.hint or "")


def test_throttling_is_retried_after_retry_after(google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path) -> None:
    app, server = google_standin
    app.throttle = [(429, "1")]
    started = time.monotonic()
    assert len(_backend(app, server, tmp_path).calendars()) == 2
    assert time.monotonic() - started >= 0.9


def test_the_main_job_works_unchanged_on_google(
    google_cli: Runner, google_standin: tuple[GoogleCalDAV, StandIn], data_dir: Path
) -> None:
    app, _server = google_standin
    # the seeded primary calendar (sample_ics/google_work.ics) has a lunch on Thursday 26th and an
    # all-day conference on Thursday 2 April: two of the four blocks are refused
    code, out, _err = google_cli(*BOOK)
    assert code == 1 and "refused: BUSY" in out and "Client lunch" in out
    booked = google_cli.json(*BOOK, "--skip-conflicts")
    assert [b["id"] for b in booked["booked"]] == ["acme-1", "acme-2"]
    assert [r["details"] for r in booked["refused"]] == [["busy: Client lunch (Globex) 12:30-13:30"],
                                                         ["busy: Conference (all day) all day"]]
    stored = app.calendars[BLOCKTIME_CAL].objects
    assert len(stored) == 2 and all("ATTENDEE" not in text for _e, text in stored.values())
    assert all("X-BLOCKTIME" not in text for _e, text in stored.values())  # Google dropped them
    invites = list((data_dir / "outbox").glob("*-request.ics"))
    assert len(invites) == 2 and all("ATTENDEE" in p.read_text() for p in invites)  # iMIP carries them
    doc = google_cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")
    assert doc["block"]["remaining"] == 25 and len(doc["offer"]["options"]) == 3
    assert len(stored) == 5  # three holds
    made = google_cli.json("accept", doc["offer"]["id"], "1", now="2026-03-24T13:05")["block"]
    assert made["makeup_for"] == "acme-1"
    assert len(stored) == 3 and not any("hold-" in name for name in stored)
    again = google_cli.json(*BOOK, "--skip-conflicts")  # re-running finds what is there
    assert not any(b.get("created") for b in again["booked"])


def test_doctor_on_the_google_stand_in(google_cli: Runner) -> None:
    code, out, _err = google_cli("doctor")
    assert code == 0, out
    assert "look-up before each create" in out and "sync tokens (RFC 6578)" in out
    assert "free-busy-query not supported" in out and "without attendees" in out
    assert "busy time    read from 2 calendar(s): Anna Nowak; blocktime" in out
    assert "calendar.google.com/calendar/syncselect" in out  # how to expose the others
    assert out.strip().endswith("blocktime can work here.")


def test_without_attendees_keeps_everything_else() -> None:
    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:u\r\nDTSTAMP:20260101T000000Z\r\n"
            "ATTENDEE:mailto:a@x.example\r\nATTENDEE:mailto:b@x.example\r\nSUMMARY:s\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n")
    out = without_attendees(text)
    assert "ATTENDEE" not in out and "SUMMARY:s" in out
    plain = text.replace("ATTENDEE:mailto:a@x.example\r\nATTENDEE:mailto:b@x.example\r\n", "")
    assert without_attendees(plain) == plain


def test_missing_token_through_the_cli_is_exit_2(
    google_standin: tuple[GoogleCalDAV, StandIn], tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app, server = google_standin
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[calendar]\nprovider = "google"\nurl = "{server.root}/caldav/v2/"\nusername = "{app.account}"\n')
    code, _out, err = Runner(cfg, capsys)(*BOOK)
    assert code == 2 and "not signed in to Google" in one_error_line(err)


def test_a_block_deleted_in_google_comes_back_through_the_daemon_pass(
    google_cli: Runner, google_standin: tuple[GoogleCalDAV, StandIn]
) -> None:
    app, _server = google_standin
    google_cli.json(*BOOK, "--skip-conflicts")
    assert json.loads(google_cli("daemon", "--once", "--json")[1])["actions"] == []
    (uid,) = [b["uid"] for b in google_cli.json("agenda")["blocks"] if b["id"] == "acme-2"]
    app.web_delete(BLOCKTIME_CAL, uid)
    report = json.loads(google_cli("daemon", "--once", "--json", now="2026-03-21T09:00")[1])
    assert any("acme-2 was deleted" in a for a in report["actions"]), report


def test_a_quiet_primary_calendar_is_checked_by_its_ctag_and_an_edit_is_read(
    google_cli: Runner, google_standin: tuple[GoogleCalDAV, StandIn]
) -> None:
    """Google keeps CTags (its guide's caldav-ctag-02 section; here the collection's version): a
    pass after the first asks the primary calendar for its tag and makes no REPORT there while
    the tag holds; an edit in the web UI changes the tag and the next pass reads the calendar."""
    app, _server = google_standin
    primary = f"/caldav/v2/{app.account}/events"

    def reports() -> int:
        return sum(1 for r in app.requests if r.method == "REPORT" and r.path.rstrip("/") == primary)

    google_cli.json(*BOOK, "--skip-conflicts")
    assert json.loads(google_cli("daemon", "--once", "--json")[1])["errors"] == []
    before = reports()
    quiet = json.loads(google_cli("daemon", "--once", "--json", now="2026-03-20T09:15")[1])
    assert quiet["errors"] == [] and quiet["unchanged"] == 1 and reports() == before
    app.web_edit(app.account, next(iter(_uids(app))), "SUMMARY:", "SUMMARY:Moved: ")
    seen = json.loads(google_cli("daemon", "--once", "--json", now="2026-03-20T09:30")[1])
    assert seen["errors"] == [] and seen["unchanged"] == 0 and reports() == before + 1


def _uids(app: GoogleCalDAV) -> list[str]:
    import re

    texts = [text for _etag, text in app.calendars[app.account].objects.values()]
    return [m.group(1).strip() for t in texts for m in [re.search(r"^UID:(.*)$", t, re.M)] if m]
