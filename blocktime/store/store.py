"""Local state: engagements, blocks (uid, href, etag, sequence) and their history.

SQLite by default (a file in the data folder, created 0600), or a PostgreSQL schema when
`[store] url` names one (`open_store`; the engine details are in `storedb`). Each apply step is
one transaction, so a crash leaves either the step done or not started; `pending` blocks are
finished by the next write command.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from blocktime.core.model import Block, Engagement, Interval, WeeklyHours
from blocktime.errors import BlocktimeError
from blocktime.store.engines import (
    POSTGRESQL,
    SCHEMA_PREFIX,
    SQLITE,
    Connection,
    PgConnection,
    Target,
    connect,
    ddl,
    engine,
    schema_name,
)

__all__ = ["SCHEMA_VERSION", "Store", "connect", "open_store", "set_aside"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS engagements (
  key TEXT PRIMARY KEY,
  client TEXT NOT NULL,
  site TEXT NOT NULL,
  attendees TEXT NOT NULL,
  language TEXT NOT NULL,
  length_min INTEGER NOT NULL,
  created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
  uid TEXT PRIMARY KEY,
  engagement TEXT NOT NULL REFERENCES engagements(key),
  number INTEGER NOT NULL,
  start TEXT NOT NULL,
  "end" TEXT NOT NULL,
  planned_end TEXT NOT NULL,
  site TEXT NOT NULL,
  href TEXT NOT NULL,
  etag TEXT,
  sequence INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL,
  makeup_for TEXT,
  ended_at TEXT,
  delivered_min INTEGER,
  remaining_min INTEGER,
  cut_reason TEXT,
  UNIQUE (engagement, number)
);
CREATE TABLE IF NOT EXISTS offers (
  id TEXT PRIMARY KEY,
  engagement TEXT NOT NULL REFERENCES engagements(key),
  source_uid TEXT NOT NULL,
  minutes INTEGER NOT NULL,
  length_min INTEGER NOT NULL,
  created TEXT NOT NULL,
  expires TEXT NOT NULL,
  state TEXT NOT NULL,
  chosen INTEGER,
  makeup_uid TEXT
);
CREATE TABLE IF NOT EXISTS holds (
  uid TEXT PRIMARY KEY,
  offer TEXT NOT NULL REFERENCES offers(id),
  number INTEGER NOT NULL,
  start TEXT NOT NULL,
  "end" TEXT NOT NULL,
  href TEXT NOT NULL,
  etag TEXT,
  state TEXT NOT NULL,
  UNIQUE (offer, number)
);
CREATE TABLE IF NOT EXISTS ledger (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  engagement TEXT NOT NULL,
  minutes INTEGER NOT NULL,
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uid TEXT NOT NULL,
  at TEXT NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mail_outbox (
  key TEXT PRIMARY KEY,
  ref TEXT NOT NULL,
  kind TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  recipient TEXT NOT NULL,
  subject TEXT NOT NULL,
  message BLOB NOT NULL,
  created TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
CREATE TABLE IF NOT EXISTS mail_sent (
  key TEXT PRIMARY KEY,
  message_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
  uid TEXT NOT NULL,
  attendee TEXT NOT NULL,
  partstat TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  stamp TEXT,
  note TEXT,
  received TEXT NOT NULL,
  PRIMARY KEY (uid, attendee)
);
CREATE TABLE IF NOT EXISTS counters (
  id TEXT PRIMARY KEY,
  uid TEXT NOT NULL,
  attendee TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  start TEXT NOT NULL,
  "end" TEXT NOT NULL,
  note TEXT,
  stamp TEXT,
  received TEXT NOT NULL,
  state TEXT NOT NULL,
  UNIQUE (uid, attendee, sequence, start, stamp)
);
"""

class SqliteOnly(str):
    """A migration statement that only an existing SQLite file needs (a new PostgreSQL schema is
    empty when it runs, and the statement is not portable, e.g. it reads `rowid`)."""


