"""Engagement names: keys made from the client's name, the same client and site however typed,
and the engagement a command names (its key, or the client's name as typed).

Keys transliterate (anyascii: `Długa` -> `dluga`). Stores made before kept keys that dropped
letters (`duga`): a stored key is always looked up first, and a client or site is matched by its
name, never by recomputing the key, so those keys keep working.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from anyascii import anyascii

from blocktime.core.model import Engagement, Policy, WeeklyHours
from blocktime.core.travel import Routes
from blocktime.errors import BadInput

if TYPE_CHECKING:
    from blocktime.usecases.session import Session

T = TypeVar("T")


def slug(text: str) -> str:
    """A key part: transliterated, lower case, words joined by `-`, at most 32 characters.

    >>> slug("Długa Sp. z o.o.")
    'dluga-sp-z-o-o'
    >>> slug("東京")
    'dongjing'
    >>> slug("!!!")
    'client'
    """
    return re.sub(r"[^a-z0-9]+", "-", anyascii(text).lower()).strip("-")[:32] or "client"


def same(text: str) -> str:
    """What two spellings of one name share: case, spaces, punctuation and diacritics dropped.

    >>> same("ul. Długa 5, Kraków") == same("UL DLUGA 5 KRAKOW")
    True
    """
    return re.sub(r"[^a-z0-9]+", "", anyascii(text).lower())


def _matching(items: Iterable[T], name: str, of: Callable[[T], str]) -> list[T]:
    want = same(name)
    return [i for i in items if same(of(i)) == want] if want else []


def site_hours(sites: Mapping[str, WeeklyHours], site: str) -> WeeklyHours | None:
    """The opening hours configured for `site`, also when it is spelt a little differently."""
    if site in sites:
        return sites[site]
    hits = _matching(sites, site, lambda s: s)
    return sites[hits[0]] if len(hits) == 1 else None


def with_hours(session: Session, eng: Engagement) -> Engagement:
    """`eng` with the opening hours of its site from the config."""
    return Engagement(eng.key, eng.client, eng.site, eng.attendees, eng.language, eng.length,
                      site_hours(session.config.site_hours, eng.site))


def configured_sites(session: Session) -> set[str]:
    """The site names the config spells: `[sites."…"]` with hours or an area, and travel pair sides."""
    routes = session.config.policy.routes
    return {*session.config.site_hours, *(s for s, _ in routes.areas), *(x for k, _ in routes.pairs for x in k)}


def planning_policy(session: Session) -> Policy:
    """The policy, with every stored engagement's site placed in its area also when the config
    spells the site a little differently (its travel is then the pair's, not the default)."""
    policy = session.config.policy
    areas = dict(policy.routes.areas)
    if not areas:
        return policy
    extra = {}
    for e in session.store.engagements():
        if e.site not in areas and len(hits := _matching(areas, e.site, lambda s: s)) == 1:
            extra[e.site] = areas[hits[0]]
    if not extra:
        return policy
    return replace(policy, routes=Routes(tuple(sorted({**areas, **extra}.items())), policy.routes.pairs))


def for_booking(session: Session, client: str, site: str) -> tuple[str, str]:
    """The key and the site spelling a booking for `client` at `site` uses: the stored engagement
    with that client and site (however typed), else a new key that no engagement holds."""
    known = session.store.engagements()
    mine = _matching(known, client, lambda e: e.client)
    exact = [e for e in mine if e.site == site]
    if exact:
        return exact[0].key, site
    near = _matching(mine, site, lambda e: e.site)
    if near:
        session.say(f"site {site!r} is taken as {near[0].site!r}, the site of engagement {near[0].key}")
        return near[0].key, near[0].site
    names = configured_sites(session)
    configured = _matching(names, site, lambda s: s)
    if site not in names and len(configured) == 1:
        session.say(f"site {site!r} is taken as {configured[0]!r}, as [sites] spells it")
        site = configured[0]
    taken = {e.key for e in known}
    key = slug(client)
    if key in taken:
        key = f"{key}-{slug(site)[:20]}"
    base, n = key, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key, site


def resolve(session: Session, text: str) -> Engagement:
    """The engagement `text` names: a stored key, or a client's name as typed (`Initech`),
    with its site's opening hours."""
    eng = session.store.engagement(text)
    if eng is None:
        known = session.store.engagements()
        hits = _matching(known, text, lambda e: e.client) or _matching(known, text, lambda e: e.key)
        if len(hits) > 1:
            keys = ", ".join(e.key for e in hits)
            raise BadInput(f"{text!r} names {len(hits)} engagements ({keys})", "name one of them by its key")
        if not hits:
            raise BadInput(f"no engagement {text!r}", "see `blocktime agenda`")
        eng = hits[0]
    return with_hours(session, eng)
