"""One sync pass: what changed in every calendar since the last pass (RFC 6578 sync tokens, or a
full listing where the server has none), and what blocktime does about edits made elsewhere.

| seen on the calendar                         | action                                            |
| -------------------------------------------- | ------------------------------------------------- |
| a started block whose end moved earlier      | cut short: remainder recorded, offer made         |
| a block moved to another time                | adopted: SEQUENCE+1, updated REQUEST queued,      |
|                                              | a warning when the new time breaks the policy     |
| a block deleted (or STATUS:CANCELLED)        | CANCEL queued; its minutes return to the          |
|                                              | remainder if it had not happened — only once a    |
|                                              | GET and a search by UID both find nothing         |
|                                              | (`absence`: reported gone is not gone)            |
| a new event overlapping a future block       | conflict recorded (`daemon --status`, log)        |
| a new event overlapping a hold               | that offer is re-planned                          |

Every reaction is idempotent and the token is saved only after its calendar was handled, so a pass
cut off half-way is finished by the next one without doing anything twice.

A calendar blocktime does not write into whose CTag is the one read before its last REPORT is not
read again (`changetags`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from blocktime.backends.base import CalendarInfo, Changes, StoredObject
from blocktime.core.model import Interval
from blocktime.errors import BlocktimeError, LoginRefused, ServerError
from blocktime.usecases.changetags import put_aside, read_changes, tags_at_start, uses_tag, writes_here
from blocktime.usecases.session import Session, at

if TYPE_CHECKING:
    from blocktime.ics.rawtext import Parts

log = logging.getLogger("blocktime.sync")
T = TypeVar("T")

@dataclass(slots=True)
class PassReport:
    calendars: int = 0
    unchanged: int = 0  # of `calendars`: skipped, their change tag as before
    changed: int = 0
    deleted: int = 0
    actions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stranded: bool = False  # the store holds no block, the calendar holds blocktime's: see emptystore


#: meta key: when the calendar list was last read from the server ("" once a calendar failed)
LISTED = "calendars_listed"
#: a pass that may re-read the calendar list (nightly, `daemon --once`) does so once it is this old
RELIST_AFTER = timedelta(days=1)


def known_calendars(session: Session, refresh: bool = False) -> list[CalendarInfo]:
    """The account's calendars, from the store: read from the server (3 PROPFINDs) only when none
    are known, after a calendar failed to sync, or on `refresh` once the list is a day old, so
    that `daemon --once` from cron makes one request per calendar."""
    rows = session.store.db.execute("SELECT url, name FROM sync_state ORDER BY url").fetchall()
    if rows and not _relist_due(session, refresh):
        return [CalendarInfo(r["url"], r["name"]) for r in rows]
    session.target()  # blocktime's own calendar exists before it is synced
    found = session.backend.calendars()
    with session.store.transaction():
        put_aside(session.store.db)  # every kept tag is checked by the next REPORT (a daily one at least)
        urls = {c.url for c in found}
        for r in rows:
            if r["url"] not in urls:
                session.store.db.execute("DELETE FROM sync_state WHERE url=?", (r["url"],))
        for c in found:
            session.store.db.execute(
                "INSERT INTO sync_state(url, name) VALUES (?, ?) ON CONFLICT(url) DO UPDATE SET name=excluded.name",
                (c.url, c.name),
            )
        session.store.set_meta(LISTED, session.now.isoformat())
    return found


def _relist_due(session: Session, refresh: bool) -> bool:
    listed = session.store.get_meta(LISTED)
    try:
        return not listed or (refresh and session.now - datetime.fromisoformat(listed) >= RELIST_AFTER)
    except (ValueError, TypeError):  # unreadable, or without a zone
        return True


def _relist_next_time(session: Session) -> None:
    """A calendar failed (gone, moved, renamed?): the next pass reads the calendar list again."""
    with session.store.transaction():
        session.store.set_meta(LISTED, "")


def _state(session: Session, url: str) -> tuple[str | None, str | None]:
    """The calendar's sync token and the change tag read just before the REPORT that gave it."""
    row = session.store.db.execute("SELECT token, tag FROM sync_state WHERE url=?", (url,)).fetchone()
    return (None, None) if row is None else (row["token"], row["tag"])


