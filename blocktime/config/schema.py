"""One declarative schema -> typed config. Every problem is reported at once, with file and key.

Lookup order: `--config FILE`, then `$BLOCKTIME_CONFIG`, then `<platformdirs config dir>/config.toml`.
With no file at all blocktime runs on the embedded local calendar.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from blocktime.config.inputs import duration, zone
from blocktime.core.model import Organizer, Policy, WeeklyHours
from blocktime.errors import BadInput
from blocktime.store.engines import check_url

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


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where iMIP mail goes out (RFC 6047). `sender` is the From address."""

    host: str
    sender: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)


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
    if "@" not in s or " " in s or s.startswith("@") or s.endswith("@"):
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
    return duration(str(v)) if isinstance(v, (str, int)) and not isinstance(v, bool) else _fail()


def _zero_ok_duration(v: Any) -> Any:
    from datetime import timedelta

    return timedelta(0) if v in (0, "0", "0m") else _duration(v)


def _hours(v: Any) -> WeeklyHours:
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
        "working_hours": (_hours, "e.g. 'Mon-Fri 08:00-18:00'"),
        "booking_notice": (_zero_ok_duration, "how far ahead a new booking must start (default 0)"),
        "min_notice": (_duration, "minimum notice for make-up slots (default 48h)"),
        "travel": (_zero_ok_duration, "travel time between different sites (default 30m)"),
        "buffer": (_zero_ok_duration, "free time kept around every block (default 0)"),
        "max_blocks_per_day": (_int, "on-site blocks per day at most (default 2)"),
        "granularity": (_duration, "slot grid (default 15m)"),
        "horizon": (_duration, "how far ahead make-up slots are searched (default 21d)"),
        "options": (_int, "options per offer (default 3)"),
        "offer_expiry": (_duration, "how long holds are kept at most (default 72h)"),
        "answer_lead": (_zero_ok_duration,
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


def _password(section: dict[str, Any], name: str, where: str, problems: list[str]) -> str | None:
    """A section's password: `password`, or the environment variable `password_env` names (which
    must be set: a problem otherwise)."""
    if "password_env" not in section:
        return cast("str | None", section.get("password"))
    value = os.environ.get(section["password_env"])
    if value is None:
        problems.append(f"{where}: [{name}] password_env: environment variable {section['password_env']} is not set")
    return value


def find_config_file(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get("BLOCKTIME_CONFIG")
    if env:
        return Path(env)
    from platformdirs import user_config_path

    default = user_config_path(APP) / "config.toml"
    return default if default.exists() else None


def data_dir() -> Path:
    env = os.environ.get("BLOCKTIME_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_path

    return user_data_path(APP)


def system_zone() -> ZoneInfo:
    """The machine's zone ($TZ or /etc/localtime), else UTC."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            target = os.path.realpath("/etc/localtime")
            name = target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""
        except OSError:
            name = ""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except Exception:
        return ZoneInfo("UTC")


def load(explicit: str | None = None) -> Config:
    """Read, validate and type the config; raise BadInput listing every problem."""
    path = find_config_file(explicit)
    return from_mapping(read_toml(path) if path is not None else {}, path)


def read_toml(path: Path) -> dict[str, Any]:
    """A config file's tables; an unreadable or malformed file is one BadInput line."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read config file {path}: {type(exc).__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: not valid TOML: {exc}") from None


def from_mapping(raw: Mapping[str, Any], path: Path | None = None) -> Config:
    where = str(path) if path else "config"
    problems: list[str] = []
    from blocktime.config.profiles import merge_profile

    raw = merge_profile(raw, where, problems)
    values: dict[str, dict[str, Any]] = {s: {} for s in SCHEMA}
    sites: dict[str, WeeklyHours] = {}
    for section, body in raw.items():
        if section == "sites":
            if not isinstance(body, dict):
                problems.append(f"{where}: [sites] must be a table of site names")
                continue
            for site, spec in body.items():
                hours = spec.get("hours") if isinstance(spec, dict) else None
                extra = set(spec) - {"hours"} if isinstance(spec, dict) else set()
                if extra:
                    problems.append(f"{where}: [sites.{site!r}] unknown key {sorted(extra)[0]!r}")
                try:
                    sites[site] = _hours(hours)
                except (ValueError, BadInput) as exc:
                    problems.append(f"{where}: [sites.{site!r}] hours: {exc}")
            continue
        if section not in SCHEMA:
            problems.append(f"{where}: unknown section [{section}]")
            continue
        if not isinstance(body, dict):
            problems.append(f"{where}: [{section}] must be a table")
            continue
        for key, value in body.items():
            spec = SCHEMA[section].get(key)
            if spec is None:
                problems.append(f"{where}: [{section}] unknown key {key!r}")
                continue
            try:
                values[section][key] = spec[0](value)
            except (ValueError, BadInput) as exc:
                problems.append(f"{where}: [{section}] {key}: {exc}")
    cal = values["calendar"]
    password = _password(cal, "calendar", where, problems)
    if cal.get("password_keyring") and cal.get("username") and "password_env" not in cal:
        from blocktime.cli.init import keyring_password

        password = keyring_password(cal["username"])
        if password is None:
            problems.append(f"{where}: [calendar] password_keyring: no password for {cal['username']} in the keyring "
                            "(`blocktime init --keyring` stores one)")
    if password and not cal.get("username"):
        problems.append(f"{where}: [calendar] a password needs a username")
    provider = cal.get("provider") or ("caldav" if cal.get("url") else "local")
    if provider == "local" and cal.get("url"):
        problems.append(f"{where}: [calendar] provider local takes no url (the embedded calendar picks its own)")
    if provider == "caldav" and not cal.get("url"):
        problems.append(f"{where}: [calendar] provider caldav needs a url")
    if provider == "google" and not cal.get("username"):
        problems.append(f"{where}: [calendar] provider google needs username = your Google address")
    smtp_values = values["smtp"]
    smtp_password = _password(smtp_values, "smtp", where, problems)
    if smtp_values and "host" not in smtp_values:
        problems.append(f"{where}: [smtp] needs a host")
    if smtp_password and not smtp_values.get("username"):
        problems.append(f"{where}: [smtp] a password needs a username")
    inbox_values = values["inbox"]
    inbox_password = _password(inbox_values, "inbox", where, problems)
    inbox_auth = inbox_values.get("auth", "password")
    if inbox_values and inbox_auth != "outlook" and "host" not in inbox_values:
        problems.append(f"{where}: [inbox] needs a host")
    if inbox_values and inbox_auth != "outlook" and not inbox_values.get("username"):
        problems.append(f"{where}: [inbox] needs a username")
    if inbox_values and inbox_auth == "password" and not inbox_password:
        problems.append(f"{where}: [inbox] auth = password needs a password (or password_env)")
    if inbox_auth != "password" and inbox_password:
        problems.append(f"{where}: [inbox] auth = {inbox_auth} signs in with OAuth: remove the password")
    store_url = os.environ.get("BLOCKTIME_STORE_URL") or values["store"].get("url")
    if os.environ.get("BLOCKTIME_STORE_URL"):
        try:
            store_url = check_url(store_url)
        except ValueError as exc:
            problems.append(f"BLOCKTIME_STORE_URL: {exc}")
    if problems:
        lead = "" if len(problems) == 1 else f"{len(problems)} problems: "
        raise BadInput(lead + "; ".join(problems))
    org = values["organizer"]
    user = os.environ.get("USER") or "organizer"
    organizer = Organizer(
        name=org.get("name", user),
        email=org.get("email", f"{user}@localhost"),
        timezone=org.get("timezone") or system_zone(),
        language=org.get("language", "en"),
    )
    policy = Policy(**values["policy"])
    data = data_dir()
    outbox = values["outbox"]["dir"] if "dir" in values["outbox"] else data / "outbox"
    calendar = CalendarConfig(
        url=cal.get("url"),
        username=cal.get("username"),
        password=password,
        name=cal.get("name", "blocktime"),
        verify_tls=cal.get("verify_tls", True),
        provider=provider,
        profile=cal.get("profile"),
        client_id=cal.get("client_id"),
        tenant=cal.get("tenant", "common"),
        token_store=cal.get("token_store", "file"),
    )
    smtp = None
    if smtp_values:
        security = smtp_values.get("security", "starttls")
        smtp = SmtpConfig(
            host=smtp_values["host"],
            sender=smtp_values.get("from", organizer.email),
            port=smtp_values.get("port", SECURITY[security]),
            security=security,
            username=smtp_values.get("username"),
            password=smtp_password,
        )
    daemon = DaemonConfig(**values["daemon"])
    inbox = None
    if inbox_values:
        inbox_security = inbox_values.get("security", "ssl")
        inbox = InboxConfig(
            host=inbox_values.get("host"), port=inbox_values.get("port", IMAP_PORTS[inbox_security]),
            security=inbox_security, username=inbox_values.get("username"), password=inbox_password,
            folder=inbox_values.get("folder", "INBOX"), auth=inbox_auth,
            auto_accept_counter=inbox_values.get("auto_accept_counter", False),
            processed_folder=inbox_values.get("processed_folder"),
        )
    from datetime import date

    from blocktime.core.schedule import safe_at, safe_nightly

    today = date.today()
    if "nightly" not in values["daemon"]:  # 01:30, or the next safe half hour in this zone
        daemon = DaemonConfig(safe_nightly(daemon.nightly, organizer.timezone, today), daemon.sync_every)
    elif not safe_at(daemon.nightly, organizer.timezone, today):
        raise BadInput(f"{where}: [daemon] nightly: {daemon.nightly:%H:%M} is skipped or repeated on DST nights "
                       f"in {organizer.timezone.key}", "pick a time that exists once every night, e.g. 00:30")
    return Config(organizer, calendar, policy, sites, data, outbox, path, smtp=smtp,
                  confirm_before=values["messages"].get("confirm_before", Lead()), daemon=daemon, inbox=inbox,
                  store_url=store_url)
