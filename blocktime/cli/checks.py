"""Checks of the config itself, for `blocktime doctor` beside the calendar probes: the organizer,
the zone, who can read the config file, SMTP (connect, TLS, login; no mail is sent) and the inbox.
Nothing here is silent: a placeholder in use is a warning that says how to set the real value."""

from __future__ import annotations

import stat
import tomllib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from blocktime.config.schema import Config
from blocktime.errors import BlocktimeError

if TYPE_CHECKING:  # imported where a finding is made: `placeholders` runs before every write command
    from blocktime.cli.doctor import Finding


def _raw(cfg: Config) -> dict[str, Any]:
    if cfg.trainer is not None and cfg.source is not None:  # a team's trainer: the main file's tables and theirs
        from blocktime.team.trainers import tables_of

        return dict(tables_of(cfg.source) or {})
    return _own(cfg)


def _own(cfg: Config) -> dict[str, Any]:
    """The tables of the config file itself (a trainer's own file, in a team)."""
    if cfg.source is None or not cfg.source.exists():
        return {}
    try:
        return tomllib.loads(cfg.source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def placeholders(cfg: Config) -> list[str]:
    """What blocktime fills in because the config does not say: organizer, zone (empty: all set)."""
    org = _raw(cfg).get("organizer", {})
    org = org if isinstance(org, dict) else {}
    out = []
    if "email" not in org:
        out.append(f"organizer {cfg.organizer.name} <{cfg.organizer.email}>")
    if "timezone" not in org:
        out.append(f"zone {cfg.organizer.timezone.key} (this machine's)")
    return out


def config_findings(cfg: Config, now: datetime) -> list[Finding]:
    """Organizer, zone, file permissions and SMTP: one finding (or more) each (the inbox has its own
    checks in doctor.inbox_findings)."""
    out = [*_organizer(cfg), _zone(cfg, now), *_permissions(cfg), _smtp(cfg), _store(cfg),
           *_travel(cfg)]  # inbox: doctor's
    if cfg.trainer is not None:
        from blocktime.cli.doctor import Finding

        out.insert(0, Finding("ok", "trainer", f"{cfg.trainer} of a team; data in {cfg.data_dir}"))
    return [f for f in out if f is not None]


def _store(cfg: Config) -> Finding | None:
    """A PostgreSQL store: reachable, and at which schema version (a SQLite file needs no check)."""
    from blocktime.cli.doctor import Finding
    from blocktime.config.store_url import SQLITE, engine

    if engine(cfg.store_url) == SQLITE:
        return None
    from blocktime.store.migrations import SCHEMA_VERSION
    from blocktime.store.store import open_store

    try:
        store = open_store(cfg.store_url, cfg.data_dir, cfg.trainer)
    except BlocktimeError as exc:
        return Finding("fail", "store", exc.message, exc.hint or "")
    where = store.where
    store.close()
    return Finding("ok", "store", f"PostgreSQL at {where}, schema version {SCHEMA_VERSION}")


def _booked_sites(cfg: Config) -> set[str]:
    """The sites that have blocks in the store (none when there is no store yet: nothing is made)."""
    from blocktime.config.store_url import SQLITE, engine
    from blocktime.store.store import open_store

    if engine(cfg.store_url) == SQLITE and not (cfg.data_dir / "blocktime.sqlite3").exists():
        return set()
    try:
        store = open_store(cfg.store_url, cfg.data_dir, cfg.trainer)
    except BlocktimeError:
        return set()  # the store's own finding says why
    try:
        return {sb.block.site for sb in store.blocks()}
    finally:
        store.close()


def _travel(cfg: Config) -> list[Finding]:
    """With travel pairs configured: pair sides that name no known site or area, and sites with
    blocks but no area (travel to them is the default, which is seldom what was meant)."""
    from blocktime.cli.doctor import Finding
    from blocktime.core.travel import text

    routes = cfg.policy.routes
    if not routes.pairs:
        return []
    booked = _booked_sites(cfg)
    areas = dict(routes.areas)
    out = []
    unknown = routes.unknown({*cfg.site_hours, *booked})
    if unknown:
        out.append(Finding("warn", "travel", f"[travel] names no known site or area: {', '.join(unknown)}",
                           "check the spelling; a side is an area ([sites.\"…\"] area) or a full site name"))
    sides = {side for key, _ in routes.pairs for side in key}
    lost = sorted(s for s in booked if s not in areas and s not in sides)
    if lost:
        out.append(Finding("warn", "travel", f"sites with blocks but no area: {', '.join(lost)}; travel to them is "
                           f"the default {text(cfg.policy.travel)}", "add [sites.\"…\"] area = \"City\""))
    if not out:
        out.append(Finding("ok", "travel", f"{len(routes.pairs)} pair(s) over {len(set(areas.values()))} area(s); "
                           f"any other pair {text(cfg.policy.travel)}"))
    return out


def _organizer(cfg: Config) -> list[Finding]:
    from blocktime.cli.doctor import Finding

    org = cfg.organizer
    raw = _raw(cfg).get("organizer", {})
    if not isinstance(raw, dict) or "email" not in raw or org.email.endswith("@localhost"):
        return [Finding("warn", "organizer", f"invites would say ORGANIZER {org.email}, signed {org.name!r}: "
                                             "a placeholder nobody reads",
                        "run `blocktime init`, or set [organizer] name and email")]
    return [Finding("ok", "organizer", f"{org.name} <{org.email}>; replies come to this mailbox")]


def _zone(cfg: Config, now: datetime) -> Finding:
    from blocktime.cli.doctor import Finding

    tz = cfg.organizer.timezone
    local = now.astimezone(tz)
    raw = _raw(cfg).get("organizer", {})
    if not isinstance(raw, dict) or "timezone" not in raw:
        return Finding("warn", "zone", f"{tz.key} is this machine's zone, not set in the config",
                       "set [organizer] timezone before booking: changing it later moves booked blocks on the clock")
    return Finding("ok", "zone", f"{tz.key}: it is {local:%a %H:%M} there now")


def _permissions(cfg: Config) -> list[Finding]:
    from blocktime.cli.doctor import Finding

    path = cfg.source
    if path is None:
        return [Finding("warn", "config", "no config file: blocktime runs on placeholders and the embedded calendar",
                        "run `blocktime init`")]
    try:
        mode = path.stat().st_mode
    except OSError:
        return []
    raw = _own(cfg)
    secret = any(isinstance(raw.get(s), dict) and "password" in raw[s] for s in ("calendar", "smtp", "inbox"))
    where = f"{path} (mode {stat.S_IMODE(mode):04o})"
    if secret and mode & (stat.S_IRGRP | stat.S_IROTH):
        return [Finding("warn", "config", f"{where} holds a password and other users can read it",
                        f"chmod 600 {path}, or move the password to password_env")]
    return [Finding("ok", "config", where + (": private" if secret else ""))]


def _smtp(cfg: Config) -> Finding | None:
    """Sending, checked without sending anything: the SMTP login (password or XOAUTH2), or the
    Outlook sign-in that Graph sendMail uses."""
    from blocktime.cli.doctor import Finding

    if not cfg.sends:
        return Finding("info", "smtp", "no [smtp]: messages wait in the outbox for you to send",
                       "add an [smtp] section to send invites yourself (README: Mail)")
    from blocktime.mail.sending import open_transport

    try:
        with open_transport(cfg, timeout=15):
            pass
    except BlocktimeError as exc:
        return Finding("fail", "smtp", exc.message, exc.hint or "")
    if cfg.transport == "graph":
        return Finding("ok", "smtp", f"Microsoft Graph sendMail as the Outlook sign-in (From: {cfg.sender}); "
                                     "no mail was sent")
    c = cfg.smtp
    assert c is not None
    tls = {"starttls": "STARTTLS", "ssl": "TLS", "none": "no TLS"}[c.security]
    login = (f"signed in as {c.username} (XOAUTH2, {c.auth} sign-in)" if c.auth != "password"
             else f"signed in as {c.username}" if c.username else "no login")
    return Finding("ok", "smtp", f"{c.host}:{c.port} answered, {tls}, {login}; no mail was sent")
