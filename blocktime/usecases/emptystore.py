"""A store that knows no block while the calendar holds blocktime's events: a store switched
(`[store] url` pointed at an empty PostgreSQL) or lost. blocktime says so and names the two ways
back; it never adopts or cancels anything on that ground."""

from __future__ import annotations

from collections.abc import Iterable

from blocktime.backends.base import StoredObject
from blocktime.usecases.session import Session

#: the two ways back, for every message about an empty store
WAYS_BACK = ("if you switched [store] url, copy the old store with `blocktime store copy --to URL` (run with the"
             " old url), or rebuild this one from the calendar with `blocktime repair`")


def empty_store(session: Session, calendar: str, objects: Iterable[StoredObject]) -> str | None:
    """The warning when `objects` (read from `calendar`) hold blocktime's blocks, else None."""
    from blocktime.core.series import parse_block_uid
    from blocktime.ics.rawtext import master_uid, sketch_text, split_or_warn

    found = 0
    for obj in objects:
        split = split_or_warn(obj.href, obj.data, [], sketch_text)
        uid = None if split is None else master_uid(split[2])
        found += uid is not None and parse_block_uid(uid) is not None
    if not found:
        return None
    return (f"warning: the store ({session.store.where}) holds no block, but calendar {calendar!r} holds {found} of"
            f" blocktime's: {WAYS_BACK}")