def _save_token(session: Session, url: str, token: str, tag: str | None) -> None:
    with session.store.transaction():
        session.store.db.execute(
            "UPDATE sync_state SET token=?, tag=?, updated=? WHERE url=?", (token, tag, session.now.isoformat(), url)
        )


def with_retries(what: str, call: Callable[[], T], attempts: int, sleep: Callable[[float], None]) -> T:
    """Retry a failing server call with exponential backoff (0.5 s, 1 s, 2 s …); not a refused
    login (401/403): that ends the pass."""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except LoginRefused:  # a refused login or access is refused again: said at once
            raise
        except ServerError as exc:
            if attempt == attempts:
                raise
            log.warning("%s failed (%s); retrying in %.1f s", what, exc.message, delay)
            sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def sync_pass(session: Session, *, attempts: int = 3, sleep: Callable[[float], None] = time.sleep,
              refresh: bool = False, should_stop: Callable[[], bool] = lambda: False) -> PassReport:
    """Sync every calendar; an unreachable one is skipped (reported) and the rest go on.
    Blocktime's own calendar comes first: handling the others may write holds and blocks into it.
    Each next calendar is read (in a thread) while one is handled, so that the server and
    blocktime work at the same time; the store stays in this thread."""
    report = PassReport()
    try:
        calendars = known_calendars(session, refresh)
    except LoginRefused:
        raise
    except ServerError as exc:
        report.errors.append(exc.message)
        return report
    own = session.config.calendar.name

    def is_own(c: CalendarInfo) -> bool:
        return own in (c.name, c.url.rstrip("/").split("/")[-1])
    calendars.sort(key=lambda c: not is_own(c))
    backend = session.backend  # made here, not in the reading thread
    states = {c.url: (*_state(session, c.url), not writes_here(session.store.db, c, is_own(c))) for c in calendars}
    tags = tags_at_start(backend, [c for c in calendars if uses_tag(states[c.url][1], states[c.url][2])])

    def read(k: int) -> Future[tuple[Changes | None, str | None]] | None:
        if k >= len(calendars) or should_stop():
            return None
        cal = calendars[k]
        token, tag, may_skip = states[cal.url]
        return reader.submit(with_retries, f"sync of {cal.name!r}",
                             lambda: read_changes(backend, cal, token, tag, may_skip, tags), attempts, sleep)

    with ThreadPoolExecutor(1, "sync-read") as reader:
        ahead = read(0)
        for k, cal in enumerate(calendars):
            if ahead is None or should_stop():
                break
            current, ahead = ahead, read(k + 1)
            try:
                changes, tag = current.result()
            except LoginRefused:  # the other calendars would be refused too
                raise
            except ServerError as exc:
                report.errors.append(f"{cal.name}: {exc.message}")
                _relist_next_time(session)
                continue
            report.calendars += 1
            if changes is None:
                report.unchanged += 1
                log.debug("calendar %r unchanged since the last pass (tag %s)", cal.name, tag)
                continue
            report.changed += len(changes.changed)
            report.deleted += len(changes.deleted)
            try:
                _handle(session, cal, changes, report)
            except LoginRefused:
                raise
            except BlocktimeError as exc:  # leave the token: the next pass tries this calendar again
                report.errors.append(f"{cal.name}: {exc.message}")
                continue
            _save_token(session, cal.url, changes.token, tag)
    return report


def _parse(obj: StoredObject) -> Any | None:
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(obj.data)
    except Exception:
        log.warning("skipped unreadable calendar data at %s", obj.href)
        return None
    masters = [e for e in cal.walk("VEVENT") if "RECURRENCE-ID" not in e]
    return masters[0] if masters else None


