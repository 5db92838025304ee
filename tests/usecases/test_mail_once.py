"""One outbox, two senders at once (two machines, or a command beside the daemon): each message once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from blocktime.team.exclusive import sending
from tests.conftest import Runner
from tests.mailserver import MailSink
from tests.servers import Account
from tests.usecases.test_changes import BOOK

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_two_outbox_senders_at_once_send_each_message_once(mailcli: Runner, account: Account, smtp: MailSink,
                                                           data_dir: Path) -> None:
    smtp.down = True
    code, _out, _err = mailcli(*BOOK)
    assert code == 0 and mailcli.json("outbox")["waiting"]
    smtp.down = False
    smtp.delay = 0.2  # each message takes a while: the two senders overlap
    env = dict(os.environ, BLOCKTIME_DATA_DIR=str(data_dir))
    argv = [sys.executable, "-m", "blocktime.cli", "--config", str(mailcli.config), "--now", "2026-03-20T09:00",
            "outbox", "send"]
    procs = [subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert Counter(m.rcpt_tos[0] for m in smtp.messages) == {"it@acme.example": 4, "office@acme.example": 4}
    assert len({m.message["Message-ID"] for m in smtp.messages}) == 8
    assert mailcli.json("outbox")["waiting"] == []


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_sending_is_one_process_at_a_time_per_trainer(engine: str, tmp_path: Path,
                                                      request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url") if engine == "postgresql" else None
    events: list[str] = []
    inside = threading.Event()
    leave = threading.Event()

    def first() -> None:
        with sending(url, tmp_path / "anna", "anna"):
            events.append("first in")
            inside.set()
            leave.wait(30)
            events.append("first out")

    def second() -> None:
        with sending(url, tmp_path / "anna", "anna"):
            events.append("second in")

    a = threading.Thread(target=first)
    a.start()
    assert inside.wait(30)
    b = threading.Thread(target=second)
    b.start()
    with sending(url, tmp_path / "ben", "ben"):  # another trainer's outbox is not held up
        events.append("ben")
    leave.set()
    a.join()
    b.join()
    assert events.index("first out") < events.index("second in")
    assert events.index("ben") < events.index("first out")


def test_one_inbox_reader_per_trainer_across_processes(pg_url: str) -> None:
    from blocktime.team.exclusive import reading

    with reading(pg_url, "anna") as first, reading(pg_url, "anna") as second, reading(pg_url, "ben") as other:
        assert (first, second, other) == (True, False, True)
    with reading(pg_url, "anna") as again:
        assert again
    with reading(None, "anna") as sqlite:  # one machine: the data dir's inbox.lock decides
        assert sqlite
