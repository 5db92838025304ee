"""The log redactor every command installs: configured secrets never reach a log line.

Its own module, below the commands (DESIGN: a piece every command uses), so that loading the
config does not import the daemon.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["Redactor", "redact_also", "without_password"]

#: secrets read after the redactors were made (a password read when its connection opens): every
#: Redactor hides them too
_LATE: list[str] = []


def redact_also(secrets: list[str]) -> None:
    """Hide these too, in every Redactor's records from now on."""
    _LATE.extend(s for s in secrets if s and len(s) >= 3 and s not in _LATE)


def _same(text: str) -> str:
    return text


def without_password(url: str, query: Callable[[str], str] = _same, path: Callable[[str], str] = _same) -> str:
    """`url` with the password of its user info masked and no fragment; `query` and `path` mask
    more (each caller knows what else in its URLs is secret).

    >>> without_password("https://ann:pw@dav.example/cal/#x")
    'https://ann:***@dav.example/cal/'
    """
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unreadable url>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    return urlunsplit((parts.scheme, netloc, path(parts.path), query(parts.query), ""))


class Redactor(logging.Filter):
    """Replaces every configured secret in log records with `***`."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 3]

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = [*self.secrets, *_LATE]
        if secrets:
            text = record.getMessage()
            if record.exc_info and not record.exc_text:  # a traceback is text too (the formatter reuses it)
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            for s in secrets:
                text = text.replace(s, "***")
                record.exc_text = record.exc_text.replace(s, "***") if record.exc_text else record.exc_text
            record.msg, record.args = text, None
        return True
