"""The one error family: a user-facing message, a hint, and the exit code `cli` turns it into."""

from __future__ import annotations

from types import ModuleType

#: the optional drivers and the pip extra that brings each ([project.optional-dependencies])
EXTRAS = {"psycopg": "postgresql", "keyring": "keyring", "msal": "outlook", "google_auth_oauthlib": "google",
          "google_auth_httplib2": "google", "google": "google"}


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


class MissingDriver(BadInput):
    """An optional package that the config asks for is not installed. Exit code 2."""


def missing_driver(module: str, needed_by: str) -> MissingDriver:
    """One line naming what needs `module` and the pip extra that brings it."""
    top = module.split(".")[0]
    extra = EXTRAS.get(top)
    return MissingDriver(f"{needed_by} needs the optional {top} package",
                         f"pip install 'blocktime[{extra}]'" if extra else f"pip install {top}")


def driver_missing(exc: BaseException) -> MissingDriver | None:
    """The one line for an optional driver imported without `optional` (the CLI boundary's safety
    net), None for any other exception."""
    name = getattr(exc, "name", None) or ""
    if isinstance(exc, ModuleNotFoundError) and name.split(".")[0] in EXTRAS:
        return missing_driver(name, "this command")
    return None


def optional(module: str, needed_by: str) -> ModuleType:
    """Import an optional driver (psycopg, keyring, msal, google-auth), or raise MissingDriver: each
    is imported through here, so that a missing one is one line from every command."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise missing_driver(module, needed_by) from None


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
