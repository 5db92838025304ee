"""The booking's head start: libraries and locale data loaded in a thread while the server answers."""

from __future__ import annotations

import sys

from blocktime.usecases import warmup


def test_it_loads_the_libraries_and_the_languages_data() -> None:
    from babel import localedata

    warmup.start("pl").join(timeout=30)
    assert all(name in sys.modules for name in warmup.MODULES)
    assert "pl" in localedata._cache  # what the notes' dates will be formatted with


def test_a_language_babel_does_not_know_costs_nothing_but_the_head_start() -> None:
    thread = warmup.start("xx-not-a-locale")
    thread.join(timeout=30)
    assert not thread.is_alive()  # ended quietly: the writes report a bad language themselves
