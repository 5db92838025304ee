"""Issue 13, point 2: the long-running daemon waits on IMAP IDLE and books a pick as soon as the
reply arrives (real daemon process, real pymap, real Radicale, real SMTP sink)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.cli.test_daemon import _start, _stop
from tests.conftest import Runner, smtp_section, write_config
from tests.imapserver import ImapServer, letter
from tests.mail.test_inbox import BOOK, CLIENT, _subjects
from tests.mailserver import MailSink
from tests.servers import Account


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_the_daemon_books_a_pick_when_idle_reports_it(account: Account, smtp: MailSink, imap_server: ImapServer,
                                                      tmp_path: Path, data_dir: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    folder = imap_server.new_folder()
    cfg = write_config(tmp_path / "config.toml", account, smtp=smtp_section(smtp),
                       inbox=imap_server.section(folder), daemon={"sync_every": "24h"})
    cli = Runner(cfg, capsys)
    cli.json(*BOOK)
    offer = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")["offer"]
    subject = _subjects(smtp)[2]
    smtp.reset()
    proc = _start(cfg, data_dir, "2026-03-24T14:00")
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the catch-up pass, then the IDLE watch
        line = proc.stderr.readline()
        seen.append(line)
        if "waiting for new mail" in line or not line:
            break
    assert "waiting for new mail" in seen[-1], "".join(seen)
    imap_server.append(folder, letter(CLIENT, f"Re: {subject}", ""))
    deadline = time.monotonic() + 60  # a bound, not a measurement: bench/ measures
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        status = cli.json("status", "acme", now="2026-03-24T14:00")
        if status["makeup_blocks"] and any("Invitation" in str(m["Subject"]) for m in smtp.to(CLIENT)):
            break
        time.sleep(0.2)
    code, err = _stop(proc)
    assert status["makeup_blocks"] == ["acme-5"], err
    assert code == 0
    assert any("Invitation" in str(m["Subject"]) for m in smtp.to(CLIENT))
    assert imap_server.password not in err
    assert offer["id"] in err  # the daemon's log says what it booked
