"""Several trainers in one installation: the config layout, `--as`, and the one-trainer config unchanged."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from blocktime.cli import main
from blocktime.errors import BadInput
from blocktime.team.trainers import DEFAULT, Team, for_trainer, load_team
from tests.conftest import write_config
from tests.stores import sqlite_only

SHARED = {"organizer": {"timezone": "Europe/Warsaw", "language": "pl"},
          "policy": {"max_blocks_per_day": 3},
          "calendar": {"url": "https://dav.example/remote.php/dav", "password_env": "SHARED_PW"}}


def toml(path: Path, body: dict[str, dict[str, Any]]) -> Path:
    """A TOML file of tables (values JSON-encoded, which TOML reads the same for these types)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, values in body.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def trainer_body(name: str, **extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    body: dict[str, dict[str, Any]] = {
        "organizer": {"name": name.title(), "email": f"{name}@example.com"},
        "calendar": {"username": name, "password": f"{name}-secret"},
    }
    for table, values in extra.items():
        body.setdefault(table, {}).update(values)
    return body


def team_config(root: Path, shared: dict[str, dict[str, Any]] | None = None,
                **trainers: dict[str, dict[str, Any]]) -> Path:
    main_file = toml(root / "config.toml", {**(SHARED if shared is None else shared), "team": {}})
    for name, body in trainers.items():
        toml(root / "trainers" / f"{name}.toml", body)
    return main_file


@pytest.fixture
def two(tmp_path: Path, data_dir: Path) -> Path:
    return team_config(tmp_path, anna=trainer_body("anna"), bob=trainer_body("bob"))


@sqlite_only  # the default store: no BLOCKTIME_STORE_URL
def test_a_one_trainer_config_is_one_trainer_called_default(tmp_path: Path, data_dir: Path) -> None:
    team = load_team(str(write_config(tmp_path / "c.toml", None)))
    assert list(team.trainers) == [DEFAULT] and not team.is_team
    cfg = for_trainer(team, None)
    assert cfg.trainer is None and cfg.data_dir == data_dir and cfg.outbox == data_dir / "outbox"
    assert team.base_dir == data_dir and team.store_url == os.environ.get("BLOCKTIME_STORE_URL")
    assert for_trainer(team, DEFAULT) is cfg
    with pytest.raises(BadInput, match="--as anna: this config has no \\[team\\]; its one trainer is called default"):
        for_trainer(team, "anna")


def test_each_trainer_extends_the_shared_tables(two: Path, data_dir: Path) -> None:
    team = load_team(str(two))
    assert list(team.trainers) == ["anna", "bob"] and team.is_team and team.base_dir == data_dir
    anna = for_trainer(team, "anna")
    assert anna.trainer == "anna" and anna.organizer.name == "Anna" and anna.organizer.email == "anna@example.com"
    assert anna.organizer.timezone.key == "Europe/Warsaw" and anna.organizer.language == "pl"  # shared
    assert anna.policy.max_blocks_per_day == 3
    assert anna.calendar.url == "https://dav.example/remote.php/dav" and anna.calendar.username == "anna"
    assert anna.calendar.login_password() == "anna-secret"  # its own password replaces the shared password_env (unset)
    assert anna.data_dir == data_dir / "trainers" / "anna" and anna.outbox == anna.data_dir / "outbox"
    assert anna.source == two.parent / "trainers" / "anna.toml"
    bob = for_trainer(team, "bob")
    assert bob.calendar.username == "bob" and bob.data_dir == data_dir / "trainers" / "bob"


def test_choosing_a_trainer(two: Path) -> None:
    team = load_team(str(two))
    with pytest.raises(BadInput, match=r"this config has 2 trainers \(anna, bob\): choose one with --as NAME"):
        for_trainer(team, None)
    with pytest.raises(BadInput, match=r"--as carol: no such trainer \(known: anna, bob\)"):
        for_trainer(team, "carol")


def test_a_team_of_one_needs_no_as(tmp_path: Path, data_dir: Path) -> None:
    team = load_team(str(team_config(tmp_path, anna=trainer_body("anna"))))
    assert team.is_team and for_trainer(team, None).trainer == "anna"


def test_team_data_dir_and_outbox_bases(tmp_path: Path, data_dir: Path) -> None:
    shared = {**SHARED, "outbox": {"dir": str(tmp_path / "mail")}}
    main_file = toml(tmp_path / "config.toml", {**shared, "team": {"trainers": "people", "data_dir": "state"}})
    toml(tmp_path / "people" / "anna.toml", trainer_body("anna"))
    toml(tmp_path / "people" / "bob.toml", trainer_body("bob", trainer={"data_dir": str(tmp_path / "bobs")},
                                                        outbox={"dir": str(tmp_path / "bob-mail")}))
    team = load_team(str(main_file))
    assert team.base_dir == tmp_path / "state"
    anna, bob = team.trainers["anna"], team.trainers["bob"]
    assert anna.data_dir == tmp_path / "state" / "trainers" / "anna" and anna.outbox == tmp_path / "mail" / "anna"
    assert bob.data_dir == tmp_path / "bobs" and bob.outbox == tmp_path / "bob-mail"


def test_the_team_daemon_timing_is_the_main_files(tmp_path: Path, data_dir: Path) -> None:
    shared = {**SHARED, "daemon": {"sync_every": "5m", "nightly": "00:30"}}
    team = load_team(str(team_config(tmp_path, shared, anna=trainer_body("anna", daemon={"nightly": "04:00"}))))
    assert team.daemon.sync_every.total_seconds() == 300 and team.daemon.nightly.hour == 0
    assert team.trainers["anna"].daemon.nightly.hour == 4


@pytest.mark.parametrize(("setup", "needle"), [
    (lambda root: toml(root / "trainers" / "anna.toml", trainer_body("anna", store={"url": "postgresql://x/y"})),
     "[store] is shared by the team: set it in"),
    (lambda root: toml(root / "trainers" / "Anna Smith.toml", trainer_body("anna")),
     "a trainer's file name must be lowercase letters"),
    (lambda root: toml(root / "trainers" / "anna.toml", trainer_body("anna", trainer={"home": "x"})),
     "[trainer] takes only data_dir"),
    (lambda root: (root / "trainers").mkdir(), "no trainer files (*.toml) in"),
    (lambda root: toml(root / "config.toml", {**SHARED, "team": {"folder": "x"}}), "[team] unknown key 'folder'"),
    (lambda root: [toml(root / "trainers" / f"{n}.toml", trainer_body(n, trainer={"data_dir": str(root / "same")}))
                   for n in ("anna", "bob")], "trainers anna and bob have the same data dir"),
    (lambda root: toml(root / "trainers" / "anna.toml", {"organizer": {"email": "nope"}}), "is not an e-mail address"),
    (lambda root: toml(root / "trainers" / "team.toml", trainer_body("t")), "'team' is reserved"),
])
def test_bad_team_layouts_are_one_line(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str],
                                       setup: Any, needle: str) -> None:
    toml(tmp_path / "config.toml", {**SHARED, "team": {}})
    setup(tmp_path)
    code = main(["--config", str(tmp_path / "config.toml"), "team", "list"])  # reads every trainer's file
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("blocktime: error: ") and needle in err, err
    assert "secret" not in err


