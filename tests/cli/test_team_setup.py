"""`init --as` writes a trainer's own file into the team's folder; `doctor --as` checks that trainer."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from blocktime.cli import main
from blocktime.team.trainers import load_team
from tests.conftest import write_config
from tests.servers import Account
from tests.team.test_team import toml


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def main_config(tmp_path: Path, data_dir: Path) -> Path:
    return toml(tmp_path / "config.toml", {"organizer": {"timezone": "Europe/Warsaw", "language": "pl"},
                                           "team": {}})


def test_init_as_writes_the_trainers_file_then_doctor_checks_that_trainer(
    main_config: Path, data_dir: Path, radicale: Account, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANNA_DAV", radicale.password or "")
    code, out, err = run(capsys, "--config", str(main_config), "--as", "anna", "init", "--name", "Anna Nowak",
                         "--email", "anna@example.com", "--profile", "radicale", "--url", radicale.url,
                         "--username", radicale.username or "", "--password-env", "ANNA_DAV")
    assert code == 0, err
    file = main_config.parent / "trainers" / "anna.toml"
    assert f"wrote {file} (0600)" in out
    raw = tomllib.loads(file.read_text())
    assert raw["organizer"] == {"name": "Anna Nowak", "email": "anna@example.com", "timezone": "Europe/Warsaw",
                                "language": "pl"}  # the team's zone and language unless given
    assert "ok    organizer    Anna Nowak <anna@example.com>" in out and "blocktime can work here." in out
    assert f"ok    trainer      anna of a team; data in {data_dir / 'trainers' / 'anna'}" in out
    assert "zone" in out and "not set in the config" not in out
    assert load_team(str(main_config)).trainers["anna"].data_dir == data_dir / "trainers" / "anna"

    code, _, err = run(capsys, "--config", str(main_config), "--as", "anna", "init", "--name", "A",
                       "--email", "a@example.com")
    assert code == 2 and f"{file} exists" in err
    code, out, err = run(capsys, "--config", str(main_config), "--as", "anna", "doctor")
    assert code == 0 and "blocktime can work here." in out, err
    code, _, err = run(capsys, "--config", str(main_config), "doctor")  # one trainer: --as not needed
    assert code == 0, err


def test_init_as_needs_a_team(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    single = write_config(tmp_path / "c.toml", None)
    code, _, err = run(capsys, "--config", str(single), "--as", "anna", "init", "--name", "A", "--email",
                       "a@example.com", "--timezone", "UTC", "--no-doctor")
    assert code == 2 and f"init --as anna: {single} has no [team]" in err
    code, _, err = run(capsys, "--config", str(tmp_path / "new.toml"), "--as", "anna", "init", "--name", "A",
                       "--email", "a@example.com", "--timezone", "UTC", "--no-doctor")
    assert code == 2 and "the team's main config" in err and not (tmp_path / "new.toml").exists()
    code, _, err = run(capsys, "--config", str(tmp_path / "new.toml"), "--as", "default", "init", "--name", "A",
                         "--email", "a@example.com", "--timezone", "UTC", "--no-doctor")
    assert code == 0 and (tmp_path / "new.toml").exists(), err  # "default": the one-trainer config


def test_init_as_refuses_a_bad_name(main_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("Anna", "team", "../x"):
        code, _, err = run(capsys, "--config", str(main_config), "--as", name, "init", "--name", "A", "--email",
                           "a@example.com", "--no-doctor")
        assert code == 2 and "a trainer's name must be lowercase" in err, (name, err)
    assert not (main_config.parent / "trainers").exists()


def test_no_placeholder_note_when_the_team_sets_the_zone(main_config: Path, capsys: pytest.CaptureFixture[str],
                                                         ) -> None:
    toml(main_config.parent / "trainers" / "anna.toml", {"organizer": {"name": "Anna", "email": "anna@example.com"}})
    code, _, err = run(capsys, "--config", str(main_config), "--as", "anna", "offers", "--json")
    assert code == 0 and "note:" not in err, err
    toml(main_config.parent / "trainers" / "bob.toml", {"organizer": {"name": "Bob"}})
    code, _, err = run(capsys, "--config", str(main_config), "--as", "bob", "offers", "--json")
    assert code == 0 and "does not set them: using organizer Bob" in err, err
