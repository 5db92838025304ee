"""Booking end to end against real servers (Radicale and Xandikos)."""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest

from tests.conftest import Runner
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
                   "--start", "2026-04-01T10:00", "--length", "90", "--every", "wed", "--count", "2")
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
