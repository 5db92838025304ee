"""Which store engines a test runs on, and a plain connection to a test's store on either engine.

`make test` runs every test that reaches the store once per engine, in the same pytest session:
`pytest_generate_tests` (tests/conftest.py) parametrizes it over `ENGINES` (`[sqlite]`,
`[postgresql]` in its id). A test reaches the store when it uses the `data_dir` fixture or is
marked `store`; the rest (pure domain, parsing, views) runs once. On PostgreSQL,
BLOCKTIME_STORE_URL points at one database of the worker's server, and the `blocktime*` schemas
are dropped after each test, so each test starts with an empty store (a worker runs one test at a
time; each xdist worker has its own server). A test that writes a store without being
parametrized fails (`unparametrized_store`), so none is left on SQLite alone by mistake.

Markers: `sqlite_only` for tests about the SQLite file itself (its permissions, damage, -wal);
`own_store` for tests that choose their engines themselves (set BLOCKTIME_STORE_URL or
[store] url aside for a `pg_url` of their own, or take the engine as their own parameter). A test
that also uses `pg_url` beside the suite's store (a copy to the other engine) runs on each engine.
BLOCKTIME_TEST_STORES (`make test STORES=sqlite`) narrows the engines, e.g. to `sqlite`.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from blocktime.store.engines import connect, schema_name, translate

SQLITE, POSTGRESQL = "sqlite", "postgresql"
ENGINES = [e for e in (SQLITE, POSTGRESQL)
           if e in os.environ.get("BLOCKTIME_TEST_STORES", f"{SQLITE} {POSTGRESQL}").replace(",", " ").lower().split()]
if not ENGINES:
    raise pytest.UsageError("BLOCKTIME_TEST_STORES names no engine: use sqlite, postgresql or both")
sqlite_only = pytest.mark.sqlite_only  # the SQLite file itself, or the default store: runs once, on SQLite
own_store = pytest.mark.own_store  # picks its engines itself (pg_url, its own parameters): runs once


def picks_its_engine(fixturenames: list[str], markers: set[str]) -> bool:
    """The test chooses its store itself: about the SQLite file, or its own engines (marked)."""
    return bool(markers & {"sqlite_only", "own_store"})


def engines_for(fixturenames: list[str], markers: set[str]) -> list[str]:
    """The engines a test runs on: each engine of the run when it reaches the store, else none (it
    runs once, on the default store)."""
    if picks_its_engine(fixturenames, markers):
        return []
    if "store" in markers or "data_dir" in fixturenames:
        return ENGINES
    return []


def unparametrized_store(tmp_path: Path) -> list[Path]:
    """SQLite store files a test left under its tmp_path (in-process or from a subprocess)."""
    return sorted(tmp_path.rglob("blocktime.sqlite3"))


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
