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
import fcntl
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from blocktime.errors import BlocktimeError

SCHEMA = "blocktime_team"
LOCK_CLASS = 0x626C6B74  # "blkt": the first key of blocktime's advisory locks (two-int form)
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
        self.exec(f"UPDATE {p}passes SET ended=?, error=? WHERE id=?", (ts(at), error, self.pass_id))
        if not done:
            return
        self.exec(f"UPDATE {p}trainers SET last_start=?, last_end=?, last_error=?, passes=passes+1, holder=NULL"
                  + (", last_nightly=?" if nightly else "") + " WHERE name=?",
                  (ts(started), ts(at), error, *((ts(started),) if nightly else ()), self.name))
        self.finished = True

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


# SQLite: one machine ---------------------------------------------------------------------------

class SqliteCoordinator(Coordinator):
    """flock files per trainer and the tables in `<base>/team.sqlite3`."""

    def __init__(self, base_dir: Path, me: Daemon | None = None) -> None:
        self.me = me or Daemon.me()
        self.base = base_dir
        (base_dir / "claims").mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = base_dir / "team.sqlite3"
        self.local = threading.local()
        self.presence: int | None = None
        db = self._db()
        with contextlib.suppress(sqlite3.OperationalError):
            db.execute("PRAGMA journal_mode=WAL")
        for sql in _TABLES:
            db.execute(sql.format(s="", auto="", ts="TEXT"))

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self.local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout=30000")
            self.local.db = db
        return db

    def _ts(self, at: datetime) -> Any:
        return at.astimezone(UTC).isoformat()

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._db().execute(sql, tuple(params)).fetchall()]

    def _lockfile(self, name: str) -> Path:
        return self.base / "claims" / f"{name}.lock"

    def _present(self) -> None:
        fd = os.open(self.base / "claims" / f"daemon-{self.me.id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.presence = fd

    def _alive(self, ids: Sequence[str]) -> set[str]:
        return self._locked([self.base / "claims" / f"daemon-{i}.lock" for i in ids], list(ids))

    def _held(self, names: Sequence[str]) -> set[str]:
        return self._locked([self._lockfile(n) for n in names], list(names))

    def _locked(self, paths: Sequence[Path], names: list[str]) -> set[str]:
        held = set()
        for name, path in zip(names, paths, strict=True):
            if not path.exists():
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                held.add(name)
            finally:
                os.close(fd)
        return held

    def claim(self, name: str) -> Claim | None:
        fd = os.open(self._lockfile(name), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return _TableClaim(self, self._exec, name, self._row(name), lambda: os.close(fd))

    def close(self) -> None:
        db = getattr(self.local, "db", None)
        if db is not None:
            db.close()
            self.local.db = None
        if self.presence is not None:
            os.close(self.presence)
            self.presence = None


# PostgreSQL: several machines ------------------------------------------------------------------

def redact(url: str) -> str:
    """A PostgreSQL URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url.split("?", 1)[0]
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def pg_connect(url: str) -> Any:
    """An autocommit psycopg connection; a failure says where, never the password."""
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10, application_name="blocktime-daemon")
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise BlocktimeError(f"cannot connect to the team store {redact(url)}: {reason.replace(url, '***')}",
                             "check [store] url and that PostgreSQL is running") from None


class PgCoordinator(Coordinator):
    """Advisory locks (one per trainer, keyed by its row id) and the tables in schema blocktime_team."""

    prefix = f"{SCHEMA}."

    def __init__(self, url: str, me: Daemon | None = None) -> None:
        self.me = me or Daemon.me()
        self.url = url
        self.local = threading.local()
        self.ids: dict[str, int] = {}
        self.opened: list[Any] = []  # every thread's connection, closed together
        self.guard = threading.Lock()
        conn = self._conn()
        with conn.transaction():  # two daemons starting at once: one creates, the other waits
            conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_CLASS,))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            for sql in _TABLES:
                conn.execute(sql.format(s=self.prefix, auto=" GENERATED BY DEFAULT AS IDENTITY",
                                        ts="TIMESTAMPTZ").replace("INTEGER PRIMARY KEY", "BIGINT PRIMARY KEY"))

    def _conn(self) -> Any:
        conn = getattr(self.local, "conn", None)
        if conn is None or conn.closed:
            conn = pg_connect(self.url)
            self.local.conn = conn
            with self.guard:
                self.opened.append(conn)
        return conn

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._conn().execute(sql.replace("?", "%s"), tuple(params))
        return list(cur.fetchall()) if cur.description else []

    def _id(self, name: str) -> int:
        if name not in self.ids:
            rows = self._exec(f"SELECT id FROM {self.prefix}trainers WHERE name=?", (name,))
            if not rows:
                rows = self._exec(f"INSERT INTO {self.prefix}trainers(name) VALUES (?) ON CONFLICT(name)"
                                  " DO UPDATE SET name=EXCLUDED.name RETURNING id", (name,))
            self.ids[name] = int(rows[0][0])
        return self.ids[name]

    def _held(self, names: Sequence[str]) -> set[str]:
        rows = self._exec(
            f"SELECT t.name FROM {self.prefix}trainers t JOIN pg_locks l ON l.locktype='advisory'"
            " AND l.classid::bigint=? AND l.objid::bigint=t.id AND l.objsubid=2 AND l.granted"
            " AND l.database=(SELECT oid FROM pg_database WHERE datname=current_database())", (LOCK_CLASS,))
        return {r[0] for r in rows} & set(names)

    def _present(self) -> None:
        self._exec("SELECT pg_advisory_lock(?, hashtext(?))", (PRESENCE_CLASS, self.me.id))

    def _alive(self, ids: Sequence[str]) -> set[str]:
        rows = self._exec(
            f"SELECT d.id FROM {self.prefix}daemons d JOIN pg_locks l ON l.locktype='advisory'"
            " AND l.classid::bigint=? AND l.objid::bigint=mod(hashtext(d.id)::bigint + 4294967296, 4294967296)"
            " AND l.objsubid=2 AND l.granted"
            " AND l.database=(SELECT oid FROM pg_database WHERE datname=current_database())", (PRESENCE_CLASS,))
        return {r[0] for r in rows} & set(ids)

    def claim(self, name: str) -> Claim | None:
        key = self._id(name)
        conn = self._conn()
        if not conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, key)).fetchone()[0]:
            return None
        try:
            row = self._row(name)
        except Exception:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, key))
            raise

        def unlock() -> None:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, key))
        return _TableClaim(self, self._exec, name, row, unlock)

    def close(self) -> None:
        with self.guard:
            for conn in self.opened:
                with contextlib.suppress(Exception):
                    conn.close()
            self.opened.clear()


def open_coordinator(store_url: str | None, base_dir: Path, me: Daemon | None = None) -> Coordinator:
    """PostgreSQL when the team's store is PostgreSQL, else the one-machine SQLite coordinator."""
    if store_url and store_url.startswith(("postgresql:", "postgres:")):
        return PgCoordinator(store_url, me)
    return SqliteCoordinator(base_dir, me)


MAIL_CLASS = LOCK_CLASS + 1  # the second key space: one trainer's outbox being sent
MAIL_WAIT = 120  # seconds a sender waits for another process sending the same outbox


@contextlib.contextmanager
def sending(store_url: str | None, data_dir: Path, trainer: str | None) -> Iterator[None]:
    """Held while one process sends one trainer's outbox, on every machine that shares the store:
    a second sender waits, then finds in the sent log what the first sent (see `messages.deliver`).
    PostgreSQL: an advisory lock on a connection of its own; SQLite: `<data dir>/mail.lock`."""
    if store_url and store_url.startswith(("postgresql:", "postgres:")):
        conn = pg_connect(store_url)
        try:
            conn.execute(f"SET lock_timeout = '{MAIL_WAIT}s'")
            try:
                conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (MAIL_CLASS, trainer or ""))
            except Exception as exc:
                raise BlocktimeError("another process has been sending this outbox for too long",
                                     f"try again later ({type(exc).__name__})") from None
            yield
            conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (MAIL_CLASS, trainer or ""))
        finally:
            conn.close()  # ends the session: the lock goes with it (also after an error)
        return
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(data_dir / "mail.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        for _ in range(MAIL_WAIT * 10):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                threading.Event().wait(0.1)
        else:
            raise BlocktimeError("another process has been sending this outbox for too long", "try again later")
        yield
    finally:
        os.close(fd)


INBOX_CLASS = LOCK_CLASS + 3  # the fourth: one trainer's inbox being read


@contextlib.contextmanager
def reading(store_url: str | None, trainer: str | None) -> Iterator[bool]:
    """One inbox pass per trainer across machines sharing a PostgreSQL store: True when this
    process may read the trainer's inbox now, False when another one is reading it. Without
    PostgreSQL always True (the data dir's inbox.lock decides, on one machine)."""
    if not (store_url and store_url.startswith(("postgresql:", "postgres:"))):
        yield True
        return
    conn = pg_connect(store_url)
    try:
        got = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (INBOX_CLASS, trainer or "")).fetchone()
        mine = bool(got and got[0])
        yield mine
        if mine:  # at once: a closed connection's lock is freed only when its backend has ended
            conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (INBOX_CLASS, trainer or ""))
    finally:
        conn.close()


@contextlib.contextmanager
def claimed(coord: Coordinator, name: str) -> Iterator[Claim | None]:
    claim = coord.claim(name)
    try:
        yield claim
    finally:
        if claim is not None:
            claim.release()
