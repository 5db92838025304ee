"""The booking's head start: libraries and locale data loaded in a thread while the server answers."""

from __future__ import annotations

import subprocess
import sys

from blocktime.usecases import warmup

PROBE = """
import sys
from blocktime.usecases import warmup
names = warmup.MODULES + warmup.OWN
assert not any(name in sys.modules for name in ("icalendar", "babel.dates", "blocktime.ics.itip"))
warmup.start("pl").join(timeout=60)
from babel import localedata
print(all(name in sys.modules for name in names), "pl" in localedata._cache)
"""


def test_it_loads_the_libraries_blocktimes_writes_and_the_languages_data() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_a_language_babel_does_not_know_costs_nothing_but_the_head_start() -> None:
    thread = warmup.start("xx-not-a-locale")
    thread.join(timeout=30)
    assert not thread.is_alive()  # ended quietly: the writes report a bad language themselves
