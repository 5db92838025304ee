"""Use cases that change a booked block: move it to another time, or cancel it.

A move is checked against busy time and the policy exactly like a booking (core.series.check);
the calendar copy is changed with If-Match (calendar.update_event), keeping whatever else a user
edited there. The SEQUENCE is blocktime's own: +1 for every move and for the cancellation, stored
with the block, and the attendees' updated REQUEST or CANCEL (RFC 5546 §3.2.2.1, §3.2.5) is queued
in the same transaction that records the change.

Cancelling **deletes** the event from the organizer's calendar (what Google and Outlook do when an
organizer cancels): a STATUS:CANCELLED copy left behind still reads as busy in some tools and
clutters the day; the store keeps the block as `cancelled` with its history.

Minutes: the engagement is sold as a total, so what a cancelled future block was to deliver goes
back to the remainder and is offered again with the next make-up: its own planned minutes (a
regular block) plus the owed minutes scheduled into it (a make-up block's, or a short remainder
carried over to it). `drop_minutes` drops the block's own minutes instead (the client and the
organizer agreed to shorten the programme); owed minutes still return. The sync pass treats a
block deleted on the calendar the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from blocktime.core.model import Engagement, Interval
from blocktime.errors import BadInput, BlocktimeError, ConflictError, ServerError
from blocktime.notes.wording import hint, span_text
from blocktime.store.blocks import StoredBlock
from blocktime.usecases.calendar import update_event
from blocktime.usecases.pending import finish_pending
from blocktime.usecases.promises import refusals
from blocktime.usecases.session import Session, at


@dataclass(frozen=True, slots=True)
class Moved:
    block: StoredBlock
    before: Interval


@dataclass(frozen=True, slots=True)
class Cancelled:
    block: StoredBlock
    returned: int  # minutes back in the remainder
    dropped: int  # the block's own minutes taken out of the engagement (drop_minutes)


def _future_block(session: Session, ref: str, verb: str) -> tuple[StoredBlock, Engagement]:
    from blocktime.usecases.offers import load_block, load_engagement

    sb = load_block(session, ref)
    if sb.state != "booked":
        raise BadInput(f"block {sb.block.id} is {sb.state.replace('_', ' ')}; only a booked block can be {verb}")
    if sb.block.span.start <= session.now:
        raise BadInput(f"block {sb.block.id} has started already ({at(session, sb.block.span.start)})",
                       "record what happened with `blocktime cut-short`" if verb == "moved" else None)
    return sb, load_engagement(session, sb.block.engagement)


def plan_move(session: Session, sb: StoredBlock, eng: Engagement, to: datetime) -> Interval:
    """The block's new span at `to` (same elapsed length); BlocktimeError with every reason when
    the policy or busy time refuses it, as for a new booking."""
    tz = session.config.organizer.timezone
    length = sb.planned_end.astimezone(UTC) - sb.block.span.start.astimezone(UTC)
    span = Interval(to.astimezone(tz), (to.astimezone(UTC) + length).astimezone(tz))
    if span.start == sb.block.span.start:
        raise BadInput(f"block {sb.block.id} is at {at(session, span.start)} already")
    reasons, details = refusals(session, eng, span, sb.block.uid, notice=session.config.policy.booking_notice)
    if reasons:
        when = span_text(span.start, span.end, tz)
        why = ", ".join(str(r) for r in reasons) + (f" ({'; '.join(details)})" if details else "")
        raise BlocktimeError(f"block {sb.block.id} cannot move to {when}: {why}",
                             f"{hint(reasons)}; `blocktime why` shows the free times of that day")
    return span


def move(session: Session, ref: str, to: datetime) -> Moved:
    """Move a future block to `to`: calendar copy updated, SEQUENCE+1, updated REQUEST queued."""
    from blocktime.ics.event import EventFacts
    from blocktime.ics.itip import moved_copy
    from blocktime.usecases.messages import queue_block

    finish_pending(session)
    sb, eng = _future_block(session, ref, "moved")
    span = plan_move(session, sb, eng, to)
    sequence = sb.sequence + 1
    facts = EventFacts(replace(sb.block, span=span), eng, session.config.organizer, sequence, session.now)

    def change(text: str) -> str:
        try:
            return moved_copy(text, facts)
        except ValueError:
            raise ServerError(f"the calendar's copy of {sb.block.id} no longer holds its event") from None

    etag = update_event(session, sb.href, sb.block.uid, change)
    with session.store.transaction():
        session.store.reschedule(sb.block.uid, span, sequence, etag)
        session.store.log(sb.block.uid, session.now, "moved", start_before=sb.block.span.start,
                          start=span.start, end=span.end, sequence=sequence)
        queue_block(session, "update", facts, old=sb.block.span)
    moved = session.store.block(sb.block.uid)
    assert moved is not None
    return Moved(moved, sb.block.span)


def cancel(session: Session, ref: str, *, drop_minutes: bool = False) -> Cancelled:
    """Cancel a future block: event deleted from the calendar, SEQUENCE+1, CANCEL queued for every
    attendee, minutes settled as the module docstring says."""
    from blocktime.ics.event import EventFacts
    from blocktime.usecases.messages import queue_block

    finish_pending(session)
    sb, eng = _future_block(session, ref, "cancelled")
    sequence = sb.sequence + 1
    facts = EventFacts(sb.block, eng, session.config.organizer, sequence, session.now, status="CANCELLED")
    _delete(session, sb)
    uid = sb.block.uid
    owed = -sum(m for m, _, r in session.store.ledger(eng.key) if r == uid and m < 0)
    own = 0 if sb.block.makeup_for else int(
        (sb.planned_end.astimezone(UTC) - sb.block.span.start.astimezone(UTC)).total_seconds() // 60)
    dropped = own if drop_minutes else 0
    returned = owed + own - dropped
    with session.store.transaction():
        session.store.mark(uid, "cancelled", sequence=sequence)
        if returned:
            session.store.add_minutes(eng.key, returned, "cancelled", uid, session.now)
        session.store.log(uid, session.now, "cancelled", sequence=sequence, returned=returned, dropped=dropped)
        queue_block(session, "cancel", facts)
    done = session.store.block(uid)
    assert done is not None
    return Cancelled(done, returned, dropped)


def _delete(session: Session, sb: StoredBlock, attempts: int = 3) -> None:
    """Delete the calendar copy with If-Match on its current ETag; gone already is fine."""
    for _ in range(attempts):
        current = session.backend.get(sb.href)
        if current is None:
            return
        try:
            session.backend.delete(sb.href, current.etag)
            return
        except ConflictError:
            continue
    raise BlocktimeError(f"the event of {sb.block.id} keeps changing on the server", "try again in a moment")
