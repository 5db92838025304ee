"""Progress of long work on one line of stderr — calendars and objects read, events written —
rewritten in place while it runs, and only when stderr is a terminal (logs and pipes stay quiet).

`Counting` wraps a calendar backend and counts what passes through it, so the use cases need no
hooks: the CLI wraps the backend of the session it hands them."""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime
from typing import TextIO

from blocktime.backends.base import CalendarBackend, CalendarInfo, Changes, StoredObject


class Progress:
    """Counters shown as `reading calendars: 3 read, 1,204 objects; 12 events written`."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None, every: float = 0.2,
                 after: float = 1.0) -> None:
        """`after`: seconds of work before the line appears (quick commands show nothing);
        `every`: at most one redraw per so many seconds."""
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.every = every
        self.calendars = self.objects = self.written = 0
        self._lock = threading.Lock()
        self._shown = 0
        self._last = time.monotonic() + after - every

    def add(self, calendars: int = 0, objects: int = 0, written: int = 0) -> None:
        with self._lock:
            self.calendars += calendars
            self.objects += objects
            self.written += written
            now = time.monotonic()
            if self.enabled and now - self._last >= self.every:
                self._last = now
                self._show()

    def line(self) -> str:
        text = f"calendars: {self.calendars} read, {self.objects:,} objects"
        return text + (f"; {self.written} events written" if self.written else "")

    def _show(self) -> None:
        text = self.line()
        self.stream.write("\r" + text.ljust(self._shown))
        self.stream.flush()
        self._shown = len(text)

    def done(self) -> None:
        """Clear the line (the command's own output follows)."""
        with self._lock:
            if self.enabled and self._shown:
                self.stream.write("\r" + " " * self._shown + "\r")
                self.stream.flush()
                self._shown = 0


class Counting:
    """A CalendarBackend that passes everything to `inner` and tells `progress` what went by."""

    def __init__(self, inner: CalendarBackend, progress: Progress) -> None:
        self.inner = inner
        self.progress = progress

    def calendars(self) -> list[CalendarInfo]:
        return self.inner.calendars()

    def ensure_calendar(self, name: str) -> CalendarInfo:
        return self.inner.ensure_calendar(name)

    def href_for(self, calendar: CalendarInfo, uid: str) -> str:
        return self.inner.href_for(calendar, uid)

    def create(self, href: str, data: str) -> str | None:
        etag = self.inner.create(href, data)
        self.progress.add(written=1)
        return etag

    def update(self, href: str, data: str, etag: str) -> str | None:
        new = self.inner.update(href, data, etag)
        self.progress.add(written=1)
        return new

    def delete(self, href: str, etag: str | None) -> None:
        self.inner.delete(href, etag)

    def get(self, href: str) -> StoredObject | None:
        return self.inner.get(href)

    def find_uid(self, calendar: CalendarInfo, uid: str) -> StoredObject | None:
        return self.inner.find_uid(calendar, uid)

    def list_range(self, calendar: CalendarInfo, start: datetime, end: datetime) -> list[StoredObject]:
        found = self.inner.list_range(calendar, start, end)
        self.progress.add(calendars=1, objects=len(found))
        return found

    def changes(self, calendar: CalendarInfo, token: str | None) -> Changes:
        found = self.inner.changes(calendar, token)
        self.progress.add(calendars=1, objects=len(found.changed))
        return found

    def change_tag(self, calendar: CalendarInfo) -> str | None:
        return self.inner.change_tag(calendar)

    def change_tags(self, calendars: list[CalendarInfo]) -> dict[str, str | None]:
        return self.inner.change_tags(calendars)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> object:  # url, client, schedule_tag_seen …: the inner backend's
        return getattr(self.inner, name)
