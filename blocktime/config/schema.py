"""One declarative schema -> typed config: the sections and keys, each with its parser and its
help, and the typed values a loaded config is made of (`loading` reads a file into them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from blocktime.config.inputs import duration, is_address, zone
from blocktime.config.passwords import Secret
from blocktime.config.store_url import check_url
from blocktime.core.model import Organizer, Policy, WeeklyHours

APP = "blocktime"


@dataclass(frozen=True, slots=True)
class CalendarConfig:
    """Where blocks are written. `provider` picks the backend (local, caldav, google, outlook);
    `url` None means the embedded calendar, or the provider's public endpoint for google/outlook."""

    url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    name: str = "blocktime"
    verify_tls: bool = True
    provider: str = "local"
    profile: str | None = None
    client_id: str | None = None
    tenant: str = "common"
    token_store: str = "file"
    #: where the password is read from when it is not in the file (None: `password`, maybe None)
    password_from: Secret | None = field(default=None, repr=False)

    def login_password(self) -> str | None:
        """The password to sign in with, read now (from the environment or the keyring when the
        config says so): only a command that connects here asks, and a missing one is its error."""
        return self.password_from.read() if self.password_from is not None else self.password


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where iMIP mail goes out (RFC 6047). `sender` is the From address."""

    host: str
    sender: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    auth: str = "password"  # or google / outlook: SASL XOAUTH2 with that sign-in's token
    #: where the password is read from when it is not in the file (None: `password`, maybe None)
    password_from: Secret | None = field(default=None, repr=False)

    def login_password(self) -> str | None:
        """The password to sign in with, read now (from the environment or the keyring when the
        config says so): only a command that connects here asks, and a missing one is its error."""
        return self.password_from.read() if self.password_from is not None else self.password


@dataclass(frozen=True, slots=True)
class InboxConfig:
    """The organizer's mailbox, where clients' answers arrive (IMAP, or Graph mail for outlook)."""

    host: str | None = None
    port: int = 993
    security: str = "ssl"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    folder: str = "INBOX"
    auth: str = "password"
    auto_accept_counter: bool = False
    processed_folder: str | None = None
    #: where the password is read from when it is not in the file (None: `password`, maybe None)
    password_from: Secret | None = field(default=None, repr=False)

    def login_password(self) -> str | None:
        """The password to sign in with, read now (from the environment or the keyring when the
        config says so): only a command that connects here asks, and a missing one is its error."""
        return self.password_from.read() if self.password_from is not None else self.password


IMAP_PORTS = {"ssl": 993, "starttls": 143, "none": 143}


@dataclass(frozen=True, slots=True)
class Lead:
    """How long before a block its advance confirmation is due: working days, or a duration."""

    working_days: int = 2
    duration: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Config:
    organizer: Organizer
    calendar: CalendarConfig
    policy: Policy
    site_hours: Mapping[str, WeeklyHours]
    data_dir: Path
    outbox: Path
    source: Path | None
    smtp: SmtpConfig | None = None
    confirm_before: Lead = Lead()
    daemon: DaemonConfig = field(default_factory=lambda: DaemonConfig())
    inbox: InboxConfig | None = None
    store_url: str | None = field(default=None, repr=False)  # None: SQLite in data_dir (see store.open_store)
    trainer: str | None = None  # one of a team's trainers (None: a one-trainer config)
    transport: str = "smtp"  # [mail] transport: smtp, or graph (sendMail on the Outlook sign-in)

    @property
    def sends(self) -> bool:
        """Whether mail goes out (else it waits in the outbox for the organizer)."""
        return self.smtp is not None or self.transport == "graph"

    @property
    def sender(self) -> str:
        """The From address of what blocktime sends."""
        return self.smtp.sender if self.smtp is not None else self.organizer.email


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    """When the daemon works: a nightly pass at a local time, and a sync every few minutes."""

    nightly: time = time(1, 30)
    sync_every: timedelta = timedelta(minutes=15)


def _nightly(v: Any) -> time:
    """`01:30`; checked against the organizer's zone once that is known (see `from_mapping`)."""
    text = _text(v)
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day such as 01:30") from None


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("expected non-empty text")
    return v.strip()


