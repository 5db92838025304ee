"""The store's schema and its upgrades: the tables as the first release wrote them, every migration
since, and the upgrade of an SQLite file or a PostgreSQL schema to the current version.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from blocktime.config.store_url import POSTGRESQL, SQLITE
from blocktime.errors import BlocktimeError
from blocktime.store.engines import SCHEMA_PREFIX, PgConnection, ddl, transaction

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
#: mark). Written once for both engines: `engines.ddl` maps the types for PostgreSQL.
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
    (  # 4 -> 5: an engagement's contracted minutes, and when it was closed (NULL: active)
        "ALTER TABLE engagements ADD COLUMN contract_min INTEGER",
        "ALTER TABLE engagements ADD COLUMN closed TEXT",
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

    with transaction(db):
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
