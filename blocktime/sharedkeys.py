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
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from blocktime.errors import BlocktimeError

if TYPE_CHECKING:
    from blocktime.config import Config

SCHEMA = "blocktime_team"
DDL = (f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
       f"CREATE TABLE IF NOT EXISTS {SCHEMA}.secrets (trainer TEXT NOT NULL, name TEXT NOT NULL,"
       " value TEXT NOT NULL, made_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (trainer, name))")


def pick_key(config: Config) -> bytes:
    """The key of this trainer's option-pick tokens (see `picks`)."""
    from blocktime.storedb import SQLITE, engine

    if engine(config.store_url) == SQLITE:
        from blocktime.picks import secret

        return secret(config.data_dir)
    assert config.store_url is not None
    return shared_secret(config.store_url, config.trainer or "", "pick")


@lru_cache(maxsize=4096)
def shared_secret(url: str, trainer: str, name: str) -> bytes:
    """32 random bytes kept in the PostgreSQL store under (trainer, name); the same for every caller."""
    from blocktime.storedb import connect

    fresh = base64.b64encode(os.urandom(32)).decode()
    conn = connect(url)  # its failure is one line without the URL's password
    try:
        for statement in DDL:
            _ddl(conn, statement)
        conn.execute(f"INSERT INTO {SCHEMA}.secrets (trainer, name, value) VALUES (%s, %s, %s)"
                     " ON CONFLICT (trainer, name) DO NOTHING", (trainer, name, fresh))
        row: Any = conn.execute(f"SELECT value FROM {SCHEMA}.secrets WHERE trainer = %s AND name = %s",
                                (trainer, name)).fetchone()
    except BlocktimeError:
        raise
    except Exception as exc:
        raise BlocktimeError(f"the store could not keep the shared {name} key ({type(exc).__name__})",
                             "check that the PostgreSQL server is up; the command can be run again") from None
    finally:
        conn.close()
    return base64.b64decode(row[0])


def _ddl(conn: Any, statement: str) -> None:
    """CREATE … IF NOT EXISTS, which two first callers at once can still trip (a unique violation in
    the catalog): the loser finds the object made."""
    import contextlib

    import psycopg

    with contextlib.suppress(psycopg.errors.UniqueViolation, psycopg.errors.DuplicateSchema,
                             psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject):
        conn.execute(statement)
