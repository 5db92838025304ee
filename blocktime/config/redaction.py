"""The log redactor every command installs: configured secrets never reach a log line.

Its own module, below the commands (DESIGN: a piece every command uses), so that loading the
config does not import the daemon.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from blocktime.config.schema import Config

__all__ = ["Redactor", "secrets_of", "without_password"]


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
        if self.secrets:
            text = record.getMessage()
            if record.exc_info and not record.exc_text:  # a traceback is text too (the formatter reuses it)
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            for s in self.secrets:
                text = text.replace(s, "***")
                record.exc_text = record.exc_text.replace(s, "***") if record.exc_text else record.exc_text
            record.msg, record.args = text, None
        return True


def secrets_of(config: Config) -> list[str]:
    """The configured passwords, also as they travel: in the calendar URL's user:password part
    (percent-encoded or not) and as HTTP Basic credentials (RFC 7617), which a server may echo."""
    import base64
    from urllib.parse import unquote, urlsplit

    cal = config.calendar
    logins = [(cal.username or "", cal.password or "")]
    parts = urlsplit(cal.url or "")
    if parts.password:
        logins += [(unquote(parts.username or ""), unquote(parts.password)), ("", parts.password)]
    out = []
    for user, password in logins:
        if password:
            out += [password, base64.b64encode(f"{user}:{password}".encode()).decode()]
    if config.smtp is not None:
        out.append(getattr(config.smtp, "password", None) or "")
    if config.inbox is not None and config.inbox.password:
        out.append(config.inbox.password)
    return out
