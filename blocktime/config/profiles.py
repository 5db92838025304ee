"""Ready-made calendar profiles (calendars/*.toml): `[calendar] profile = "NAME"` in a config.

A profile is a `[calendar]` table with the provider, the URL form and comments on authentication
and limits. The keys of the profile are defaults: the config's own `[calendar]` keys win. Names
are looked up in `<user config dir>/calendars/` first, then in the profiles shipped with blocktime;
a value with a slash or ending in `.toml` is a path.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROVIDERS = ("local", "caldav", "google", "outlook")
#: the profiles in a source checkout (and an editable install)
SHIPPED = Path(__file__).resolve().parents[2] / "calendars"
#: where a wheel installs them (pyproject.toml: [tool.setuptools.data-files])
INSTALLED = Path(sys.prefix) / "share" / "blocktime" / "calendars"


def profile_dirs() -> list[Path]:
    from platformdirs import user_config_path

    return [user_config_path("blocktime") / "calendars", SHIPPED, INSTALLED]


def profile_names() -> list[str]:
    """Every profile name that `find_profile` would accept, sorted."""
    names = {p.stem for d in profile_dirs() if d.is_dir() for p in d.glob("*.toml")}
    return sorted(names)


def find_profile(name: str) -> Path | None:
    if "/" in name or name.endswith(".toml"):
        try:
            path = Path(name).expanduser()
            return path if path.is_file() else None
        except (RuntimeError, OSError, ValueError):  # ~nosuchuser, a name too long, a NUL
            return None
    for d in profile_dirs():
        candidate = d / f"{name}.toml"
        if candidate.is_file():
            return candidate
    return None


def read_profile(name: str) -> tuple[Path, dict[str, Any]]:
    """The profile's path and its `[calendar]` table; ValueError says what is wrong."""
    path = find_profile(name)
    if path is None:
        known = ", ".join(profile_names()) or "none"
        raise ValueError(f"no calendar profile {name!r} (known: {known})")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read profile {path}: {exc}") from None
    table = doc.get("calendar", {})
    extra = sorted(set(doc) - {"calendar"})
    if not isinstance(table, dict) or extra:
        raise ValueError(f"profile {path} may only hold a [calendar] table")
    if "profile" in table:
        raise ValueError(f"profile {path} names another profile; profiles do not nest")
    return path, table


def merge_profile(raw: Mapping[str, Any], where: str, problems: list[str]) -> Mapping[str, Any]:
    """`raw` with the named profile's [calendar] keys filled in under the config's own."""
    cal = raw.get("calendar")
    if not isinstance(cal, dict) or "profile" not in cal:
        return raw
    name = cal["profile"]
    if not isinstance(name, str) or not name.strip():
        return raw  # the schema reports the bad value
    try:
        _path, table = read_profile(name.strip())
    except ValueError as exc:
        problems.append(f"{where}: [calendar] profile: {exc}")
        return raw
    # A key the user writes wins, also over the profile's other way of giving the same value:
    # `password` in the config beats the profile's `password_env`, and the other way round.
    dropped = {k for group in ALTERNATIVES if group & set(cal) for k in group - set(cal)}
    return {**raw, "calendar": {**{k: v for k, v in table.items() if k not in dropped}, **cal}}


#: keys that give one value in different ways: the config's choice replaces the profile's
ALTERNATIVES = (frozenset({"password", "password_env"}),)
