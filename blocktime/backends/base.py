"""The CalendarBackend protocol: what every calendar server must offer blocktime.

Every use case goes through these methods only, so a booking behaves the same on Radicale,
Xandikos, Google (CalDAV), Outlook (Microsoft Graph) or the embedded calendar. The contract
test suite (tests/backends/test_contract.py) holds every implementation to it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

#: A token made up by blocktime where the server has no sync tokens (RFC 6578): it carries the
#: ETag fingerprint of every object, so the next call can still report changes and deletions.
SYNTHETIC_PREFIX = "blocktime-listing:"


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """One calendar collection of the account (`created`: made by the call that returned it)."""

    url: str
    name: str
    created: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class StoredObject:
    """A calendar object as the server holds it. `key`: the server's own id of the object where
    one href form does not say it (Graph's event id); two objects with one key are one object."""

    href: str
    etag: str | None
    data: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed in a calendar since a token (RFC 6578 sync-collection, or its stand-in).

    `changed` holds new and modified objects, `deleted` the hrefs of removed ones (as an earlier
    `changes` or `list_range` reported them), `token` what to pass next time. `complete` is true
    when `changed` is the whole calendar (first sync, or the old token had expired) — or, with a
    `window`, everything that overlaps the window and nothing outside it (Graph's calendarView
    delta). Neither `deleted` nor absence from a complete round proves a deletion: Graph reports
    events moved out of its window as removed, Google renames objects. The caller confirms (`get`,
    then `find_uid`) before it acts. `synthetic` marks a token made by blocktime from a full
    listing (the server has no sync tokens): correct, but every call reads the whole calendar.
    """

    changed: tuple[StoredObject, ...]
    deleted: tuple[str, ...]
    token: str
    complete: bool = False
    synthetic: bool = False
    window: tuple[datetime, datetime] | None = None


class AlreadyExists(Exception):
    """A create found an object at the href (or the UID elsewhere): nothing was written."""

    def __init__(self, href: str, elsewhere: bool = False) -> None:
        super().__init__(href)
        self.href = href
        self.elsewhere = elsewhere


class CalendarBackend(Protocol):
    """Create never overwrites; update and delete are conditional on the ETag (RFC 7232 §3.1-3.2)."""

    def calendars(self) -> list[CalendarInfo]:
        """Every calendar of the account (all of them are read for busy time)."""
        ...

    def ensure_calendar(self, name: str) -> CalendarInfo:
        """The calendar called `name`, created if the server allows it."""
        ...

    def href_for(self, calendar: CalendarInfo, uid: str) -> str:
        """Where the object with `uid` lives (or will live): deterministic, so a re-run finds it."""
        ...

    def create(self, href: str, data: str) -> str | None:
        """Write a new object; raise AlreadyExists instead of overwriting. Returns the ETag if sent."""
        ...

    def update(self, href: str, data: str, etag: str) -> str | None:
        """Replace the object only if it still has `etag` (If-Match); ConflictError otherwise."""
        ...

    def delete(self, href: str, etag: str | None) -> None:
        """Remove the object (If-Match when `etag` is given); an object already gone is fine."""
        ...

    def get(self, href: str) -> StoredObject | None:
        """The object and its current ETag, or None."""
        ...

    def find_uid(self, calendar: CalendarInfo, uid: str) -> StoredObject | None:
        """The object whose UID is `uid`, under the href the server keeps it at now (a search by
        UID, RFC 4791 §9.7.5; Graph: the extended property), or None when no such object exists."""
        ...

    def list_range(self, calendar: CalendarInfo, start: datetime, end: datetime) -> list[StoredObject]:
        """Objects with an instance overlapping [start, end) (RFC 4791 §9.9 time-range)."""
        ...

    def changes(self, calendar: CalendarInfo, token: str | None) -> Changes:
        """Objects changed and hrefs deleted since `token` (None: everything, `complete`)."""
        ...

    def change_tag(self, calendar: CalendarInfo) -> str | None:
        """A cheap value that changes whenever anything in the calendar does (a CalDAV CTag), or
        None where the server keeps none. Equal tags let a sync skip `changes` (see `sync`)."""
        ...

    def change_tags(self, calendars: list[CalendarInfo]) -> dict[str, str | None]:
        """`change_tag` of calendars, by URL, where the server gives them all in one request; a
        calendar left out is asked on its own (`usecases.changetags`)."""
        ...

    def close(self) -> None: ...


def listing_token(objects: Iterable[tuple[str, str | None]]) -> str:
    """A synthetic token from (href, etag) pairs: a compressed href -> ETag-hash map."""
    state = {href: hashlib.sha256((etag or "").encode()).hexdigest()[:12] for href, etag in objects}
    raw = zlib.compress(json.dumps(state, sort_keys=True, separators=(",", ":")).encode(), 9)
    return SYNTHETIC_PREFIX + base64.urlsafe_b64encode(raw).decode()


def listing_state(token: str) -> dict[str, str] | None:
    """The href -> ETag-hash map inside a synthetic token (None if the token is not one)."""
    if not token.startswith(SYNTHETIC_PREFIX):
        return None
    try:
        raw = zlib.decompress(base64.urlsafe_b64decode(token[len(SYNTHETIC_PREFIX):].encode()))
        state = json.loads(raw)
    except (ValueError, zlib.error):
        return None
    return {str(k): str(v) for k, v in state.items()} if isinstance(state, dict) else None


def diff_listing(objects: list[StoredObject], token: str | None) -> Changes:
    """Changes from a full listing and the previous synthetic token (vdirsyncer-style)."""
    new_token = listing_token((o.href, o.etag) for o in objects)
    before = listing_state(token) if token else None
    if before is None:
        return Changes(tuple(objects), (), new_token, complete=True, synthetic=True)
    now = listing_state(new_token) or {}
    changed = tuple(o for o in objects if before.get(o.href) != now.get(o.href))
    deleted = tuple(sorted(h for h in before if h not in now))
    return Changes(changed, deleted, new_token, synthetic=True)


def uid_of(text: str) -> str | None:
    """The UID of the first component in an object's text (lines unfolded, RFC 5545 §3.1)."""
    m = re.search(r"^UID(?:;[^:\r\n]*)?:(.*?)\r?$", re.sub(r"\r?\n[ \t]", "", text), re.M)
    return m.group(1).strip() if m else None
