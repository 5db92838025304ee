"""Secrets every machine of an installation must agree on, such as the key of the option-pick links.

With SQLite (one machine) the key is the file in the data dir, as always (`picks.secret`). With a
PostgreSQL store, daemons on several machines sign and verify the same links, so the key is a row
of `blocktime_team.secrets`, one per trainer: made once by whoever comes first (INSERT … ON
CONFLICT DO NOTHING, then read back), never printed. It sits beside the trainers' schemas rather than
in their `meta` table so that `blocktime repair`, which sets a broken schema aside and starts a new
one, keeps the links already mailed working.
"""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING, Any

from blocktime.errors import BlocktimeError, optional

if TYPE_CHECKING:
    from blocktime.store.engines import Connection
    from blocktime.usecases.session import Session

SCHEMA = "blocktime_team"
DDL = (f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
       f"CREATE TABLE IF NOT EXISTS {SCHEMA}.secrets (trainer TEXT NOT NULL, name TEXT NOT NULL,"
       " value TEXT NOT NULL, made_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (trainer, name))")


def pick_key(session: Session) -> bytes:
    """The key of this trainer's option-pick tokens (see `picks`)."""
    from blocktime.config.store_url import SQLITE, engine

    cfg = session.config
    if engine(cfg.store_url) == SQLITE:
        from blocktime.mail.picks import secret

        return secret(cfg.data_dir)
    assert cfg.store_url is not None
    return shared_secret(session.store.db, cfg.store_url, cfg.trainer or "", "pick")


def shared_secret(db: Connection, url: str, trainer: str, name: str) -> bytes:
    """32 random bytes kept in the PostgreSQL store under (trainer, name); the same for every caller.
    Read on the store's own connection (two statements that cannot fail, so safe inside a
    transaction); made, the first time only, on a connection of its own. Not cached: a process sees
    the key the store has now."""
    value = _read(db, trainer, name)
    if value is None:
        _make(url, trainer, name)
        value = _read(db, trainer, name)
    if value is None:
        raise BlocktimeError(f"the store lost the shared {name} key as it was made", "run the command again")
    return base64.b64decode(value)


def _read(db: Connection, trainer: str, name: str) -> str | None:
    # pg_tables, not to_regclass: a name looked up in vain earlier in the transaction stays unknown to it
    if db.execute(f"SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = '{SCHEMA}'"
                  " AND tablename = 'secrets')").fetchone()[0] is not True:
        return None
    row = db.execute(f"SELECT value FROM {SCHEMA}.secrets WHERE trainer = ? AND name = ?", (trainer, name)).fetchone()
    return None if row is None else str(row[0])


def _make(url: str, trainer: str, name: str) -> None:
    """INSERT … ON CONFLICT DO NOTHING: whoever comes first makes the key; the others keep theirs unused."""
    from blocktime.store.engines import connect

    fresh = base64.b64encode(os.urandom(32)).decode()
    conn = connect(url)  # its failure is one line without the URL's password
    try:
        for statement in DDL:
            _ddl(conn, statement)
        conn.execute(f"INSERT INTO {SCHEMA}.secrets (trainer, name, value) VALUES (%s, %s, %s)"
                     " ON CONFLICT (trainer, name) DO NOTHING", (trainer, name, fresh))
    except BlocktimeError:
        raise
    except Exception as exc:
        raise BlocktimeError(f"the store could not keep the shared {name} key ({type(exc).__name__})",
                             "check that the PostgreSQL server is up; the command can be run again") from None
    finally:
        conn.close()


def _ddl(conn: Any, statement: str) -> None:
    """CREATE … IF NOT EXISTS, which two first callers at once can still trip (a unique violation in
    the catalog): the loser finds the object made."""
    import contextlib

    optional("psycopg", "a postgresql:// store")
    import psycopg

    with contextlib.suppress(psycopg.errors.UniqueViolation, psycopg.errors.DuplicateSchema,
                             psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject):
        conn.execute(statement)