#: Schema upgrades, in order: entry n turns a version-n store into version n+1 (one transaction,
#: after a backup copy on SQLite). Version 1 is `SCHEMA` as the first releases wrote it (no version
#: mark). Written once for both engines: `storedb.ddl` maps the types for PostgreSQL.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1 -> 2: declined options stay declined; an offer knows the offer that replaced it
        "CREATE TABLE declined (engagement TEXT NOT NULL, start TEXT NOT NULL, \"end\" TEXT NOT NULL,"
        " offer TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (engagement, start, \"end\"))",
        "ALTER TABLE offers ADD COLUMN replaced_by TEXT",
    ),
    (  # 2 -> 3: every table in the migrations (sync and the inbox made theirs on first use);
       # the outbox keeps its order in a column of its own (PostgreSQL has no rowid)
        "CREATE TABLE IF NOT EXISTS sync_state (url TEXT PRIMARY KEY, name TEXT NOT NULL, token TEXT, updated TEXT)",
        "CREATE TABLE IF NOT EXISTS conflicts (event_uid TEXT NOT NULL, block_uid TEXT NOT NULL, summary TEXT NOT NULL,"
        " start TEXT NOT NULL, \"end\" TEXT NOT NULL, found TEXT NOT NULL, PRIMARY KEY (event_uid, block_uid))",
        "CREATE TABLE IF NOT EXISTS inbox_messages (message_id TEXT PRIMARY KEY, folder TEXT NOT NULL,"
        " uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL, sender TEXT NOT NULL, subject TEXT NOT NULL,"
        " action TEXT NOT NULL, offer TEXT, option INTEGER, block TEXT, reason TEXT NOT NULL DEFAULT '',"
        " payload TEXT, state TEXT NOT NULL, at TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS inbox_marks (folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL,"
        " last_uid INTEGER NOT NULL, PRIMARY KEY (folder, uidvalidity))",
        "ALTER TABLE mail_outbox ADD COLUMN seq INTEGER",
        SqliteOnly("UPDATE mail_outbox SET seq=rowid"),
    ),
    (  # 3 -> 4: a calendar's change tag (CTag), read before the REPORT that gave its token
        "ALTER TABLE sync_state ADD COLUMN tag TEXT",
    ),
)
SCHEMA_VERSION = 1 + len(MIGRATIONS)
LOCK_CLASS = 0x626C6B74  # "blkt": first key of the advisory lock taken while a schema is upgraded


def steps(version: int, engine: str) -> list[str]:
    """The statements that take a version-`version` store to SCHEMA_VERSION on `engine`."""
    out: list[str] = []
    if version == 0:
        out += [ddl(statement, engine) for statement in SCHEMA.split(";") if statement.strip()]
        version = 1
    for step in MIGRATIONS[version - 1:]:
        out += [ddl(statement, engine) for statement in step
                if engine == SQLITE or not isinstance(statement, SqliteOnly)]
    return out


def _newer(version: int, where: str) -> BlocktimeError:
    return BlocktimeError(
        f"the local store {where} was written by a newer blocktime (schema {version}; this one knows"
        f" {SCHEMA_VERSION})", "upgrade blocktime, or point BLOCKTIME_DATA_DIR at another folder")


