"""Cut short -> offer (holds + message) -> accept / decline / expire, against real servers."""

from __future__ import annotations

import json
from pathlib import Path

import icalendar
import pytest

from tests.conftest import Runner, write_config
from tests.helpers import objects
from tests.servers import Account

BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue,thu", "--count", "4")
AFTER = "2026-03-24T13:05"


def _events(account: Account) -> list[icalendar.Event]:
    return [icalendar.Calendar.from_ical(t).walk("VEVENT")[0] for t in objects(account)]


def _holds(account: Account) -> list[icalendar.Event]:
    return [e for e in _events(account) if str(e["UID"]).startswith("hold-")]


def test_cut_short_offer_accept(cli: Runner, account: Account, data_dir: Path) -> None:
    cli.json(*BOOK)
    doc = cli.json("cut-short", "acme-1", "--ended-at", "12:35", "--reason", "fire drill", now=AFTER)
    assert doc["block"]["state"] == "cut_short"
    assert doc["block"]["delivered"] == 35 and doc["block"]["remaining"] == 25
    assert doc["block"]["end"] == "2026-03-24T12:35:00+01:00"
    assert doc["block"]["planned_end"] == "2026-03-24T13:00:00+01:00"
    offer = doc["offer"]
    assert offer["minutes"] == 25 and offer["length"] == 30  # rounded up to the 15-minute grid
    assert [o["number"] for o in offer["options"]] == [1, 2, 3]
    days = {o["start"][:10] for o in offer["options"]}
    assert len(days) == 3  # spread over different days
    assert all(o["start"] >= "2026-03-26T13:05" for o in offer["options"])  # 48 h notice
    # the event shows the real end and keeps the planned one
    (cut,) = [e for e in _events(account) if str(e["UID"]) == doc["block"]["uid"]]
    assert "cut short" in str(cut["SUMMARY"])
    assert str(cut["X-BLOCKTIME-PLANNED-END"]) == "20260324T120000Z"
    # holds are on the calendar, tentative and opaque
    holds = _holds(account)
    assert len(holds) == 3
    assert all(str(h["STATUS"]) == "TENTATIVE" and str(h["TRANSP"]) == "OPAQUE" for h in holds)
    assert all(str(h["SUMMARY"]) == "HOLD: Acme make-up" for h in holds)
    message = Path(doc["message"]).read_text()
    assert "25 minutes" in message and "mailto:anna@example.com?subject=" in message
    assert message.count("mailto:") == 3
    assert cli.json("status", "acme", now=AFTER)["remaining_minutes"] == 25
    # accept option 2: a make-up block, the other holds gone
    made = cli.json("accept", offer["id"], "2", now=AFTER)["block"]
    assert made["start"] == offer["options"][1]["start"]
    assert made["makeup_for"] == "acme-1" and made["id"] == "acme-5"
    assert _holds(account) == []
    assert len(_events(account)) == 5
    status = cli.json("status", "acme", now=AFTER)
    assert status["remaining_minutes"] == 0
    assert status["makeup_blocks"] == ["acme-5"]
    assert status["open_offers"] == []
    assert any(p.name.startswith(made["uid"].split("@")[0]) for p in (data_dir / "outbox").glob("*-request.ics"))
    # accepting again is a clean error, the block stays single
    code, _, err = cli("accept", offer["id"], "1", now=AFTER)
    assert code == 2 and "accepted" in err
    # a make-up block that is itself cut short creates a new remainder and a new offer
    again = cli.json("cut-short", "acme-5", "--delivered", "10m", now=made["end"][:16])
    assert again["block"]["remaining"] == 20 and again["offer"] is not None
    # it was booked (30 min, the grid) for 25 owed minutes and delivered 10: 15 are owed, not 20
    assert cli.json("status", "acme", now=made["end"][:16])["remaining_minutes"] == 15


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_decline_and_expire_release_holds(cli: Runner, account: Account) -> None:
    cli.json(*BOOK)
    first = cli.json("cut-short", "acme-1", "--ended-at", "12:30", now=AFTER)["offer"]
    assert len(_holds(account)) == 3
    assert cli.json("decline", first["id"], now=AFTER)["offer"]["state"] == "declined"
    assert _holds(account) == []
    assert cli.json("status", "acme", now=AFTER)["remaining_minutes"] == 30
    # cut another block; its offer expires after 72 h
    second = cli.json("cut-short", "acme-2", "--ended-at", "12:40", now="2026-03-26T13:00")["offer"]
    assert second["minutes"] == 50  # 30 still open + 20 new
    assert len(_holds(account)) == 3
    assert cli.json("offers", "--expire", now="2026-03-27T09:00")["expired"] == []
    doc = cli.json("offers", "--expire", now="2026-03-29T13:01")
    assert doc["expired"] == [second["id"]] and doc["offers"] == []
    assert _holds(account) == []
    assert cli.json("status", "acme", now="2026-03-29T13:01")["remaining_minutes"] == 50


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_short_remainder_is_carried_over_to_the_next_block(cli: Runner, account: Account) -> None:
    cli.json(*BOOK)
    doc = cli.json("cut-short", "acme-1", "--ended-at", "12:50", now=AFTER)
    assert doc["offer"] is None and doc["carried_to"] == "acme-2"
    assert "next session" in Path(doc["message"]).read_text()
    assert cli.json("status", "acme", now=AFTER)["remaining_minutes"] == 0
    assert _holds(account) == []


