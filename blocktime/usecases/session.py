"""The session: one command's world (config, clock, store and, lazily, the calendar backend).

Apart from the booking use cases (`booking`) so that a command that reads only the store
(`agenda`) or a quiet daemon pass starts without their imports and dataclasses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from blocktime.errors import Interrupted

if TYPE_CHECKING:
    from blocktime.backends.base import CalendarBackend, CalendarInfo
    from blocktime.config.schema import Config
    from blocktime.store.store import Store


def _log_info(text: str) -> None:
    import logging

    logging.getLogger("blocktime").info("%s", text)


class Session:
    """One command's world: config, clock, store and (lazily) the calendar backend."""

    def __init__(self, config: Config, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be aware")
        self.config = config
        self.now = now
        self._store: Store | None = None
        self._backend: CalendarBackend | None = None
        self._server: Any = None
        self._target: CalendarInfo | None = None
        self.queued: list[str] = []  # keys of the mail this command queued (see messages.deliver)
        #: how a use case tells the user something on the side (the CLI prints it on stderr)
        self.say: Callable[[str], None] = _log_info
        self.wrap: Callable[[CalendarBackend], CalendarBackend] | None = None  # e.g. progress.Counting

    @property
    def store(self) -> Store:
        """The local store, opened on first use (so `repair` can run when it is damaged)."""
        if self._store is None:
            from blocktime.store.store import open_store

            self._store = open_store(self.config.store_url, self.config.data_dir, self.config.trainer)
        return self._store

    @store.setter
    def store(self, value: Store) -> None:
        self._store = value

    @property
    def backend(self) -> CalendarBackend:
        if self._backend is None:
            from blocktime.backends.factory import open_backend

            self._backend, self._server = open_backend(self.config.calendar, self.config.data_dir, self.now)
            if self.wrap is not None:
                self._backend = self.wrap(self._backend)
        return self._backend

    def target(self) -> CalendarInfo:
        """The calendar blocks are written to, created if missing."""
        if self._target is None:
            self._target = self.backend.ensure_calendar(self.config.calendar.name)
            if self._target.created:  # perhaps where a deleted one was (a plain name is its path): its
                from blocktime.usecases.changetags import forget  # sync token is not this one's (SabreDAV

                with self.store.transaction():  # would answer it with "no changes")
                    forget(self.store.db, self._target.url)
        return self._target

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
        if self._server is not None:
            self._server.stop()
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        left = self._left_pending() if isinstance(e, KeyboardInterrupt) else ""
        self.close()
        if left:
            raise Interrupted(f"interrupted: {left} pending, not yet on the calendar",
                              "run the same command again to finish them (any write command or "
                              "`blocktime daemon --once` finishes them too)") from e

    def has_pending(self) -> bool:
        """A stopped command left a block or hold `pending` (`pending.finish_pending` writes them)."""
        return bool(self.store.blocks(states=("pending",)) or self.store.holds(states=("pending",)))

    def _left_pending(self) -> str:
        """`3 block(s) are` / `2 hold(s) are`: what a stopped command left `pending` ("" if nothing
        or the store cannot tell)."""
        if self._store is None:
            return ""
        try:
            blocks = len(self._store.blocks(states=("pending",)))
            holds = len(self._store.holds(states=("pending",)))
        except Exception:  # the store is half-way through something: say only "interrupted"
            return ""
        said = [f"{n} {what}(s)" for n, what in ((blocks, "block"), (holds, "hold")) if n]
        return f"{' and '.join(said)} are" if said else ""


def at(session: Session, dt: datetime | None) -> str:
    """`Tue 2026-03-24 12:00` in the organizer's zone of `session` (for messages raised by use cases)."""
    from blocktime.notes.wording import moment_text

    return "an unknown time" if dt is None else moment_text(dt, session.config.organizer.timezone)
