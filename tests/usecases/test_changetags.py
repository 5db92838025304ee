"""Change tags against real Radicale and Xandikos: a calendar whose CTag held is not read again,
and nothing an edit elsewhere does is missed for it (blocktime's own calendar, changes during a
REPORT, servers without tags or with a tag that stays put)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Runner
from tests.helpers import backend
from tests.servers import Account
from tests.stores import StoreDB
from tests.usecases.test_sync import BOOK, OtherClient, _href, _once, _pass


def _calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The calendars whose change tag and whose changes each pass asks the backend for."""
    from blocktime.backends.caldav import CalDAVBackend

    seen: dict[str, list[str]] = {"change_tag": [], "changes": []}
    for name in seen:
        real = getattr(CalDAVBackend, name)

        def spy(self, calendar, *rest, _real=real, _name=name):  # type: ignore[no-untyped-def]
            seen[_name].append(calendar.name)
            return _real(self, calendar, *rest)
        monkeypatch.setattr(CalDAVBackend, name, spy)
    real_tags = CalDAVBackend.change_tags

    def all_tags(self, calendars):  # type: ignore[no-untyped-def]
        """Tags read at once count as each calendar's (the one-by-one reads inside not twice)."""
        before = list(seen["change_tag"])
        got = real_tags(self, calendars)
        seen["change_tag"][:] = before + [c.name for c in calendars]
        return got
    monkeypatch.setattr(CalDAVBackend, "change_tags", all_tags)
    return seen


@pytest.fixture
def two_calendars(cli: Runner, account: Account) -> Runner:
    """A booking (tests/usecases/test_sync.py's) and its first pass, then a second calendar, "Private"
    (someone else's events: blocktime never writes there), listed by a pass a day on."""
    cli.json(*BOOK)
    assert _once(cli, "2026-03-20T09:00")["errors"] == []
    OtherClient(account).put_new("Private", "p-0", "20260301T100000Z", "20260301T110000Z", "Past")
    listed = _once(cli, "2026-03-21T09:00")
    assert listed["errors"] == [] and listed["calendars"] >= 2 and listed["unchanged"] == 0
    return cli