def upgrade(db: sqlite3.Connection, path: Path) -> None:
    """Bring the store to SCHEMA_VERSION: a new file gets the whole schema; an older one is copied
    to `<file>.v<N>.bak` and migrated in place in one transaction; a newer one is refused."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise _newer(version, str(path))
    if version == SCHEMA_VERSION:
        return
    known = db.execute("SELECT 1 FROM sqlite_master WHERE name='engagements'").fetchone() is not None
    if known:
        backup = path.with_name(f"{path.name}.v{max(version, 1)}.bak")
        copy = sqlite3.connect(backup)
        with copy:
            db.backup(copy)
        copy.close()
        os.chmod(backup, 0o600)
    db.execute("BEGIN IMMEDIATE")
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])  # another process may have won
        if version < SCHEMA_VERSION:
            for statement in steps(version, SQLITE):
                db.execute(statement)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except sqlite3.DatabaseError as exc:
        db.execute("ROLLBACK")
        raise BlocktimeError(f"could not upgrade the local store {path} to schema {SCHEMA_VERSION} ({exc});"
                             " it is unchanged", "report this; the copy beside it is the store as it was") from None
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def upgrade_pg(db: PgConnection) -> None:
    """The same for a PostgreSQL schema: its version is kept in `store_version`; the schema is
    created, or migrated in one transaction (DDL is transactional there: a failure changes
    nothing), under an advisory lock so that two processes opening it at once do it once."""
    version = pg_version(db)
    if version > SCHEMA_VERSION:
        raise _newer(version, db.target.where)
    if version == SCHEMA_VERSION:
        return
    schema = db.target.schema or SCHEMA_PREFIX
    import psycopg

    with Store.attach(db).transaction():
        try:
            # two-key form: a key space apart from single-key locks (claims of a trainer's pass)
            db.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (LOCK_CLASS, schema))
            db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            db.execute("CREATE TABLE IF NOT EXISTS store_version (version BIGINT NOT NULL)")
            version = pg_version(db)  # another process may have won
            if version > SCHEMA_VERSION:
                raise _newer(version, db.target.where)
            if version < SCHEMA_VERSION:  # one round trip: the statements as one script
                db.raw.execute(";\n".join([*steps(version, POSTGRESQL), "DELETE FROM store_version",
                                            f"INSERT INTO store_version(version) VALUES ({SCHEMA_VERSION})"]))
        except psycopg.Error as exc:
            raise BlocktimeError(f"could not upgrade the store {db.target.where} to schema {SCHEMA_VERSION}"
                                 f" ({' '.join(str(exc).split())[:200]}); it is unchanged", "report this") from None


def pg_version(db: PgConnection) -> int:
    """The schema version of a PostgreSQL store; 0 when it has none yet."""
    import psycopg

    db.statements += 1
    try:
        row = db.raw.execute("SELECT version FROM store_version").fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return 0 if row is None else int(row[0])


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


LIVE = ("pending", "booked", "cut_short")


@dataclass(frozen=True, slots=True)
class StoredBlock:
    """A block with what the server told us about it."""

    block: Block
    href: str
    etag: str | None
    sequence: int
    state: str
    planned_end: datetime
    ended_at: datetime | None = None
    delivered_min: int | None = None
    remaining_min: int | None = None
    cut_reason: str | None = None


@dataclass(frozen=True, slots=True)
class StoredOffer:
    id: str
    engagement: str
    source_uid: str
    minutes: int
    length_min: int
    created: datetime
    expires: datetime
    state: str
    chosen: int | None
    makeup_uid: str | None
    replaced_by: str | None = None


@dataclass(frozen=True, slots=True)
class StoredHold:
    uid: str
    offer: str
    number: int
    span: Interval
    href: str
    etag: str | None
    state: str


class Store:
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

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

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

    # blocks -----------------------------------------------------------------------------
    def _row(self, row: Any) -> StoredBlock:
        block = Block(
            engagement=row["engagement"],
            number=row["number"],
            uid=row["uid"],
            span=Interval(datetime.fromisoformat(row["start"]), datetime.fromisoformat(row["end"])),
            site=row["site"],
            makeup_for=row["makeup_for"],
        )
        return StoredBlock(block, row["href"], row["etag"], row["sequence"], row["state"],
                           datetime.fromisoformat(row["planned_end"]),
                           datetime.fromisoformat(row["ended_at"]) if row["ended_at"] else None,
                           row["delivered_min"], row["remaining_min"], row["cut_reason"])

    def _select(
        self, table: str, states: tuple[str, ...], where: tuple[str, str | None], order: str
    ) -> Iterator[Any]:
        """Rows of `table` in one of `states`, optionally where column = value, in `order`."""
        marks = ",".join("?" for _ in states)
        sql = f"SELECT * FROM {table} WHERE state IN ({marks})"
        args: list[str] = list(states)
        column, value = where
        if value is not None:
            sql += f" AND {column}=?"
            args.append(value)
        return iter(self.db.execute(f"{sql} ORDER BY {order}", args).fetchall())

    def blocks(self, engagement: str | None = None, states: tuple[str, ...] = LIVE) -> list[StoredBlock]:
        return [self._row(r) for r in self._select("blocks", states, ("engagement", engagement), "start, uid")]

    def block(self, ref: str) -> StoredBlock | None:
        """By id (`acme-3`) or UID."""
        row = self.db.execute("SELECT * FROM blocks WHERE uid=?", (ref,)).fetchone()
        if row is None and "-" in ref:
            key, _, num = ref.rpartition("-")
            if num.isdigit():
                row = self.db.execute(
                    "SELECT * FROM blocks WHERE engagement=? AND number=?", (key, int(num))
                ).fetchone()
        return None if row is None else self._row(row)

    def next_number(self, engagement: str) -> int:
        row = self.db.execute(
            "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM blocks WHERE engagement=?", (engagement,)
        ).fetchone()
        return int(row["n"])

    def add_pending(self, b: Block, href: str) -> None:
        self.db.execute(
            "INSERT INTO blocks(uid, engagement, number, start, \"end\", planned_end, site, href, state,"
            " makeup_for) VALUES (?,?,?,?,?,?,?,?, 'pending', ?)",
            (b.uid, b.engagement, b.number, b.span.start.isoformat(), b.span.end.isoformat(),
             b.span.end.isoformat(), b.site, href, b.makeup_for),
        )

    def mark(self, uid: str, state: str, etag: str | None = None, sequence: int | None = None) -> None:
        self.db.execute(
            "UPDATE blocks SET state=?, etag=COALESCE(?, etag), sequence=COALESCE(?, sequence)"
            " WHERE uid=?",
            (state, etag, sequence, uid),
        )

    def log(self, uid: str, at: datetime, kind: str, **detail: object) -> None:
        self.db.execute(
            "INSERT INTO history(uid, at, kind, detail) VALUES (?,?,?,?)",
            (uid, at.isoformat(), kind, json.dumps(detail, sort_keys=True, default=str)),
        )

    def history(self, uid: str) -> list[tuple[str, str, dict[str, object]]]:
        return [
            (r["at"], r["kind"], json.loads(r["detail"]))
            for r in self.db.execute("SELECT * FROM history WHERE uid=? ORDER BY id", (uid,))
        ]

    def record_cut(self, uid: str, ended_at: datetime, delivered: int, remaining: int, reason: str) -> None:
        self.db.execute(
            "UPDATE blocks SET state='cut_short', \"end\"=?, ended_at=?, delivered_min=?, remaining_min=?,"
            " cut_reason=? WHERE uid=?",
            (ended_at.isoformat(), ended_at.isoformat(), delivered, remaining, reason, uid),
        )

    def reschedule(self, uid: str, span: Interval, sequence: int, etag: str | None) -> None:
        """A moved block: new times (planned end included) and the SEQUENCE of its new invite."""
        self.db.execute(
            "UPDATE blocks SET start=?, \"end\"=?, planned_end=?, sequence=?, etag=COALESCE(?, etag) WHERE uid=?",
            (span.start.isoformat(), span.end.isoformat(), span.end.isoformat(), sequence, etag, uid),
        )

    # remainder ledger -------------------------------------------------------------------
    def add_minutes(self, engagement: str, minutes: int, kind: str, ref: str, at: datetime) -> None:
        self.db.execute(
            "INSERT INTO ledger(engagement, minutes, kind, ref, at) VALUES (?,?,?,?,?)",
            (engagement, minutes, kind, ref, at.isoformat()),
        )

    def remainder(self, engagement: str) -> int:
        row = self.db.execute(
            "SELECT COALESCE(SUM(minutes), 0) AS m FROM ledger WHERE engagement=?", (engagement,)
        ).fetchone()
        return int(row["m"])

    def ledger(self, engagement: str) -> list[tuple[int, str, str]]:
        return [(r["minutes"], r["kind"], r["ref"]) for r in self.db.execute(
            "SELECT * FROM ledger WHERE engagement=? ORDER BY id", (engagement,))]

    # offers and holds -------------------------------------------------------------------
    def _offer(self, r: Any) -> StoredOffer:
        return StoredOffer(r["id"], r["engagement"], r["source_uid"], r["minutes"], r["length_min"],
                           datetime.fromisoformat(r["created"]), datetime.fromisoformat(r["expires"]),
                           r["state"], r["chosen"], r["makeup_uid"], r["replaced_by"])

    def offer(self, offer_id: str) -> StoredOffer | None:
        r = self.db.execute("SELECT * FROM offers WHERE id=?", (offer_id,)).fetchone()
        return None if r is None else self._offer(r)

    def offers(self, engagement: str | None = None, states: tuple[str, ...] = ("open",)) -> list[StoredOffer]:
        return [self._offer(r) for r in self._select("offers", states, ("engagement", engagement), "created, id")]

    def next_offer_id(self, engagement: str) -> str:
        n = self.db.execute("SELECT COUNT(*) AS n FROM offers WHERE engagement=?", (engagement,)).fetchone()
        return f"{engagement}-o{int(n['n']) + 1}"

    def add_offer(self, o: StoredOffer) -> None:
        self.db.execute(
            "INSERT INTO offers(id, engagement, source_uid, minutes, length_min, created, expires, state)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (o.id, o.engagement, o.source_uid, o.minutes, o.length_min, o.created.isoformat(),
             o.expires.isoformat(), o.state),
        )

    def set_offer(self, offer_id: str, state: str, chosen: int | None = None, makeup_uid: str | None = None,
                  replaced_by: str | None = None) -> None:
        self.db.execute(
            "UPDATE offers SET state=?, chosen=COALESCE(?, chosen), makeup_uid=COALESCE(?, makeup_uid),"
            " replaced_by=COALESCE(?, replaced_by) WHERE id=?", (state, chosen, makeup_uid, replaced_by, offer_id),
        )

    def add_declined(self, engagement: str, span: Interval, offer: str, at: datetime) -> None:
        """An option the client turned down: later offers for the engagement skip it."""
        self.db.execute(
            "INSERT INTO declined(engagement, start, \"end\", offer, at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
            (engagement, span.start.isoformat(), span.end.isoformat(), offer, at.isoformat()),
        )

    def declined(self, engagement: str) -> list[Interval]:
        return [Interval(datetime.fromisoformat(r["start"]), datetime.fromisoformat(r["end"]))
                for r in self.db.execute("SELECT start, \"end\" FROM declined WHERE engagement=? ORDER BY start",
                                         (engagement,))]

    def add_hold(self, h: StoredHold) -> None:
        self.db.execute(
            "INSERT INTO holds(uid, offer, number, start, \"end\", href, state) VALUES (?,?,?,?,?,?,?)",
            (h.uid, h.offer, h.number, h.span.start.isoformat(), h.span.end.isoformat(), h.href, h.state),
        )

    def holds(self, offer: str | None = None, states: tuple[str, ...] = ("pending", "held")) -> list[StoredHold]:
        return [
            StoredHold(r["uid"], r["offer"], r["number"],
                       Interval(datetime.fromisoformat(r["start"]), datetime.fromisoformat(r["end"])),
                       r["href"], r["etag"], r["state"])
            for r in self._select("holds", states, ("offer", offer), "offer, number")
        ]

    def set_hold(self, uid: str, state: str, etag: str | None = None) -> None:
        self.db.execute("UPDATE holds SET state=?, etag=COALESCE(?, etag) WHERE uid=?", (state, etag, uid))
