"""Courteous messages: one template per language and message kind, dates formatted by Babel.

Tone follows the seed story: state the end time calmly, say what will happen (the remaining part
moves to a new date); never "must", "not allowed", capitals or threats.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources
from string import Template
from zoneinfo import ZoneInfo

from blocktime.errors import BadInput

LANGUAGES = ("en", "pl")


@cache
def _template(language: str, kind: str) -> Template:
    if language not in LANGUAGES:
        raise BadInput(f"no messages in language {language!r}", f"choose one of {', '.join(LANGUAGES)}")
    path = resources.files("blocktime.notes") / "templates" / language / f"{kind}.txt"
    return Template(path.read_text(encoding="utf-8").rstrip("\n"))


def render(kind: str, language: str, **values: str) -> str:
    """Fill template `kind` of `language`; every placeholder must be given."""
    return _template(language, kind).substitute(values)


def when(start: datetime, end: datetime, tz: ZoneInfo, language: str) -> dict[str, str]:
    """Date and times of a block in the client's locale, for the templates."""
    from babel.dates import format_date, format_time

    s, e = start.astimezone(tz), end.astimezone(tz)
    return {
        "date": format_date(s.date(), format="full", locale=language),
        "start": format_time(s.time(), "HH:mm", locale=language),
        "end": format_time(e.time(), "HH:mm", locale=language),
    }


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
