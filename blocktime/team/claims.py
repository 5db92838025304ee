"""Which daemon passes which trainer now: a claim per trainer, held for the length of one pass.

PostgreSQL (daemons on several machines): a session advisory lock per trainer, taken with
`pg_try_advisory_lock` on a connection the worker keeps for its passes. The server drops the lock
when that connection ends, so the claim of a daemon that dies (SIGKILL, power cut, network gone)
lapses at once and another daemon takes the trainer at its next look. Beside the locks, schema
`blocktime_team` keeps what the operators read (`blocktime team status`): the trainers with their
last pass, the daemons with their heartbeat, and a log of passes with start and end times.
SQLite (one machine): an flock file per trainer under `<base>/claims/` and the same tables in
`<base>/team.sqlite3`; the kernel drops an flock when its process dies.

The lock says who may pass; the tables only say what happened. A pass re-reads its trainer's row
under the lock, so a trainer another daemon passed a moment ago is not passed again.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

SCHEMA = "blocktime_team"
#: "blkc": the first key of the claims' advisory locks (two-int form); the store's own are "blkt"
#: (schema upgrades) and "blkw" (write transactions), see store.migrations and store.engines
LOCK_CLASS = 0x626C6B63
PRESENCE_CLASS = LOCK_CLASS + 2  # a running daemon holds (PRESENCE_CLASS, hashtext(its id)) for its life

_TABLES = (
    "CREATE TABLE IF NOT EXISTS {s}trainers(id INTEGER PRIMARY KEY{auto}, name TEXT NOT NULL UNIQUE,"
    " holder TEXT, host TEXT, pid INTEGER, claimed_at {ts}, last_start {ts}, last_end {ts}, last_nightly {ts},"
    " last_error TEXT, passes INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS {s}daemons(id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL,"
    " started {ts} NOT NULL, heartbeat {ts} NOT NULL, stopped {ts}, every REAL)",
    "CREATE TABLE IF NOT EXISTS {s}passes(id INTEGER PRIMARY KEY{auto}, trainer TEXT NOT NULL,"
    " daemon TEXT NOT NULL, kind TEXT NOT NULL, started {ts} NOT NULL, ended {ts}, error TEXT)",
    "CREATE INDEX IF NOT EXISTS passes_trainer ON {s}passes(trainer, started)",
)


@dataclass(frozen=True, slots=True)
class Daemon:
    """This process, as the tables name it."""

    id: str
    host: str
    pid: int

    @classmethod
    def me(cls) -> Daemon:
        host = socket.gethostname()
        return cls(f"{host}:{os.getpid()}:{uuid.uuid4().hex[:6]}", host, os.getpid())


@dataclass(frozen=True, slots=True)
class TrainerRow:
    name: str
    last_start: datetime | None = None
    last_end: datetime | None = None
    last_nightly: datetime | None = None
    last_error: str | None = None
    passes: int = 0
    holder: str | None = None  # the daemon holding the trainer now (a live lock), else None
    claimed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DaemonRow:
    id: str
    host: str
    pid: int
    started: datetime
    heartbeat: datetime
    stopped: datetime | None
    every: float | None = None  # the interval it passes trainers at, in seconds (None: each one's config)
    alive: bool = False  # holds its presence lock now (it dies with the process)


@dataclass(frozen=True, slots=True)
class PassRow:
    trainer: str
    daemon: str
    kind: str
    started: datetime
    ended: datetime | None
    error: str | None


class Claim(Protocol):
    """A trainer held by this daemon for one pass; `row` was read under the lock."""

    row: TrainerRow

    def begin(self, kind: str, at: datetime) -> None: ...
    def finish(self, at: datetime, *, started: datetime, nightly: bool, error: str | None,
               done: bool = True) -> None: ...
    def release(self) -> None: ...


def _dt(v: Any) -> datetime | None:
    if v is None:
        return None
    value = v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
    return value.astimezone(UTC)


class Coordinator:
    """The tables, on one engine; subclasses add the locks. `?` placeholders throughout."""

    me: Daemon

    # engine ------------------------------------------------------------------------------------
    def _exec(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _held(self, names: Sequence[str]) -> set[str]:
        """The trainers whose lock someone holds now."""
        raise NotImplementedError

    def claim(self, name: str) -> Claim | None:
        """Hold `name` for one pass, or None when another worker or daemon holds it."""
        raise NotImplementedError

    def _present(self) -> None:
        """Take this daemon's presence lock, held until it ends."""
        raise NotImplementedError

    def _alive(self, ids: Sequence[str]) -> set[str]:
        """The daemons whose presence lock is held now."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _ts(self, at: datetime) -> Any:
        return at

    def atomic(self) -> contextlib.AbstractContextManager[Any]:
        """One transaction on this thread's connection."""
        raise NotImplementedError

    # shared ------------------------------------------------------------------------------------
    def register(self, names: Sequence[str], at: datetime, every: float | None = None) -> None:
        for name in names:
            self._exec(f"INSERT INTO {self.prefix}trainers(name) VALUES (?) ON CONFLICT(name) DO NOTHING", (name,))
        self._exec(f"INSERT INTO {self.prefix}daemons(id, host, pid, started, heartbeat, every) VALUES (?,?,?,?,?,?)",
                   (self.me.id, self.me.host, self.me.pid, self._ts(at), self._ts(at), every))
        self._present()

    def heartbeat(self, at: datetime, *, stopped: bool = False) -> None:
        self._exec(f"UPDATE {self.prefix}daemons SET heartbeat=?, stopped=? WHERE id=?",
                   (self._ts(at), self._ts(at) if stopped else None, self.me.id))

    prefix = ""

    def trainers(self, names: Sequence[str] | None = None, *, holders: bool = True) -> dict[str, TrainerRow]:
        """The trainers' rows; with `holders`, who holds each now (one more look, at the live locks)."""
        rows = self._exec(f"SELECT name, last_start, last_end, last_nightly, last_error, passes, holder, claimed_at"
                          f" FROM {self.prefix}trainers ORDER BY name")
        wanted = None if names is None else set(names)
        picked = [r for r in rows if wanted is None or r[0] in wanted]
        held = self._held([r[0] for r in picked]) if holders else set()
        return {r[0]: TrainerRow(r[0], _dt(r[1]), _dt(r[2]), _dt(r[3]), r[4], int(r[5]),
                                 r[6] if r[0] in held else None, _dt(r[7]) if r[0] in held else None)
                for r in picked}

    def _row(self, name: str) -> TrainerRow:
        """`name`'s row as its claim holder reads it (one statement)."""
        rows = self._exec(f"SELECT name, last_start, last_end, last_nightly, last_error, passes"
                          f" FROM {self.prefix}trainers WHERE name=?", (name,))
        if not rows:
            return TrainerRow(name)
        r = rows[0]
        return TrainerRow(r[0], _dt(r[1]), _dt(r[2]), _dt(r[3]), r[4], int(r[5]))

    def daemons(self) -> list[DaemonRow]:
        rows = self._exec(f"SELECT id, host, pid, started, heartbeat, stopped, every FROM {self.prefix}daemons"
                          " ORDER BY started")
        alive = self._alive([r[0] for r in rows])
        return [DaemonRow(r[0], r[1], int(r[2]), _dt(r[3]) or datetime.min, _dt(r[4]) or datetime.min, _dt(r[5]),
                          None if r[6] is None else float(r[6]), r[0] in alive) for r in rows]

    def passes(self, trainer: str | None = None) -> list[PassRow]:
        sql = f"SELECT trainer, daemon, kind, started, ended, error FROM {self.prefix}passes"
        rows = self._exec(sql + (" WHERE trainer=? ORDER BY id" if trainer else " ORDER BY id"),
                          (trainer,) if trainer else ())
        return [PassRow(r[0], r[1], r[2], _dt(r[3]) or datetime.min, _dt(r[4]), r[5]) for r in rows]


