"""Secrets are read where they are used (issue 26, point 3): a command that only reads the store
needs no password, and a missing password stops only the connection that needs it. Real Radicale,
SMTP (aiosmtpd with a login) and IMAP (pymap) servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Runner, smtp_section, write_config
from tests.imapserver import ImapServer
from tests.mailserver import MailSink, login_sink
from tests.servers import Account

SMTP_PW = "smtp-Secret-9"
BOOK = ["book", "--client", "Acme", "--site", "HQ", "--attendee", "a@acme.example", "--length", "1h"]
VARIABLES = {"BT_CAL_PW", "BT_SMTP_PW", "BT_IMAP_PW"}


@pytest.fixture
def smtp_login() -> Iterator[MailSink]:
    with login_sink("anna", SMTP_PW) as sink:
        yield sink


@pytest.fixture
def cli(radicale: Account, smtp_login: MailSink, imap_server: ImapServer, tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    """Every password of the config in an environment variable; all of them set."""
    inbox = imap_server.section(imap_server.new_folder(), password_env="BT_IMAP_PW")
    del inbox["password"]
    config = write_config(tmp_path / "config.toml", None,
                          calendar={"url": radicale.url, "username": radicale.username, "password_env": "BT_CAL_PW"},
                          smtp=smtp_section(smtp_login, username="anna", password_env="BT_SMTP_PW"), inbox=inbox)
    monkeypatch.setenv("BT_CAL_PW", radicale.password or "")
    monkeypatch.setenv("BT_SMTP_PW", SMTP_PW)
    monkeypatch.setenv("BT_IMAP_PW", imap_server.password)
    return Runner(config, capsys)


def unset(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    for name in names:
        monkeypatch.delenv(name)


def test_commands_that_read_the_store_need_no_password(cli: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: `agenda` said "[calendar] password_env: environment variable … is not set" and
    `status` the same for [inbox], though neither connects anywhere."""
    code, _, err = cli(*BOOK, "--start", "2026-04-01 10:00", "--count", "2")
    assert code == 0, err
    unset(monkeypatch, *VARIABLES)
    for args in (["agenda"], ["week", "2026-04-01"], ["status", "acme"], ["offers"], ["engagements"], ["report"],
                 ["history", "acme"], ["why", "--engagement", "acme", "2026-04-02"]):
        code, out, err = cli(*args)
        assert code == 0 and out, (args, err)
        assert "error" not in err, (args, err)
        assert not {"BT_SMTP_PW", "BT_IMAP_PW"} & set(err.split()), (args, err)
    code, out, err = cli("agenda")
    assert "acme-2" in out and err == ""


def test_why_without_the_calendar_still_counts_blocktime_s_blocks(cli: Runner,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli(*BOOK, "--start", "2026-04-01 10:00")[0] == 0
    assert cli("cut-short", "acme-1", "--ended-at", "10:30", now="2026-04-01T10:35")[0] == 0
    unset(monkeypatch, "BT_CAL_PW")
    code, out, err = cli("why", "--engagement", "acme", "2026-04-08", "--length", "30m", now="2026-04-01T11:00")
    assert code == 0, err
    assert "busy time not checked" in err and "BT_CAL_PW is not set" in err
    assert "free" in out


def test_a_missing_password_stops_only_its_own_connection(cli: Runner, smtp_login: MailSink,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`book` writes to the calendar and sends mail; it never reads the inbox."""
    unset(monkeypatch, "BT_IMAP_PW")
    code, out, err = cli(*BOOK, "--start", "2026-04-01 10:00")
    assert code == 0 and "acme-1" in out and "BT_IMAP_PW" not in err, err
    assert smtp_login.to("a@acme.example")
    unset(monkeypatch, "BT_SMTP_PW")  # the block is booked, its mail waits in the outbox with the reason
    code, out, err = cli(*BOOK, "--start", "2026-04-02 10:00")
    assert code == 0 and "acme-2" in out, err
    assert "mail not sent" in err and "BT_SMTP_PW is not set" in err
    code, out, _ = cli("outbox")
    assert "BT_SMTP_PW is not set" in out
    unset(monkeypatch, "BT_CAL_PW")
    code, _, err = cli(*BOOK, "--start", "2026-04-03 10:00")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("blocktime: error: ") and "[calendar] password_env: environment variable BT_CAL_PW" \
        " is not set" in lines[0]
    monkeypatch.setenv("BT_CAL_PW", "anything")
    code, _, err = cli("inbox")
    assert code == 2 and err.count("\n") == 1 and "[inbox] password_env: environment variable BT_IMAP_PW" in err, err
