"""The files blocktime keeps for itself: private (0600 in 0700 folders), written whole or not at all,
and locked by one process at a time.

Every layer writes such files (the outbox, the discovery cache of a calendar account, the daemon's
lock), so this module sits beside `errors`, below the layers, and imports nothing of blocktime.

The advisory file locks (flock) guard what one process at a time does on one machine: the daemon of
a data dir, an inbox pass, an outbox send, a team daemon's claim on a trainer. The kernel drops
the lock when its process dies, so nothing needs cleaning up after a crash."""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from pathlib import Path


def try_lock(path: Path) -> int | None:
    """The open descriptor of `path` (made 0600 if missing) holding an exclusive lock, or None when
    another descriptor holds it. Closing the descriptor releases the lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def write(folder: Path, name: str, text: str) -> Path:
    """Write atomically (temp file + rename), so a crash never leaves half a file. The file is
    0600 (mkstemp), and the folders blocktime creates are 0700: invites and mail hold client data."""
    if not folder.is_dir():  # one stat in the common case; create the missing chain once
        for missing in reversed([p for p in (folder, *folder.parents) if not p.exists()]):
            missing.mkdir(mode=0o700, exist_ok=True)
    target = folder / name
    # this thread's own name (no random one to draw); ".part", so that no glob for "*.eml" or
    # "*.ics" meets a file being written
    tmp = folder / f".tmp-{os.getpid()}-{threading.get_ident()}-{name}.part"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:  # left by a crashed process with this pid, or a name too long for the file system
        fd, name_ = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
        tmp = Path(name_)
    try:
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, target)
    return target