class _TableClaim:
    """begin/finish/release on the tables; `unlock` drops the engine's lock."""

    def __init__(self, coord: Coordinator, exec_: Any, name: str, row: TrainerRow, unlock: Any) -> None:
        self.coord, self.exec, self.name, self.row, self.unlock = coord, exec_, name, row, unlock
        self.pass_id: Any = None
        self.released = False
        self.finished = False  # finish() cleared the holder already

    def begin(self, kind: str, at: datetime) -> None:
        p, me = self.coord.prefix, self.coord.me
        self.exec(f"UPDATE {p}trainers SET holder=?, host=?, pid=?, claimed_at=? WHERE name=?",
                  (me.id, me.host, me.pid, self.coord._ts(at), self.name))
        rows = self.exec(f"INSERT INTO {p}passes(trainer, daemon, kind, started) VALUES (?,?,?,?) RETURNING id",
                         (self.name, me.id, kind, self.coord._ts(at)))
        self.pass_id = rows[0][0]

    def finish(self, at: datetime, *, started: datetime, nightly: bool, error: str | None,
               done: bool = True) -> None:
        """Close the pass in the log; a pass not `done` (stopped half-way) leaves the trainer due."""
        p, ts = self.coord.prefix, self.coord._ts
        with self.coord.atomic():  # both or neither: a daemon killed in between must not leave a pass
            self.exec(f"UPDATE {p}passes SET ended=?, error=? WHERE id=?",  # ended but the trainer still due
                      (ts(at), error, self.pass_id))
            if done:
                self.exec(f"UPDATE {p}trainers SET last_start=?, last_end=?, last_error=?, passes=passes+1,"
                          " holder=NULL" + (", last_nightly=?" if nightly else "") + " WHERE name=?",
                          (ts(started), ts(at), error, *((ts(started),) if nightly else ()), self.name))
        self.finished = done

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        if self.finished or self.pass_id is None:  # nothing of ours to clear
            self.unlock()
            return
        try:
            self.exec(f"UPDATE {self.coord.prefix}trainers SET holder=NULL WHERE name=? AND holder=?",
                      (self.name, self.coord.me.id))
        finally:
            self.unlock()


@contextlib.contextmanager
def claimed(coord: Coordinator, name: str) -> Iterator[Claim | None]:
    claim = coord.claim(name)
    try:
        yield claim
    finally:
        if claim is not None:
            claim.release()
