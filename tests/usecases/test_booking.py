"""Booking end to end against real servers (Radicale and Xandikos)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import icalendar
import pytest

from tests.conftest import Runner, write_config
from tests.helpers import load_samples, objects
from tests.servers import Account

SERIES = ("book", "--client", "Acme", "--site", "Acme HQ, ul. Prosta 1", "--attendee", "it@acme.example",
          "--attendee", "office@acme.example", "--start", "2026-03-24 12:00", "--length", "1h",
          "--every", "tue,thu", "--count", "8")
FREE = ["2026-03-24T12:00:00+01:00", "2026-03-31T12:00:00+02:00", "2026-04-14T12:00:00+02:00"]


def test_conflicts_write_nothing_by_default(cli: Runner, account: Account, data_dir: Path) -> None:
    load_samples(account)
    code, out, err = cli(*SERIES, "--json")
    assert code == 1
    assert "nothing booked" in err and len(err.strip().splitlines()) == 1
    import json

    doc = json.loads(out)
    assert doc["booked"] == []
    assert len(doc["refused"]) == 5
    assert objects(account) == []
    assert cli.json("agenda")["blocks"] == []


def test_books_exactly_the_free_instances_and_is_idempotent(cli: Runner, account: Account, data_dir: Path) -> None:
    load_samples(account)
    doc = cli.json(*SERIES, "--skip-conflicts")
    assert [b["start"] for b in doc["booked"]] == FREE
    assert all(b["created"] for b in doc["booked"])
    refused = {r["start"][:10]: r["reasons"] for r in doc["refused"]}
    assert refused == {
        "2026-03-26": ["BUSY"], "2026-04-02": ["BUSY"], "2026-04-07": ["BUSY"],
        "2026-04-09": ["BUSY"], "2026-04-16": ["BUSY"],
    }
    first = sorted(objects(account))
    assert len(first) == 3
    again = cli.json(*SERIES, "--skip-conflicts")
    assert [b["uid"] for b in again["booked"]] == [b["uid"] for b in doc["booked"]]
    assert not any(b["created"] for b in again["booked"])
    assert len(objects(account)) == 3
    events = [icalendar.Calendar.from_ical(t).walk("VEVENT")[0] for t in first]
    assert {str(e["UID"]) for e in events} == {b["uid"] for b in doc["booked"]}
    for e in events:
        assert str(e["SUMMARY"]) == "Training: Acme — until 13:00"
        assert e.walk("VALARM")
    outbox = sorted((data_dir / "outbox").glob("*-request.ics"))
    assert len(outbox) == 3
    assert all("METHOD:REQUEST" in p.read_text() for p in outbox)


def test_agenda_and_export(cli: Runner, account: Account, tmp_path: Path) -> None:
    doc = cli.json("book", "--client", "Beta", "--site", "Beta Office", "--attendee", "x@beta.example",
                   "--start", "2026-04-01T10:00", "--length", "90m", "--every", "wed", "--count", "2")
    ids = [b["id"] for b in doc["booked"]]
    assert ids == ["beta-1", "beta-2"]
    agenda = cli.json("agenda")
    assert [b["id"] for b in agenda["blocks"]] == ids
    assert agenda["blocks"][0]["end"] == "2026-04-01T11:30:00+02:00"
    code, out, _ = cli("agenda")
    assert code == 0 and "beta-1" in out and "Beta Office" in out
    files = cli.json("export", "beta-2", "--out", str(tmp_path / "inv"))["files"]
    assert len(files) == 1 and "METHOD:REQUEST" in Path(files[0]).read_text()
    code, _, err = cli("export", "nope-9")
    assert code == 2 and "no block 'nope-9'" in err


def test_second_engagement_at_another_site_needs_travel_time(cli: Runner, account: Account) -> None:
    cli.json("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "a@acme.example",
             "--start", "2026-04-01 09:00", "--length", "2h")
    code, out, _err = cli("book", "--client", "Beta", "--site", "Beta Office", "--attendee", "b@beta.example",
                         "--start", "2026-04-01 11:15", "--length", "1h", "--json")
    assert code == 1
    import json

    (refusal,) = json.loads(out)["refused"]
    assert refusal["reasons"] == ["TRAVEL"]
    ok = cli.json("book", "--client", "Beta", "--site", "Beta Office", "--attendee", "b@beta.example",
                  "--start", "2026-04-01 11:30", "--length", "1h")
    assert len(ok["booked"]) == 1


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_crash_between_plan_and_write_is_finished_by_the_next_run(
    cli: Runner, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blocktime.backends.caldav import CalDAVBackend

    real = CalDAVBackend.create
    calls = {"n": 0}

    def flaky(self: CalDAVBackend, href: str, data: str) -> str | None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process dies half-way through the writes
        return real(self, href, data)

    monkeypatch.setattr(CalDAVBackend, "create", flaky)
    args = ("book", "--client", "Gamma", "--site", "G", "--attendee", "g@gamma.example",
            "--start", "2026-04-06 10:00", "--length", "1h", "--every", "mon-fri", "--count", "5")
    code, _, _ = cli(*args)
    assert code == 130
    assert 2 <= len(objects(account)) < 5  # the writes in flight may have landed
    monkeypatch.setattr(CalDAVBackend, "create", real)
    doc = cli.json(*args)
    assert len(doc["booked"]) == 5
    datas = objects(account)
    assert len(datas) == 5
    uids = [str(icalendar.Calendar.from_ical(t).walk("VEVENT")[0]["UID"]) for t in datas]
    assert sorted(uids) == sorted(b["uid"] for b in doc["booked"])
    states = {b["state"] for b in cli.json("agenda")["blocks"]}
    assert states == {"booked"}


# Issue 10, point 5: re-runs and interruptions ------------------------------------------------------


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_rerun_of_a_booking_shows_the_same_table_and_exits_0(cli: Runner, account: Account) -> None:
    load_samples(account)
    code, first, _ = cli(*SERIES, "--skip-conflicts")
    assert code == 0 and first.count("refused: BUSY") == 5
    for extra in (("--skip-conflicts",), ()):  # with or without the flag: the free blocks are booked
        code, out, err = cli(*SERIES, *extra)
        assert code == 0, err
        assert "nothing booked" not in err
        assert out.count("already booked") == 3 and out.count("refused: BUSY") == 5
        rows = [line for line in out.splitlines() if "refused" in line]
        assert all(line.split("refused: BUSY", 1)[1].strip().startswith("busy:") for line in rows)
    doc = cli.json(*SERIES)
    assert len(doc["booked"]) == 3 and len(doc["refused"]) == 5 and not any(b["created"] for b in doc["booked"])


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_nothing_booked_only_when_nothing_is_booked_now_or_before(cli: Runner, account: Account) -> None:
    load_samples(account)
    code, _, err = cli(*SERIES)
    assert code == 1 and "nothing booked: 5 of 8 blocks cannot be booked" in err
    assert "--skip-conflicts to book the 3 free one(s)" in err
    cli(*SERIES, "--skip-conflicts")
    more = (*SERIES[:-1], "10")  # two more weeks: one more free block, the others booked or refused
    code, _, err = cli(*more)
    assert code == 1 and "no new block booked" in err and "(3 booked before)" in err and "nothing booked" not in err


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_ctrl_c_says_what_is_pending_and_any_write_command_or_the_daemon_finishes_it(
    cli: Runner, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blocktime.backends.caldav import CalDAVBackend

    real = CalDAVBackend.create
    calls = {"n": 0, "landed": 0}

    def stopped(self: CalDAVBackend, href: str, data: str) -> str | None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # Ctrl-C half-way through 30 blocks
        if calls["n"] > 3:
            time.sleep(0.5)  # writers already running when the command learns of the Ctrl-C: slow
        etag = real(self, href, data)
        calls["landed"] += 1
        return etag

    monkeypatch.setattr(CalDAVBackend, "create", stopped)
    args = ("book", "--client", "Delta", "--site", "D", "--attendee", "d@delta.example",
            "--start", "2026-04-06 10:00", "--length", "1h", "--every", "mon-fri", "--count", "30")
    code, _, err = cli(*args)
    assert code == 130
    pending = [b for b in cli.json("agenda")["blocks"] if b["state"] == "pending"]
    # the writes not yet started were dropped; those in flight may have landed (not yet recorded)
    assert calls["n"] < 30
    assert 30 - calls["landed"] <= len(pending) <= 30
    assert f"{len(pending)} block(s) are pending" in err and "run the same command again" in err
    monkeypatch.setattr(CalDAVBackend, "create", real)
    code, out, err = cli("daemon", "--once", "--json")
    assert code == 0, err
    assert json.loads(out)["finished"] == len(pending)
    assert {b["state"] for b in cli.json("agenda")["blocks"]} == {"booked"}
    assert len(objects(account)) == 30
    code, out, _ = cli(*args)  # the same command again: everything is booked already
    assert code == 0 and out.count("already booked") == 30


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_write_command_finishes_pending_blocks_and_says_so(
    cli: Runner, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blocktime.backends.caldav import CalDAVBackend

    real = CalDAVBackend.create
    calls = {"n": 0}

    def stopped(self: CalDAVBackend, href: str, data: str) -> str | None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, href, data)

    monkeypatch.setattr(CalDAVBackend, "create", stopped)
    cli("book", "--client", "Echo", "--site", "E", "--attendee", "e@echo.example", "--start", "2026-04-06 10:00",
        "--length", "1h", "--every", "mon-fri", "--count", "10")
    monkeypatch.setattr(CalDAVBackend, "create", real)
    left = sum(b["state"] == "pending" for b in cli.json("agenda")["blocks"])
    assert left
    code, _, err = cli("book", "--client", "Foxtrot", "--site", "F", "--attendee", "f@fox.example",
                       "--start", "2026-05-04 10:00", "--length", "1h", "--no-send")
    assert code == 0, err
    assert f"finished {left} block(s) an earlier run left pending" in err
    assert f"{left} message(s) queued for the attendees" in err
    assert {b["state"] for b in cli.json("agenda")["blocks"]} == {"booked"}


# Issue 10, points 6 and 7: words for the user, config and names ------------------------------------------

ACME_HQ = "Acme HQ, ul. Prosta 1"


def _with_site_hours(radicale: Account, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Runner:
    cfg = write_config(tmp_path / "config.toml", radicale)
    cfg.write_text(cfg.read_text() + f'[sites."{ACME_HQ}"]\nhours = "Mon-Fri 13:00-17:00"\n')
    return Runner(cfg, capsys)


def test_each_refusal_reason_has_its_own_hint_and_a_filled_why(
    radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = _with_site_hours(radicale, tmp_path, capsys)
    cases = {  # reason: (site, start, words of the hint, why)
        "TOO_SOON": ("Elsewhere", "2026-03-19 14:00", "booking_notice", "starts before Fri 2026-03-20 09:00"),
        "OUTSIDE_HOURS": ("Elsewhere", "2026-03-24 07:00", "working_hours", "working hours Tue: 08:00-18:00"),
        "SITE_CLOSED": (ACME_HQ, "2026-03-24 10:00", "[sites] hours", "site open Tue: 13:00-17:00"),
    }
    hints = set()
    for reason, (site, start, words, why) in cases.items():
        code, out, err = cli("book", "--client", "Acme", "--site", site, "--attendee", "a@acme.example",
                             "--start", start, "--length", "1h")
        assert code == 1, err
        (row,) = [line for line in out.splitlines() if "refused" in line]
        assert f"refused: {reason}" in row and row.rstrip().endswith(why)
        assert words in err and "free the time" not in err and "--skip-conflicts" not in err
        hints.add(err.split("(", 1)[1])
    assert len(hints) == 3


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_moving_a_started_block_says_when_it_started_in_the_organizer_s_zone(cli: Runner, account: Account) -> None:
    cli.json("book", "--client", "Acme", "--site", "HQ", "--attendee", "a@acme.example",
             "--start", "2026-03-24 12:00", "--length", "1h")
    code, _, err = cli("move", "acme-1", "--to", "2026-03-26 12:00", now="2026-03-24T12:10")
    assert code == 2 and "has started already (Tue 2026-03-24 12:00)" in err and "+0" not in err
    code, _, err = cli("move", "acme-1", "--to", "2026-03-24 19:00")
    assert code == 1 and "cannot move to Tue 2026-03-24 19:00–20:00: OUTSIDE_HOURS" in err
    assert "working hours Tue: 08:00-18:00" in err and "[policy] working_hours" in err


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_engagement_keys_transliterate_and_commands_accept_the_client_name(cli: Runner, account: Account) -> None:
    doc = cli.json("book", "--client", "Długa Sp. z o.o.", "--site", "ul. Łąkowa 3, Kraków",
                   "--attendee", "x@dluga.example", "--start", "2026-04-01 10:00", "--length", "1h")
    assert doc["engagement"] == "dluga-sp-z-o-o" and doc["booked"][0]["id"] == "dluga-sp-z-o-o-1"
    cli.json("book", "--client", "Initech", "--site", "Initech Tower", "--attendee", "p@initech.example",
             "--start", "2026-04-02 10:00", "--length", "1h")
    assert cli.json("status", "Initech")["engagement"] == "initech"
    assert cli.json("status", "Długa Sp. z o.o.")["engagement"] == "dluga-sp-z-o-o"
    assert cli.json("why", "2026-04-08", "--engagement", "Initech", "--length", "1h")["candidates"]
    assert len(cli.json("export", "--engagement", "Initech")["files"]) == 1
    code, _, err = cli("status", "Umbrella")
    assert code == 2 and "no engagement 'Umbrella'" in err
    cli.json("book", "--client", "Initech", "--site", "Initech Lab", "--attendee", "p@initech.example",
             "--start", "2026-04-03 10:00", "--length", "1h")
    assert cli.json("status", "initech")["site"] == "Initech Tower"  # a key is looked up first
    code, _, err = cli("status", "Initech")  # the name: two engagements now
    assert code == 2 and "'Initech' names 2 engagements (initech, initech-initech-lab)" in err


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_keys_of_an_existing_store_keep_working(cli: Runner, account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    import re
    import unicodedata

    def old_slug(text: str) -> str:  # what the release before issue 10 made of "Długa"
        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:32] or "client"

    args = ("book", "--client", "Długa", "--site", "Łąkowa 3", "--attendee", "x@dluga.example",
            "--start", "2026-04-01 10:00", "--length", "1h", "--every", "wed")
    with monkeypatch.context() as m:
        m.setattr("blocktime.usecases.engagements.slug", old_slug)
        first = cli.json(*args, "--count", "2")
    assert first["engagement"] == "duga"
    again = cli.json(*args, "--count", "3")
    assert again["engagement"] == "duga"
    assert [b["created"] for b in again["booked"]] == [False, False, True]
    assert [b["uid"] for b in again["booked"][:2]] == [b["uid"] for b in first["booked"]]
    assert cli.json("status", "duga")["engagement"] == "duga"
    assert cli.json("status", "Długa")["engagement"] == "duga"


def test_a_site_typed_a_little_differently_is_the_same_site(
    radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = _with_site_hours(radicale, tmp_path, capsys)
    base = ("book", "--client", "Acme", "--attendee", "a@acme.example", "--length", "1h")
    assert cli.json(*base, "--site", ACME_HQ, "--start", "2026-03-24 13:00")["engagement"] == "acme"
    code, out, err = cli(*base, "--site", "acme hq ul prośta 1", "--start", "2026-03-26 10:00", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["engagement"] == "acme"
    assert [r["reasons"] for r in doc["refused"]] == [["SITE_CLOSED"]]  # the site's opening hours hold
    assert err.count(f"is taken as '{ACME_HQ}'") == 1
    ok = cli.json(*base, "--site", "ACME HQ  ul. Prosta 1", "--start", "2026-03-26 13:00", "--count", "2",
                  "--every", "thu,fri")
    assert ok["engagement"] == "acme" and {b["site"] for b in ok["booked"]} == {ACME_HQ}
    assert [b["id"] for b in cli.json("agenda")["blocks"]] == ["acme-1", "acme-2", "acme-3"]
    new = cli.json(*base, "--site", "Acme Plant", "--start", "2026-04-01 14:00")
    assert new["engagement"] == "acme-acme-plant"  # another site is another engagement, as before


def test_an_invitation_the_organizer_declined_frees_its_slot(cli: Runner, account: Account, data_dir: Path) -> None:
    """Google keeps a declined invitation in the calendar with the organizer's own ATTENDEE at
    PARTSTAT=DECLINED: that time is free; a TENTATIVE one stays busy (issue 24, point 6)."""
    load_samples(account, {"Invitations": ["google_invitations.ics"]})
    book = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example", "--length", "1h")
    declined = cli.json(*book, "--start", "2026-04-02 12:00")  # Vendor pitch, declined
    assert [b["start"] for b in declined["booked"]] == ["2026-04-02T12:00:00+02:00"]
    code, out, _ = cli(*book, "--start", "2026-03-31 12:00", "--json")  # Board sync, tentative
    (refused,) = json.loads(out)["refused"]
    assert code == 1 and refused["reasons"] == ["BUSY"] and "Board sync (maybe)" in refused["details"][0]
    one = cli.json(*book, "--start", "2026-04-08 12:00")  # the one Steering group the organizer declined
    assert len(one["booked"]) == 1
    code, _out, _err = cli(*book, "--start", "2026-04-15 12:00", "--json")  # an accepted one
    assert code == 1


def test_agenda_fits_a_hundred_columns(cli: Runner, account: Account) -> None:
    """Issue 26, point 11: the table fits 100 columns, the site shortened there and whole in --json."""
    site = "Acme Polska Sp. z o.o., Centrum Szkoleniowe, ul. Prosta 51, 00-838 Warszawa, sala 4.12"
    people = ("it-department@acme-polska.example", "office-manager@acme-polska.example", "ceo@acme-polska.example")
    cli.json("book", "--client", "Acme Polska", "--site", site,
             *[a for p in people for a in ("--attendee", p)],
             "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue,thu", "--count", "3")
    code, out, _ = cli("agenda")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 100, out
    assert "Acme Polska" in out and "…" in out
    assert "3 no answer" in out
    assert {b["site"] for b in cli.json("agenda")["blocks"]} == {site}
