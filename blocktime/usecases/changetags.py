"""Change tags: whether a calendar needs a sync REPORT at all this pass.

A CalDAV server keeps a CTag per calendar (CalendarServer's `getctag`: Radicale, Xandikos,
SabreDAV, iCloud, Google) that changes whenever anything in the calendar does; asking for it is
one small PROPFIND, on Radicale about half the cost of a sync REPORT that finds nothing. A
calendar whose tag is the one read just before its last REPORT has not changed since, and the
pass skips it. What keeps that right:

- the tag is read *before* the REPORT (a change landing after it gives another tag), and after
  an incremental REPORT with changes it is read again and kept only if it held;
- servers hash the contents into the tag, so a block blocktime wrote after the tag was read and
  someone deleted would bring back the very tag that was kept: calendars blocktime writes into
  (its own, or one holding a block or hold) never skip (`writes_here`);
- every re-reading of the calendar list (daily, and after a failure) puts the tags aside
  (`RECHECK`): each calendar gets a REPORT at least once a day, and one that brings changed
  objects under an unchanged tag ends the use of tags for that calendar (`UNTRUSTED`).

`sync_state.tag` holds a tag, NULL (unknown: ask), `NO_TAG`, `UNTRUSTED` or `RECHECK` + a tag.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from blocktime.backends.base import CalendarInfo, Changes
from blocktime.errors import LoginRefused, ServerError

if TYPE_CHECKING:
    from blocktime.backends.base import CalendarBackend

log = logging.getLogger("blocktime.sync")

#: sync_state.tag of a calendar whose server gave no change tag: not asked again until the list is
#: read again (NULL: not asked yet, or not to be trusted for what the last REPORT saw)
NO_TAG = ""
#: sync_state.tag of a calendar whose tag stayed the same while its contents changed: never used again
UNTRUSTED = "untrusted:"
#: prefix of a tag the calendar list's re-reading put aside: the next REPORT is made whatever the
#: tag says, and tells whether it was right (see `read_changes`)
RECHECK = "recheck:"


def put_aside(db: Any) -> None:
    """The calendar list is read again: every kept tag is checked by the next REPORT instead of
    trusted; "no tag here" is forgotten (the server is asked again), `UNTRUSTED` stays."""
    db.execute("UPDATE sync_state SET tag = CASE WHEN tag IS NULL OR tag = ? THEN NULL"
               " WHEN tag = ? OR substr(tag, 1, ?) = ? THEN tag ELSE ? || tag END",
               (NO_TAG, UNTRUSTED, len(RECHECK), RECHECK, RECHECK))


def forget(db: Any, url: str) -> None:
    """The calendar at `url` is a new one (made where a deleted one was): the token and tag kept
    for that URL are not its own, and its next pass reads it whole."""
    db.execute("UPDATE sync_state SET token=NULL, tag=NULL WHERE url=?", (url,))


def read_changes(backend: CalendarBackend, cal: CalendarInfo, token: str | None, tag: str | None,
                 may_skip: bool = True, read: Mapping[str, str | None] | None = None,
                 ) -> tuple[Changes | None, str | None]:
    """What changed since `token`, and what to keep in `sync_state.tag` with the new token; None
    instead of changes when the tag is still `tag` (no REPORT made).

    No second read after a calendar's first, full REPORT: on a large account it would cost as
    much again as the first (Radicale: ~90 ms of server time per 2,000 objects), against a change
    made within that REPORT's few hundred milliseconds and undone before the next pass — missed
    until the daily REPORT, which then ends the use of tags there. `may_skip` false (see
    `writes_here`): no tag, always a REPORT. `read`: the tags `uses_tag` calendars had at the start
    of the pass (`backend.change_tags`, before any REPORT of it), else this calendar's is read now."""
    if not uses_tag(tag, may_skip):
        return backend.changes(cal, token), tag if tag in (NO_TAG, UNTRUSTED) else None
    before = read[cal.url] if read is not None and cal.url in read else backend.change_tag(cal)
    if token is not None and before is not None and before == tag:
        return None, before
    got = backend.changes(cal, token)
    if before is None:
        return got, NO_TAG
    if tag is not None and tag.startswith(RECHECK) and got.changed and before == tag[len(RECHECK):]:
        if backend.change_tag(cal) != before:  # the change came after the tag was read (the pass reads
            return got, None  # every tag at its start): the tag is not caught out, nor kept
        log.warning("calendar %r changed but its CTag stayed the same: its tag is not used from now on "
                    "(every pass reads it)", cal.name)
        return got, UNTRUSTED
    if token is not None and (got.changed or got.deleted) and backend.change_tag(cal) != before:
        return got, None
    return got, before


def tags_at_start(backend: CalendarBackend, calendars: list[CalendarInfo]) -> dict[str, str | None] | None:
    """The tags of the calendars that use them, all read at the start of a pass, before its first
    REPORT (so each before its own calendar's, as `read_changes` needs), in one request where the
    server allows (`change_tags`); None for one calendar, or when that failed: then each is read
    just before its REPORT, with that read's retries."""
    if len(calendars) < 2:
        return None
    try:
        return backend.change_tags(calendars)
    except LoginRefused:
        raise
    except ServerError as exc:
        log.info("change tags not read at once (%s); each calendar is asked for its own", exc.message)
        return None


def uses_tag(tag: str | None, may_skip: bool) -> bool:
    """Whether `read_changes` reads this calendar's tag (before its REPORT)."""
    return may_skip and tag not in (NO_TAG, UNTRUSTED)


def writes_here(db: Any, cal: CalendarInfo, own: bool) -> bool:
    """Blocktime writes into this calendar: its own (blocks and holds are created there), or one
    where the store keeps a block or hold (the user moved it there)."""
    if own:
        return True
    prefix = cal.url.rstrip("/") + "/"
    row = db.execute(
        "SELECT 1 FROM blocks WHERE substr(href, 1, length(?)) = ?"
        " UNION ALL SELECT 1 FROM holds WHERE substr(href, 1, length(?)) = ? LIMIT 1",
        (prefix, prefix, prefix, prefix)).fetchone()
    return row is not None