def _handle(session: Session, cal: CalendarInfo, changes: Changes, report: PassReport) -> None:
    """Edits first, matched by UID (an object may have a new href: the store follows it); then
    what the round says or implies is gone, each confirmed gone before anything is cancelled.
    Each object's raw text is sketched once (`rawtext`): its UID comes from there; only blocks
    are parsed whole here, and others' events only where they can reach the window (`overlaps`)."""
    if not changes.changed and not changes.deleted and not changes.complete:
        return  # a quiet round: nothing seen, nothing reported or implied gone
    from blocktime.ics.rawtext import master_uid, sketch_text, split_or_warn
    from blocktime.usecases.absence import Tracked, candidates, copy_of_block, known_copies, still_there
    from blocktime.usecases.emptystore import empty_store

    blocks = {sb.block.uid: sb for sb in session.store.blocks(states=("booked", "cut_short"))}
    holds = {h.uid: h for h in session.store.holds()}
    ours = {r[0] for r in session.store.db.execute("SELECT uid FROM blocks")}
    foreign: list[tuple[str, str, Parts]] = []
    seen: set[str] = set()
    skipped: list[str] = []
    uids: list[str] = []  # every event's, for `empty_store`
    for obj in changes.changed:
        split = split_or_warn(obj.href, obj.data, skipped, sketch_text)
        uid = None if split is None else master_uid(split[2])
        if uid is not None:
            uids.append(uid)
        if split is None or uid is None:
            if split is not None and split[2].groups and not (split[2].groups.keys() & (ours | holds.keys())):
                foreign.append(split)  # overrides alone: others' busy time all the same
            continue
        if uid in blocks:
            if obj.href != blocks[uid].href and copy_of_block(session, cal, blocks[uid], obj):
                foreign.append(split)  # the organizer's own event now: busy time, never adopted
                continue
            ev = _parse(obj)  # a block: read whole, as its times decide what happened
            if ev is None:
                continue
            seen.add(uid)
            _block_edited(session, _follow(session, blocks[uid], obj.href), obj, ev, report)
            continue
        seen.add(uid)
        if uid in holds:
            _follow_hold(session, holds[uid], obj.href)  # our own hold; its time is ours to set
        elif uid not in ours:
            foreign.append(split)
    for line in skipped:
        log.warning("%s", line)
    if not ours and (warning := empty_store(session, cal.name, uids)):
        report.errors.append(warning)
        report.stranded = True
    tracked = [Tracked(u, sb.href, sb.block.span.start, sb.block.span.end) for u, sb in blocks.items()]
    tracked += [Tracked(u, h.href, h.span.start, h.span.end) for u, h in holds.items()]
    for item in candidates(changes, cal, tracked, seen):
        found = still_there(session.backend, cal, item, known_copies(session, item.uid))
        if item.uid in blocks:
            sb = blocks[item.uid]
            if found is None:
                _block_deleted(session, sb, report)
                continue
            log.info("%s was reported gone but is still in the account (%s)", sb.block.id, found.href)
            ev = _parse(found)
            if ev is not None:
                _block_edited(session, _follow(session, sb, found.href), found, ev, report)
        elif found is None:
            with session.store.transaction():
                session.store.set_hold(item.uid, "released")
            report.actions.append(f"hold {item.uid} was deleted on the calendar")
        else:
            _follow_hold(session, holds[item.uid], found.href)
    if foreign:
        from blocktime.usecases.overlaps import overlaps

        overlaps(session, foreign, report.actions)


def _follow(session: Session, sb: Any, href: str) -> Any:
    """The block with its href as the server reports it now (Google renames objects; a user may
    move it to another calendar of the account: said once)."""
    from blocktime.usecases.absence import moved_calendar

    if sb.href == href:
        return sb
    moved_calendar(session, sb, href)
    with session.store.transaction():
        session.store.db.execute("UPDATE blocks SET href=? WHERE uid=?", (href, sb.block.uid))
        session.store.log(sb.block.uid, session.now, "href_changed", before=sb.href, href=href)
    return session.store.block(sb.block.uid)


def _follow_hold(session: Session, hold: Any, href: str) -> None:
    if hold.href != href:
        with session.store.transaction():
            session.store.db.execute("UPDATE holds SET href=? WHERE uid=?", (href, hold.uid))


def _times(ev: Any) -> Interval | None:
    start = ev["DTSTART"].dt if "DTSTART" in ev else None
    end = ev["DTEND"].dt if "DTEND" in ev else None
    if not isinstance(start, datetime):
        return None
    if end is None and "DURATION" in ev:
        end = start + ev["DURATION"].dt
    if not isinstance(end, datetime) or start.tzinfo is None or end.tzinfo is None or end <= start:
        return None
    return Interval(start.astimezone(UTC), end.astimezone(UTC))