def _folder(v: Any) -> Path:
    """A folder; `~` and `~user` are expanded here, so that an unknown user is a config problem."""
    text = _text(v)
    try:
        return Path(text).expanduser()
    except RuntimeError:  # pathlib: "Could not determine home directory"
        raise ValueError(f"cannot expand {text!r}: no such user") from None


def _email(v: Any) -> str:
    s = _text(v)
    if not is_address(s):
        raise ValueError(f"{s!r} is not an e-mail address")
    return s


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError("expected a whole number of at least 1")
    return v


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("expected true or false")
    return v


def _duration(v: Any) -> Any:
    return duration(str(v), bare_minutes=True) if isinstance(v, (str, int)) and not isinstance(v, bool) else _fail()


def duration_or_zero(v: Any) -> Any:
    from datetime import timedelta

    if isinstance(v, bool):
        raise ValueError("expected a duration such as 30m or 48h")
    return timedelta(0) if v in (0, "0", "0m") else _duration(v)


def weekly_hours(v: Any) -> WeeklyHours:
    return WeeklyHours.parse(_text(v))


def _language(v: Any) -> str:
    from blocktime.notes import LANGUAGES

    s = _text(v)
    if s not in LANGUAGES:
        raise ValueError(f"{s!r} is not one of {', '.join(LANGUAGES)}")
    return s


def _zone(v: Any) -> ZoneInfo:
    return zone(_text(v))


def _security(v: Any) -> str:
    s = _text(v).lower()
    if s not in SECURITY:
        raise ValueError(f"{s!r} is not one of {', '.join(SECURITY)}")
    return s


def _port(v: Any) -> int:
    if _int(v) > 65535:
        raise ValueError("expected a port number from 1 to 65535")
    return int(v)


def _lead(v: Any) -> Lead:
    import re

    m = re.fullmatch(r"\s*(\d+)\s+working\s+days?\s*", str(v), re.I)
    if m:
        return Lead(working_days=int(m.group(1)))
    return Lead(working_days=0, duration=_duration(v))


SECURITY = {"starttls": 587, "ssl": 465, "none": 25}


def _choice(*allowed: str) -> Callable[[Any], str]:
    def parse(v: Any) -> str:
        s = _text(v).lower()
        if s not in allowed:
            raise ValueError(f"{s!r} is not one of {', '.join(allowed)}")
        return s

    return parse


def _fail() -> Any:
    raise ValueError("expected a duration such as 30m or 48h")


