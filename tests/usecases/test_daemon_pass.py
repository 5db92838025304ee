"""The daemon's own health (issue 26, point 4): `daemon --status` says what the last pass failed at
and since when passes fail; a refused login ends a pass at once, as one line and exit 1, and is
not retried (timeouts and 5xx still are). Real Radicale, pymap and aiosmtpd servers."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from blocktime.errors import CalendarRefused, ServerError
from blocktime.usecases.sync import with_retries
from tests.conftest import Runner, smtp_section, write_config
from tests.imapserver import ImapServer
from tests.mailserver import MailSink
from tests.servers import Account

BOOK = ["book", "--client", "Acme", "--site", "HQ", "--attendee", "a@acme.example", "--length", "1h",
        "--start", "2026-04-01 10:00"]
NOW = "2026-03-20T09:00"


def one_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("blocktime: error: "), err
    return lines[0]


def test_a_refused_calendar_login_ends_the_pass_at_once_and_status_says_since_when(
        radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: 'retrying in 0.5 s', 'retrying in 1.0 s', a summary line and exit 1; then
    `daemon --status` showed only 'last sync … (now)'."""
    good = Runner(write_config(tmp_path / "good.toml", radicale), capsys)
    assert good(*BOOK)[0] == 0
    wrong = Runner(write_config(tmp_path / "wrong.toml", Account(
        "radicale", radicale.url, radicale.username, "not-the-password", radicale.root)), capsys)
    started = time.monotonic()
    code, out, err = wrong("daemon", "--once", now="2026-03-20T10:00")
    took = time.monotonic() - started
    assert code == 1 and out == ""
    assert "refused the username or password" in one_error(err) and "not-the-password" not in err
    assert took < 1.4, took  # the retries alone slept 0.5 s + 1.0 s
    assert wrong("daemon", "--once", now="2026-03-20T10:15")[0] == 1
    code, out, err = wrong("daemon", "--status", now="2026-03-20T10:20")
    assert code == 0, err
    lines = {line[:14].strip(): line[14:] for line in out.splitlines()}
    assert lines["failing since"].startswith("Fri 2026-03-20 10:00") and "2 passes in a row" in lines["failing since"]
    assert "refused the username or password" in lines["error"]
    status = wrong.json("daemon", "--status", now="2026-03-20T10:20")
    assert status["failing_since"].startswith("2026-03-20T10:00") and status["failing_passes"] == 2
    assert any("refused the username or password" in e for e in status["errors"])
    assert good("daemon", "--once", now="2026-03-20T10:30")[0] == 0  # a clean pass ends the run of failures
    code, out, _ = good("daemon", "--status", now="2026-03-20T10:35")
    assert "failing since" not in out and "error" not in out
    assert good.json("daemon", "--status", now="2026-03-20T10:35")["failing_since"] is None


def test_a_refused_imap_login_is_one_line(radicale: Account, imap_server: ImapServer, tmp_path: Path,
                                          data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inbox = imap_server.section(imap_server.new_folder(), password="wrong-" + imap_server.password)
    cli = Runner(write_config(tmp_path / "c.toml", radicale, inbox=inbox), capsys)
    code, out, err = cli("daemon", "--once")
    assert code == 1 and out == ""
    assert "the IMAP server refused the login as" in one_error(err)
    code, out, _ = cli("daemon", "--status")
    assert "failing since" in out and "IMAP server refused the login" in out


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_refused_smtp_login_is_one_line_and_the_mail_waits(
        radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    sink = MailSink(login=("anna", "right-pass-123"))
    try:
        cli = Runner(write_config(tmp_path / "c.toml", radicale,
                                  smtp=smtp_section(sink, username="anna", password="wrong-pass-456")), capsys)
        code, _, err = cli(*BOOK)
        assert code == 0 and "refused the login" in err  # booked; the invitation waits
        code, out, err = cli("daemon", "--once")
        assert code == 1 and out == ""
        assert "the SMTP server" in one_error(err) and "refused the login as anna" in err
        code, out, _ = cli("daemon", "--status")
        assert "failing since" in out and out.count("refused the login") == 1
        assert "1 waiting" in out
    finally:
        sink.stop()


def test_only_what_may_pass_on_its_own_is_retried() -> None:
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise CalendarRefused("the calendar server at http://dav.example/ refused the username or password")

    with pytest.raises(CalendarRefused):
        with_retries("sync", refused, 3, lambda s: None)
    assert len(calls) == 1
    calls.clear()

    def down() -> None:
        calls.append(1)
        raise ServerError("cannot reach the calendar server at http://dav.example/ (ReadTimeout, 4 attempts)")

    with pytest.raises(ServerError):
        with_retries("sync", down, 3, lambda s: None)
    assert len(calls) == 3
