"""The claims on one machine (SQLite store): an flock file per trainer under `<base>/claims/` and the
team's tables in `<base>/team.sqlite3`; the kernel drops an flock when its process dies. See `claims`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from blocktime.errors import BlocktimeError
from blocktime.files import try_lock
from blocktime.team.claims import _TABLES, Claim, Coordinator, Daemon, _TableClaim


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

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _lockfile(self, name: str) -> Path:
        return self.base / "claims" / f"{name}.lock"

    def _present(self) -> None:
        fd = try_lock(self.base / "claims" / f"daemon-{self.me.id}.lock")
        if fd is None:  # a daemon id is new for every start: no one else can hold it
            raise BlocktimeError(f"daemon {self.me.id}: its presence lock is held by another process")
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
        fd = try_lock(self._lockfile(name))
        if fd is None:
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
