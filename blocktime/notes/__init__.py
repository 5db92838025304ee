"""Courteous messages: one template per language and message kind, dates formatted by Babel.

Tone follows the seed story: state the end time calmly, say what will happen (the remaining part
moves to a new date); never "must", "not allowed", capitals or threats. `wording` holds the words
of the command line: times in the organizer's zone, what each refusal reason means.

Layer: above `core`, below `ics` and `config`. May import: core, errors. Words for people take a
zone and a language, never a Session. A new message kind is a template per language in
templates/<language>/.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo

from blocktime.errors import BadInput

LANGUAGES = ("en", "pl")


@cache
def _builtin(language: str, kind: str) -> Template:
    path = resources.files("blocktime.notes") / "templates" / language / f"{kind}.txt"
    return Template(path.read_text(encoding="utf-8").rstrip("\n"))


def override_dir() -> Path:
    """`<user config dir>/templates`: `<lang>/<kind>.txt` there replaces the built-in template."""
    return _override_dir(*map(os.environ.get, _DIR_FROM))


_DIR_FROM = ("XDG_CONFIG_HOME", "HOME", "APPDATA", "USERPROFILE")  # what platformdirs looks at


@cache
def _override_dir(*_environment: str | None) -> Path:
    """(asked for every message rendered: platformdirs once per environment)"""
    from platformdirs import user_config_path

    return user_config_path("blocktime") / "templates"


def _template(language: str, kind: str) -> Template:
    if language not in LANGUAGES:
        raise BadInput(f"no messages in language {language!r}", f"choose one of {', '.join(LANGUAGES)}")
    own = override_dir() / language / f"{kind}.txt"
    if own.is_file():
        try:
            return Template(own.read_text(encoding="utf-8").rstrip("\n"))
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read template {own}: {type(exc).__name__}") from None
    return _builtin(language, kind)


def render(kind: str, language: str, **values: str) -> str:
    """Fill template `kind` of `language`; every placeholder must be given. In Polish a date right
    after a preposition takes the case it governs (`do niedzieli, 21 marca`: see `cases`)."""
    template = _template(language, kind)
    if language == "pl":
        from blocktime.notes.cases import governed

        template, values = governed(template, values)
    try:
        return template.substitute(values)
    except (KeyError, ValueError) as exc:  # only a user's own template can get here
        raise BadInput(f"template {language}/{kind}.txt: unknown or broken placeholder {exc}",
                       f"placeholders for it: {', '.join(sorted(values))}") from None


def when(start: datetime, end: datetime, tz: ZoneInfo, language: str) -> dict[str, str]:
    """Date and times of a block in the client's locale, for the templates."""
    return dict(_when(start, end, tz, language))


@lru_cache(maxsize=512)  # a block's times are wanted for its event and for each of its messages
def _when(start: datetime, end: datetime, tz: ZoneInfo, language: str) -> tuple[tuple[str, str], ...]:
    from babel.dates import format_date, format_time

    s, e = start.astimezone(tz), end.astimezone(tz)
    return (
        ("date", format_date(s.date(), format="full", locale=language)),
        ("start", format_time(s.time(), "HH:mm", locale=language)),
        ("end", format_time(e.time(), "HH:mm", locale=language)),
    )


def minutes(value: int, language: str) -> str:
    """`45 minutes` / `45 minut`, `2 minuty`, `1 hour 30 minutes`: plural forms by Babel (CLDR)."""
    from babel.units import format_unit

    hours, mins = divmod(int(value), 60)
    parts = []
    if hours:
        parts.append(format_unit(hours, "duration-hour", length="long", locale=language))
    if mins or not hours:
        parts.append(format_unit(mins, "duration-minute", length="long", locale=language))
    return " ".join(parts)


def moment(dt: datetime, tz: ZoneInfo, language: str) -> str:
    """`Tuesday, March 31, 2026 at 12:00` in the client's locale."""
    w = when(dt, dt, tz, language)
    return f"{w['date']}, {w['start']}"


def each(remaining: int, length: int, *, grid: int, block: int, full_block: bool, language: str) -> str:
    """Why the options last `length` minutes when `remaining` are owed: a sentence (with a leading
    space) for the offer's `$each`, or '' when they are the same. So the remainder is said once,
    and a longer option says why: a whole block (policy makeup_full_block), the remainder rounded
    up to the slot grid, or the shortest make-up session."""
    if length == remaining:
        return ""
    values = {"length": minutes(length, language), "remaining": minutes(remaining, language),
              "grid": minutes(grid, language), "grid_min": f"{grid} min"}
    if full_block and length == block:
        kind = "each_block"
    elif grid > 0 and length == -(-remaining // grid) * grid:
        kind = "each_grid"
    else:
        kind = "each_shortest"
    return " " + render(kind, language, **values)
