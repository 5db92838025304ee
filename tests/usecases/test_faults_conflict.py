"""Another client edits an event between blocktime's read and its write (injected right after
blocktime's GET, over plain HTTP, on real Radicale and Xandikos): the If-Match PUT is refused,
blocktime re-reads and applies its change on top, so both edits end up on the server. When the
other client edits every single time, blocktime gives up with one clear line and overwrites nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import niquests
import pytest

from blocktime.backends.base import StoredObject
from blocktime.backends.caldav import CalDAVBackend
from blocktime.errors import ConflictError
from tests.conftest import Runner
from tests.faults import assert_consistent, rows, server_objects
from tests.servers import Account

WARSAW = ZoneInfo("Europe/Warsaw")
BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue,thu", "--count", "3")
AFTER = "2026-03-24T13:05"
Edit = Callable[[Any, int], None]  # (VEVENT, how many edits so far) -> change it in place


class OtherClient:
    """Another calendar app: plain HTTP, If-Match on what it read; returns the new ETag."""

    def __init__(self, account: Account) -> None:
        self.root = account.root
        self.http = niquests.Session()
        if account.username:
            self.http.auth = (account.username, account.password or "")
        self.edits = 0
        self.limit = 0  # how many times to interfere (see `interloper`)
        self.etag: str | None = None

    def edit(self, href: str, change: Edit) -> None:
        got = self.http.get(self.root + href)
        assert got.status_code == 200
        cal = icalendar.Calendar.from_ical(got.text)
        change(cal.walk("VEVENT")[0], self.edits)
        r = self.http.put(self.root + href, data=cal.to_ical(),
                          headers={"If-Match": got.headers["ETag"], "Content-Type": "text/calendar"})
        assert r.status_code in (200, 201, 204), r.status_code
        self.edits += 1
        self.etag = r.headers.get("ETag") or self.http.get(self.root + href).headers["ETag"]


def interloper(monkeypatch: pytest.MonkeyPatch, account: Account, href: str, change: Edit,
               times: int) -> tuple[OtherClient, list[str]]:
    """Right after blocktime reads `href` (up to `times` times), the other client edits it.
    Returns the client and the list of If-Match conflicts blocktime met."""
    other = OtherClient(account)
    other.limit = times
    conflicts: list[str] = []
    real_get, real_update = CalDAVBackend.get, CalDAVBackend.update

    def get(self: CalDAVBackend, h: str) -> StoredObject | None:
        got = real_get(self, h)
        if h == href and got is not None and other.edits < other.limit:
            other.edit(h, change)
        return got

    def update(self: CalDAVBackend, h: str, data: str, etag: str) -> str | None:
        try:
            return real_update(self, h, data, etag)
        except ConflictError:
            conflicts.append(h)
            raise

    monkeypatch.setattr(CalDAVBackend, "get", get)
    monkeypatch.setattr(CalDAVBackend, "update", update)
    return other, conflicts


def _href(data_dir: Path, block: str) -> str:
    ((href,),) = rows(data_dir, "SELECT href FROM blocks WHERE engagement || '-' || number = ?", block)
    return str(href)


def _event(account: Account, href: str) -> Any:
    return icalendar.Calendar.from_ical(server_objects(account)[href].data).walk("VEVENT")[0]


def _alarm(ev: Any, _n: int) -> None:
    alarm = icalendar.Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("DESCRIPTION", "pack the projector")
    alarm.add("TRIGGER", -timedelta(hours=2))  # related to the start: the user's own, not blocktime's
    ev.add_component(alarm)


def _room(ev: Any, n: int) -> None:
    ev.pop("LOCATION", None)
    ev.add("LOCATION", f"Acme HQ, room 4.{n}")


def _note(ev: Any, n: int) -> None:
    ev.pop("DESCRIPTION", None)
    ev.add("DESCRIPTION", f"Bring the slides (edit {n})")


def _alarms(ev: Any) -> list[str]:
    return sorted(str(a.get("DESCRIPTION", "")) for a in ev.walk("VALARM"))


def test_move_merges_a_concurrent_edit(cli: Runner, account: Account, data_dir: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cli.json(*BOOK)
    href = _href(data_dir, "acme-2")
    other, conflicts = interloper(monkeypatch, account, href, lambda ev, n: (_room(ev, n), _alarm(ev, n)), times=1)
    doc = cli.json("move", "acme-2", "--to", "2026-03-26 15:00")
    assert doc["block"]["sequence"] == 1
    assert other.edits == 1 and conflicts == [href]  # detected, not overwritten blindly
    ev = _event(account, href)
    assert ev["DTSTART"].dt.astimezone(WARSAW).hour == 15 and int(ev["SEQUENCE"]) == 1  # ours
    assert str(ev["LOCATION"]) == "Acme HQ, room 4.0"  # theirs
    assert "pack the projector" in _alarms(ev)  # theirs, beside blocktime's own alarm
    assert len(_alarms(ev)) == 2
    assert rows(data_dir, "SELECT kind, sequence FROM mail_outbox WHERE kind='update'") == [("update", 1)]
    assert_consistent(account, data_dir, blocks=3)


def test_cut_short_merges_a_concurrent_edit(cli: Runner, account: Account, data_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cli.json(*BOOK)
    href = _href(data_dir, "acme-1")
    other, conflicts = interloper(monkeypatch, account, href, lambda ev, n: (_note(ev, n), _alarm(ev, n)), times=1)
    doc = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now=AFTER)
    assert doc["block"]["state"] == "cut_short" and doc["remaining"] == 25
    assert other.edits == 1 and conflicts == [href]
    ev = _event(account, href)
    assert ev["DTEND"].dt.astimezone(WARSAW).strftime("%H:%M") == "12:35"  # ours
    assert str(ev["X-BLOCKTIME-REMAINING-MINUTES"]) == "25"
    assert str(ev["DESCRIPTION"]) == "Bring the slides (edit 0)"  # theirs
    assert "pack the projector" in _alarms(ev)
    assert_consistent(account, data_dir, blocks=3, holds=3)


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
@pytest.mark.parametrize("command", ["move", "cut-short"])
def test_an_editor_that_never_stops_gets_a_clear_error_and_keeps_its_edit(
    cli: Runner, account: Account, data_dir: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    cli.json(*BOOK)
    block = "acme-2" if command == "move" else "acme-1"
    href = _href(data_dir, block)
    before = _event(account, href)
    other, conflicts = interloper(monkeypatch, account, href, _room, times=100)
    args = ("move", block, "--to", "2026-03-26 15:00") if command == "move" else \
        ("cut-short", block, "--ended-at", "12:35")
    code, out, err = cli(*args, now="2026-03-20T09:00" if command == "move" else AFTER)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and out == "", err
    assert lines[0].startswith("blocktime: error:") and "keeps changing on the server" in lines[0]
    assert len(conflicts) == other.edits == 3
    now = server_objects(account)[href]
    assert now.etag == other.etag  # the other client's last version is what the server holds
    ev = icalendar.Calendar.from_ical(now.data).walk("VEVENT")[0]
    assert str(ev["LOCATION"]) == "Acme HQ, room 4.2"
    for name in ("DTSTART", "DTEND", "SEQUENCE", "SUMMARY"):
        assert ev[name].to_ical() == before[name].to_ical(), name  # none of blocktime's change landed
    (state, sequence), = rows(data_dir, "SELECT state, sequence FROM blocks WHERE href=?", href)
    assert (state, sequence) == ("booked", 0)
    assert rows(data_dir, "SELECT kind FROM mail_outbox WHERE kind != 'request'") == []
    assert rows(data_dir, "SELECT COUNT(*) FROM ledger") == [(0,)]
    assert rows(data_dir, "SELECT COUNT(*) FROM offers") == [(0,)]
    # once the other client is done, the same command succeeds and keeps the other's last edit
    other.limit = other.edits
    code, _, err = cli(*args, now="2026-03-20T09:00" if command == "move" else AFTER)
    assert code == 0, err
    assert str(_event(account, href)["LOCATION"]) == "Acme HQ, room 4.2"


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_hold_edited_by_the_user_is_left_alone_on_release(cli: Runner, account: Account, data_dir: Path) -> None:
    """Declining an offer deletes its holds with If-Match on what blocktime wrote: a hold the
    user has changed since (turned into a real meeting, say) is not deleted."""
    cli.json(*BOOK)
    cli.json("cut-short", "acme-1", "--ended-at", "12:35", now=AFTER)
    ((href,),) = rows(data_dir, "SELECT href FROM holds WHERE number=2")
    OtherClient(account).edit(str(href), lambda ev, n: ev.__setitem__("SUMMARY", icalendar.vText("Kept: lunch")))
    code, _, err = cli("decline", "acme-o1", now=AFTER)
    assert code == 0, err
    left = server_objects(account)
    assert [str(_event(account, h)["SUMMARY"]) for h in left if "hold-" in h] == ["Kept: lunch"]
    assert rows(data_dir, "SELECT COUNT(*) FROM holds WHERE state='released'") == [(3,)]
