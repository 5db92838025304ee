"""The advance confirmation: when it is due, once per block and SEQUENCE, and what it says."""

from __future__ import annotations

import doctest
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import blocktime.usecases.confirmations
from blocktime.config.loading import from_mapping
from blocktime.config.schema import Lead
from blocktime.errors import BadInput
from blocktime.usecases.confirmations import due
from tests.conftest import Runner, smtp_section, write_config
from tests.mailserver import MailSink
from tests.servers import Account
from tests.usecases.test_changes import BOOK, PEOPLE

WAW = ZoneInfo("Europe/Warsaw")
WEEKDAYS = frozenset(range(5))


def test_doctests() -> None:
    assert doctest.testmod(blocktime.usecases.confirmations).failed == 0


@pytest.mark.parametrize(("start", "lead", "expected"), [
    (datetime(2026, 3, 26, 12, tzinfo=WAW), Lead(2), datetime(2026, 3, 24, 12, tzinfo=WAW)),  # Thu -> Tue
    (datetime(2026, 3, 24, 12, tzinfo=WAW), Lead(2), datetime(2026, 3, 20, 12, tzinfo=WAW)),  # Tue -> Fri
    (datetime(2026, 3, 30, 9, tzinfo=WAW), Lead(1), datetime(2026, 3, 27, 9, tzinfo=WAW)),  # over the DST weekend
    (datetime(2026, 3, 30, 9, tzinfo=WAW), Lead(0, timedelta(hours=48)),
     datetime(2026, 3, 28, 8, tzinfo=WAW)),  # 48 elapsed hours across the clock change
])
def test_due(start: datetime, lead: Lead, expected: datetime) -> None:
    assert due(start, lead, WEEKDAYS, WAW) == expected


def test_config_key() -> None:
    assert from_mapping({}).confirm_before == Lead(2)
    assert from_mapping({"messages": {"confirm_before": "1 working day"}}).confirm_before == Lead(1)
    assert from_mapping({"messages": {"confirm_before": "36h"}}).confirm_before == Lead(0, timedelta(hours=36))
    with pytest.raises(BadInput, match="confirm_before"):
        from_mapping({"messages": {"confirm_before": "soon"}})


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_once_per_block_and_sequence(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    mailcli.json(*BOOK)  # now: Fri 2026-03-20 09:00; acme-1 is Tue 24 12:00, acme-2 Thu 26 12:00
    smtp.reset()
    assert mailcli.json("confirmations", now="2026-03-20T11:59")["prepared"] == []
    doc = mailcli.json("confirmations", now="2026-03-20T12:00")
    assert [p["block"] for p in doc["prepared"]] == ["acme-1"] and sorted(doc["prepared"][0]["to"]) == sorted(PEOPLE)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(PEOPLE)
    body = smtp.messages[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Just confirming our session on Tuesday, March 24, 2026, 12:00–13:00 at Acme HQ" in body
    assert "free of other commitments" in body and "13:00" in body
    # never twice: the daemon may run it every hour
    assert mailcli.json("confirmations", now="2026-03-21T12:00")["prepared"] == []
    assert len(smtp.messages) == 2
    # Tue 24 12:00: acme-2 is due; a started block gets none
    assert [p["block"] for p in mailcli.json("confirmations", now="2026-03-24T12:30")["prepared"]] == ["acme-2"]
    # a moved block is confirmed again for its new time (new SEQUENCE)
    mailcli.json("move", "acme-2", "--to", "15:00", now="2026-03-24T12:40")
    assert mailcli.json("confirmations", now="2026-03-24T13:00")["prepared"] == []
    again = mailcli.json("confirmations", now="2026-03-24T15:00")["prepared"]
    assert [(p["block"], p["sequence"]) for p in again] == [("acme-2", 1)]


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_fresh_invitation_needs_no_confirmation(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    mailcli.json("book", "--client", "Beta", "--site", "B", "--attendee", "x@beta.example",
                 "--start", "2026-03-23 10:00", "--length", "1h")  # Monday, booked Friday 09:00
    doc = mailcli.json("confirmations")
    assert doc["prepared"] == [] and doc["skipped"][0]["block"] == "beta-1"
    assert "after the due time" in doc["skipped"][0]["why"]


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_no_send_and_a_custom_lead(account: Account, smtp: MailSink, tmp_path: Path, data_dir: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path / "c.toml", account, smtp=smtp_section(smtp), messages={"confirm_before": "3d"})
    cli = Runner(cfg, capsys)
    cli.json(*BOOK, "--no-send")
    doc = cli.json("confirmations", "--no-send", now="2026-03-21T12:00")
    assert [p["block"] for p in doc["prepared"]] == ["acme-1"] and doc["mail"]["waiting"] == 10
    assert smtp.messages == []
    code, out, _ = cli("confirmations", now="2026-03-21T12:00")
    assert code == 0 and "no confirmation is due" in out
