"""The CalendarBackend protocol: what every calendar server must offer blocktime."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """One calendar collection of the account."""

    url: str
    name: str


@dataclass(frozen=True, slots=True)
class StoredObject:
    """A calendar object as the server holds it."""

    href: str
    etag: str | None
    data: str


class AlreadyExists(Exception):
    """A create found an object at the href (or the UID elsewhere): nothing was written."""

    def __init__(self, href: str, elsewhere: bool = False) -> None:
        super().__init__(href)
        self.href = href
        self.elsewhere = elsewhere


class CalendarBackend(Protocol):
    """Create never overwrites; update and delete are conditional on the ETag (RFC 4918 §10.4)."""

    def calendars(self) -> list[CalendarInfo]: ...

    def ensure_calendar(self, name: str) -> CalendarInfo: ...

    def href_for(self, calendar: CalendarInfo, uid: str) -> str: ...

    def create(self, href: str, data: str) -> str | None:
        """PUT with If-None-Match: *; returns the new ETag when the server sent one."""
        ...

    def update(self, href: str, data: str, etag: str) -> str | None: ...

    def delete(self, href: str, etag: str | None) -> None: ...

    def get(self, href: str) -> StoredObject | None: ...

    def list_range(self, calendar: CalendarInfo, start: datetime, end: datetime) -> list[StoredObject]:
        ...

    def close(self) -> None: ...
