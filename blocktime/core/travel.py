"""Travel time between on-site blocks, by pair of areas: sites in one area (a city) need none,
other pairs the time configured for them, every pair not listed the default.

Pure: the config builds `Routes` from `[sites."…"] area` and `[travel]`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class Routes:
    """Where each site is (`areas`: site -> area; a site without one is an area of its own) and the
    time needed between two areas (`pairs`: each side an area or a full site name; symmetric).
    A pair not listed takes the policy's default travel (see `Policy.travel_between`).

    >>> r = Routes.of({"HQ Kraków": "Kraków", "Rynek 1": "Wrocław"},
    ...               {("Kraków", "Wrocław"): timedelta(hours=3, minutes=30)})
    >>> text(r.lookup("HQ Kraków", "Rynek 1") or timedelta(0)), r.lookup("Rynek 1", "Depot, Łódź")
    ('3 h 30 min', None)
    >>> r.lookup("HQ Kraków", "HQ Kraków"), r.place("Rynek 1")
    (datetime.timedelta(0), 'Wrocław')
    """

    areas: tuple[tuple[str, str], ...] = ()
    pairs: tuple[tuple[frozenset[str], timedelta], ...] = ()

    @classmethod
    def of(cls, areas: Mapping[str, str] | None = None,
           pairs: Mapping[tuple[str, str], timedelta] | None = None) -> Routes:
        return cls(tuple(sorted((areas or {}).items())),
                   tuple(sorted(((frozenset(k), v) for k, v in (pairs or {}).items()), key=lambda p: sorted(p[0]))))

    def place(self, site: str) -> str:
        """The site's area (the site itself when it has none)."""
        return dict(self.areas).get(site, site)

    def lookup(self, a: str, b: str) -> timedelta | None:
        """The time needed between a block at `a` and one at `b` (the same as from `b` to `a`), None
        when no pair says it. The most exact pair wins: two sites, a site and an area (the longer
        when both ways round are given); then one area (no travel); then two areas."""
        if a == b:
            return timedelta(0)
        pairs = dict(self.pairs)
        area_a, area_b = self.place(a), self.place(b)
        if frozenset((a, b)) in pairs:
            return pairs[frozenset((a, b))]
        mixed = [pairs[k] for k in (frozenset((a, area_b)), frozenset((area_a, b))) if k in pairs]
        if mixed:  # a site and an area, either way round: the longer, so that A to B is B to A
            return max(mixed)
        if area_a == area_b:
            return timedelta(0)
        return pairs.get(frozenset((area_a, area_b)))

    @property
    def longest(self) -> timedelta:
        return max((t for _, t in self.pairs), default=timedelta(0))

    def unknown(self, sites: Iterable[str]) -> list[str]:
        """The pair sides that name neither one of `sites` nor an area (for `doctor`)."""
        known = set(sites) | {area for _, area in self.areas} | {site for site, _ in self.areas}
        return sorted({side for key, _ in self.pairs for side in key} - known)


def text(span: timedelta) -> str:
    """`3 h 30 min`, `2 h`, `45 min`: a travel time as people say it (English, for the organizer).

    >>> text(timedelta(hours=2)), text(timedelta(minutes=5))
    ('2 h', '5 min')
    """
    minutes = int(span.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"
