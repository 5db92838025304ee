"""The house (issue 22): packages by layer, each saying what it may import; the layers, the pure
core and the absence of import cycles held by import-linter's contracts (pyproject.toml); no module
over 400 lines; at most 6 plain modules at the top; tests mirroring the packages."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "blocktime"
LAYERS = ("core", "notes", "ics", "config", "store", "backends", "mail", "team", "usecases", "views", "cli")


def test_the_import_contracts_hold() -> None:
    """Layers, the pure core, nothing of cli below it, and no cycles: lazy imports count too."""
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout and "5 kept" in run.stdout, run.stdout[-2000:]


def test_each_layer_is_a_package_that_says_what_it_may_import() -> None:
    for name in LAYERS:
        init = PACKAGE / name / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "Layer:" in doc, f"blocktime/{name}/__init__.py: its docstring says nothing of its layer"
        assert name == "core" or "May import" in doc or "import every layer" in doc, name


def test_no_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, f"split by concept: {long}"


def test_at_most_six_plain_modules_at_the_top() -> None:
    plain = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert len(plain) <= 6, plain
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()) == sorted(LAYERS)


def test_the_tests_mirror_the_packages() -> None:
    """A package's tests are in tests/<package>/ (a package-style folder, so names may repeat)."""
    for name in LAYERS:
        assert (ROOT / "tests" / name / "__init__.py").is_file(), f"tests/{name}/ is missing"
        assert list((ROOT / "tests" / name).glob("test_*.py")), f"tests/{name}/ holds no test"


def test_python_dash_m_blocktime_is_the_command() -> None:
    run = subprocess.run([sys.executable, "-m", "blocktime", "--version"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.startswith("blocktime "), run.stderr
