"""The examples in docstrings run (DESIGN: typed constructors with docstrings whose examples run)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["blocktime.core.model", "blocktime.core.series", "blocktime.core.slots", "blocktime.core.intervals",
           "blocktime.core.schedule", "blocktime.config.inputs", "blocktime.ics.event", "blocktime.notes",
           "blocktime.notes.wording", "blocktime.usecases.engagements", "blocktime.store.engines",
           "blocktime.config.redaction", "blocktime.config.store_url", "blocktime.core.travel", "blocktime.ics.zones",
           "blocktime.core.books", "blocktime.views.week"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_there_are_examples() -> None:
    total = sum(doctest.testmod(importlib.import_module(n)).attempted for n in MODULES)
    assert total >= 2


def test_public_surface() -> None:
    import types

    import blocktime

    public = {n for n in dir(blocktime) if not n.startswith("_")
              and not isinstance(getattr(blocktime, n), types.ModuleType)}
    assert set(blocktime.__all__) == public | {"__version__"}
    for name in blocktime.__all__:
        assert getattr(blocktime, name) is not None
