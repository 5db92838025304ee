"""What every use case does with the calendar: busy time read from all calendars of the account
(expanded here, see ics.busy), and an event updated with If-Match so that an edit made elsewhere
in between is merged, never overwritten.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from blocktime.errors import BlocktimeError, ServerError
from blocktime.usecases.session import Session

if TYPE_CHECKING:
    from blocktime.core.model import Busy

log = logging.getLogger("blocktime")


def read_busy(session: Session, start: datetime, end: datetime, *, then: tuple[str, ...] = ()) -> list[Busy]:
    """Busy time from every calendar of the account, expanded here (see ics.busy).

    A reader thread sends one REPORT after the other (servers serialise, and Radicale slows down
    with parallel REPORTs) and stops at the first failure; each answer is expanded here as it
    comes, while the server works on the next. Meanwhile the modules the command needs `then`
    (after the busy time) are imported. The result is the one reading everything first would
    give: each object is expanded on its own."""
    import importlib
    import queue
    import threading

    backend, tz = session.backend, session.config.organizer.timezone
    me = own_addresses(session)
    calendars = backend.calendars()
    busy: list[Busy] = []
    if not calendars:
        return busy
    answers: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue()
    stop = threading.Event()

    def read_all() -> None:
        for cal in calendars:
            if stop.is_set():
                return
            try:
                answers.put((backend.list_range(cal, start, end), None))
            except BaseException as exc:  # handed to the caller's thread; nothing further is read
                answers.put((None, exc))
                return

    reader = threading.Thread(target=read_all, name="busy-read", daemon=True)
    reader.start()
    try:
        from blocktime.ics.busy import busy_from_texts  # (while the first answer is awaited)

        for name in then:
            importlib.import_module(name)
        for cal in calendars:
            objects, failed = answers.get()
            if failed is not None:
                raise failed
            result = busy_from_texts([(f"{cal.name}: {o.href.rsplit('/', 1)[-1]}", o.data) for o in objects],
                                     start, end, tz, me=me)
            busy += result.busy
            for w in result.warnings:
                log.warning("%s", w)
    finally:
        stop.set()
        reader.join()  # no request of this reader outlives the call
    busy.sort(key=lambda b: (b.span.start, b.span.end, b.uid))
    return busy


def own_addresses(session: Session) -> frozenset[str]:
    """The organizer's own addresses, lower case: an invitation one of them declined is free time.
    The organizer's e-mail, the calendar account's login when it is an address (Google), and the
    address mail goes out from."""
    cfg = session.config
    found = {cfg.organizer.email, cfg.calendar.username or "", cfg.sender}
    return frozenset(a.strip().lower() for a in found if "@" in a)


def update_event(session: Session, href: str, uid: str, change: Any, attempts: int = 3) -> str | None:
    """Apply `change(server_text) -> new_text` to the server's current copy with If-Match.

    On a conflict (someone edited between our read and write) the copy is re-read and the
    change applied again on top of their edit, so it survives; after `attempts` it is reported.
    """
    from blocktime.errors import ConflictError

    for _ in range(attempts):
        current = session.backend.get(href)
        if current is None:
            raise ServerError(f"event {uid} is no longer on the calendar", "was it deleted elsewhere?")
        if current.etag is None:
            raise ServerError(f"the server gave no ETag for {href}; refusing an unconditional write")
        try:
            return session.backend.update(href, change(current.data), current.etag) or _etag_of(session, href)
        except ConflictError:
            log.info("conflict on %s: re-reading and merging", href)
    raise BlocktimeError(f"event {uid} keeps changing on the server", "try again in a moment")


def _etag_of(session: Session, href: str) -> str | None:
    got = session.backend.get(href)
    return got.etag if got else None
