"""What an install from `pip install .` carries: every package, the sample calendars as package
data (so `blocktime demo` works anywhere), the version; and no dependency that nothing imports."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from blocktime.cli import main
from blocktime.cli.demo import CALENDARS, samples

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_is_listed() -> None:
    listed = set(PROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "blocktime").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert "blocktime.samples" in listed
    assert PROJECT["tool"]["setuptools"]["package-dir"]["blocktime.samples"] == "sample_ics"


def test_the_demo_finds_its_calendars_as_package_data() -> None:
    folder = samples()
    globs = PROJECT["tool"]["setuptools"]["package-data"]["blocktime.samples"]
    for files in CALENDARS.values():
        for name in files:
            assert (folder / name).is_file()
            assert any(Path(name).match(g) for g in globs), f"{name} is not shipped"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"blocktime {PROJECT['project']['version']}\n"


def test_each_dependency_is_imported_somewhere() -> None:
    """arrow was a dependency nothing imported: every runtime dependency must be used by the code."""
    code = "\n".join(p.read_text() for p in (ROOT / "blocktime").rglob("*.py"))
    module = {"python-dateutil": "dateutil", "recurring-ical-events": "recurring_ical_events",
              "x-wr-timezone": None, "tzdata": None}
    for spec in PROJECT["project"]["dependencies"]:
        name = re.split(r"[<>=!~\[ ]", spec, maxsplit=1)[0]
        mod = module.get(name, name.replace("-", "_"))
        if mod is None:  # tzdata: zoneinfo reads it; x-wr-timezone: recurring_ical_events.of() uses it
            continue
        assert re.search(rf"^\s*(from|import) {mod}\b", code, re.M), f"{name} is a dependency but never imported"
