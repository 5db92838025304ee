"""What one process at a time does for a trainer, on every machine sharing the store: sending the
trainer's outbox (`sending`, used by `messages.deliver`) and reading their inbox (`reading`, used
by `answers` beside the data dir's inbox.lock). PostgreSQL: advisory locks on a connection of their
own; SQLite (one machine): lock files in the trainer's data dir."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from blocktime.errors import BlocktimeError
from blocktime.files import try_lock
from blocktime.team.claims import LOCK_CLASS
from blocktime.team.coordination import is_postgresql

MAIL_CLASS = LOCK_CLASS + 1  # the second key space: one trainer's outbox being sent
MAIL_WAIT = 120  # seconds a sender waits for another process sending the same outbox


@contextlib.contextmanager
def sending(store_url: str | None, data_dir: Path, trainer: str | None) -> Iterator[None]:
    """Held while one process sends one trainer's outbox, on every machine that shares the store:
    a second sender waits, then finds in the sent log what the first sent (see `messages.deliver`).
    PostgreSQL: an advisory lock on a connection of its own; SQLite: `<data dir>/mail.lock`."""
    if is_postgresql(store_url):
        from blocktime.team.pgclaims import pg_connect

        conn = pg_connect(str(store_url))
        try:
            conn.execute(f"SET lock_timeout = '{MAIL_WAIT}s'")
            try:
                conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (MAIL_CLASS, trainer or ""))
            except Exception as exc:
                raise BlocktimeError("another process has been sending this outbox for too long",
                                     f"try again later ({type(exc).__name__})") from None
            yield
            conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (MAIL_CLASS, trainer or ""))
        finally:
            conn.close()  # ends the session: the lock goes with it (also after an error)
        return
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for _ in range(MAIL_WAIT * 10):
        fd = try_lock(data_dir / "mail.lock")
        if fd is not None:
            break
        threading.Event().wait(0.1)
    else:
        raise BlocktimeError("another process has been sending this outbox for too long", "try again later")
    try:
        yield
    finally:
        os.close(fd)


INBOX_CLASS = LOCK_CLASS + 3  # the fourth: one trainer's inbox being read


@contextlib.contextmanager
def reading(store_url: str | None, trainer: str | None) -> Iterator[bool]:
    """One inbox pass per trainer across machines sharing a PostgreSQL store: True when this
    process may read the trainer's inbox now, False when another one is reading it. Without
    PostgreSQL always True (the data dir's inbox.lock decides, on one machine)."""
    if not is_postgresql(store_url):
        yield True
        return
    from blocktime.team.pgclaims import pg_connect

    conn = pg_connect(str(store_url))
    try:
        got = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (INBOX_CLASS, trainer or "")).fetchone()
        mine = bool(got and got[0])
        yield mine
        if mine:  # at once: a closed connection's lock is freed only when its backend has ended
            conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (INBOX_CLASS, trainer or ""))
    finally:
        conn.close()


