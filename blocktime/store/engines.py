"""The store's engines: which one a `[store] url` names, and PostgreSQL behind SQLite's interface.

Use cases write SQLite-flavoured SQL through `store.db.execute(sql, params)` with `?` marks. On
PostgreSQL a thin wrapper (`PgConnection`) rewrites the marks once per distinct statement (cached)
and returns rows that, like `sqlite3.Row`, answer to `row["column"]` and `row[0]`. The SQL itself
is kept portable (`ON CONFLICT`, `"end"` quoted, no `rowid`); only the schema's types differ
(`ddl`). psycopg is imported here, lazily: a command that never opens a PostgreSQL store never
loads it.

A URL may carry a password: `redact` is what goes into messages and logs, never the URL itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from blocktime.errors import BadInput, BlocktimeError

if TYPE_CHECKING:
    import psycopg

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
SCHEMA_PREFIX = "blocktime"
CONNECT_TIMEOUT = 10  # seconds, unless the URL says connect_timeout=
RESERVED = {"team"}  # blocktime_team holds what the daemons of a team share: no trainer's schema
WRITE_LOCK = 0x626C6B77  # "blkw": first key of the advisory lock a store's write transaction holds


class Cursor(Protocol):
    """What callers use of a cursor, on both engines."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """`store.db`: sqlite3.Connection as it is, or `PgConnection`."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...
    def executemany(self, sql: str, parameters: Any, /) -> Any: ...
    def close(self) -> None: ...


def engine(url: str | None) -> str:
    """SQLITE for no URL or `sqlite:`; POSTGRESQL for `postgresql://` (or `postgres://`)."""
    if url is None or url.strip() in ("", "sqlite:", "sqlite://"):
        return SQLITE
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in ("postgresql", "postgres"):
        return POSTGRESQL
    raise BadInput(f"[store] url {redact(url)!r} is neither sqlite: nor postgresql://…",
                   "leave it out for the SQLite file in the data folder, or give postgresql://host/db")


def check_url(value: Any) -> str:
    """The config parser of `[store] url`: a known engine, or a ValueError that never shows a password."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected non-empty text")
    try:
        engine(value)
    except BadInput as exc:
        raise ValueError(f"{redact(value)!r} is neither sqlite: nor postgresql://…") from exc
    return value.strip()


def redact(url: str) -> str:
    """The URL without its password (user name, host and database stay: they help find the store).

    >>> redact("postgresql://ann:s3cret@db.example:5432/team")
    'postgresql://ann:***@db.example:5432/team'
    >>> redact("postgresql://db.example/team?password=s3cret&sslmode=require")
    'postgresql://db.example/team?password=***&sslmode=require'
    """
    from blocktime.config.redaction import without_password

    return without_password(url, query=lambda q: re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", q))


def schema_name(namespace: str | None) -> str:
    """The PostgreSQL schema of one trainer: `blocktime`, or `blocktime_<namespace>` made a safe
    identifier (a short digest is added when the name had to change, so two names never meet).

    >>> schema_name(None), schema_name("ann"), schema_name("Ann-Marie"), schema_name("team") != "blocktime_team"
    ('blocktime', 'blocktime_ann', 'blocktime_ann_marie_d10af2', True)
    """
    if namespace is None:
        return SCHEMA_PREFIX
    import hashlib

    clean = re.sub(r"[^a-z0-9_]", "_", namespace.lower())
    if clean != namespace or not clean or clean in RESERVED:
        clean = f"{clean}_{hashlib.sha256(namespace.encode()).hexdigest()[:6]}"
    return f"{SCHEMA_PREFIX}_{clean}"[:63]


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """SQLite-style SQL for psycopg: `?` -> `%s`, a literal `%` doubled, quoted text untouched.

    >>> translate("SELECT * FROM t WHERE a=? AND b LIKE 'x%' AND c='?'")
    "SELECT * FROM t WHERE a=%s AND b LIKE 'x%%' AND c='?'"
    """
    if sql.strip().upper() == "BEGIN IMMEDIATE":
        return "BEGIN"
    out: list[str] = []
    quote = ""
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


_TYPES = [  # patterns compiled on first use (re's cache): a SQLite run never needs them
    (r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (r"\bINTEGER\b", "BIGINT"),
    (r"\bBLOB\b", "BYTEA"),
    (r"\bTEXT\b", 'TEXT COLLATE "C"'),  # byte order, as SQLite compares and sorts
]


def ddl(statement: str, eng: str) -> str:
    """A schema statement as written for SQLite, in `eng`'s types (PostgreSQL: 64-bit integers,
    BYTEA, identity columns, C collation so that ORDER BY agrees with SQLite).

    >>> ddl("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, m BLOB, n TEXT)", "postgresql")
    'CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, m BYTEA, n TEXT COLLATE "C")'
    """
    if eng == SQLITE:
        return statement
    for pattern, replacement in _TYPES:
        statement = re.sub(pattern, replacement, statement)
    return statement


class Row:
    """A result row read by name or position, like sqlite3.Row."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        return self._values[key if isinstance(key, int) else self._index[key]]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._index)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=False))!r})"


