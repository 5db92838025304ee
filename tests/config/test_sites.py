"""`[sites."…"] area` and `[travel]` (issue 23, point 3): the keys, the alias, the one-line errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from blocktime.config.loading import from_mapping
from blocktime.errors import BadInput

KRK = "Nordwind HQ, ul. Długa 5, Kraków"


def test_areas_pairs_and_the_default() -> None:
    cfg = from_mapping({"sites": {KRK: {"area": "Kraków", "hours": "Mon-Fri 08:00-16:00"},
                                  "Piekarnia": {"area": "Wrocław"}},
                        "travel": {"default": "45m", "Kraków / Wrocław": "3h30m", "Piekarnia / Depot": 0}})
    p = cfg.policy
    assert p.travel == timedelta(minutes=45)
    assert p.travel_between(KRK, "Piekarnia") == timedelta(hours=3, minutes=30)
    assert p.travel_between("Piekarnia", "Depot") == timedelta(0)
    assert p.travel_between(KRK, "Depot") == timedelta(minutes=45)
    assert set(cfg.site_hours) == {KRK}  # a site with an area only has no opening hours


def test_a_pair_is_the_same_both_ways_and_a_site_name_may_hold_a_slash() -> None:
    cfg = from_mapping({"sites": {"Rynek 1/3": {"area": "Wrocław"}, KRK: {"area": "Kraków"}},
                        "travel": {"Rynek 1/3 / Kraków": "4h", f"{KRK} / Wrocław": "1h"}})
    p = cfg.policy
    assert p.travel_between("Rynek 1/3", KRK) == p.travel_between(KRK, "Rynek 1/3") == timedelta(hours=4)


def test_policy_travel_stays_an_alias_of_the_default() -> None:
    assert from_mapping({"policy": {"travel": "1h"}}).policy.travel == timedelta(hours=1)
    assert from_mapping({"policy": {"travel": "1h"}, "travel": {"default": "60m"}}).policy.travel == timedelta(hours=1)
    with pytest.raises(BadInput, match=r"\[policy\] travel and \[travel\] default differ"):
        from_mapping({"policy": {"travel": "1h"}, "travel": {"default": "2h"}})


@pytest.mark.parametrize(("raw", "says"), [
    ({"travel": {"Kraków - Wrocław": "1h"}}, "[travel] unknown key 'Kraków - Wrocław'"),
    ({"travel": {"Kraków / Wrocław": "soon"}}, "[travel] Kraków / Wrocław: "),
    ({"travel": {"default": "-5m"}}, "[travel] default: "),
    ({"travel": {"Kraków / Kraków": "1h"}}, "a pair names two different areas or sites"),
    ({"travel": {"Kraków / Wrocław": "1h", "Wrocław / Kraków": "2h"}}, "that pair is given twice"),
    ({"travel": {" / Wrocław": "1h"}}, "unknown key"),
    ({"travel": "1h"}, "[travel] must be a table"),
    ({"sites": {KRK: {"area": ""}}}, "area: expected a name without ' / '"),
    ({"sites": {KRK: {"area": "A / B"}}}, "area: expected a name without ' / '"),
    ({"sites": {KRK: {"area": True}}}, "area: expected a name without ' / '"),
    ({"travel": {"default": False}}, "[travel] default: expected a duration"),
    ({"travel": {"A / B / C": "1h"}}, "[travel] unknown key 'A / B / C'"),
    ({"sites": {KRK: {"city": "Kraków"}}}, "unknown key 'city'"),
    ({"sites": {KRK: {}}}, "says nothing: give hours or area"),
    ({"sites": {KRK: "Kraków"}}, "must be a table (hours, area)"),
])
def test_bad_sites_and_travel_are_one_line_errors(raw: dict[str, object], says: str) -> None:
    with pytest.raises(BadInput) as err:
        from_mapping(raw)
    assert says in err.value.message and "\n" not in err.value.message


def test_the_readmes_full_config_loads_with_its_areas_and_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's full config (the block that starts with [organizer]) is a config that loads."""
    import re
    import tomllib
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    (full,) = [b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if b.startswith("[organizer]")]
    monkeypatch.setenv("BLOCKTIME_CALDAV_PASSWORD", "from-the-environment")
    monkeypatch.delenv("BLOCKTIME_STORE_URL", raising=False)
    cfg = from_mapping(tomllib.loads(full))
    site = "Acme HQ, ul. Prosta 1, Warszawa"
    assert cfg.policy.travel_between(site, "Kraków") == timedelta(hours=3, minutes=30)
    assert cfg.policy.routes.place(site) == "Warszawa" and site in cfg.site_hours
