"""Which store the suite runs on, and a plain connection to a test's store on either engine.

`BLOCKTIME_TEST_STORE=postgresql` (`make test` runs the suite a second time so) gives every test
the PostgreSQL store of the session's server: BLOCKTIME_STORE_URL points at one database, and the
`blocktime*` schemas are dropped after each test, so each test starts with an empty store (tests
run one at a time). Tests about the SQLite file itself (its permissions, damage, -wal) are marked
`sqlite_only` and skipped there.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from blocktime.store.engines import connect, schema_name, translate

ON_POSTGRESQL = os.environ.get("BLOCKTIME_TEST_STORE", "sqlite").lower() == "postgresql"
sqlite_only = pytest.mark.skipif(ON_POSTGRESQL, reason="SQLite only: the file itself, or the default store")


class StoreDB:
    """Raw SQL (SQLite style, `?` marks, tuple rows) on the store a test's commands use: the file in
    `data_dir`, or the PostgreSQL schema BLOCKTIME_STORE_URL names (autocommit there)."""

    def __init__(self, data_dir: Path, namespace: str | None = None, timeout: float = 30) -> None:
        url = os.environ.get("BLOCKTIME_STORE_URL")
        self.pg = connect(url, schema_name(namespace)) if url else None
        self.lite = None if url else sqlite3.connect(data_dir / "blocktime.sqlite3", timeout=timeout)

    def execute(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> Any:
        if self.pg is not None:
            return self.pg.execute(translate(sql), tuple(args))  # type: ignore[call-overload]
        assert self.lite is not None
        return self.lite.execute(sql, args)

    def commit(self) -> None:
        if self.lite is not None:
            self.lite.commit()

    def close(self) -> None:
        (self.pg or self.lite).close()  # type: ignore[union-attr]

    def __enter__(self) -> StoreDB:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.commit()


def has_store(data_dir: Path) -> bool:
    """A store has been written: the SQLite file exists, or the PostgreSQL schema does."""
    url = os.environ.get("BLOCKTIME_STORE_URL")
    if not url:
        return (data_dir / "blocktime.sqlite3").exists()
    conn = connect(url)
    try:
        return conn.execute("SELECT to_regclass('blocktime.store_version')").fetchone()[0] is not None  # type: ignore[index]
    finally:
        conn.close()


def reset(url: str) -> None:
    """Drop every blocktime schema of the database (after a test), ending leftover sessions first."""
    conn = connect(url)
    try:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                     " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        for (name,) in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'blocktime%'").fetchall():
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')
    finally:
        conn.close()


def lose_store(data_dir: Path) -> None:
    """The store is gone (a lost disk, a dropped schema): what `repair` is for."""
    url = os.environ.get("BLOCKTIME_STORE_URL")
    if url:
        reset(url)
        return
    for f in data_dir.glob("blocktime.sqlite3*"):
        f.unlink()
