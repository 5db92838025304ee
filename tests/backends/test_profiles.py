"""calendars/*.toml: every profile loads through the config schema and says what a user must know."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from blocktime.config.loading import from_mapping
from blocktime.config.profiles import SHIPPED, find_profile, profile_names, read_profile
from blocktime.errors import BadInput

EXPECTED = {
    "local": "local", "radicale": "caldav", "xandikos": "caldav", "nextcloud": "caldav", "fastmail": "caldav",
    "icloud": "caldav", "google": "google", "outlook": "outlook", "outlook-davmail": "caldav",
}


def test_every_profile_named_in_the_design_is_shipped() -> None:
    assert {p.stem for p in SHIPPED.glob("*.toml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_profile_loads_through_the_schema(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLOCKTIME_CALDAV_PASSWORD", "from-the-environment")
    path = SHIPPED / f"{name}.toml"
    raw = tomllib.loads(path.read_text())
    cal = from_mapping(raw, path).calendar  # the file on its own
    assert cal.provider == EXPECTED[name]
    via = from_mapping({"calendar": {"profile": name}}).calendar  # and named from a config
    assert via.provider == EXPECTED[name] and via.profile == name and via.url == cal.url
    comments = "\n".join(line for line in path.read_text().splitlines() if line.startswith("#"))
    assert "URL form" in comments and "Auth" in comments and "Limits" in comments
    if cal.provider == "caldav" and name not in ("xandikos",):
        assert cal.login_password() == "from-the-environment"


def test_the_config_s_own_keys_win_over_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLOCKTIME_CALDAV_PASSWORD", "pw")
    cal = from_mapping({"calendar": {"profile": "fastmail", "username": "me@fastmail.com", "name": "Work"}}).calendar
    assert cal.url == "https://caldav.fastmail.com/dav/" and cal.username == "me@fastmail.com"
    assert cal.name == "Work" and cal.login_password() == "pw"


def test_the_user_s_password_wins_over_the_profile_s_password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10: `[calendar] password` lost to the profile's `password_env` (unset: an error)."""
    monkeypatch.delenv("BLOCKTIME_CALDAV_PASSWORD", raising=False)
    cal = from_mapping({"calendar": {"profile": "fastmail", "username": "me@fastmail.com",
                                     "password": "typed"}}).calendar
    assert cal.login_password() == "typed"
    monkeypatch.setenv("BLOCKTIME_CALDAV_PASSWORD", "from-env")
    assert from_mapping({"calendar": {"profile": "fastmail", "password": "typed"}}).calendar.login_password() == "typed"
    monkeypatch.setenv("MINE", "mine")
    own = from_mapping({"calendar": {"profile": "fastmail", "password_env": "MINE"}}).calendar
    assert own.login_password() == "mine"


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(BadInput) as info:
        from_mapping({"calendar": {"profile": "exchange2003"}})
    assert "no calendar profile 'exchange2003'" in info.value.message and "fastmail" in info.value.message


def test_a_profile_can_be_a_path_or_live_in_the_user_config_dir(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "mine.toml"
    own.write_text('[calendar]\nprovider = "caldav"\nurl = "https://dav.example.com/"\n')
    assert from_mapping({"calendar": {"profile": str(own)}}).calendar.url == "https://dav.example.com/"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "blocktime" / "calendars").mkdir(parents=True)
    (tmp_path / "xdg" / "blocktime" / "calendars" / "radicale.toml").write_text(
        '[calendar]\nprovider = "caldav"\nurl = "https://radicale.example.com/me/"\n')
    assert find_profile("radicale") == tmp_path / "xdg" / "blocktime" / "calendars" / "radicale.toml"
    assert from_mapping({"calendar": {"profile": "radicale"}}).calendar.url == "https://radicale.example.com/me/"
    assert "radicale" in profile_names()


def test_profiles_hold_only_a_calendar_table_and_do_not_nest(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[calendar]\nprofile = "google"\n')
    with pytest.raises(ValueError, match="do not nest"):
        read_profile(str(bad))
    bad.write_text('[policy]\ntravel = "1h"\n')
    with pytest.raises(ValueError, match="only hold a \\[calendar\\]"):
        read_profile(str(bad))


def test_existing_configs_keep_working() -> None:
    assert from_mapping({}).calendar.provider == "local"
    cal = from_mapping({"calendar": {"url": "https://dav.example.com/", "username": "a", "password": "b"}}).calendar
    assert cal.provider == "caldav" and cal.login_password() == "b"


@pytest.mark.parametrize(("calendar", "needle"), [
    ({"provider": "caldav"}, "provider caldav needs a url"),
    ({"provider": "google"}, "needs username = your Google address"),
    ({"provider": "local", "url": "https://x.example/"}, "provider local takes no url"),
    ({"provider": "exchange"}, "'exchange' is not one of"),
    ({"token_store": "safe"}, "'safe' is not one of file, keyring"),
])
def test_provider_problems_are_reported(calendar: dict[str, str], needle: str) -> None:
    with pytest.raises(BadInput, match=needle):
        from_mapping({"calendar": calendar})
