"""Every configured secret as it may travel, for the log redactor (`redaction`): the passwords in
the file, those in the environment, and the calendar URL's user:password part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from blocktime.config.passwords import Secret, logins

if TYPE_CHECKING:
    from blocktime.config.schema import Config


def secrets_of(config: Config) -> list[str]:
    """The configured passwords, also as they travel: in the calendar URL's user:password part
    (percent-encoded or not) and as HTTP Basic credentials (RFC 7617), which a server may echo."""
    from urllib.parse import unquote, urlsplit

    cal = config.calendar
    pairs = [(cal.username or "", _known(cal.password, cal.password_from))]
    parts = urlsplit(cal.url or "")
    if parts.password:
        pairs += [(unquote(parts.username or ""), unquote(parts.password)), ("", parts.password)]
    out = []
    for user, password in pairs:
        out += logins(user, password)
    if config.smtp is not None:
        out.append(_known(config.smtp.password, config.smtp.password_from))
    if config.inbox is not None:
        out.append(_known(config.inbox.password, config.inbox.password_from))
    return out


def _known(password: str | None, source: Secret | None) -> str:
    """A password as far as it is known without reading the keyring ("" if not)."""
    return (source.peek() if source is not None else password) or ""