@pytest.mark.parametrize("account", ["radicale", "xandikos"], indirect=True)
def test_a_calendar_whose_tag_did_not_change_is_not_read_again(
    two_calendars: Runner, account: Account, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CTag read before a calendar's REPORT is kept with its token: a pass that finds the same
    tag makes no REPORT (one small PROPFIND); an edit elsewhere changes the tag, and the next pass
    reads that calendar and acts on the edit. Blocktime's own calendar is read every pass: a block
    deleted there by someone else is noticed at once."""
    cli = two_calendars
    calls = _calls(monkeypatch)
    quiet = _once(cli, "2026-03-21T09:15")
    n = quiet["calendars"]  # Xandikos's account comes with a calendar of its own
    assert quiet["errors"] == [] and n >= 2 and quiet["unchanged"] == n - 1
    assert "Private" in calls["change_tag"] and len(calls["change_tag"]) == n - 1 and calls["changes"] == ["blocktime"]
    tags = dict(StoreDB(data_dir).execute("SELECT name, tag FROM sync_state").fetchall())
    assert tags["Private"] and tags["blocktime"] is None  # both servers keep CTags
    other = OtherClient(account)
    other.put_new("Private", "dentist-1", "20260402T103000Z", "20260402T113000Z", "Dentist")
    calls["changes"].clear()
    seen = _once(cli, "2026-03-21T09:30")
    assert calls["changes"] == ["blocktime", "Private"] and seen["unchanged"] == n - 2
    assert seen["actions"] == ["conflict: 'Dentist' overlaps acme-4"]
    calls["changes"].clear()
    again = _once(cli, "2026-03-21T09:45")
    assert again["actions"] == [] and again["unchanged"] == n - 1 and calls["changes"] == ["blocktime"]
    other.delete(_href(cli, data_dir, "acme-3"))
    gone = _once(cli, "2026-03-21T10:00")
    assert any("acme-3 was deleted on the calendar" in a for a in gone["actions"]), gone


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_calendar_holding_a_block_is_read_every_pass(
    two_calendars: Runner, account: Account, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A block the store keeps in another calendar (the user moved it there) makes that calendar
    one blocktime writes into: read every pass, its tag unused."""
    db = StoreDB(data_dir)
    (private,) = [url for (url,) in db.execute("SELECT url FROM sync_state WHERE name='Private'")]
    (uid,) = [u for (u,) in db.execute("SELECT uid FROM blocks ORDER BY start LIMIT 1")]
    db.execute("UPDATE blocks SET href=? WHERE uid=?", (private.rstrip("/") + "/moved.ics", uid))
    db.commit()
    calls = _calls(monkeypatch)
    report = _once(two_calendars, "2026-03-21T09:15")
    assert report["unchanged"] == 0 and calls == {"change_tag": [], "changes": ["blocktime", "Private"]}


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_an_edit_made_while_the_report_runs_is_read_by_the_next_pass(
    two_calendars: Runner, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tag kept is the one read before the REPORT: an event added after the REPORT has
    answered (so its token does not cover it) changes the tag, and the next pass reads it."""
    from blocktime.backends.caldav import CalDAVBackend

    other = OtherClient(account)
    other.put_new("Private", "p-1", "20260301T120000Z", "20260301T130000Z", "Past too")  # a REPORT is due
    real = CalDAVBackend.changes

    def then_add(self, calendar, token):  # type: ignore[no-untyped-def]
        got = real(self, calendar, token)
        if calendar.name == "Private":
            monkeypatch.setattr(CalDAVBackend, "changes", real)
            other.put_new("Private", "dentist-1", "20260402T103000Z", "20260402T113000Z", "Dentist")
        return got

    monkeypatch.setattr(CalDAVBackend, "changes", then_add)
    first = _once(two_calendars, "2026-03-21T09:15")
    assert first["errors"] == [] and first["actions"] == [] and CalDAVBackend.changes is real
    later = _once(two_calendars, "2026-03-21T09:30")
    assert later["actions"] == ["conflict: 'Dentist' overlaps acme-4"]


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_change_made_during_the_report_and_undone_later_is_still_read(
    two_calendars: Runner, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Radicale's tag hashes the contents: an event added between the tag read and the REPORT
    (so the REPORT sees it) and deleted before the next pass brings back the tag read before the
    REPORT. That tag is not kept (a REPORT with changes is followed by a second read of the tag,
    which differed), so the next pass reads the calendar and learns of the deletion."""
    from blocktime.backends.caldav import CalDAVBackend

    other = OtherClient(account)
    other.put_new("Private", "p-1", "20260301T120000Z", "20260301T130000Z", "Past too")  # a REPORT is due
    real_tag = CalDAVBackend.change_tag
    before: list[str] = []

    def tag_then_add(self, calendar):  # type: ignore[no-untyped-def]
        got = real_tag(self, calendar)
        if calendar.name == "Private" and not before:
            before.append(got)
            other.put_new("Private", "dentist-1", "20260402T103000Z", "20260402T113000Z", "Dentist")
        return got

    monkeypatch.setattr(CalDAVBackend, "change_tag", tag_then_add)
    first = _once(two_calendars, "2026-03-21T09:15")
    assert first["actions"] == ["conflict: 'Dentist' overlaps acme-4"] and before
    b = backend(account)
    cal = b.ensure_calendar("Private")
    found = b.find_uid(cal, "dentist-1")
    assert found is not None
    other.delete(found.href)
    assert b.change_tag(cal) == before[0]  # the contents of before, the tag of before
    calls = _calls(monkeypatch)
    second = _once(two_calendars, "2026-03-21T09:30")
    assert second["errors"] == [] and calls["changes"] == ["blocktime", "Private"]
    calls["changes"].clear()
    third = _once(two_calendars, "2026-03-21T09:45")
    assert third["unchanged"] == 1 and calls["changes"] == ["blocktime"]


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_without_tags_every_pass_reads_and_the_tags_are_forgotten_with_the_list(
    two_calendars: Runner, account: Account, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that gives no tag is asked once (until the list is read again) and read every
    pass, as before; the daily re-reading of the list forgets every tag, so each calendar gets a
    REPORT at least once a day whatever its tag says."""
    from blocktime.backends.caldav import CalDAVBackend

    calls = _calls(monkeypatch)
    spy = CalDAVBackend.change_tag
    monkeypatch.setattr(CalDAVBackend, "change_tag", lambda self, cal: spy(self, cal) and None)
    first, _ = _pass(two_calendars, "2026-03-22T09:00")  # a day on: the list is read again, tags forgotten
    assert first.errors == [] and first.unchanged == 0 and calls == {"change_tag": ["Private"],
                                                                      "changes": ["blocktime", "Private"]}
    db = StoreDB(data_dir)
    assert dict(db.execute("SELECT name, tag FROM sync_state").fetchall()) == {"blocktime": None, "Private": ""}
    second, requests = _pass(two_calendars, "2026-03-22T09:15")
    assert second.unchanged == 0 and calls["change_tag"] == ["Private"] and requests == 2  # two REPORTs
    monkeypatch.setattr(CalDAVBackend, "change_tag", spy)
    tagged, _ = _pass(two_calendars, "2026-03-22T09:30")  # the "no tag" stays until the list is read again
    assert tagged.unchanged == 0 and calls["change_tag"] == ["Private"]
    next_day, _ = _pass(two_calendars, "2026-03-23T09:30")  # list read again: asked, and read once more
    assert next_day.unchanged == 0 and calls["change_tag"] == ["Private"] * 2
    assert calls["changes"].count("Private") == 4
    quiet, requests = _pass(two_calendars, "2026-03-23T09:45")
    assert quiet.unchanged == 1 and requests == 2 and calls["changes"].count("Private") == 4


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_tag_that_stays_put_while_the_calendar_changes_is_caught_and_not_used_again(
    two_calendars: Runner, account: Account, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server whose tag does not change (none known does; the guard is for the one that will):
    an edit is missed for at most a day — the daily re-reading of the list puts every tag aside,
    the next REPORT brings the edit under the same tag — and from then on that calendar is read
    every pass, its tag never used again."""
    from blocktime.backends.caldav import CalDAVBackend
    from blocktime.usecases.changetags import UNTRUSTED

    monkeypatch.setattr(CalDAVBackend, "change_tag", lambda self, cal: '"frozen"')
    assert _once(two_calendars, "2026-03-21T09:15")["errors"] == []  # a new tag: read, and kept
    OtherClient(account).put_new("Private", "dentist-1", "20260402T103000Z", "20260402T113000Z", "Dentist")
    missed = _once(two_calendars, "2026-03-21T09:30")
    assert missed["actions"] == [] and missed["unchanged"] >= 1  # the frozen tag hides the edit …
    calls = _calls(monkeypatch)
    code, out, err = two_calendars("daemon", "--once", "--json", now="2026-03-22T09:30")  # … until the
    caught = json.loads(out)  # list is read again
    assert code == 0 and caught["actions"] == ["conflict: 'Dentist' overlaps acme-4"]
    assert "Private" in calls["changes"] and "its tag is not used from now on" in err
    db = StoreDB(data_dir)
    assert dict(db.execute("SELECT name, tag FROM sync_state").fetchall())["Private"] == UNTRUSTED
    for now in ("2026-03-22T09:45", "2026-03-23T09:45"):  # a later list does not bring it back
        calls["changes"].clear()
        later = _once(two_calendars, now)
        assert later["unchanged"] == 0 and "Private" in calls["changes"] and later["errors"] == []


@pytest.mark.parametrize("account", ["radicale", "xandikos"], indirect=True)
def test_the_tags_of_every_calendar_come_in_one_request(cli: Runner, account: Account, data_dir: Path) -> None:
    """One Depth-1 PROPFIND of the calendar home reads every calendar's tag, on the first pass (the
    home just discovered) and on the quiet ones after it (the home remembered from the first):
    20 ms away that is a round trip per calendar less. The tags are the ones each calendar gives."""
    from blocktime.backends.caldav import CalDAVBackend

    other = OtherClient(account)
    for name in ("Private", "Family"):
        other.put_new(name, f"{name}-0", "20260301T100000Z", "20260301T110000Z", "Past")
    cli.json(*BOOK)
    first, requests = _pass(cli, "2026-03-20T09:00")
    assert first.errors == [] and first.calendars >= 3
    methods: list[str] = []
    real = CalDAVBackend._request

    def counting(self, url, method="GET", *rest, **kw):  # type: ignore[no-untyped-def]
        methods.append(f"{method} {kw.get('headers') or (rest[1] if len(rest) > 1 else None)}")
        return real(self, url, method, *rest, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(CalDAVBackend, "_request", counting)
        quiet, requests = _pass(cli, "2026-03-20T09:15")
    assert quiet.errors == [] and quiet.unchanged == quiet.calendars - 1  # all but blocktime's own
    assert methods.count("PROPFIND {'Depth': '1'}") == 1, methods
    assert not any(m.startswith("PROPFIND {'Depth': '0'}") for m in methods), methods
    assert requests == 2  # the tags, and blocktime's own calendar's REPORT
    b = backend(account)
    cals = b.calendars()
    assert b.change_tags(cals) == {c.url: b.change_tag(c) for c in cals}


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_change_between_the_pass_reading_the_tags_and_a_report_does_not_end_the_tags(
        cli: Runner, account: Account, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tags are read at the start of the pass; on the daily check (`RECHECK`) an event added
    to a calendar after that, before its REPORT, arrives under the tag read before it. That is not
    a tag that stays put: it is read again, differs, and is not kept (nor the calendar's tags ended)."""
    from blocktime.backends.caldav import CalDAVBackend
    from blocktime.usecases.changetags import RECHECK, UNTRUSTED

    other = OtherClient(account)
    for name in ("Family", "Private"):
        other.put_new(name, f"{name}-0", "20260301T100000Z", "20260301T110000Z", "Past")
    cli.json(*BOOK)
    assert _once(cli, "2026-03-20T09:00")["errors"] == []
    assert _once(cli, "2026-03-20T09:15")["errors"] == []  # the tags kept
    real = CalDAVBackend.changes

    def add_to_private(self, calendar, token):  # type: ignore[no-untyped-def]
        if calendar.name == "Family":  # after every tag was read, before Private's REPORT
            monkeypatch.setattr(CalDAVBackend, "changes", real)
            other.put_new("Private", "dentist-1", "20260402T103000Z", "20260402T113000Z", "Dentist")
        return real(self, calendar, token)

    monkeypatch.setattr(CalDAVBackend, "changes", add_to_private)
    db = StoreDB(data_dir)
    day = _once(cli, "2026-03-21T09:30")  # a day on: the list is read again, every tag put aside
    assert day["errors"] == [] and day["actions"] == ["conflict: 'Dentist' overlaps acme-4"]
    tags = dict(db.execute("SELECT name, tag FROM sync_state").fetchall())
    assert tags["Private"] is None and tags["Family"] and not tags["Family"].startswith((RECHECK, UNTRUSTED))
    assert _once(cli, "2026-03-21T09:45")["unchanged"] == 1  # Private read, its tag kept again
    assert _once(cli, "2026-03-21T10:00")["unchanged"] == 2  # both tags in use