# section -> key -> (parser, help). Defaults live in the typed classes.
SCHEMA: dict[str, dict[str, tuple[Callable[[Any], Any], str]]] = {
    "organizer": {
        "name": (_text, "your name, shown as ORGANIZER and under every note"),
        "email": (_email, "the mailbox that receives replies"),
        "timezone": (_zone, "IANA zone of your working day, e.g. Europe/Warsaw"),
        "language": (_language, "default language of notes for new engagements (en, pl)"),
    },
    "calendar": {
        "url": (_text, "CalDAV URL of the account (any path; calendars are discovered)"),
        "username": (_text, "login name"),
        "password": (_text, "password (prefer password_env)"),
        "password_env": (_text, "name of an environment variable holding the password"),
        "password_keyring": (_bool, "read the password from the system keyring (`blocktime init --keyring` puts "
                                    "it there)"),
        "name": (_text, "calendar that blocks are written to (created if missing)"),
        "verify_tls": (_bool, "verify TLS certificates (default true)"),
        "profile": (_text, "a ready-made profile from calendars/ (e.g. fastmail, google); its keys are defaults"),
        "provider": (_choice("local", "caldav", "google", "outlook"),
                     "backend: local, caldav, google or outlook (default: caldav with a url, else local)"),
        "client_id": (_text, "OAuth client id of your app registration (outlook)"),
        "tenant": (_text, "Microsoft Entra tenant for outlook sign-in (default common)"),
        "token_store": (_choice("file", "keyring"), "where OAuth tokens are kept: file (0600, default) or keyring"),
    },
    "policy": {
        "working_hours": (weekly_hours, "e.g. 'Mon-Fri 08:00-18:00'"),
        "booking_notice": (duration_or_zero, "how far ahead a new booking must start (default 0)"),
        "min_notice": (_duration, "minimum notice for make-up slots (default 48h)"),
        "travel": (duration_or_zero, "travel time between different sites (default 30m)"),
        "buffer": (duration_or_zero, "free time kept around every block (default 0)"),
        "max_blocks_per_day": (_int, "on-site blocks per day at most (default 2)"),
        "granularity": (_duration, "slot grid (default 15m)"),
        "horizon": (_duration, "how far ahead make-up slots are searched (default 21d)"),
        "options": (_int, "options per offer (default 3)"),
        "offer_expiry": (_duration, "how long holds are kept at most (default 72h)"),
        "answer_lead": (duration_or_zero,
                        "an offer takes answers until this long before its first option (default 24h)"),
        "min_makeup": (_duration, "shorter remainders carry over to the next block (default 15m)"),
        "makeup_full_block": (_bool, "offer a full block instead of the remainder (default false)"),
    },
    "outbox": {"dir": (_folder, "where invites and messages are written")},
    "daemon": {
        "nightly": (lambda v: _nightly(v), "local time of the nightly pass, never 02:00-03:00 (default 01:30)"),
        "sync_every": (_duration, "how often the daemon syncs the calendars (default 15m)"),
    },
    "smtp": {
        "host": (_text, "SMTP server that sends invites and messages (none: they wait in the outbox)"),
        "port": (_port, "default 587 for starttls, 465 for ssl, 25 for none"),
        "security": (_security, "starttls (default), ssl or none"),
        "username": (_text, "login name (none: no login)"),
        "password": (_text, "password (prefer password_env)"),
        "password_env": (_text, "name of an environment variable holding the password"),
        "from": (_email, "the From address (default: [organizer] email); replies go to the organizer"),
        "auth": (_choice("password", "google", "outlook"),
                 "password (default), google or outlook: XOAUTH2 on that sign-in (`blocktime auth …` adds the scope)"),
    },
    "mail": {
        "transport": (_choice("smtp", "graph"), "smtp (default, [smtp]) or graph: Microsoft Graph sendMail on the "
                                                "Outlook sign-in (Mail.Send), for Microsoft 365 and Outlook.com"),
    },
    "inbox": {
        "host": (_text, "IMAP server of the mailbox that receives replies (not for auth = outlook)"),
        "port": (_port, "default 993 for ssl, 143 for starttls and none"),
        "security": (_security, "ssl (default), starttls or none"),
        "username": (_text, "login name (google: your Google address)"),
        "password": (_text, "password (prefer password_env); auth = password only"),
        "password_env": (_text, "name of an environment variable holding the password"),
        "folder": (_text, "the folder replies arrive in (default INBOX)"),
        "auth": (_choice("password", "google", "outlook"),
                 "password (default), google (IMAP XOAUTH2) or outlook (Graph mail) on the calendar's sign-in"),
        "auto_accept_counter": (_bool, "move a block to a proposed time by itself when every check passes"
                                       " (default false: kept for you)"),
        "processed_folder": (_text, "move handled mail there (default: leave it, flagged where the server allows)"),
    },
    "store": {
        "url": (check_url, "where blocktime keeps its state: sqlite: (default, a file in the data folder) or "
                           "postgresql://user@host/db (password in PGPASSWORD or ~/.pgpass); BLOCKTIME_STORE_URL wins"),
    },
    "messages": {
        "confirm_before": (_lead, "when the advance confirmation is due: '2 working days' (default) or 48h"),
    },
}
POLICY_FIELDS = set(SCHEMA["policy"])
