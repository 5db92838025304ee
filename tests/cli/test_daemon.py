"""The long-running daemon as a real process: catch-up once, one per data dir, SIGTERM, outages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Runner, write_config
from tests.servers import Account, RadicaleServer
from tests.stores import StoreDB, has_store


def _meta(data_dir: Path, key: str) -> str | None:
    db = StoreDB(data_dir)
    try:
        row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    finally:
        db.close()
    return None if row is None else str(row[0])


_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_daemon_left_behind() -> Iterator[None]:
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _start(config: Path, data_dir: Path, now: str) -> subprocess.Popen[str]:
    env = dict(os.environ, BLOCKTIME_DATA_DIR=str(data_dir))
    proc = _spawn(config, now, env)
    _STARTED.append(proc)
    return proc


def _spawn(config: Path, now: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "blocktime.cli", "--config", str(config), "--now", now, "daemon"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_started(proc: subprocess.Popen[str], timeout: float = 30) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if "daemon started" in line:
            return lines
    raise AssertionError("daemon did not start: " + "".join(lines))


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)  # a pass in flight finishes its step first (slow when loaded)
    return proc.returncode, err


def test_catch_up_once_lock_and_sigterm(radicale: Account, tmp_path: Path, data_dir: Path) -> None:
    config = write_config(tmp_path / "c.toml", radicale)
    first = _start(config, data_dir, "2026-03-18T09:00")
    log = "".join(_wait_started(first))
    assert "catching up once" in log  # never ran before
    assert _meta(data_dir, "nightly_runs") == "1"
    # a second daemon for the same data dir is refused
    env = dict(os.environ, BLOCKTIME_DATA_DIR=str(data_dir))
    second = subprocess.run([sys.executable, "-m", "blocktime.cli", "--config", str(config), "daemon"],
                            capture_output=True, text=True, env=env, timeout=60, check=False)
    assert second.returncode == 1 and "another blocktime daemon is running" in second.stderr
    code, err = _stop(first)
    assert code == 0 and "daemon stopped" in err
    # restarted the same morning: the night was not missed, no catch-up
    again = _start(config, data_dir, "2026-03-18T10:00")
    assert "catching up" not in "".join(_wait_started(again))
    assert _stop(again)[0] == 0
    assert _meta(data_dir, "nightly_runs") == "1"
    # off for two nights: exactly one catch-up pass
    later = _start(config, data_dir, "2026-03-20T11:00")
    assert "catching up once" in "".join(_wait_started(later))
    assert _stop(later)[0] == 0
    assert _meta(data_dir, "nightly_runs") == "2"


def test_server_down_during_a_pass_then_back(tmp_path: Path, data_dir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "own-radicale").mkdir()
    server = RadicaleServer(tmp_path / "own-radicale")
    account = server.new_account()
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json("book", "--client", "Acme", "--site", "HQ", "--attendee", "a@acme.example",
             "--start", "2026-03-24 12:00", "--length", "1h", "--count", "2", "--every", "tue")
    assert json.loads(cli("daemon", "--once", "--json")[1])["errors"] == []
    server.stop()
    code, out, err = cli("daemon", "--once", "--json", now="2026-03-21T09:00")
    assert code == 1
    assert "cannot reach the calendar server" in json.dumps(json.loads(out)["errors"])
    assert "Traceback" not in err
    assert len(cli.json("agenda")["blocks"]) == 2  # nothing lost
    back = RadicaleServer(tmp_path / "own-radicale", port=server.port)
    try:
        code, out, err = cli("daemon", "--once", "--json", now="2026-03-21T09:30")
        assert code == 0, err
        assert json.loads(out)["errors"] == []
    finally:
        back.stop()


def test_secrets_never_reach_the_daemon_log(radicale: Account, tmp_path: Path, data_dir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", radicale), capsys)
    cli.json("book", "--client", "Acme", "--site", "HQ", "--attendee", "a@acme.example",
             "--start", "2026-03-24 12:00", "--length", "1h")
    code, out, err = cli("--debug", "daemon", "--once")
    assert code == 0
    assert radicale.password and radicale.password not in out + err
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert radicale.password.encode() not in path.read_bytes(), path


def test_the_real_scheduler_runs_the_sync_job_on_a_controlled_clock(
    radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """BlockingScheduler in a thread, sync every second; the jobs see the injected clock."""
    import threading
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from blocktime.cli import daemon
    from blocktime.config.loading import load

    cli = Runner(write_config(tmp_path / "c.toml", radicale), capsys)
    cli.json("book", "--client", "Acme", "--site", "HQ", "--attendee", "a@acme.example",
             "--start", "2026-03-24 12:00", "--length", "1h")
    ticks = iter(datetime(2026, 3, 21, 9, tzinfo=ZoneInfo("Europe/Warsaw")) + timedelta(minutes=15 * i)
                 for i in range(10_000))
    lock = threading.Lock()

    def clock() -> datetime:
        with lock:
            return next(ticks)

    config = load(str(cli.config))
    worker = threading.Thread(target=daemon.run, args=(config, clock),
                              kwargs={"sync_every": timedelta(seconds=1), "install_signals": False})
    worker.start()
    try:
        deadline = time.monotonic() + 20
        runs: set[str] = set()
        while time.monotonic() < deadline and len(runs) < 3:  # the catch-up, then scheduled syncs
            value = _meta(data_dir, "last_sync") if has_store(data_dir) else None
            if value:
                runs.add(value)
            time.sleep(0.1)
        assert len(runs) >= 3, runs
        assert all(v.startswith("2026-03-21") for v in runs)  # the injected clock, not the wall clock
        assert _meta(data_dir, "nightly_runs") == "1"  # the one catch-up; the syncs are not nightly
    finally:
        assert daemon._RUNTIME is not None
        daemon._RUNTIME.shutdown()
        worker.join(timeout=30)
    assert not worker.is_alive()


def test_nothing_unsent_is_what_deliver_reports_for_an_empty_outbox() -> None:
    from blocktime.usecases.daemon_pass import NOTHING_UNSENT
    from blocktime.usecases.messages import Delivery

    assert Delivery(smtp=True).json() == NOTHING_UNSENT == Delivery(smtp=False).json()


_MODULES = ("import json, sys; from blocktime.cli import main; main(sys.argv[1:]); "
            "print(json.dumps(sorted(sys.modules)))")


def test_a_quiet_pass_imports_no_mail_offer_or_parsing_module(radicale: Account, tmp_path: Path,
                                                              data_dir: Path) -> None:
    """Nothing changed, nothing due: the pass finds that out from the sync and the store alone."""
    config = write_config(tmp_path / "c.toml", radicale)
    env = dict(os.environ, BLOCKTIME_DATA_DIR=str(data_dir))
    runs = [subprocess.run([sys.executable, "-c", _MODULES, "--config", str(config), "--now", now, "daemon", "--once"],
                           capture_output=True, text=True, env=env, timeout=120, check=True)
            for now in ("2026-03-18T09:00", "2026-03-18T09:15")]
    quiet = json.loads(runs[1].stdout.splitlines()[-1])
    assert "0 change(s) acted on" in runs[1].stdout
    for own in ("blocktime.usecases.booking", "blocktime.usecases.messages", "blocktime.usecases.offers",
                "blocktime.mail.imip", "blocktime.usecases.review", "blocktime.usecases.outgoing",
                "blocktime.usecases.absence", "blocktime.ics", "icalendar"):
        assert not [m for m in quiet if m == own or m.startswith(own + ".")], own


def test_a_quiet_pass_with_held_mail_parses_and_composes_nothing(radicale: Account, tmp_path: Path,
                                                                 data_dir: Path) -> None:
    """Blocks booked with --no-send: every pass reviews their held invitations, without icalendar (and
    without the mail composing and sending modules: nothing is composed or sent)."""
    config = write_config(tmp_path / "c.toml", radicale)
    env = dict(os.environ, BLOCKTIME_DATA_DIR=str(data_dir))
    subprocess.run([sys.executable, "-m", "blocktime.cli", "--config", str(config), "--now", "2026-03-18T09:00",
                    "book", "--client", "Held", "--site", "HQ", "--attendee", "a@held.example", "--start",
                    "2026-04-20 10:00", "--length", "1h", "--count", "2", "--every", "mon", "--no-send"],
                   capture_output=True, text=True, env=env, timeout=120, check=True)
    runs = [subprocess.run([sys.executable, "-c", _MODULES, "--config", str(config), "--now", now, "daemon", "--once"],
                           capture_output=True, text=True, env=env, timeout=120, check=True)
            for now in ("2026-03-18T09:05", "2026-03-18T09:15")]
    quiet = json.loads(runs[1].stdout.splitlines()[-1])
    assert "0 change(s) acted on" in runs[1].stdout and "2 waiting (2 held by --no-send)" in runs[1].stdout
    for own in ("blocktime.usecases.offers", "blocktime.usecases.absence", "blocktime.ics", "icalendar",
                "blocktime.mail.imip", "smtplib", "blocktime.usecases.booking"):
        assert not [m for m in quiet if m == own or m.startswith(own + ".")], own
