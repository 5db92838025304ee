"""Absence is never deletion: before blocktime sends a CANCEL or returns a block's minutes, it
confirms that the event is really gone from the calendar.

What a server reports as gone is only a candidate: Microsoft Graph's calendarView delta sends
`@removed` (reason `deleted`) also for events moved or changed outside the round's window, and a
new round after a lost sync state covers its window only; Google renames the objects it stores, so
a block can vanish from one href and appear at another. A candidate is confirmed gone only when a
GET of its href and then a search by its UID both find nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from blocktime.backends.base import CalendarBackend, CalendarInfo, Changes, StoredObject


@dataclass(frozen=True, slots=True)
class Tracked:
    """Something blocktime keeps on the calendar (a block or a hold), known by UID."""

    uid: str
    href: str
    start: datetime
    end: datetime


def candidates(changes: Changes, calendar: CalendarInfo, tracked: list[Tracked], seen: set[str]) -> list[Tracked]:
    """The tracked items this round says (or, complete, implies) are gone: named in `deleted`, or
    absent from a complete round — within its window only, when the round has one. Items whose
    UID was seen in this round (perhaps at a new href) are never candidates."""
    deleted = set(changes.deleted)
    out = []
    for t in tracked:
        if t.uid in seen:
            continue
        implied = changes.complete and t.href.startswith(calendar.url) and _inside(t, changes.window)
        if t.href in deleted or implied:
            out.append(t)
    return out


def _inside(t: Tracked, window: tuple[datetime, datetime] | None) -> bool:
    return window is None or (t.start < window[1] and t.end > window[0])


def still_there(backend: CalendarBackend, calendar: CalendarInfo, item: Tracked) -> StoredObject | None:
    """The item's object if it still exists (GET by href, then a search by UID), else None.
    A server error propagates: when in doubt, nothing is cancelled."""
    from blocktime.backends.base import uid_of

    got = backend.get(item.href)
    if got is not None and uid_of(got.data) in (item.uid, None):
        return got
    return backend.find_uid(calendar, item.uid)
