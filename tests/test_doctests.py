"""The examples in docstrings run (DESIGN: typed constructors with docstrings whose examples run)."""

from __future__ import annotations

import doctest
import importlib

import pytest


def _with_examples() -> list[str]:
    """Every module of the package whose docstrings hold an example (a new one is never missed)."""
    from pathlib import Path

    root = Path(importlib.import_module("blocktime").__file__ or "").parent
    return sorted("blocktime." + ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
                  for p in root.rglob("*.py") if ">>> " in p.read_text(encoding="utf-8"))


MODULES = _with_examples()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_there_are_examples() -> None:
    total = sum(doctest.testmod(importlib.import_module(n)).attempted for n in MODULES)
    assert len(MODULES) >= 20 and "blocktime.notes.cases" in MODULES and total >= 40


def test_public_surface() -> None:
    import types

    import blocktime

    public = {n for n in dir(blocktime) if not n.startswith("_")
              and not isinstance(getattr(blocktime, n), types.ModuleType)}
    assert set(blocktime.__all__) == public | {"__version__"}
    for name in blocktime.__all__:
        assert getattr(blocktime, name) is not None
