"""`[store] url`: which engine it names (SQLite or PostgreSQL), checked when the config is read, and
the URL as messages and logs may show it. A URL may carry a password: `redact` is what goes into
messages and logs, never the URL itself.
"""

from __future__ import annotations

import re
from typing import Any

from blocktime.errors import BadInput

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


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
    from blocktime.config.redaction import without_password  # (logging: not for commands that never log)

    return without_password(url, query=lambda q: re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", q))
