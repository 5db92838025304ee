"""Passwords kept outside the config file: in an environment variable (`password_env`) or, for
the calendar, in the system keyring (`blocktime init --keyring`). They are read when a connection
needs them (`Secret.read`), never on loading the config (issue 26: a command that only reads the
store, or connects elsewhere, needs none of them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from blocktime.errors import MissingSecret, optional

KEYRING_NAME = "caldav:{username}"  # keyring entry of the calendar password (service "blocktime")


@dataclass(frozen=True, slots=True)
class Secret:
    """Where a section's password is kept outside the config file: an environment variable or the
    system keyring. Read only when a connection needs it (`read`), so that a command that only reads
    the store, or connects elsewhere, needs no password at all (issue 26)."""

    section: str  # calendar, smtp, inbox
    where: str  # the config file, for the message
    env: str | None = None  # the variable `password_env` names; None: the keyring
    username: str | None = None  # the login (the keyring's entry; the Basic credentials the redactor hides)

    def read(self) -> str:
        """The password, now; one BadInput naming the key when it is not there."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise MissingSecret(f"{self.where}: [{self.section}] password_env: environment variable {self.env} "
                                    "is not set", f"set {self.env}, or give [{self.section}] password")
        else:
            value = keyring_password(self.username or "")
            if value is None:
                raise MissingSecret(f"{self.where}: [{self.section}] password_keyring: no password for {self.username} "
                                    "in the keyring", "`blocktime init --keyring` stores one")
        from blocktime.config.redaction import redact_also

        redact_also(logins(self.username or "", value))
        return value

    def peek(self) -> str | None:
        """The variable's value if it is set, else None; never the keyring, never an error (what
        the log redactor knows before a connection is made)."""
        return os.environ.get(self.env) if self.env is not None else None


def secret_of(section: dict[str, Any], name: str, where: str) -> Secret | None:
    """The section's `password_env` as a Secret to read later (None: no variable named)."""
    if "password_env" not in section:
        return None
    return Secret(name, where, env=section["password_env"], username=section.get("username"))


def logins(user: str, password: str) -> list[str]:
    """A password as it travels: itself and as HTTP Basic credentials (RFC 7617), which a server may echo."""
    import base64

    return [password, base64.b64encode(f"{user}:{password}".encode()).decode()] if password else []


def _keyring(needed_by: str) -> Any:
    """The keyring package, or one line naming what needs it and the extra that brings it."""
    return optional("keyring", needed_by)


def store_password(username: str, password: str) -> None:
    """Keep the calendar password in the system keyring (service `blocktime`)."""
    _keyring("--keyring").set_password("blocktime", KEYRING_NAME.format(username=username), password)


def keyring_password(username: str) -> str | None:
    """The calendar password kept by `store_password`, or None."""
    value = _keyring("[calendar] password_keyring").get_password("blocktime", KEYRING_NAME.format(username=username))
    return str(value) if value is not None else None
