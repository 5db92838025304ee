"""Secrets in the config: a section's password given inline or through an environment variable, the
calendar password kept in the system keyring (`blocktime init --keyring`), and every configured
secret as it may travel (for the log redactor, `redaction`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, cast

from blocktime.errors import BadInput

if TYPE_CHECKING:
    from blocktime.config.schema import Config

KEYRING_NAME = "caldav:{username}"  # keyring entry of the calendar password (service "blocktime")


def password_of(section: dict[str, Any], name: str, where: str, problems: list[str]) -> str | None:
    """A section's password: `password`, or the environment variable `password_env` names (which
    must be set: a problem otherwise)."""
    if "password_env" not in section:
        return cast("str | None", section.get("password"))
    value = os.environ.get(section["password_env"])
    if value is None:
        problems.append(f"{where}: [{name}] password_env: environment variable {section['password_env']} is not set")
    return value


def _keyring(needed_by: str) -> Any:
    """The keyring package, or one BadInput naming what needs it and the extra that brings it."""
    try:
        import keyring
    except ImportError:
        raise BadInput(f"{needed_by} needs the keyring package", "pip install 'blocktime[keyring]'") from None
    return keyring


def store_password(username: str, password: str) -> None:
    """Keep the calendar password in the system keyring (service `blocktime`)."""
    _keyring("--keyring").set_password("blocktime", KEYRING_NAME.format(username=username), password)


def keyring_password(username: str) -> str | None:
    """The calendar password kept by `store_password`, or None."""
    value = _keyring("[calendar] password_keyring").get_password("blocktime", KEYRING_NAME.format(username=username))
    return str(value) if value is not None else None


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
