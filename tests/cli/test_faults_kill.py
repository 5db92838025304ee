"""The blocktime process killed (SIGKILL) at many points and re-run: a real `python -m blocktime.cli`
subprocess against a real Radicale, watched from outside (the server's files, the SQLite store,
the outbox) so that each kill lands in a chosen phase: startup, right after the plan is recorded,
while the PUTs land, while they are recorded, while invites are written. After every kill the store
must agree with the server; a final run completes the job with exactly the requested blocks.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.faults import assert_consistent, rows, server_objects
from tests.servers import Account, RadicaleServer
from tests.stores import sqlite_only

pytestmark = sqlite_only  # reads the SQLite file itself

NOW = "2026-03-20T09:00"
AFTER = "2026-03-24T13:05"
ATTENDEES = ("it@acme.example", "office@acme.example")
BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", ATTENDEES[0], "--attendee", ATTENDEES[1],
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "mon-fri", "--count", "20", "--json")
CUT = ("cut-short", "acme-1", "--ended-at", "12:35", "--json")


@dataclass(frozen=True)
class Progress:
    objects: int = 0  # .ics files in the account's collections on the server's disk
    planned: int = 0  # block rows in the store (any state)
    pending: int = 0
    booked: int = 0
    cut: int = 0
    holds: int = 0  # hold rows (any state)
    held: int = 0
    released: int = 0
    invites: int = 0  # REQUEST files in the outbox


Trigger = Callable[[Progress, Progress, float], bool]  # (before the run, now, seconds since start) -> kill


class Process:
    """blocktime as a real subprocess, its progress read from outside."""

    def __init__(self, config: Path, data_dir: Path, collections: Path) -> None:
        self.config = config
        self.data_dir = data_dir
        self.collections = collections
        self.log: list[tuple[str, Progress]] = []

    def argv(self, args: tuple[str, ...], now: str) -> list[str]:
        return [sys.executable, "-m", "blocktime.cli", "--config", str(self.config), "--now", now, *args]

    def progress(self) -> Progress:
        objects = len(list(self.collections.glob("*/*.ics")))
        invites = len(list((self.data_dir / "outbox").glob("*-request.ics")))
        db = self.data_dir / "blocktime.sqlite3"
        if not db.exists():
            return Progress(objects, invites=invites)
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
            try:
                blocks = dict(con.execute("SELECT state, COUNT(*) FROM blocks GROUP BY state").fetchall())
                holds = dict(con.execute("SELECT state, COUNT(*) FROM holds GROUP BY state").fetchall())
            finally:
                con.close()
        except sqlite3.Error:  # not created yet, or mid-write: no news
            return Progress(objects, invites=invites)
        return Progress(objects, sum(blocks.values()), blocks.get("pending", 0), blocks.get("booked", 0),
                        blocks.get("cut_short", 0), sum(holds.values()), holds.get("held", 0),
                        holds.get("released", 0), invites)

    def kill_when(self, args: tuple[str, ...], trigger: Trigger, *, now: str = NOW, fallback: float = 3.0) -> str:
        """Start `args`; SIGKILL it as soon as `trigger` holds (or after `fallback` seconds).
        Returns "killed" or "finished" (it ended on its own first)."""
        before = self.progress()
        started = time.monotonic()
        with subprocess.Popen(self.argv(args, now), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
            try:
                while proc.poll() is None:
                    elapsed = time.monotonic() - started
                    if trigger(before, self.progress(), elapsed) or elapsed > fallback:
                        proc.send_signal(signal.SIGKILL)
                        proc.wait(timeout=10)
                        self.log.append(("killed", self.progress()))
                        return "killed"
                    time.sleep(0.002)
            finally:
                if proc.poll() is None:
                    proc.kill()
            assert proc.stderr is not None
            err = proc.stderr.read().decode()[-300:]
        self.log.append((f"finished ({proc.returncode}) {err}", self.progress()))
        return "finished"

    def run(self, args: tuple[str, ...], *, now: str = NOW) -> tuple[int, str, str]:
        done = subprocess.run(self.argv(args, now), capture_output=True, text=True, timeout=60)
        return done.returncode, done.stdout, done.stderr


@pytest.fixture
def proc(radicale: Account, radicale_server: RadicaleServer, tmp_path: Path, data_dir: Path) -> Process:
    config = write_config(tmp_path / "config.toml", radicale)
    assert radicale.username is not None
    return Process(config, data_dir, radicale_server.workdir / "collections" / "collection-root" / radicale.username)


def after(seconds: float) -> Trigger:
    return lambda _b, _n, elapsed: elapsed >= seconds


def grown(field: str, by: int) -> Trigger:
    return lambda b, n, _e: getattr(n, field) >= getattr(b, field) + by


def assert_crash_safe(account: Account, data_dir: Path, *, etags: bool = True) -> tuple[int, int]:
    """What must hold after any kill: the store opens and is intact; the server has no duplicate
    UID and nothing the store does not know (rows are written before their PUT); every block the
    store calls booked is on the server (with its ETag, unless an update may have landed
    unrecorded: harmless, updates re-read first). The holds of an offer that was accepted are
    deleted one by one before they are marked released: each may or may not be there yet.
    Returns (pending rows, of which landed)."""
    db = data_dir / "blocktime.sqlite3"
    if not db.exists():
        assert server_objects(account) == {}
        return 0, 0
    assert rows(data_dir, "PRAGMA integrity_check") == [("ok",)]
    objects = server_objects(account)
    known = {str(href): (str(uid), state, etag) for uid, href, etag, state in
             rows(data_dir, "SELECT uid, href, etag, state FROM blocks")
             + rows(data_dir, "SELECT h.uid, h.href, h.etag, CASE WHEN o.state = 'open' THEN h.state"
                              " ELSE 'releasing' END FROM holds h JOIN offers o ON o.id = h.offer")}
    uids = [u for o in objects.values() for u in o.uids]
    assert len(uids) == len(set(uids)), "duplicate UID on the server"
    for href, obj in objects.items():
        assert href in known, f"{href} is on the server but not in the store"
        assert obj.uids == (known[href][0],)
    landed = 0
    for href, (uid, state, etag) in known.items():
        if state in ("booked", "cut_short", "held"):
            assert href in objects, f"{uid} is {state} in the store but not on the server"
            assert objects[href].etag == etag or not etags, f"{uid} ({state}) has a stale ETag"
        if state == "pending" and href in objects:
            landed += 1
    pending = sum(1 for _u, state, _e in known.values() if state == "pending")
    for invite in (data_dir / "outbox").glob("*.ics"):  # (a kill may leave an unused .tmp- file)
        if not invite.name.startswith(".tmp-"):
            assert invite.read_text().rstrip().endswith("END:VCALENDAR"), f"half-written {invite.name}"
    return pending, landed


@pytest.mark.slow
def test_booking_killed_at_random_points_then_rerun(proc: Process, radicale: Account, data_dir: Path) -> None:
    rng = random.Random(20260320)
    later = [grown("objects", rng.randint(1, 3)), grown("objects", rng.randint(1, 3)),
             grown("booked", rng.randint(1, 3)), grown("booked", rng.randint(1, 3)),
             grown("invites", rng.randint(1, 3)), after(rng.uniform(0.02, 0.3)), after(rng.uniform(0.3, 0.9))]
    rng.shuffle(later)
    plan = [grown("planned", 1), *later]  # first right after the plan is recorded, then anywhere
    outcomes, phases = [], []
    for trigger in plan:
        outcomes.append(proc.kill_when(BOOK, trigger))
        phases.append(assert_crash_safe(radicale, data_dir))
    # Where a kill lands is a race with the machine's load: if none of the planned kills fell in the
    # two windows that matter, more kills right after a PUT (each checked the same way), bounded
    for _ in range(12):
        if any(pending for pending, _ in phases) and any(landed for _, landed in phases):
            break
        outcomes.append(proc.kill_when(BOOK, grown("objects", 1)))
        phases.append(assert_crash_safe(radicale, data_dir))
    assert outcomes.count("killed") >= 5, (outcomes, proc.log)
    assert any(pending for pending, _ in phases), "no kill left planned work behind"
    assert any(landed for _, landed in phases), "no kill fell between a PUT and its record"
    code, out, err = proc.run(BOOK)
    assert code == 0, err
    booked = json.loads(out)["booked"]
    assert len(booked) == 20 and len({b["uid"] for b in booked}) == 20
    objects = assert_consistent(radicale, data_dir, blocks=20)
    assert sorted(u for o in objects.values() for u in o.uids) == sorted(b["uid"] for b in booked)
    mails = rows(data_dir, "SELECT kind, ref, recipient FROM mail_outbox")
    assert len(mails) == len(set(mails)) == 20 * len(ATTENDEES)
    assert {k for k, _r, _t in mails} == {"request"}
    assert len(list((data_dir / "outbox" / "mail").glob("*.eml"))) == 20 * len(ATTENDEES)
    assert len(list((data_dir / "outbox").glob("*-seq0-request.ics"))) == 20
    code, out, _ = proc.run(BOOK)  # and once more: nothing new
    assert code == 0 and len(server_objects(radicale)) == 20


def test_cut_short_offer_and_accept_killed_then_rerun(proc: Process, radicale: Account, data_dir: Path) -> None:
    """Killed after the cut is recorded, after the offer is planned, while the holds are created;
    then while the make-up is booked and the holds released: one offer, three holds, no
    duplicate, the remainder counted once, the offer's message queued once."""
    code, _, err = proc.run((*BOOK[:-2], "4", "--json"))
    assert code == 0, err
    rng = random.Random(7)
    for trigger in (after(rng.uniform(0.02, 0.2)), grown("cut", 1), grown("holds", 1), grown("objects", 1),
                    grown("held", 2)):
        proc.kill_when(CUT, trigger, now=AFTER)
        assert_crash_safe(radicale, data_dir, etags=False)
    code, out, err = proc.run(CUT, now=AFTER)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["block"]["state"] == "cut_short" and doc["remaining"] == 25
    assert doc["offer"]["id"] == "acme-o1" and len(doc["offer"]["options"]) == 3
    assert rows(data_dir, "SELECT id, state FROM offers") == [("acme-o1", "open")]
    assert rows(data_dir, "SELECT SUM(minutes), COUNT(*) FROM ledger WHERE kind='cut_short'") == [(25, 1)]
    offer_mail = rows(data_dir, "SELECT recipient FROM mail_outbox WHERE kind='offer'")
    assert sorted(r for (r,) in offer_mail) == sorted(ATTENDEES)
    assert (data_dir / "outbox" / "offer-acme-o1.txt").exists()
    assert_consistent(radicale, data_dir, blocks=4, holds=3)
    holds = [o for o in server_objects(radicale).values() if o.uids[0].startswith("hold-")]
    assert sorted(o.uids[0] for o in holds) == [f"hold-acme-o1-{n}@blocktime" for n in (1, 2, 3)]

    accept = ("accept", "acme-o1", "1", "--json")
    for trigger in (grown("planned", 1), grown("objects", 1), grown("released", 1)):
        proc.kill_when(accept, trigger, now=AFTER)
        assert_crash_safe(radicale, data_dir, etags=False)
    code, out, err = proc.run(accept, now=AFTER)
    assert code == 0, err
    assert json.loads(out)["block"]["makeup_for"] == "acme-1"
    assert_consistent(radicale, data_dir, blocks=5, holds=0)
    assert [o for o in server_objects(radicale).values() if o.uids[0].startswith("hold-")] == []
    assert rows(data_dir, "SELECT COUNT(*) FROM holds WHERE state='released'") == [(3,)]
    assert rows(data_dir, "SELECT SUM(minutes) FROM ledger") == [(0,)]
    assert os.path.exists(data_dir / "blocktime.sqlite3")
