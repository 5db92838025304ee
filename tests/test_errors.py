"""Missing optional drivers (issue 26, point 5): psycopg, keyring, msal and google-auth are each
imported through `errors.optional`, so a missing one is one line naming the pip extra from every
command, never "internal error: ModuleNotFoundError". The drivers are hidden from a real blocktime
process by a meta path finder installed in its sitecustomize."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from blocktime.errors import EXTRAS, MissingDriver, driver_missing, missing_driver
from tests.stores import sqlite_only

ROOT = Path(__file__).resolve().parents[1]
BLOCKER = '''import sys
from importlib.abc import MetaPathFinder
class _Hidden(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {HIDDEN}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Hidden())
'''
ORGANIZER = '[organizer]\nname = "Anna Nowak"\nemail = "anna@example.com"\ntimezone = "Europe/Warsaw"\n'


def without(tmp_path: Path, hidden: set[str], *argv: str) -> tuple[int, str]:
    """Run `python -m blocktime ARGV` with the modules in `hidden` not importable; (exit code, stderr)."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER.format(HIDDEN=sorted(hidden)))
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}", "BLOCKTIME_DATA_DIR": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    for name in ("BLOCKTIME_CONFIG", "BLOCKTIME_STORE_URL", "BLOCKTIME_TRAINER"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", "blocktime", *argv], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    return proc.returncode, proc.stderr


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("blocktime: error: "), err
    assert "internal error" not in err and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("argv", [["team", "status"], ["daemon", "--status"], ["daemon", "--once"],
                                  ["--as", "anna", "agenda"], ["--as", "anna", "daemon", "--status"]])
def test_a_team_on_postgresql_without_psycopg_names_the_extra(tmp_path: Path, argv: list[str]) -> None:
    """Before: `team status`, `daemon --status` and `daemon --once` said "internal error: ModuleNotFoundError"."""
    main = tmp_path / "main.toml"
    main.write_text(ORGANIZER + '[store]\nurl = "postgresql://anna@127.0.0.1:1/team"\n[team]\ntrainers = "trainers"\n')
    (tmp_path / "trainers").mkdir()
    (tmp_path / "trainers" / "anna.toml").write_text('[organizer]\nname = "Anna"\nemail = "anna@example.com"\n')
    code, err = without(tmp_path, {"psycopg"}, "--config", str(main), *argv)
    line = one_line(err)
    assert code == 2 and "needs the optional psycopg package" in line and "pip install 'blocktime[postgresql]'" in line


@sqlite_only  # a clean environment (`without`): the default store
def test_the_calendar_password_in_the_keyring_without_keyring_names_the_extra(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(ORGANIZER + '[calendar]\nurl = "http://127.0.0.1:1/dav/"\nusername = "anna"\n'
                                  'password_keyring = true\n')
    code, err = without(tmp_path, {"keyring"}, "--config", str(config), "agenda")
    assert code == 0, err  # reads the store only: the keyring is not asked (point 3)
    code, err = without(tmp_path, {"keyring"}, "--config", str(config), "--now", "2026-03-20T09:00", "book",
                        "--client", "Acme", "--site", "HQ", "--start", "2026-04-01 10:00", "--length", "1h")
    line = one_line(err)
    assert code == 2 and "password_keyring needs the optional keyring package" in line
    assert "pip install 'blocktime[keyring]'" in line


def test_the_boundary_names_the_extra_of_a_driver_imported_some_other_way() -> None:
    said = driver_missing(ModuleNotFoundError("No module named 'msal'", name="msal"))
    assert isinstance(said, MissingDriver) and "pip install 'blocktime[outlook]'" in str(said)
    said = driver_missing(ModuleNotFoundError("No module named 'psycopg.pq'", name="psycopg.pq"))
    assert said is not None and "blocktime[postgresql]" in str(said)
    assert driver_missing(ModuleNotFoundError("No module named 'nothere'", name="nothere")) is None
    assert driver_missing(ValueError("x")) is None


def test_every_extra_named_is_one_pyproject_declares() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(EXTRAS.values()) <= set(declared)
    assert str(missing_driver("google_auth_oauthlib.flow", "x")) == (
        "x needs the optional google_auth_oauthlib package (pip install 'blocktime[google]')")
