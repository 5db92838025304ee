"""The client sites and the travel between them: `[sites."…"]` (opening `hours`, `area`) and
`[travel]` (`default`, and `"A / B" = "3h30m"` per pair of areas or sites). Tables keyed by the
user's own names, so they are read here rather than from the fixed-key schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from blocktime.config.schema import duration_or_zero, weekly_hours
from blocktime.core.model import WeeklyHours
from blocktime.core.travel import Routes
from blocktime.errors import BadInput

SITE_KEYS = {"hours": "opening hours of the site, e.g. 'Mon-Fri 08:00-16:00'",
             "area": "the area (a city) of the site; travel within one area is none"}


@dataclass(frozen=True, slots=True)
class Sites:
    """What `[sites]` and `[travel]` say; `default` None: not set there."""

    hours: dict[str, WeeklyHours] = field(default_factory=dict)
    areas: dict[str, str] = field(default_factory=dict)
    pairs: dict[tuple[str, str], timedelta] = field(default_factory=dict)
    default: timedelta | None = None

    @property
    def routes(self) -> Routes:
        return Routes.of(self.areas, self.pairs)


def read_sites(body: Any, where: str, problems: list[str], into: Sites) -> None:
    """`[sites."Name"] hours = …, area = …` into `into`; each problem one line in `problems`."""
    if not isinstance(body, dict):
        problems.append(f"{where}: [sites] must be a table of site names")
        return
    for site, spec in body.items():
        if not isinstance(spec, dict):
            problems.append(f"{where}: [sites.{site!r}] must be a table (hours, area)")
            continue
        extra = set(spec) - set(SITE_KEYS)
        if extra:
            problems.append(f"{where}: [sites.{site!r}] unknown key {sorted(extra)[0]!r}")
        if "hours" in spec:
            try:
                into.hours[site] = weekly_hours(spec["hours"])
            except (ValueError, BadInput) as exc:
                problems.append(f"{where}: [sites.{site!r}] hours: {exc}")
        if "area" in spec:
            area = spec["area"]
            if not isinstance(area, str) or not area.strip() or " / " in area:
                problems.append(f"{where}: [sites.{site!r}] area: expected a name without ' / '")
            else:
                into.areas[site] = area.strip()
        if not set(spec) & set(SITE_KEYS) and not extra:
            problems.append(f"{where}: [sites.{site!r}] says nothing: give hours or area")


def read_travel(body: Any, where: str, problems: list[str], into: Sites) -> Sites:
    """`[travel] default = "30m"` and `"Kraków / Wrocław" = "3h30m"` into a new `Sites`."""
    if not isinstance(body, dict):
        problems.append(f"{where}: [travel] must be a table")
        return into
    default = into.default
    pairs = dict(into.pairs)
    for key, value in body.items():
        try:
            span = duration_or_zero(value)
        except (ValueError, BadInput) as exc:
            problems.append(f"{where}: [travel] {key}: {exc}")
            continue
        if key == "default":
            default = span
            continue
        sides = pair_sides(str(key))
        if len(sides) != 2 or not all(sides):
            problems.append(f"{where}: [travel] unknown key {key!r} (a pair is written \"Kraków / Wrocław\", "
                            "spaces around the slash when a name holds one)")
        elif sides[0] == sides[1]:
            problems.append(f"{where}: [travel] {key!r}: a pair names two different areas or sites")
        elif frozenset(sides) in {frozenset(k) for k in pairs}:
            problems.append(f"{where}: [travel] {key!r}: that pair is given twice")
        else:
            pairs[(sides[0], sides[1])] = span
    return Sites(into.hours, into.areas, pairs, default)


def pair_sides(key: str) -> list[str]:
    """The two sides of a pair key: split at " / " (a site name may hold a bare slash, "Rynek 1/3"),
    else at its one "/".

    >>> pair_sides("Rynek 1/3 / Kraków"), pair_sides("Kraków/Wrocław")
    (['Rynek 1/3', 'Kraków'], ['Kraków', 'Wrocław'])
    """
    spaced = key.split(" / ")
    return [s.strip() for s in (spaced if len(spaced) > 1 else key.split("/"))]


def travel_default(policy: Mapping[str, Any], sites: Sites, where: str, problems: list[str]) -> timedelta | None:
    """The default travel: `[travel] default`, or its alias `[policy] travel`; both only when equal."""
    alias = policy.get("travel")
    if sites.default is not None and alias is not None and alias != sites.default:
        problems.append(f"{where}: [policy] travel and [travel] default differ: keep one ([travel] default)")
    return sites.default if sites.default is not None else alias
