"""A store that knows no block while the calendar holds blocktime's events: a store switched
(`[store] url` pointed at an empty PostgreSQL) or lost. blocktime says so and names the two ways
back; it never adopts or cancels anything on that ground."""

from __future__ import annotations

from collections.abc import Iterable

from blocktime.usecases.session import Session

#: the two ways back, for every message about an empty store
WAYS_BACK = ("if you switched [store] url, copy the old store with `blocktime store copy --to URL` (run with the"
             " old url), or rebuild this one from the calendar with `blocktime repair`")


def empty_store(session: Session, calendar: str, uids: Iterable[str]) -> str | None:
    """The warning when the events of `uids` (read from `calendar`) are blocktime's blocks, else None."""
    from blocktime.core.series import parse_block_uid

    found = sum(parse_block_uid(uid) is not None for uid in uids)
    if not found:
        return None
    return (f"warning: the store ({session.store.where}) holds no block, but calendar {calendar!r} holds {found} of"
            f" blocktime's: {WAYS_BACK}")