def test_no_slot_within_the_horizon(radicale: Account, tmp_path: Path, data_dir: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path / "c.toml", radicale, policy={"horizon": "3d"})
    cli = Runner(cfg, capsys)
    cli.json(*BOOK)
    # an all-day event fills every working hour of the 3-day horizon after the notice
    from tests.helpers import backend

    b = backend(radicale)
    cal = b.ensure_calendar("Private")
    b.create(b.href_for(cal, "away"), "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\n"
             "UID:away\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260326\r\n"
             "DTEND;VALUE=DATE:20260328\r\nSUMMARY:Away\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    code, out, err = cli("cut-short", "acme-1", "--ended-at", "12:30", now=AFTER)
    assert code == 0, err
    assert "no free slot" in out
    assert cli.json("status", "acme", now=AFTER)["remaining_minutes"] == 30
    assert cli.json("offers", now=AFTER)["offers"] == []


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_cut_short_bad_input(cli: Runner, account: Account) -> None:
    cli.json(*BOOK)
    code, _, err = cli("cut-short", "acme-2", "--ended-at", "12:30", now=AFTER)
    assert code == 2 and "has not started" in err
    code, _, err = cli("cut-short", "acme-1", "--ended-at", "13:30", now=AFTER)
    assert code == 2 and "outside block" in err
    code, _, err = cli("cut-short", "acme-9", "--ended-at", "12:30", now=AFTER)
    assert code == 2 and "no block" in err
    code, _, err = cli("cut-short", "acme-1", now=AFTER)
    assert code == 2
    assert cli.json("status", "acme", now=AFTER)["remaining_minutes"] == 0


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_why_explains_each_candidate(cli: Runner, account: Account) -> None:
    cli.json(*BOOK)
    cli.json("cut-short", "acme-1", "--ended-at", "12:30", now=AFTER)
    doc = cli.json("why", "2026-03-26", "--engagement", "acme", now=AFTER)
    by_start = {c["start"][11:16]: c["reasons"] for c in doc["candidates"]}
    assert by_start["08:00"] == ["TOO_SOON"]
    assert "BUSY" in by_start["12:00"]  # acme-2 is there
    assert by_start["17:30"] == []
    code, out, _ = cli("why", "2026-03-26", "--engagement", "acme", now=AFTER)
    assert code == 0 and "TOO_SOON" in out


def test_polish_offer_message(radicale: Account, tmp_path: Path, data_dir: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", radicale), capsys)
    cli.json(*BOOK, "--language", "pl")
    doc = cli.json("cut-short", "acme-1", "--ended-at", "12:38", now=AFTER)
    text = Path(doc["message"]).read_text()
    assert "22 minuty" in text and "Wybieram termin 1: <mailto:" in text
    assert "dziękuję za spotkanie we wtorek, 24 marca 2026." in text  # the weekday as `we` wants it
    assert "Każdy z nich to 30 minut, ponieważ czas spotkań zaokrąglam w górę" in text  # why 30, not 22
    assert json.dumps(doc)  # JSON-serialisable


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_offer_again_for_an_open_remainder(cli: Runner, account: Account) -> None:
    cli.json(*BOOK)
    first = cli.json("cut-short", "acme-1", "--ended-at", "12:30", now=AFTER)["offer"]
    code, _, err = cli("offer", "acme", now=AFTER)
    assert code == 2 and f"offer {first['id']} is still open" in err
    cli.json("decline", first["id"], now=AFTER)
    assert _holds(account) == []
    doc = cli.json("offer", "acme", now="2026-03-25T09:00")
    again = doc["offer"]
    assert again["id"] == "acme-o2" and again["minutes"] == 30 and len(again["options"]) == 3
    assert all(o["start"] >= "2026-03-27T09:00" for o in again["options"])  # 48 h from the new now
    assert len(_holds(account)) == 3
    text = Path(doc["message"]).read_text()
    assert "remaining part of the training (30 minutes)" in text and text.count("mailto:") == 3
    accepted = cli.json("accept", again["id"], "1", now="2026-03-25T09:05")["block"]
    assert accepted["makeup_for"] == "acme-1"
    assert cli.json("status", "acme", now="2026-03-25T09:05")["remaining_minutes"] == 0
    code, _, err = cli("offer", "acme", now="2026-03-25T09:05")
    assert code == 2 and "nothing remains" in err


# Issue 10, point 6: words for the user -----------------------------------------------------------------


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_cut_short_errors_give_times_in_the_organizer_s_zone(cli: Runner, account: Account) -> None:
    cli.json(*BOOK)
    code, _, err = cli("cut-short", "acme-1", "--ended-at", "13:30", now=AFTER)
    assert code == 2 and "+00:00" not in err and "+01:00" not in err
    assert "--ended-at Tue 2026-03-24 13:30 is outside block acme-1" in err
    assert "it runs Tue 2026-03-24 12:00 to Tue 2026-03-24 13:00" in err
    code, _, err = cli("cut-short", "acme-2", "--ended-at", "12:30", now=AFTER)
    assert code == 2 and "it starts Thu 2026-03-26 12:00" in err
    code, _, err = cli("cut-short", "acme-1", "--ended-at", "12:50", now="2026-03-24T12:40")
    assert code == 2 and "--ended-at Tue 2026-03-24 12:50 is still in the future" in err
    cli.json("cut-short", "acme-1", "--ended-at", "12:35", now=AFTER)
    code, _, err = cli("cut-short", "acme-1", "--ended-at", "12:40", now=AFTER)
    assert code == 2 and "already cut short at Tue 2026-03-24 12:35" in err


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_bad_delivered_is_a_delivered_error(cli: Runner, account: Account) -> None:
    cli.json(*BOOK)
    code, _, err = cli("cut-short", "acme-1", "--delivered", "90m", now=AFTER)
    assert code == 2 and "--delivered 90m is not less than block acme-1's 60 min" in err and "--ended-at" not in err
    code, _, err = cli("cut-short", "acme-1", "--delivered", "30m", now="2026-03-24T12:20")
    assert code == 2 and "--delivered 30m" in err and "Tue 2026-03-24 12:30, which is still ahead" in err
    assert "--ended-at" not in err
    assert cli.json("cut-short", "acme-1", "--delivered", "35m", now=AFTER)["block"]["delivered"] == 35


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_the_offer_says_the_remainder_once_and_why_its_options_are_longer(cli: Runner, account: Account) -> None:
    """Issue 26: 65 minutes left, offered as 1 hour 15 minutes on the 15-minute grid, said so once."""
    cli.json(*[("2h" if a == "1h" else a) for a in BOOK])
    doc = cli.json("cut-short", "acme-1", "--ended-at", "12:55", now=AFTER)
    assert doc["offer"]["minutes"] == 65 and doc["offer"]["length"] == 75
    body = Path(doc["message"]).read_text().partition("\n\n")[2]
    assert body.count("1 hour 5 minutes") == 1 and body.count("1 hour 15 minutes") == 1
    assert ("so 1 hour 5 minutes of the training is still to come. To make sure nothing is lost, here are a few"
            " times for it at Acme HQ. Each is 1 hour 15 minutes long: I plan sessions in steps of 15 minutes,"
            " so the time is rounded up.") in body


def test_export_of_a_cut_short_block_matches_the_calendar_copy(cli: Runner, account: Account, tmp_path: Path) -> None:
    cli.json(*BOOK)
    cli.json("move", "acme-1", "--to", "2026-03-24 12:15")  # SEQUENCE 1 on the calendar
    uid = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now=AFTER)["block"]["uid"]
    (copy,) = [e for e in _events(account) if str(e["UID"]) == uid]
    (path,) = cli.json("export", "acme-1", "--out", str(tmp_path / "inv"), now=AFTER)["files"]
    (sent,) = icalendar.Calendar.from_ical(Path(path).read_text()).walk("VEVENT")
    for name in ("X-BLOCKTIME-PLANNED-END", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION",
                 "X-BLOCKTIME-DELIVERED-MINUTES", "X-BLOCKTIME-REMAINING-MINUTES"):
        assert sent.get(name).to_ical() == copy.get(name).to_ical(), name
    assert str(sent["X-BLOCKTIME-PLANNED-END"]) == "20260324T121500Z" and sent["SEQUENCE"] == 1


def test_accept_does_not_call_its_own_block_left_pending(cli: Runner, account: Account) -> None:
    """Issue 26, point 10: the line is for blocks an earlier run left, not the one just booked."""
    cli.json(*BOOK)
    offer = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now=AFTER)["offer"]
    code, out, err = cli("accept", offer["id"], "1", now=AFTER)
    assert code == 0 and "acme-5" in out
    assert "left pending" not in err, err


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_why_beyond_the_horizon_keeps_every_other_reason(cli: Runner, account: Account) -> None:
    """Issue 26, point 11: past the make-up horizon BUSY and TRAVEL still show beside BEYOND_HORIZON."""
    cli.json(*BOOK[:-1], "12")  # the 12th block is on Thu 2026-04-30, beyond 21 days from AFTER
    cli.json("book", "--client", "Beta", "--site", "Beta Office", "--attendee", "b@beta.example",
             "--start", "2026-04-30 09:00", "--length", "1h")
    cli.json("cut-short", "acme-1", "--ended-at", "12:30", now=AFTER)
    doc = cli.json("why", "2026-04-30", "--engagement", "acme", now=AFTER)
    by_start = {c["start"][11:16]: c["reasons"] for c in doc["candidates"]}
    assert {"BUSY", "BEYOND_HORIZON"} <= set(by_start["12:00"])  # acme-12 is there
    assert {"TRAVEL", "BEYOND_HORIZON"} <= set(by_start["10:00"])  # just after Beta, at another site
    assert all(r[-1] == "BEYOND_HORIZON" for r in by_start.values())
