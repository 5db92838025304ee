"""`blocktime init`: write the config file once, from answers or flags, where blocktime looks for it.

The file is written 0600 (it may hold a password) at `--config`, else `$BLOCKTIME_CONFIG`, else
`<user config dir>/config.toml`; an existing file is kept unless `force`. Changing the organizer's
zone while blocks are booked needs `confirm_zone`: booked blocks keep their instants, so their wall
times would read differently from then on.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blocktime.errors import BadInput


@dataclass(frozen=True, slots=True)
class Answers:
    """What `init` asks for; None means "leave the key out" (its documented default applies)."""

    name: str
    email: str
    timezone: str
    language: str = "en"
    profile: str | None = None
    url: str | None = None
    username: str | None = None
    password_env: str | None = None
    keyring: bool = False
    password: str | None = None  # kept in the file only when chosen (interactive "file")
    calendar: str | None = None
    provider: str | None = None  # written instead of a profile whose password_env would win over the file


def target(explicit: str | None) -> Path:
    """Where blocktime will look for its config (see config.find_config_file), existing or not."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("BLOCKTIME_CONFIG")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_path

    return user_config_path("blocktime") / "config.toml"


def render(a: Answers) -> str:
    """The config as TOML text, with a comment per key so the file explains itself."""
    lines = ["# blocktime config, written by `blocktime init`; see the README for every key.", "",
             "[organizer]",
             f"name = {json.dumps(a.name, ensure_ascii=False)}",
             f"email = {json.dumps(a.email)}            # ORGANIZER of every invite; replies come here",
             f"timezone = {json.dumps(a.timezone)}      # changing it later moves booked blocks on the clock",
             f"language = {json.dumps(a.language)}"]
    cal: list[str] = []
    if a.profile:
        cal.append(f"profile = {json.dumps(a.profile)}")
    if a.provider:
        cal.append(f"provider = {json.dumps(a.provider)}")
    if a.url:
        cal.append(f"url = {json.dumps(a.url)}")
    if a.username:
        cal.append(f"username = {json.dumps(a.username)}")
    if a.password_env:
        cal.append(f"password_env = {json.dumps(a.password_env)}   # the password is read from this variable")
    elif a.keyring:
        cal.append("password_keyring = true     # the password is in the system keyring")
    elif a.password:
        cal.append(f"password = {json.dumps(a.password)}   # keep this file private (0600)")
    if a.calendar:
        cal.append(f"name = {json.dumps(a.calendar)}")
    if cal:
        lines += ["", "[calendar]", *cal]
    else:
        lines += ["", "# no [calendar]: the embedded local calendar (see `blocktime doctor`)"]
    return "\n".join(lines) + "\n"


def check(text: str, path: Path) -> None:
    """Validate the text as blocktime will read it (every problem at once). An unset password
    variable is not a problem yet: the user sets it after init (doctor says so)."""
    from blocktime.config.loading import from_mapping
    from blocktime.config.profiles import merge_profile

    problems: list[str] = []
    raw: dict[str, Any] = dict(merge_profile(tomllib.loads(text), str(path), problems))
    if problems:
        raise BadInput("; ".join(problems))
    for table in ("calendar", "smtp", "inbox"):  # (a kept [smtp] or [inbox] reads its variable later too)
        section = dict(raw.get(table, {}))
        section.pop("profile", None)
        for key in ("password_env", "password_keyring"):
            if section.pop(key, None) is not None:
                section.setdefault("password", "-")
        if section:
            raw[table] = section
    from_mapping(raw, path)


def store_url_of(path: Path) -> str | None:
    """The store a config file (which may not load yet) points at: $BLOCKTIME_STORE_URL, or its [store] url."""
    if os.environ.get("BLOCKTIME_STORE_URL"):
        return os.environ["BLOCKTIME_STORE_URL"]
    try:
        url = tomllib.loads(path.read_text(encoding="utf-8")).get("store", {}).get("url")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return None
    return url if isinstance(url, str) else None


def booked_in(data_dir: Path, store_url: str | None = None, namespace: str | None = None) -> int:
    """How many live blocks the store holds (0 when there is no SQLite store yet)."""
    from blocktime.config.store_url import SQLITE, engine

    if engine(store_url) == SQLITE and not (data_dir / "blocktime.sqlite3").exists():
        return 0
    from blocktime.store.store import open_store

    store = open_store(store_url, data_dir, namespace)
    try:
        return len(store.blocks())
    finally:
        store.close()


def zone_change(path: Path, new_zone: str, data_dir: Path, store_url: str | None = None,
                namespace: str | None = None) -> str | None:
    """Why writing `new_zone` over the config at `path` needs a confirmation, or None (the store:
    `store_url`, else the one `path` names)."""
    try:
        old = tomllib.loads(path.read_text(encoding="utf-8")).get("organizer", {}).get("timezone")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return None
    if not old or old == new_zone:
        return None
    count = booked_in(data_dir, store_url or store_url_of(path), namespace)
    if not count:
        return None
    return (f"the organizer's zone would change from {old} to {new_zone} while {count} block(s) are booked: "
            f"they keep their times as booked in {old}, so in {new_zone} they show at other hours, and "
            "working hours and nightly runs follow the new zone")


def accept_zone(data_dir: Path, zone: str, store_url: str | None = None, namespace: str | None = None) -> int:
    """Record `zone` as the one booked blocks are read in (see zoneguard); returns how many are booked."""
    from blocktime.store.store import open_store
    from blocktime.store.zoneguard import confirm

    store = open_store(store_url, data_dir, namespace)
    try:
        confirm(store, zone)
        return len(store.blocks())
    finally:
        store.close()


def write(path: Path, text: str, *, force: bool) -> None:
    """Write `text` 0600 at `path` (folders 0700); an existing file only with `force`."""
    if path.exists() and not force:
        raise BadInput(f"{path} exists; blocktime init does not overwrite it", "add --force to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
