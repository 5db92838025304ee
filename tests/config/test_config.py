"""The config schema: lookup order, defaults, typed values, every problem reported at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from blocktime.config.loading import find_config_file, from_mapping, load
from blocktime.config.schema import SCHEMA
from blocktime.errors import BadInput


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "env.toml"
    monkeypatch.setenv("BLOCKTIME_CONFIG", str(env_file))
    assert find_config_file(str(tmp_path / "x.toml")) == tmp_path / "x.toml"
    assert find_config_file(None) == env_file
    monkeypatch.delenv("BLOCKTIME_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert find_config_file(None) is None
    (tmp_path / "xdg" / "blocktime").mkdir(parents=True)
    (tmp_path / "xdg" / "blocktime" / "config.toml").write_text("")
    assert find_config_file(None) == tmp_path / "xdg" / "blocktime" / "config.toml"


def test_defaults_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    cfg = from_mapping({})
    assert cfg.calendar.url is None  # the embedded calendar
    assert cfg.organizer.timezone.key == "America/New_York"
    assert cfg.policy.min_notice == timedelta(hours=48)
    assert cfg.policy.horizon == timedelta(days=21)


def test_typed_values(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[organizer]\nname = "Anna"\nemail = "anna@example.com"\ntimezone = "Europe/Warsaw"\nlanguage = "pl"\n'
        '[calendar]\nurl = "https://dav.example.com/"\nusername = "anna"\npassword = "pw"\nname = "Work"\n'
        '[policy]\ntravel = "45m"\nmax_blocks_per_day = 3\nworking_hours = "Mon-Thu 09:00-17:00"\nbuffer = 0\n'
        '[sites."Acme HQ"]\nhours = "Mon-Fri 10:00-15:00"\n'
    )
    cfg = load(str(path))
    assert cfg.organizer.language == "pl"
    assert cfg.calendar.name == "Work" and cfg.calendar.login_password() == "pw"
    assert cfg.policy.travel == timedelta(minutes=45)
    assert cfg.policy.max_blocks_per_day == 3
    assert cfg.policy.buffer == timedelta(0)
    assert len(cfg.policy.working_hours.windows) == 4
    assert "Acme HQ" in cfg.site_hours
    assert "pw" not in repr(cfg.calendar)


def test_all_problems_at_once_with_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[organizer]\nemail = "nope"\nlanguage = "de"\n[policy]\noptions = 0\ngranularity = true\n'
        '[calendar]\npassword = "x"\n[sites.Acme]\nhours = "whenever"\n[extra]\n'
    )
    with pytest.raises(BadInput) as err:
        load(str(path))
    text = str(err.value)
    for needle in ("[organizer] email", "[organizer] language", "[policy] options", "[policy] granularity",
                   "a password needs a username", "[sites.'Acme'] hours", "unknown section [extra]"):
        assert needle in text, needle
    assert text.count(str(path)) == 7
    assert "x" not in text.split("password needs")[0][-3:]


def test_every_schema_key_has_help() -> None:
    assert all(help_text for section in SCHEMA.values() for _, help_text in section.values())
