"""blocktime.files: one holder at a time, released with its descriptor."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from blocktime.files import try_lock


def test_one_holder_at_a_time_and_closing_releases(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    first = try_lock(path)
    assert first is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert try_lock(path) is None  # another descriptor, even in the same process
    os.close(first)
    again = try_lock(path)
    assert again is not None
    os.close(again)
