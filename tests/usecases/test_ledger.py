"""One ledger of minutes per engagement (issue 10, points 1-3): a second cut short replaces the open
offer, deadlines that hold, declined options stay declined. Real Radicale, real SQLite."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from blocktime.notes import moment
from tests.conftest import Runner
from tests.helpers import objects
from tests.servers import Account

BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue,thu", "--count", "4")
DAILY = (*BOOK[:-4], "--every", "tue,wed", "--count", "4")  # acme-2 the day after acme-1
pytestmark = pytest.mark.parametrize("account", ["radicale"], indirect=True)


def _hold_uids(account: Account) -> set[str]:
    return {line.split(":", 1)[1].strip() for text in objects(account) for line in text.splitlines()
            if line.startswith("UID:hold-")}


def _ledger(cli: Runner, key: str = "acme", now: str = "2026-03-26T13:00") -> int:
    return int(cli.json("status", key, now=now)["remaining_minutes"])


def test_a_second_cut_short_replaces_the_open_offer(cli: Runner, account: Account) -> None:
    cli.json(*DAILY)
    first = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")["offer"]
    assert first["minutes"] == 25
    second = cli.json("cut-short", "acme-2", "--ended-at", "12:20", now="2026-03-25T12:30")
    offer = second["offer"]
    assert offer["minutes"] == 65 and second["remaining"] == 65  # the whole remainder, once
    assert _ledger(cli) == 65
    status = cli.json("status", "acme", now="2026-03-25T12:31")
    assert [o["id"] for o in status["open_offers"]] == [offer["id"]]
    assert sum(o["minutes"] for o in status["open_offers"]) <= status["remaining_minutes"]
    # the first offer's holds are gone from the calendar, the new ones are there
    assert _hold_uids(account) == {f"hold-{offer['id']}-{n}@blocktime" for n in (1, 2, 3)}
    # the replaced offer cannot be accepted: exit 1, a clear line naming its successor
    code, _, err = cli("accept", first["id"], "1", now="2026-03-25T12:32")
    assert code == 1 and f"replaced by {offer['id']}" in err
    cli.json("accept", offer["id"], "1", now="2026-03-25T12:33")
    assert _ledger(cli, now="2026-03-25T12:34") == 0
    # the message withdraws the earlier options
    text = Path(second["message"]).read_text(encoding="utf-8")
    assert "withdrawn" in text and "1 hour 5 minutes" in text


def test_remainder_never_negative_when_an_old_offer_is_answered(cli: Runner) -> None:
    cli.json(*DAILY)
    first = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")["offer"]
    cli.json("cut-short", "acme-2", "--ended-at", "12:20", now="2026-03-25T12:30")
    for offer_id in (first["id"], "acme-o2"):
        cli("accept", offer_id, "2", now="2026-03-25T12:40")
    ledger_rows = cli.json("status", "acme", now="2026-03-25T12:41")
    assert ledger_rows["remaining_minutes"] == 0


def test_offer_deadline_is_before_every_option(cli: Runner) -> None:
    cli.json(*BOOK)
    doc = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")
    offer = doc["offer"]
    expires = datetime.fromisoformat(offer["expires"])
    first = min(datetime.fromisoformat(o["start"]) for o in offer["options"])
    assert expires <= first - timedelta(hours=24)  # answer_lead, default 24 h
    assert expires > datetime.fromisoformat("2026-03-24T13:05+01:00")
    # the message states that deadline
    text = Path(doc["message"]).read_text(encoding="utf-8")
    assert f"until {moment(expires, ZoneInfo('Europe/Warsaw'), 'en')}" in text
    # once it has passed, nothing lists the offer as open and it cannot be accepted
    later = (expires + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    listing = cli.json("offers", now=later)
    assert listing["offers"] == [] and listing["lapsed"] == [offer["id"]]
    assert cli.json("status", "acme", now=later)["open_offers"] == []
    code, _, err = cli("accept", offer["id"], "3", now=later)
    assert code == 1 and "expired" in err
    assert cli.json("status", "acme", now=later)["remaining_minutes"] == 25


def test_answer_lead_from_the_config_shortens_the_deadline(tmp_path: object, cli: Runner) -> None:
    with open(cli.config, "a", encoding="utf-8") as f:
        f.write('[policy]\nanswer_lead = "48h"\nmin_notice = "1h"\n')
    cli.json(*BOOK)
    offer = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")["offer"]
    first = min(datetime.fromisoformat(o["start"]) for o in offer["options"])
    # min_notice 1h would allow tomorrow; the client needs time to answer before the 48 h lead
    assert first >= datetime.fromisoformat("2026-03-26T14:05+01:00")
    assert datetime.fromisoformat(offer["expires"]) <= first - timedelta(hours=48)


def test_declined_options_are_not_offered_again(cli: Runner) -> None:
    cli.json(*BOOK)
    first = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")["offer"]
    refused = [(o["start"], o["end"]) for o in first["options"]]
    cli.json("decline", first["id"], now="2026-03-24T13:10")
    again = cli.json("offer", "acme", now="2026-03-24T13:15")["offer"]
    spans = [(o["start"], o["end"]) for o in again["options"]]
    assert len(spans) == 3
    for s, e in spans:
        assert all(not (s < re and rs < e) for rs, re in refused), (spans, refused)
    # the why view names the reason
    day = refused[0][0][:10]
    cands = cli.json("why", day, "--engagement", "acme", now="2026-03-24T13:16")["candidates"]
    assert any("DECLINED" in c["reasons"] for c in cands)
    # --again may offer them once more
    cli.json("decline", again["id"], now="2026-03-24T13:20")
    third = cli.json("offer", "acme", "--again", now="2026-03-24T13:25")["offer"]
    assert {(o["start"], o["end"]) for o in third["options"]} & set(refused)
