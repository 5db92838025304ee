"""`blocktime daemon` and `blocktime team status` with a team config (one machine: SQLite claims)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blocktime.cli import main
from blocktime.team.coordination import open_coordinator
from blocktime.team.trainers import load_team
from tests.servers import RadicaleServer
from tests.team.test_team import team_config, trainer_body

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("anna", "ben", "cleo")


@pytest.fixture
def team(radicale_server: RadicaleServer, tmp_path: Path, data_dir: Path) -> Path:
    bodies = {}
    for name in NAMES:
        acc = radicale_server.new_account()
        bodies[name] = trainer_body(name, calendar={"url": acc.url, "username": acc.username,
                                                    "password": acc.password})
    shared = {"organizer": {"timezone": "Europe/Warsaw"}}
    return team_config(tmp_path, shared, **bodies)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_once_passes_every_trainer_and_status_shows_them(team: Path, data_dir: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    code, out, err = run(capsys, "--config", str(team), "daemon", "--once", "--json")
    assert code == 0, err
    assert json.loads(out) == {n: "passed" for n in NAMES}
    code, out, _ = run(capsys, "--config", str(team), "team", "status", "--json")
    since_pass = time.monotonic() - started
    assert code == 0
    doc = json.loads(out)
    assert [t["trainer"] for t in doc["trainers"]] == list(NAMES)
    for t in doc["trainers"]:
        assert t["last_pass"] and t["last_nightly"] and t["passes"] == 1 and t["holder"] is None
        assert (t["mail_waiting"], t["open_offers"], t["conflicts"], t["last_error"]) == (0, 0, 0, None)
        # no lag, unless a new sync slot began between the pass and the status (a loaded machine):
        # then the lag is younger than the pass, never an old slot left undone
        assert t["lag_seconds"] == 0 or t["lag_seconds"] <= since_pass, (t, since_pass)
    assert doc["daemons"] == []  # the --once run has ended
    code, out, _ = run(capsys, "--config", str(team), "team", "status")
    assert code == 0 and "anna" in out and "no daemon is running" in out
    code, out, _ = run(capsys, "--config", str(team), "daemon", "--status", "--json")  # the same, from daemon
    assert code == 0 and [t["trainer"] for t in json.loads(out)["trainers"]] == list(NAMES)
    # --as still runs one trainer's own pass, as before
    code, out, err = run(capsys, "--config", str(team), "--as", "ben", "daemon", "--once", "--json")
    assert code == 0, err


def test_bad_daemon_options_are_one_line(team: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--config", str(team), "daemon", "--workers", "0")
    assert code == 2 and err.count("\n") <= 2 and "--workers" in err
    code, _, err = run(capsys, "--config", str(team), "daemon", "--interval", "-1")
    assert code == 2 and "--interval" in err


def test_two_team_daemons_on_one_machine_take_turns(team: Path, data_dir: Path) -> None:
    env = dict(os.environ, BLOCKTIME_DATA_DIR=str(data_dir))
    argv = [sys.executable, "-m", "blocktime.cli", "--config", str(team), "daemon", "--interval", "2", "--workers", "2"]
    procs = [subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for _ in range(2)]
    team_ = load_team(str(team))  # SQLite claims, or PostgreSQL's on the suite's PostgreSQL run
    coord = open_coordinator(team_.store_url, team_.base_dir)
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            done = [p.trainer for p in coord.passes() if p.ended is not None]
            if all(done.count(n) >= 3 for n in NAMES):
                break
            assert all(p.poll() is None for p in procs)
            time.sleep(0.2)
        else:
            raise AssertionError("three passes of every trainer did not happen within a minute")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(60) for p in procs]
        errs = [p.stderr.read().decode() if p.stderr else "" for p in procs]
    assert codes == [0, 0], errs
    assert all("Traceback" not in e for e in errs), errs
    passes = coord.passes()
    coord.close()
    for name in NAMES:
        runs = sorted((p for p in passes if p.trainer == name), key=lambda p: p.started)
        for one, nxt in itertools.pairwise(runs):
            assert one.ended is not None and one.ended <= nxt.started, (name, one, nxt)
    again = open_coordinator(team_.store_url, team_.base_dir)
    assert len({d.id for d in again.daemons()}) == 2
    again.close()
