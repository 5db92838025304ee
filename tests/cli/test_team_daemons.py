"""Issue 16, point 5: two daemon processes, one PostgreSQL, 20 trainers on Radicale.

Every trainer passes once per interval and never twice at once (from the pass log in
blocktime_team.passes); one daemon is SIGKILLed in the middle of a pass and the other finishes
its trainers; every invitation reaches the SMTP sink exactly once.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from blocktime.cli import main
from blocktime.config.schema import SCHEMA
from blocktime.core.spread import sync_slot
from blocktime.team.claims import PassRow
from blocktime.team.pgclaims import PgCoordinator
from blocktime.team.trainers import load_team
from blocktime.views.team import status_text, team_status
from tests.conftest import smtp_section
from tests.mailserver import MailSink
from tests.proxy import FaultProxy
from tests.servers import RadicaleServer
from tests.team.test_team import toml

ROOT = Path(__file__).resolve().parents[2]
TRAINERS = 20
EVERY = timedelta(seconds=8)
STORE_IN_CONFIG = "store" in SCHEMA  # [store] url (the trainers' stores on PostgreSQL too)


def _book(config: Path, name: str, now: datetime, attendee: str) -> None:
    day = now + timedelta(days=7)
    day += timedelta(days=(1 - day.weekday()) % 7)  # a Tuesday, within working hours
    start = day.strftime("%Y-%m-%d 12:00")
    code = main(["--config", str(config), "--as", name, "--now", now.strftime("%Y-%m-%dT%H:%M"), "book",
                 "--client", "Acme", "--site", "Acme HQ", "--attendee", attendee, "--start", start, "--length", "1h",
                 "--count", "1", "--json"])
    assert code == 0


def team_files(root: Path, server: RadicaleServer, proxy: FaultProxy, sink: MailSink, names: list[str],
               pg_url: str) -> Path:
    """config.toml with [team] (and [store] url where the config reads it), trainers/<name>.toml."""
    shared: dict[str, dict[str, Any]] = {
        "team": {"data_dir": str(root / "base")}, "organizer": {"timezone": "Europe/Warsaw"},
        "smtp": smtp_section(sink)}
    if STORE_IN_CONFIG:
        shared["store"] = {"url": pg_url}
    main_file = toml(root / "config.toml", shared)
    for name in names:
        acc = server.new_account()
        toml(root / "trainers" / f"{name}.toml", {
            "organizer": {"name": name.title(), "email": f"{name}@school.example"},
            "calendar": {"url": proxy.url(acc.url), "username": acc.username, "password": acc.password}})
    return main_file


def _daemon(config: Path, pg_url: str, log: Path) -> subprocess.Popen[bytes]:
    """`blocktime daemon` on the team config; before the config reads [store] url, the same loop
    started by tests/teamproc.py with the claims on `pg_url`."""
    env = dict(os.environ)
    env.pop("BLOCKTIME_DATA_DIR", None)
    seconds = str(EVERY.total_seconds())
    argv = ([sys.executable, "-m", "blocktime.cli", "--config", str(config), "daemon", "--interval", seconds,
             "--workers", "3"] if STORE_IN_CONFIG else
            [sys.executable, "-m", "tests.teamproc", str(config), pg_url, seconds, "3"])
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))


def _wait(what: str, check: object, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_two_daemons_share_twenty_trainers(radicale_server: RadicaleServer, smtp: MailSink, pg_url: str,
                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           request: pytest.FixtureRequest) -> None:
    now = datetime.now(UTC)
    names = [f"t{i:02d}" for i in range(TRAINERS)]
    proxy = FaultProxy(radicale_server.port, lifetime=600)  # slows some passes down, so a kill meets one
    request.addfinalizer(proxy.stop)
    config = team_files(tmp_path, radicale_server, proxy, smtp, names, pg_url)
    monkeypatch.delenv("BLOCKTIME_DATA_DIR", raising=False)
    if STORE_IN_CONFIG:  # BLOCKTIME_STORE_URL wins over [store] url: this database, on either suite run
        monkeypatch.setenv("BLOCKTIME_STORE_URL", pg_url)
    smtp.down = True  # the bookings' mail waits in each trainer's outbox: the daemons send it
    for name in names:
        _book(config, name, now, f"client-{name}@acme.example")
    smtp.down = False
    assert smtp.messages == []
    coord = PgCoordinator(pg_url)
    a = _daemon(config, pg_url, tmp_path / "a.log")
    b = _daemon(config, pg_url, tmp_path / "b.log")
    try:
        def done_once() -> bool:
            ended = {p.trainer for p in coord.passes() if p.ended is not None}
            return ended == set(names)
        _wait("a first pass of every trainer", done_once, 120)
        ids = {d.pid: d.id for d in coord.daemons()}
        assert set(ids) == {a.pid, b.pid}
        # SIGKILL daemon a in the middle of one of its passes (the next REPORTs take a second each)
        proxy.delay(1.0, times=10, method="REPORT")
        _wait("daemon a in the middle of a pass",
              lambda: any(p.daemon == ids[a.pid] and p.ended is None for p in coord.passes()), 60)
        os.kill(a.pid, signal.SIGKILL)
        killed_at = datetime.now(UTC)
        a.wait()
        cut = [p.trainer for p in coord.passes() if p.daemon == ids[a.pid] and p.ended is None]
        assert cut  # killed mid-pass

        # daemon b finishes every trainer: a completed pass started after the kill, for all 20
        def all_after_kill() -> bool:
            late = {p.trainer for p in coord.passes()
                    if p.daemon == ids[b.pid] and p.ended is not None and p.started >= killed_at}
            return late == set(names)
        _wait("daemon b to pass every trainer after the kill", all_after_kill, 4 * EVERY.total_seconds())
        # the trainers the kill cut short were still due: b took them over within one interval
        for name in cut:
            retaken = min(p.started for p in coord.passes(name) if p.daemon == ids[b.pid] and p.started >= killed_at)
            assert retaken - killed_at < EVERY, (name, retaken - killed_at)
        # ... and one more full interval, to see the rhythm of one daemon alone
        time.sleep(EVERY.total_seconds())
        team = load_team(str(config))
        doc = team_status(list(team.trainers.items()), base_dir=team.base_dir, store_url=pg_url)
        assert [t["trainer"] for t in doc["trainers"]] == names
        for t in doc["trainers"]:
            assert t["last_pass"] and t["last_nightly"] and t["last_error"] is None
            assert (t["mail_waiting"], t["open_offers"], t["conflicts"]) == (0, 0, 0), t
            assert t["holder"] is None or t["holder"]["daemon"] == ids[b.pid]
        assert {d["pid"]: d["alive"] for d in doc["daemons"]} == {a.pid: False, b.pid: True}
        assert "daemon" in status_text(doc, UTC)
        b.send_signal(signal.SIGTERM)
        assert b.wait(60) == 0
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    passes = coord.passes()
    coord.close()
    log_b = (tmp_path / "b.log").read_text()
    assert "Traceback" not in log_b and "pass failed" not in log_b, log_b[-3000:]

    # never twice at once: per trainer, each pass ends before the next starts (a killed pass "ends"
    # when its daemon died)
    by_trainer: dict[str, list[PassRow]] = {}
    for p in passes:
        by_trainer.setdefault(p.trainer, []).append(p)
    for name in names:
        runs = sorted(by_trainer[name], key=lambda p: p.started)
        for one, nxt in itertools.pairwise(runs):
            assert (one.ended or killed_at) <= nxt.started, (name, one, nxt)
        # once per interval: no two completed passes in the same slot of this trainer
        slots = Counter(sync_slot(name, p.started, EVERY) for p in runs if p.ended is not None)
        assert max(slots.values()) == 1, (name, slots)
        # and no slot skipped while a daemon was running, except where the kill cut a pass
        done = sorted(slots)
        gaps = [(y - x) // EVERY for x, y in itertools.pairwise(done)]
        assert all(g == 1 for g in gaps) or name in cut, (name, gaps)
        assert all(g <= 2 for g in gaps), (name, gaps)
        # no pass failed (the SIGTERM at the end may stop one half-way: it says so, and leaves the trainer due)
        assert not [p.error for p in runs if p.ended is not None and p.error and p.error != "stopped half-way"], name
    # both daemons worked before the kill
    assert {p.daemon for p in passes} == set(ids.values())

    # no mail sent twice: each trainer's one invitation, once
    rcpts = Counter(m.rcpt_tos[0] for m in smtp.messages)
    assert rcpts == Counter({f"client-{n}@acme.example": 1 for n in names})
    assert len({m.message["Message-ID"] for m in smtp.messages}) == TRAINERS
