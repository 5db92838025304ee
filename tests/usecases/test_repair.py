"""`blocktime repair`: a deleted or corrupted store is rebuilt from the calendar, losing nothing it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Runner
from tests.servers import Account
from tests.stores import StoreDB, lose_store, sqlite_only

BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue,thu", "--count", "4")
AFTER = "2026-03-24T13:05"


def _state(cli: Runner) -> tuple[list[tuple[str, str, str, str]], int, list[str]]:
    status = cli.json("status", "acme", now=AFTER)
    blocks = [(b["id"], b["uid"], b["start"], b["state"]) for b in status["blocks"]]
    return blocks, status["remaining_minutes"], [o["id"] for o in cli.json("offers", now=AFTER)["offers"]]


@pytest.mark.parametrize("damage", ["delete", pytest.param("corrupt", marks=sqlite_only)])
def test_repair_rebuilds_blocks_cuts_and_holds(cli: Runner, account: Account, data_dir: Path, damage: str) -> None:
    cli.json(*BOOK)
    cut = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now=AFTER)
    before = _state(cli)
    db = data_dir / "blocktime.sqlite3"
    if damage == "delete":
        lose_store(data_dir)
    else:
        db.write_bytes(b"\x00garbage" * 512)
        for extra in data_dir.glob("blocktime.sqlite3-*"):
            extra.unlink()
        code, _, err = cli("agenda", now=AFTER)
        assert code == 1 and "damaged" in err and "repair" in err
    doc = cli.json("repair", now=AFTER)
    assert doc["blocks"] == 4 and doc["holds"] == 3 and doc["offers"] == 1
    after = _state(cli)
    assert after == before
    # the rebuilt store works: accepting the rebuilt offer books the make-up block
    made = cli.json("accept", cut["offer"]["id"], "1", now=AFTER)["block"]
    assert made["makeup_for"] == "acme-1"
    assert cli.json("status", "acme", now=AFTER)["remaining_minutes"] == 0


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_repair_queues_the_waiting_mail_again_and_it_goes_out_once(mailcli: Runner, account: Account, data_dir: Path,
                                                                    smtp: Any) -> None:
    """Invites and the offer wait in the outbox (--no-send) when the store is lost: repair queues
    each again under its own key, `outbox send` delivers every one once, and nothing else."""
    mailcli.json(*BOOK[:-1], "2", "--attendee", "office@acme.example", "--no-send")
    mailcli.json("cut-short", "acme-1", "--ended-at", "12:35", "--no-send", now=AFTER)
    waiting = sorted(p.name for p in (data_dir / "outbox" / "mail").glob("*.eml"))
    assert len(waiting) == 2 + 2  # acme-2's invite and the offer, to each attendee (acme-1's invite was
    # withdrawn when it was cut short before anything went out: issue 10)
    lose_store(data_dir)
    doc = mailcli.json("repair", now=AFTER)
    assert doc["mail"] == len(waiting) and doc["holds"] == 3
    assert mailcli.json("repair", now=AFTER)["mail"] == len(waiting)  # a second repair: the same, once
    code, _, err = mailcli("outbox", "send", now=AFTER)
    assert code == 0, err
    got = sorted((m.rcpt_tos[0], m.message["Subject"]) for m in smtp.messages)
    assert len(got) == len(set(got)) == len(waiting)
    assert {s.split(":")[0] for _, s in got} >= {"Invitation"}
    mailcli("outbox", "send", now=AFTER)
    assert len(smtp.messages) == len(waiting)


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_repair_of_a_readable_store_keeps_the_sent_log(cli: Runner, account: Account, data_dir: Path) -> None:

    cli.json(*BOOK)
    db = StoreDB(data_dir)
    with db:
        db.execute("INSERT INTO mail_sent(key, message_id, recipient, at) VALUES ('k1', '<m1@x>', 'a@x', 'now')")
    db.close()
    cli.json("repair", now=AFTER)
    db = StoreDB(data_dir)
    assert db.execute("SELECT message_id FROM mail_sent WHERE key='k1'").fetchone() == ("<m1@x>",)


def test_repair_keeps_a_no_show_and_the_engagement_terms(cli: Runner, account: Account, data_dir: Path) -> None:
    """Issue 25: repair rebuilt a no-show as cut short and dropped the contracted hours and the
    closing of an engagement (only the store knows those: they are read from the old one)."""
    cli.json(*BOOK)
    cli.json("engagement", "set", "acme", "--contract", "6h", now=AFTER)
    cli.json("no-show", "acme-1", "--no-offer", now=AFTER)
    cli.json("engagement", "close", "acme", now=AFTER)
    before = cli.json("engagements", "--all", now=AFTER)["engagements"]
    doc = cli.json("repair", now=AFTER)
    assert doc["blocks"] == 4
    after = cli.json("engagements", "--all", now=AFTER)["engagements"]
    assert after == before
    (acme,) = after
    assert acme["state"] == "closed" and acme["contract_minutes"] == 360 and acme["lost_minutes"] == 60
    assert cli.json("status", "acme", now=AFTER)["blocks"][0]["state"] == "no_show"