def test_a_command_as_one_trainer_reads_only_their_file(tmp_path: Path, data_dir: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    config = team_config(tmp_path, anna=trainer_body("anna"), bob=trainer_body("bob", organizer={"email": "bob"}))
    assert main(["--config", str(config), "--as", "anna", "offers", "--json"]) == 0  # bob's slip stops only bob
    assert main(["--config", str(config), "--as", "bob", "offers", "--json"]) == 2
    assert "bob.toml: [organizer] email" in capsys.readouterr().err
    for command in (["team", "list"], ["--as", "anna", "doctor"]):  # these check the whole team
        assert main(["--config", str(config), *command]) == 2
        assert "bob.toml: [organizer] email" in capsys.readouterr().err
    assert main(["--config", str(config), "--as", "carol", "agenda"]) == 2
    assert "--as carol: no such trainer (known: anna, bob)" in capsys.readouterr().err


def test_every_trainers_problems_are_reported_together(tmp_path: Path, data_dir: Path) -> None:
    team_config(tmp_path, anna=trainer_body("anna", policy={"travel": "soon"}),
                bob=trainer_body("bob", organizer={"email": "bob"}))
    with pytest.raises(BadInput) as exc:
        load_team(str(tmp_path / "config.toml"))
    assert "anna.toml: [policy] travel" in str(exc.value) and "bob.toml: [organizer] email" in str(exc.value)


def test_as_on_the_command_line_and_from_the_environment(two: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    code = main(["--config", str(two), "agenda"])
    err = capsys.readouterr().err
    assert code == 2 and "choose one with --as NAME" in err and err.count("\n") == 1
    monkeypatch.setenv("BLOCKTIME_TRAINER", "carol")
    assert main(["--config", str(two), "agenda"]) == 2
    assert "--as carol: no such trainer" in capsys.readouterr().err
    assert main(["--config", str(two), "--as", "nobody", "agenda"]) == 2  # --as wins over the environment
    assert "--as nobody: no such trainer" in capsys.readouterr().err
    assert main(["--config", str(two), "agenda", "--as", "someone"]) == 2  # after the command too
    assert "--as someone: no such trainer" in capsys.readouterr().err


def test_one_trainer_config_accepts_as_default(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str],
                                               ) -> None:
    cfg = str(write_config(tmp_path / "c.toml", None))
    assert main(["--config", cfg, "--as", "default", "agenda", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"blocks": []}
    assert main(["--config", cfg, "--as", "anna", "agenda"]) == 2
    assert "its one trainer is called default" in capsys.readouterr().err


def test_team_is_typed() -> None:
    assert Team.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_each_trainer_has_their_own_token_files_and_keyring_entry(tmp_path: Path, data_dir: Path) -> None:
    from blocktime.config.auth import TokenStore

    shared = {**SHARED, "calendar": {"provider": "outlook", "client_id": "app", "token_store": "keyring"}}
    team = load_team(str(team_config(tmp_path, shared, anna={"organizer": {"email": "anna@example.com"}},
                                     bob={"organizer": {"email": "bob@example.com"},
                                          "calendar": {"token_store": "file"}})))
    anna, bob = team.trainers["anna"], team.trainers["bob"]
    in_keyring = TokenStore(anna.data_dir, "outlook", anna.calendar.token_store)
    assert in_keyring.kind == "keyring" and in_keyring.account == "outlook:anna"
    assert in_keyring.where == "the system keyring (blocktime/outlook:anna)"
    in_file = TokenStore(bob.data_dir, "outlook", bob.calendar.token_store)
    assert in_file.kind == "file" and in_file.path == data_dir / "trainers" / "bob" / "tokens" / "outlook.json"
    alone = TokenStore(data_dir, "outlook", "keyring")  # a one-trainer config: the entry it always had
    assert alone.account == "outlook"


def test_team_list_shows_no_secret(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import doctest

    import blocktime.cli.team

    assert doctest.testmod(blocktime.cli.team).failed == 0
    monkeypatch.delenv("BLOCKTIME_STORE_URL", raising=False)
    shared = {**SHARED, "calendar": {"url": "https://ann:pw-in-url@dav.example/cal/private-0123456789abcdef0123456789"
                                            "/?token=tok-in-query"},
              "store": {"url": "postgresql://ann:pw-in-store@db.example/team?sslmode=require"}}
    config = team_config(tmp_path, shared, anna=trainer_body("anna"), bob=trainer_body("bob"))
    assert main(["--config", str(config), "team", "list"]) == 0
    out = capsys.readouterr().out
    for secret in ("pw-in-url", "tok-in-query", "0123456789abcdef", "anna-secret", "bob-secret", "pw-in-store"):
        assert secret not in out
    lines = out.splitlines()
    assert lines[0].split() == ["trainer", "organizer", "calendar", "data"]
    assert lines[2].split() == ["anna", "anna@example.com", "https://ann:***@dav.example/cal/***/?token=***",
                                str(data_dir / "trainers" / "anna")]
    assert lines[-1] == "store: postgresql://ann:***@db.example/team?sslmode=***"
    assert main(["--config", str(config), "team", "list", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["team"] is True and [t["trainer"] for t in doc["trainers"]] == ["anna", "bob"]
    assert doc["trainers"][1]["outbox"] == str(data_dir / "trainers" / "bob" / "outbox")
    single = write_config(tmp_path / "single.toml", None)
    assert main(["--config", str(single), "team", "list", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["team"] is False and doc["trainers"][0]["trainer"] == "default" and doc["store"] is None
    assert main(["--config", str(single), "team", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "store: SQLite, one file in each data folder"
    assert doc["trainers"][0]["calendar"] == "local" and doc["trainers"][0]["data_dir"] == str(data_dir)


def test_the_readme_team_example_loads(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README, For teams: the main file and anna's file as printed there make a team of one."""
    import re
    import tomllib

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Trainers", 1)[1]
    main_text, anna_text = re.findall(r"```toml\n(.*?)```", section, re.S)[:2]
    assert main_text.startswith("# config.toml") and anna_text.startswith("# trainers/anna.toml")
    (tmp_path / "config.toml").write_text(main_text.replace("/srv/blocktime", str(tmp_path / "srv")))
    (tmp_path / "trainers").mkdir()
    (tmp_path / "trainers" / "anna.toml").write_text(anna_text)
    for var in ("ANNA_DAV_PASSWORD", "ANNA_SMTP_PASSWORD", "ANNA_IMAP_PASSWORD"):
        monkeypatch.setenv(var, "x")
    assert tomllib.loads(anna_text)["organizer"]["name"] == "Anna Nowak"
    monkeypatch.delenv("BLOCKTIME_STORE_URL", raising=False)
    anna = for_trainer(load_team(str(tmp_path / "config.toml")), None)
    assert anna.store_url == "postgresql://blocktime@db.example/blocktime"
    assert anna.trainer == "anna" and anna.data_dir == tmp_path / "srv" / "trainers" / "anna"
    assert anna.calendar.url == "https://cloud.example/remote.php/dav" and anna.calendar.username == "anna"
    assert anna.smtp is not None and anna.smtp.host == "smtp.example" and anna.smtp.username == "anna@example.com"
    assert anna.inbox is not None and anna.organizer.timezone.key == "Europe/Warsaw"


def test_doctor_with_no_trainer_named_checks_every_trainer(tmp_path: Path, data_dir: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 26, point 13: as the README says, doctor checks every trainer; one that cannot connect
    is reported and the others are still checked."""
    bob = trainer_body("bob", calendar={"url": "http://127.0.0.1:9/dav/", "password": "bob-secret"})
    config = team_config(tmp_path, {"organizer": {"timezone": "Europe/Warsaw"}},
                         anna={"organizer": {"name": "Anna", "email": "anna@example.com"}}, bob=bob)
    code = main(["--config", str(config), "--now", "2026-03-20T09:00", "doctor", "--json"])
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert code == 1 and list(doc["trainers"]) == ["anna", "bob"] and doc["ok"] is False
    assert doc["trainers"]["anna"]["ok"] is True
    assert doc["trainers"]["bob"]["ok"] is False and "bob-secret" not in out + err
    code = main(["--config", str(config), "--now", "2026-03-20T09:00", "doctor"])
    out, _ = capsys.readouterr()
    assert code == 1 and "== trainer anna ==" in out and "== trainer bob ==" in out
    assert out.rstrip().endswith("2 trainers checked: 1 cannot work (bob)")
    assert main(["--config", str(config), "--now", "2026-03-20T09:00", "--as", "anna", "doctor"]) == 0
