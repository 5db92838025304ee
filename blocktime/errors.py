"""The one error family: a user-facing message, a hint, and the exit code `cli` turns it into."""

from __future__ import annotations


class BlocktimeError(Exception):
    """A failure the user can act on. Never carries secrets. Exit code 1 (runtime failure)."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class BadInput(BlocktimeError):
    """The user's input (arguments, config, files) is wrong. Exit code 2."""

    exit_code = 2


class MissingSecret(BadInput):
    """A password the config keeps outside the file (environment, keyring) is not there. Raised
    only when a connection needs it: what can go on without that connection may (exit code 2)."""


class ServerError(BlocktimeError):
    """The calendar server could not be reached or refused us."""


class LoginRefused(BlocktimeError):
    """A server refused blocktime's login or access (HTTP 401/403 from the calendar, an IMAP or
    SMTP authentication failure). Trying again cannot help until the config changes: never
    retried, and a daemon pass ends at it (one line, exit 1)."""


class CalendarRefused(ServerError, LoginRefused):
    """The calendar server refused the login (HTTP 401) or the access (HTTP 403)."""


class ConflictError(BlocktimeError):
    """Someone else changed an object between our read and our write (If-Match failed)."""


class Interrupted(BlocktimeError):
    """The user stopped a command (Ctrl-C) half-way; the message says what is left. Exit code 130."""

    exit_code = 130


class NoLongerFits(BlocktimeError):
    """An offered option no longer fits the calendar, the policy or other offers' holds: nothing was
    booked. Exit code 1."""