def _row_factory(cursor: Any) -> Any:
    names = [d.name for d in (cursor.description or ())]
    index = {name: i for i, name in enumerate(names)}

    def make(values: Sequence[Any]) -> Row:
        return Row(values, index)
    return make


@dataclass(frozen=True, slots=True)
class Target:
    """Where a PostgreSQL store is, for messages (password-free) and for connecting."""

    url: str
    schema: str | None

    @property
    def where(self) -> str:
        return redact(self.url) + (f" (schema {self.schema})" if self.schema else "")


def connect(url: str, schema: str | None = None, **settings: Any) -> psycopg.Connection[Any]:
    """A raw psycopg connection (autocommit) to a PostgreSQL URL, its search_path set to `schema`
    in the startup packet (no extra round trip). For the team's own shared tables (claims,
    passes); the store's tables go through `open_store`. `settings`: more libpq parameters."""
    try:
        import psycopg
    except ImportError:
        raise BlocktimeError("a postgresql:// store needs the psycopg driver",
                             "pip install 'blocktime[postgresql]'") from None
    from psycopg.conninfo import conninfo_to_dict

    try:
        given = conninfo_to_dict(url)
        extra: dict[str, Any] = {}
        if schema:  # kept beside any options the URL sets itself
            extra["options"] = f"{given.get('options') or ''} -c search_path={schema}".strip()
        if "connect_timeout" not in given:  # an unreachable server: an error in seconds, not minutes
            extra["connect_timeout"] = CONNECT_TIMEOUT
        return psycopg.connect(url, autocommit=True, **{**extra, **settings})
    except psycopg.Error as exc:
        raise BlocktimeError(f"cannot reach the store at {redact(url)}: {_reason(exc, url)}",
                             "check [store] url (or BLOCKTIME_STORE_URL) and that the server is up") from None


def _reason(exc: Exception, url: str) -> str:
    """The driver's message, on one line, without anything of the URL's password."""
    from urllib.parse import urlsplit

    text = " ".join(str(exc).split())[:300]
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text


class PgConnection:
    """psycopg behind sqlite3.Connection's `execute`/`executemany`: `?` marks, name-or-index rows,
    autocommit with explicit BEGIN/COMMIT (Store.transaction). psycopg prepares a statement on
    the server after a few uses, so a daemon's repeated queries cost one round trip each."""

    def __init__(self, raw: psycopg.Connection[Any], target: Target) -> None:
        self.raw = raw
        self.target = target
        self.statements = 0  # sent to the server: one round trip each (benches read it)
        raw.row_factory = _row_factory
        # SQLite's BEGIN IMMEDIATE lets one writer at a time into a store; here a transaction-scoped
        # advisory lock on the schema does the same, sent with BEGIN in one simple query
        self._begin = (f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK}, hashtext('{target.schema}'))"
                       if target.schema else "BEGIN")

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        import psycopg

        self.statements += 1
        try:
            if sql == "BEGIN IMMEDIATE":
                return self._begin_write()
            return self.raw.execute(translate(sql), tuple(parameters))
        except psycopg.OperationalError as exc:
            raise BlocktimeError(f"the store at {self.target.where} failed: {_reason(exc, self.target.url)}",
                                 "check that the PostgreSQL server is up; the command can be run again") from None

    def _begin_write(self) -> Any:
        import psycopg

        try:
            return self.raw.execute(self._begin)
        except psycopg.Error:  # the lock was not had (a timeout, a cancel): no transaction is left open
            self.raw.execute("ROLLBACK")
            raise

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        self.statements += 1  # psycopg pipelines the rows
        cur = self.raw.cursor()
        cur.executemany(translate(sql), [tuple(p) for p in parameters])
        return cur

    def close(self) -> None:
        self.raw.close()
