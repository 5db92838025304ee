"""Issue 24, points 1 and 2, on a real Radicale and Xandikos: a block moved to another calendar of
the account (Google's and Outlook's "change calendar") is followed, never cancelled; a copy of a
block (same UID, the block still in place) is the organizer's own event, never adopted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Runner
from tests.helpers import backend
from tests.servers import Account
from tests.usecases.test_sync import BOOK, OtherClient, _href, _once, _queued


def _pass(cli: Runner, now: str) -> tuple[dict[str, Any], str]:
    """One daemon pass: its report and what it logged."""
    code, out, err = cli("daemon", "--once", "--json", now=now)
    assert code == 0, err
    return json.loads(out), err


def _put(account: Account, calendar: str, name: str, text: str) -> str:
    """Another app writes `text` as `name` into `calendar`; the object's server path."""
    b = backend(account)
    try:
        href = b.href_for(b.ensure_calendar(calendar), name)
    finally:
        b.close()
    other = OtherClient(account)
    r = other.http.put(account.root + href if href.startswith("/") else href, data=text.encode(),
                       headers={"Content-Type": "text/calendar"})
    assert r.status_code in (200, 201, 204), r.status_code
    return href


def _get(account: Account, href: str) -> str:
    r = OtherClient(account).http.get(account.root + href)
    assert r.status_code == 200
    return str(r.text)


@pytest.fixture
def two_calendars(cli: Runner, account: Account) -> Runner:
    """Acme booked (4 blocks) and a first pass made, with the organizer's "Calendar" beside blocktime's."""
    OtherClient(account).put_new("Calendar", "lunch-1", "20260301T110000Z", "20260301T120000Z", "Lunch")
    cli.json(*BOOK)
    assert _once(cli, "2026-03-20T09:00")["errors"] == []
    return cli


def test_a_block_moved_to_another_calendar_is_followed_not_cancelled(
        two_calendars: Runner, account: Account, data_dir: Path) -> None:
    cli = two_calendars
    (uid,) = [b["uid"] for b in cli.json("agenda")["blocks"] if b["id"] == "acme-3"]
    old = _href(cli, data_dir, "acme-3")
    text = _get(account, old)
    new = _put(account, "Calendar", "moved-acme-3", text)  # "change calendar": a copy there, then gone here
    OtherClient(account).delete(old)
    report, err = _pass(cli, "2026-03-21T09:00")
    assert report["errors"] == [] and not any("deleted" in a for a in report["actions"]), report
    assert [line for line in err.splitlines() if "moved to calendar" in line] == \
        ["WARNING blocktime.sync: acme-3 was moved to calendar 'Calendar': still booked, followed there"]
    assert cli.json("status", "acme", now="2026-03-21T09:00")["remaining_minutes"] == 0
    assert not [q for q in _queued(data_dir, uid) if q[0] == "cancel"]
    assert "acme-3" in [b["id"] for b in cli.json("agenda", now="2026-03-21T09:00")["blocks"]]
    assert _href(cli, data_dir, "acme-3") == new
    (moved,) = [b for b in cli.json("status", "acme", now="2026-03-21T09:00")["blocks"] if b["id"] == "acme-3"]
    assert moved["calendar"] == "Calendar"
    _code, text, _err = cli("status", "acme", now="2026-03-21T09:00")
    assert "in calendar 'Calendar' (moved there)" in text
    report, err = _pass(cli, "2026-03-21T09:30")
    assert report["actions"] == [] and "moved to calendar" not in err  # said once
    # deleted for real, there: cancelled, its minutes back
    OtherClient(account).delete(new)
    report = _once(cli, "2026-03-21T10:00")
    assert any("acme-3 was deleted" in a for a in report["actions"])
    assert ("cancel", 1, "it@acme.example") in _queued(data_dir, uid)
    assert cli.json("status", "acme", now="2026-03-21T10:00")["remaining_minutes"] == 60


def test_a_copy_of_a_block_is_never_adopted(two_calendars: Runner, account: Account, data_dir: Path) -> None:
    cli = two_calendars
    (uid,) = [b["uid"] for b in cli.json("agenda")["blocks"] if b["id"] == "acme-2"]
    href = _href(cli, data_dir, "acme-2")
    text = _get(account, href)
    later = text.replace("DTSTART:20260326T110000Z", "DTSTART:20260327T080000Z").replace(
        "DTEND:20260326T120000Z", "DTEND:20260327T090000Z")
    assert later != text
    copy = _put(account, "Calendar", "copy-of-acme-2", later)  # a copy, then moved to Friday
    report, err = _pass(cli, "2026-03-21T09:00")
    assert report["errors"] == [] and report["actions"] == [], report
    assert f"acme-2: the event at {copy} in 'Calendar' carries its UID but is a copy" in err
    assert _queued(data_dir, uid) == [("request", 0, "it@acme.example")]  # no update to the client
    (block,) = [b for b in cli.json("agenda", now="2026-03-21T09:00")["blocks"] if b["id"] == "acme-2"]
    assert block["start"] == "2026-03-26T12:00:00+01:00" and _href(cli, data_dir, "acme-2") == href
    # the copy is the organizer's own event: busy time (nothing can be booked on Friday 09:00)
    code, out, _ = cli("book", "--client", "Initech", "--site", "Initech Park", "--attendee", "pm@initech.example",
                       "--start", "2026-03-27 09:00", "--length", "1h", "--json", now="2026-03-21T09:00")
    assert code == 1 and "BUSY" in out


def test_a_copy_is_not_taken_for_the_block_when_the_block_is_deleted(
        two_calendars: Runner, account: Account, data_dir: Path) -> None:
    """The organizer copies a block into another calendar (seen as a copy), then deletes the block:
    the block is cancelled; the copy, still there with the block's UID, is not adopted."""
    cli = two_calendars
    (uid,) = [b["uid"] for b in cli.json("agenda")["blocks"] if b["id"] == "acme-2"]
    href = _href(cli, data_dir, "acme-2")
    _put(account, "Calendar", "copy-of-acme-2", _get(account, href))
    report, err = _pass(cli, "2026-03-21T09:00")
    assert report["actions"] == [] and "is a copy" in err
    OtherClient(account).delete(href)
    report, _err = _pass(cli, "2026-03-21T09:30")
    assert any("acme-2 was deleted" in a for a in report["actions"]), report
    assert ("cancel", 1, "it@acme.example") in _queued(data_dir, uid)
    assert not [q for q in _queued(data_dir, uid) if q[0] == "update"]
