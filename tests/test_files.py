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


def test_a_temporary_file_left_by_a_crash_is_stepped_over(tmp_path: Path) -> None:
    """The temporary name is the process's and thread's own; one left by a crashed process with
    the same pid does not stop the write, and the file is private (0600)."""
    import os
    import threading

    from blocktime import files

    folder = tmp_path / "outbox"
    folder.mkdir(mode=0o700)
    stale = folder / f".tmp-{os.getpid()}-{threading.get_ident()}-a.ics"
    stale.write_text("half a file")
    target = files.write(folder, "a.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    assert target.read_bytes() == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    assert target.stat().st_mode & 0o777 == 0o600
    assert {p.name for p in folder.iterdir()} == {"a.ics", stale.name}  # the stale one is not ours to remove


def test_a_name_too_long_for_a_temporary_beside_it_is_still_written(tmp_path: Path) -> None:
    """The temporary name is longer than the file's; where that passes the file system's limit
    (255 bytes here) a short random one is used. No temporary ends in a name another part globs."""
    from blocktime import files

    name = "m" * 240 + ".eml"
    target = files.write(tmp_path, name, "x")
    assert target.read_text() == "x" and [p.name for p in tmp_path.iterdir()] == [name]
    assert not list(tmp_path.glob("*.eml.part"))