def _block_edited(session: Session, sb: Any, obj: StoredObject, ev: Any, report: PassReport) -> None:
    from blocktime.usecases.offers import cut_short

    if str(ev.get("STATUS", "")).upper() == "CANCELLED":
        _block_deleted(session, sb, report)
        return
    span = _times(ev)
    if span is None or sb.state != "booked":
        _remember_etag(session, sb.block.uid, obj.etag)
        return
    start, end = sb.block.span.start.astimezone(UTC), sb.block.span.end.astimezone(UTC)
    if span.start == start and span.end == end:
        _remember_etag(session, sb.block.uid, obj.etag)
        return
    if span.start == start and span.end < end and session.now >= start:
        ended = min(span.end, session.now)
        block, result = cut_short(session, sb.block.uid, ended, "shortened in the calendar")
        what = f"offer {result.offer.id}" if result.offer else "no offer"
        report.actions.append(f"{block.block.id} was shortened to {at(session, ended)}: cut short, {what}")
        return
    _adopt_move(session, sb, span, report)


def _remember_etag(session: Session, uid: str, etag: str | None) -> None:
    if etag:
        with session.store.transaction():
            session.store.db.execute("UPDATE blocks SET etag=? WHERE uid=?", (etag, uid))


def _adopt_move(session: Session, sb: Any, span: Interval, report: PassReport) -> None:
    """Someone moved the block in their calendar: keep their time, tell the attendees."""
    from blocktime.ics.event import EventFacts
    from blocktime.ics.itip import moved_copy
    from blocktime.usecases.calendar import update_event
    from blocktime.usecases.messages import queue_block
    from blocktime.usecases.offers import load_engagement
    from blocktime.usecases.overlaps import holds_under
    from blocktime.usecases.promises import refusals

    eng = load_engagement(session, sb.block.engagement)
    reasons, details = refusals(session, eng, span, sb.block.uid)
    if reasons:
        log.warning("%s was moved to %s, which breaks the policy: %s", sb.block.id,
                    at(session, span.start), "; ".join(details) or ", ".join(reasons))
    sequence = sb.sequence + 1
    facts = EventFacts(replace(sb.block, span=span), eng, session.config.organizer, sequence, session.now)
    etag = update_event(session, sb.href, sb.block.uid, lambda text: moved_copy(text, facts))
    with session.store.transaction():
        session.store.reschedule(sb.block.uid, span, sequence, etag)
        session.store.log(sb.block.uid, session.now, "moved_elsewhere", start_before=sb.block.span.start,
                          start=span.start, end=span.end, sequence=sequence, policy=[str(r) for r in reasons])
        queue_block(session, "update", facts, old=sb.block.span)
    report.actions.append(f"{sb.block.id} was moved to {at(session, span.start)}: update queued"
                          + (f" (breaks the policy: {', '.join(reasons)})" if reasons else ""))
    holds_under(session, span, report.actions)


def _block_deleted(session: Session, sb: Any, report: PassReport) -> None:
    """Deleted elsewhere: CANCEL to the attendees; unhappened minutes return to the remainder."""
    from blocktime.ics.event import EventFacts
    from blocktime.usecases.messages import queue_block
    from blocktime.usecases.offers import load_engagement

    eng = load_engagement(session, sb.block.engagement)
    happened = sb.block.span.start <= session.now
    if happened or sb.state != "booked":
        own = 0
    elif sb.block.makeup_for:  # a make-up block gives back exactly what it was booked against
        own = -sum(m for m, _, ref in session.store.ledger(eng.key) if ref == sb.block.uid and m < 0)
    else:
        own = int(sb.block.span.duration.total_seconds() // 60)
    sequence = sb.sequence + 1
    facts = EventFacts(sb.block, eng, session.config.organizer, sequence, session.now, status="CANCELLED")
    with session.store.transaction():
        session.store.mark(sb.block.uid, "cancelled", sequence=sequence)
        if own:
            session.store.add_minutes(eng.key, own, "deleted_elsewhere", sb.block.uid, session.now)
        session.store.log(sb.block.uid, session.now, "deleted_elsewhere", returned=own)
        if not happened:
            queue_block(session, "cancel", facts)
    report.actions.append(f"{sb.block.id} was deleted on the calendar: "
                          + (f"CANCEL queued, {own} min back in the remainder" if not happened else "recorded"))


def conflicts(session: Session) -> list[dict[str, str]]:
    rows = session.store.db.execute("SELECT * FROM conflicts ORDER BY start").fetchall()
    return [dict(r) for r in rows]
