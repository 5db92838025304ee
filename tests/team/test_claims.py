"""Claims: one holder per trainer across processes, lapsing when the holder dies (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from blocktime.config.store_url import redact
from blocktime.core.spread import NIGHTLY_WINDOW, due, nightly_slot, offset, sync_slot
from blocktime.team.claims import Coordinator
from blocktime.team.coordination import open_coordinator
from blocktime.team.fileclaims import SqliteCoordinator
from blocktime.team.pgclaims import PgCoordinator

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)

HOLDER = r"""
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from blocktime.team.coordination import open_coordinator
url, base, name = sys.argv[1] or None, Path(sys.argv[2]), sys.argv[3]
coord = open_coordinator(url, base)
coord.register([name], datetime.now(UTC))
claim = coord.claim(name)
assert claim is not None
claim.begin("sync", datetime.now(UTC))
print("held", flush=True)
time.sleep(600)
"""


# spreading (pure) ---------------------------------------------------------------------------------

def test_slots_cover_the_interval_once_and_differ_between_trainers() -> None:
    every = timedelta(minutes=15)
    names = [f"trainer{i:03d}" for i in range(200)]
    offsets = {offset(n, every) for n in names}
    assert len(offsets) > 190  # 200 trainers do not start in the same second
    assert all(timedelta(0) <= o < every for o in offsets)
    for name in names[:20]:
        slot = sync_slot(name, T0, every)
        assert slot <= T0 < slot + every
        assert sync_slot(name, slot, every) == slot
        assert sync_slot(name, slot - timedelta(microseconds=1), every) == slot - every


def test_due_once_per_slot() -> None:
    every = timedelta(seconds=10)
    slot = sync_slot("anna", T0, every)
    assert due(None, slot)
    assert due(slot - timedelta(milliseconds=1), slot)
    assert not due(slot, slot)
    assert not due(slot + timedelta(seconds=9), slot)


def test_nightly_spread_over_the_window_in_utc_across_dst() -> None:
    tz = ZoneInfo("Europe/Warsaw")
    at = clock_time(1, 30)
    names = [f"t{i}" for i in range(200)]
    # the night of the spring change (2026-03-29: 02:00 -> 03:00): every start exists, once
    now = datetime(2026, 3, 29, 12, 0, tzinfo=tz)
    starts = [nightly_slot(n, now, at, tz) for n in names]
    base = datetime(2026, 3, 29, 1, 30, tzinfo=tz).astimezone(UTC)
    assert all(base <= s < base + NIGHTLY_WINDOW for s in starts)
    assert len(set(starts)) > 190
    # before its start a trainer's latest nightly is the previous night's
    first = min(starts)
    name = names[starts.index(first)]
    assert nightly_slot(name, first - timedelta(seconds=1), at, tz) < first - timedelta(hours=20)


def test_redact_keeps_the_password_out() -> None:
    assert "s3cret" not in redact("postgresql://bt:s3cret@db.example:5432/blocktime?sslmode=require")
    assert redact("postgresql://db.example/blocktime") == "postgresql://db.example/blocktime"


# claims across processes ------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str | None, Path]:
    if request.param == "sqlite":
        return None, tmp_path / "team"
    return request.getfixturevalue("pg_url"), tmp_path / "team"


def _holder(url: str | None, base: Path, name: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, url or "", str(base), name], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _wait_claim(coord: Coordinator, name: str, seconds: float = 30) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        claim = coord.claim(name)
        if claim is not None:
            claim.release()
            return True
        time.sleep(0.05)
    return False


def test_a_claim_excludes_other_processes_and_lapses_with_sigkill(engine: tuple[str | None, Path]) -> None:
    url, base = engine
    coord = open_coordinator(url, base)
    assert isinstance(coord, PgCoordinator if url else SqliteCoordinator)
    coord.register(["anna", "ben"], T0)
    proc = _holder(url, base, "anna")
    try:
        assert coord.claim("anna") is None  # held by the other process
        assert [d.alive for d in coord.daemons() if d.pid == proc.pid] == [True]
        assert coord.trainers()["anna"].holder is not None and coord.trainers()["ben"].holder is None
        other = coord.claim("ben")  # another trainer is free
        assert other is not None
        other.release()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _wait_claim(coord, "anna")  # the dead holder's claim lapsed
        assert coord.trainers()["anna"].holder is None  # status no longer names the dead daemon
        assert [d.alive for d in coord.daemons() if d.pid == proc.pid] == [False]
        [log] = coord.passes("anna")
        assert log.ended is None  # the killed pass stays open in the log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        coord.close()


def test_a_claim_excludes_other_threads_of_the_same_daemon(engine: tuple[str | None, Path]) -> None:
    import threading

    url, base = engine
    coord = open_coordinator(url, base)
    coord.register(["anna"], T0)
    first = coord.claim("anna")
    assert first is not None
    seen: list[object] = []
    t = threading.Thread(target=lambda: seen.append(coord.claim("anna")))
    t.start()
    t.join()
    assert seen == [None]
    first.release()
    coord.close()


def test_finish_records_the_pass_and_clears_the_holder(engine: tuple[str | None, Path]) -> None:
    url, base = engine
    coord = open_coordinator(url, base)
    coord.register(["anna"], T0)
    claim = coord.claim("anna")
    assert claim is not None and claim.row.last_start is None
    claim.begin("nightly", T0)
    assert coord.trainers()["anna"].holder == coord.me.id
    claim.finish(T0 + timedelta(seconds=3), started=T0, nightly=True, error=None)
    claim.release()
    row = coord.trainers()["anna"]
    assert (row.last_start, row.last_end, row.last_nightly, row.passes, row.holder) == (
        T0, T0 + timedelta(seconds=3), T0, 1, None)
    again = coord.claim("anna")
    assert again is not None and again.row.last_start == T0  # read under the claim
    again.begin("sync", T0 + timedelta(minutes=1))
    again.finish(T0 + timedelta(minutes=2), started=T0 + timedelta(minutes=1), nightly=False,
                 error="stopped half-way", done=False)
    again.release()
    row = coord.trainers()["anna"]
    assert row.last_start == T0 and row.passes == 1  # a pass not done leaves the trainer due
    assert [(p.kind, p.error) for p in coord.passes("anna")] == [("nightly", None), ("sync", "stopped half-way")]
    assert [(d.id, d.alive) for d in coord.daemons()] == [(coord.me.id, True)]
    coord.close()


def test_due_now_sync_and_nightly(tmp_path: Path) -> None:
    from dataclasses import replace

    from blocktime.cli.teamd import Due, due_now
    from blocktime.config.loading import from_mapping
    from blocktime.team.claims import TrainerRow

    cfg = from_mapping({"organizer": {"timezone": "Europe/Warsaw"}, "daemon": {"nightly": "01:30"}})
    cfg = replace(cfg, data_dir=tmp_path)
    every = timedelta(minutes=15)
    assert due_now("anna", cfg, TrainerRow("anna"), T0, every) == Due(sync=True, nightly=True)
    slot = sync_slot("anna", T0, every)
    night = nightly_slot("anna", T0, clock_time(1, 30), ZoneInfo("Europe/Warsaw"))
    done = TrainerRow("anna", last_start=slot, last_nightly=night)
    assert due_now("anna", cfg, done, T0, every) == Due(sync=False, nightly=False)
    assert due_now("anna", cfg, done, slot + every, every) == Due(sync=True, nightly=False)
    assert due_now("anna", cfg, done, night + timedelta(days=1), every).nightly
