"""Local state: engagements, blocks (uid, href, etag, sequence) and their history.

SQLite by default (a file in the data folder, created 0600), or a PostgreSQL schema when
`[store] url` names one (`open_store`; the engine details are in `engines`, the schema in
`migrations`, the queries in `blocks` and `offers`). Each apply step is
one transaction, so a crash leaves either the step done or not started; `pending` blocks are
finished by the next write command.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path

from blocktime.config.store_url import POSTGRESQL, SQLITE, engine
from blocktime.core.model import Engagement, WeeklyHours
from blocktime.errors import BlocktimeError
from blocktime.store.blocks import BlockRecords
from blocktime.store.engines import Connection, PgConnection, Target, connect, schema_name, transaction
from blocktime.store.migrations import upgrade, upgrade_pg
from blocktime.store.offers import OfferRecords

__all__ = ["Store", "open_store", "set_aside"]


def open_store(url: str | None, data_dir: Path, namespace: str | None = None) -> Store:
    """The store a config names: no URL (or `sqlite:`) is the SQLite file in `data_dir` (already
    one per trainer, so `namespace` is not needed); `postgresql://…` is one schema per namespace
    (`blocktime`, or `blocktime_<namespace>`), created and migrated on open."""
    if engine(url) == SQLITE:
        return Store(data_dir / "blocktime.sqlite3")
    assert url is not None
    schema = schema_name(namespace)
    db = PgConnection(connect(url, schema), Target(url, schema))
    try:
        upgrade_pg(db)
    except BaseException:
        db.close()
        raise
    return Store.attach(db)


def set_aside(store: Store, stamp: str) -> str:
    """Rename a PostgreSQL store's schema to `<schema>_broken_<stamp>` (kept whole, as `repair`
    keeps a broken SQLite file) and close it; the name it now has."""
    assert isinstance(store.db, PgConnection) and store.db.target.schema
    schema = store.db.target.schema
    base = aside = f"{schema[:40]}_broken_{stamp.lower()}"
    taken = {r[0] for r in store.db.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE ?", (f"{base}%",))}
    n = 1
    while aside in taken:  # a second repair within the same second
        n += 1
        aside = f"{base}_{n}"
    store.db.execute(f'ALTER SCHEMA "{schema}" RENAME TO "{aside}"')
    store.close()
    return aside


class Store(BlockRecords, OfferRecords):
    """The store's queries, on SQLite (`Store(path)`) or PostgreSQL (`open_store`). `db` takes
    SQLite-style SQL on both; `engine` says which one it is, `where` names it in messages."""

    db: Connection
    path: Path | None
    engine: str
    where: str

    @classmethod
    def attach(cls, db: PgConnection) -> Store:
        """A store on an open PostgreSQL connection (see `open_store`)."""
        store = cls.__new__(cls)
        store.db, store.path, store.engine, store.where = db, None, POSTGRESQL, db.target.where
        return store

    def __init__(self, path: Path) -> None:
        self.engine, self.where = SQLITE, str(path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the data dir: private, as is the file
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.path = path
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self.db = db
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: safe against crashes, fewer fsyncs
            db.execute("PRAGMA foreign_keys=ON")
            db.row_factory = sqlite3.Row
            upgrade(db, path)
        except sqlite3.DatabaseError as exc:
            raise BlocktimeError(
                f"the local store {path} is damaged ({exc})", "move it aside; `blocktime repair` rebuilds it"
            ) from None

    def close(self) -> None:
        self.db.close()

    def transaction(self) -> AbstractContextManager[Connection]:
        return transaction(self.db)

    # meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta(key, value) VALUES (?, ?)"
                        " ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    # engagements ------------------------------------------------------------------------
    def engagement(self, key: str, site_hours: WeeklyHours | None = None) -> Engagement | None:
        row = self.db.execute("SELECT * FROM engagements WHERE key=?", (key,)).fetchone()
        if row is None:
            return None
        return Engagement(
            key=row["key"],
            client=row["client"],
            site=row["site"],
            attendees=tuple(json.loads(row["attendees"])),
            language=row["language"],
            length=timedelta(minutes=row["length_min"]),
            site_hours=site_hours,
        )

    def terms(self, key: str) -> tuple[int | None, datetime | None]:
        """(contracted minutes, when it was closed) of an engagement; (None, None) when unset."""
        row = self.db.execute("SELECT contract_min, closed FROM engagements WHERE key=?", (key,)).fetchone()
        if row is None:
            return None, None
        closed = row["closed"]
        return row["contract_min"], datetime.fromisoformat(closed) if closed else None

    def answers_about(self, blocks: list[str], offers: list[str]) -> list[sqlite3.Row]:
        """The inbox's records of mail about these blocks (ids) or offers, oldest first."""
        if not blocks and not offers:
            return []
        marks_b, marks_o = ",".join("?" for _ in blocks) or "''", ",".join("?" for _ in offers) or "''"
        return list(self.db.execute(
            f"SELECT * FROM inbox_messages WHERE block IN ({marks_b}) OR offer IN ({marks_o}) ORDER BY at",
            (*blocks, *offers)))

    def closed_keys(self) -> set[str]:
        """The engagements that were closed (one query)."""
        return {r["key"] for r in self.db.execute("SELECT key FROM engagements WHERE closed IS NOT NULL")}

    def set_terms(self, key: str, *, contract_min: int | None = None, closed: datetime | None = None,
                  language: str | None = None, attendees: tuple[str, ...] | None = None) -> None:
        """Change what is given (None: unchanged)."""
        if contract_min is not None:
            self.db.execute("UPDATE engagements SET contract_min=? WHERE key=?", (contract_min, key))
        if closed is not None:
            self.db.execute("UPDATE engagements SET closed=? WHERE key=?", (closed.isoformat(), key))
        if language is not None:
            self.db.execute("UPDATE engagements SET language=? WHERE key=?", (language, key))
        if attendees is not None:
            self.db.execute("UPDATE engagements SET attendees=? WHERE key=?", (json.dumps(list(attendees)), key))

    def engagements(self) -> list[Engagement]:
        keys = [r["key"] for r in self.db.execute("SELECT key FROM engagements ORDER BY key")]
        return [e for k in keys if (e := self.engagement(k)) is not None]

    def save_engagement(self, e: Engagement, now: datetime) -> None:
        self.db.execute(
            "INSERT INTO engagements(key, client, site, attendees, language, length_min, created)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET attendees=excluded.attendees,"
            " language=excluded.language, length_min=excluded.length_min",
            (e.key, e.client, e.site, json.dumps(list(e.attendees)), e.language,
             int(e.length.total_seconds() // 60), now.isoformat()),
        )
