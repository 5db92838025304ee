"""Advisory file locks (flock) for what one process at a time does on one machine: the daemon of
a data dir, an inbox pass, an outbox send, a team daemon's claim on a trainer. The kernel drops
the lock when its process dies, so nothing needs cleaning up after a crash."""

from __future__ import annotations

import fcntl
import os
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
