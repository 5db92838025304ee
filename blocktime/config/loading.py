"""Loading the config: find the file, read it, check every key against the schema and type it.
Every problem is reported at once, with file and key.

Lookup order: `--config FILE`, then `$BLOCKTIME_CONFIG`, then `<platformdirs config dir>/config.toml`.
With no file at all blocktime runs on the embedded local calendar.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from blocktime.config.passwords import Secret, secret_of
from blocktime.config.schema import (
    APP,
    IMAP_PORTS,
    SCHEMA,
    SECURITY,
    CalendarConfig,
    Config,
    DaemonConfig,
    InboxConfig,
    Lead,
    SmtpConfig,
)
from blocktime.config.sites import Sites, read_sites, read_travel, travel_default
from blocktime.config.store_url import check_url
from blocktime.core.model import Organizer, Policy
from blocktime.errors import BadInput


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
    sites = Sites()
    for section, body in raw.items():
        if section == "sites":
            read_sites(body, where, problems, sites)
            continue
        if section == "travel":
            sites = read_travel(body, where, problems, sites)
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
    # Passwords kept outside the file are read when their connection opens (Secret.read): a command
    # that only reads the store, or connects elsewhere, needs none of them.
    cal = values["calendar"]
    password, password_from = (None, secret_of(cal, "calendar", where)) if "password_env" in cal else (
        cal.get("password"), None)
    if cal.get("password_keyring") and cal.get("username") and "password_env" not in cal:
        password, password_from = None, Secret("calendar", where, username=cal["username"])
    if (password or password_from) and not cal.get("username"):
        problems.append(f"{where}: [calendar] a password needs a username")
    provider = cal.get("provider") or ("caldav" if cal.get("url") else "local")
    if provider == "local" and cal.get("url"):
        problems.append(f"{where}: [calendar] provider local takes no url (the embedded calendar picks its own)")
    if provider == "caldav" and not cal.get("url"):
        problems.append(f"{where}: [calendar] provider caldav needs a url")
    if provider == "google" and not cal.get("username"):
        problems.append(f"{where}: [calendar] provider google needs username = your Google address")
    smtp_values = values["smtp"]
    smtp_password: str | None = None if "password_env" in smtp_values else smtp_values.get("password")
    smtp_from = secret_of(smtp_values, "smtp", where)
    if smtp_values and "host" not in smtp_values:
        problems.append(f"{where}: [smtp] needs a host")
    if (smtp_password or smtp_from) and not smtp_values.get("username"):
        problems.append(f"{where}: [smtp] a password needs a username")
    smtp_auth = smtp_values.get("auth", "password")
    if smtp_auth != "password" and (smtp_password or smtp_from):
        problems.append(f"{where}: [smtp] auth = {smtp_auth} signs in with OAuth: remove the password")
    if smtp_auth != "password" and not smtp_values.get("username"):
        problems.append(f"{where}: [smtp] auth = {smtp_auth} needs username = the account's address")
    transport = values["mail"].get("transport", "smtp")
    outlook_signin = cal.get("provider") == "outlook" or values["inbox"].get("auth") == "outlook"
    if transport == "graph" and not outlook_signin:
        problems.append(f"{where}: [mail] transport = graph sends with the Outlook sign-in: set [calendar] provider"
                        " = \"outlook\" or [inbox] auth = \"outlook\"")
    inbox_values = values["inbox"]
    inbox_password: str | None = None if "password_env" in inbox_values else inbox_values.get("password")
    inbox_from = secret_of(inbox_values, "inbox", where)
    inbox_auth = inbox_values.get("auth", "password")
    if inbox_values and inbox_auth != "outlook" and "host" not in inbox_values:
        problems.append(f"{where}: [inbox] needs a host")
    if inbox_values and inbox_auth != "outlook" and not inbox_values.get("username"):
        problems.append(f"{where}: [inbox] needs a username")
    if inbox_values and inbox_auth == "password" and not (inbox_password or inbox_from):
        problems.append(f"{where}: [inbox] auth = password needs a password (or password_env)")
    if inbox_auth != "password" and (inbox_password or inbox_from):
        problems.append(f"{where}: [inbox] auth = {inbox_auth} signs in with OAuth: remove the password")
    store_url = os.environ.get("BLOCKTIME_STORE_URL") or values["store"].get("url")
    if os.environ.get("BLOCKTIME_STORE_URL"):
        try:
            store_url = check_url(store_url)
        except ValueError as exc:
            problems.append(f"BLOCKTIME_STORE_URL: {exc}")
    travel = travel_default(values["policy"], sites, where, problems)
    if travel is not None:
        values["policy"]["travel"] = travel
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
    policy = Policy(**values["policy"], routes=sites.routes)
    data = data_dir()
    outbox = values["outbox"]["dir"] if "dir" in values["outbox"] else data / "outbox"
    calendar = CalendarConfig(
        url=cal.get("url"),
        username=cal.get("username"),
        password=password,
        password_from=password_from,
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
            password_from=smtp_from,
            auth=smtp_auth,
        )
    daemon = DaemonConfig(**values["daemon"])
    inbox = None
    if inbox_values:
        inbox_security = inbox_values.get("security", "ssl")
        inbox = InboxConfig(
            host=inbox_values.get("host"), port=inbox_values.get("port", IMAP_PORTS[inbox_security]),
            security=inbox_security, username=inbox_values.get("username"), password=inbox_password,
            password_from=inbox_from,
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
    return Config(organizer, calendar, policy, sites.hours, data, outbox, path, smtp=smtp,
                  confirm_before=values["messages"].get("confirm_before", Lead()), daemon=daemon, inbox=inbox,
                  store_url=store_url, transport=transport)
