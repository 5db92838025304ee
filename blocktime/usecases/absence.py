"""Absence is never deletion: before blocktime sends a CANCEL or returns a block's minutes, it
confirms that the event is really gone from the calendar.

What a server reports as gone is only a candidate: Microsoft Graph's calendarView delta sends
`@removed` (reason `deleted`) also for events moved or changed outside the round's window, and a
new round after a lost sync state covers its window only; Google renames the objects it stores, so
a block can vanish from one href and appear at another; and a user can move a block to another
calendar of the account. A candidate is confirmed gone only when a GET of its href and then a search
by its UID in every calendar of the account find nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blocktime.backends.base import CalendarBackend, CalendarInfo, Changes, StoredObject, uid_of
from blocktime.usecases.session import Session

log = logging.getLogger("blocktime.sync")


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


def still_there(backend: CalendarBackend, calendar: CalendarInfo, item: Tracked,
                copies: frozenset[str] = frozenset()) -> StoredObject | None:
    """The item's object if it still exists anywhere in the account (GET by href, then a search by
    UID in `calendar`, then in every other calendar: Google's and Outlook's "change calendar" moves
    an event to another calendar), else None. A known copy of it (`copies`: hrefs and keys seen as
    copies, see `copy_of_block`) is not it: with only a copy left, the block is gone. A server
    error propagates: when in doubt, nothing is cancelled."""
    def mine(obj: StoredObject | None) -> bool:
        return obj is not None and obj.href not in copies and (obj.key is None or obj.key not in copies)

    got = backend.get(item.href)
    if mine(got) and uid_of(got.data if got else "") in (item.uid, None):
        return got
    for cal in [calendar, *(c for c in backend.calendars() if c.url != calendar.url)]:
        found = backend.find_uid(cal, item.uid)
        if mine(found):
            return found
    return None


def known_copies(session: Session, uid: str) -> frozenset[str]:
    """The hrefs and keys of the copies `copy_of_block` has seen of block `uid`."""
    out: set[str] = set()
    for _, kind, detail in session.store.history(uid):
        if kind == "copy_seen":
            out |= {str(v) for k, v in detail.items() if k in ("href", "key") and v}
    return frozenset(out)


def calendar_of(backend: CalendarBackend, href: str) -> CalendarInfo | None:
    """The account's calendar that holds `href` (the longest URL that is its prefix)."""
    held = [c for c in backend.calendars() if href.startswith(c.url if c.url.endswith("/") else c.url + "/")]
    return max(held, key=lambda c: len(c.url), default=None)


def copy_of_block(session: Session, cal: CalendarInfo, sb: Any, obj: StoredObject) -> bool:
    """An event at a new href with a block's UID is a copy (Outlook's copy keeps blocktime's
    property; a CalDAV client may duplicate a UID) when the block is still at its own href: that
    one stays the block. Said once per copy."""
    got = session.backend.get(sb.href)
    if got is None or uid_of(got.data) not in (sb.block.uid, None):
        return False  # not there any more: moved (or renamed), so followed
    if (got.key or got.href) == (obj.key or obj.href):
        return False  # the block itself under another name (a renaming server; Graph: one event id, moved)
    if obj.href not in known_copies(session, sb.block.uid):
        log.warning("%s: the event at %s in %r carries its UID but is a copy: read as your own busy time, never"
                    " taken for the block", sb.block.id, obj.href, cal.name)
        with session.store.transaction():
            session.store.log(sb.block.uid, session.now, "copy_seen", href=obj.href, calendar=cal.name, key=obj.key)
    return True


def moved_calendar(session: Session, sb: Any, href: str) -> None:
    """Say once that a block now lives in another calendar of the account (moved there in Google or
    Outlook) when `href`, where it is found now, is in another calendar than its stored href."""
    before, after = calendar_of(session.backend, sb.href), calendar_of(session.backend, href)
    if before is None or after is None or before.url == after.url:
        return
    log.warning("%s was moved to calendar %r: still booked, followed there", sb.block.id, after.name)
    with session.store.transaction():
        session.store.log(sb.block.uid, session.now, "calendar_changed", before=before.name, calendar=after.name)
