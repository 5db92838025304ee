"""Answers from attendees. A REPLY (accepted, declined, tentative) is recorded per block and
attendee and written into the organizer's calendar copy; a COUNTER (Outlook's "propose new time")
is shown to the organizer, who accepts it (the block moves, everyone gets the update) or declines
it (the proposer gets a DECLINECOUNTER and a note that the time stays). RFC 5546 §3.2.3, §3.2.7-8.

Matching is on UID and attendee address: Outlook.com omits ORGANIZER. An answer to an older
SEQUENCE than the block's is ignored (it answers a time that no longer holds).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from blocktime.core.model import Interval
from blocktime.errors import BadInput, BlocktimeError
from blocktime.ics.itip import Answer, Counter, address
from blocktime.store.attendance import Attendance, StoredAnswer, StoredCounter
from blocktime.store.blocks import StoredBlock
from blocktime.usecases.calendar import update_event
from blocktime.usecases.pending import finish_pending
from blocktime.usecases.session import Session, at


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one answer or proposal in the file did."""

    kind: str  # "answer" or "counter"
    block: StoredBlock
    attendee: str
    applied: bool
    why: str = ""
    partstat: str | None = None
    note: str = ""
    counter: StoredCounter | None = None


def calendar_text(data: bytes) -> str:
    """The iCalendar text of an .ics file, or of the calendar part of a whole .eml (Gmail and
    Outlook put the answer in text/calendar and/or an .ics attachment)."""
    import email
    import email.policy

    bare = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if bare[:15].upper() == b"BEGIN:VCALENDAR":
        return bare.decode("utf-8", "replace")
    msg = email.message_from_bytes(data, policy=email.policy.default)
    parts = [p for p in msg.walk() if not p.is_multipart() and (
        p.get_content_type() in ("text/calendar", "application/ics")
        or (p.get_filename() or "").lower().endswith(".ics"))]
    if not parts:
        raise BadInput("found no calendar part in this file", "give the .ics, or the whole mail saved as .eml")
    parts.sort(key=lambda p: p.get_content_type() != "text/calendar")
    raw = parts[0].get_payload(decode=True)
    if not isinstance(raw, bytes):
        raise BadInput("the calendar part of this mail is empty")
    try:
        return raw.decode(parts[0].get_content_charset() or "utf-8", "replace")
    except (LookupError, ValueError):  # a charset Python does not know: calendars are UTF-8 (RFC 5545 §3.1.4)
        return raw.decode("utf-8", "replace")


def import_reply(session: Session, path: Path) -> list[Outcome]:
    """Apply every answer and record every proposal in an .ics or .eml file."""
    from blocktime.ics.itip import read_itip

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    _, items = read_itip(calendar_text(data), session.config.organizer.timezone)
    finish_pending(session)
    return [apply_answer(session, it) if isinstance(it, Answer) else record_counter(session, it) for it in items]


def _invited(session: Session, uid: str, attendee: str) -> StoredBlock:
    sb = session.store.block(uid)
    if sb is None:
        raise BadInput(f"the answer is for UID {uid}, which blocktime did not book",
                       "is it an answer to another calendar's invitation?")
    eng = session.store.engagement(sb.block.engagement)
    if eng is None or attendee not in {address(a) for a in eng.attendees}:
        raise BadInput(f"{attendee} is not an attendee of block {sb.block.id}",
                       "they may have answered from another address of theirs")
    return sb


def apply_answer(session: Session, a: Answer) -> Outcome:
    from blocktime.ics.itip import answered_copy

    sb = _invited(session, a.uid, a.attendee)
    book = Attendance(session.store)
    out = Outcome("answer", sb, a.attendee, False, partstat=a.partstat, note=a.note)
    if sb.state == "cancelled":
        return _with(out, why=f"block {sb.block.id} is cancelled")
    if a.sequence < sb.sequence:
        return _with(out, why=f"it answers an earlier version (SEQUENCE {a.sequence}; the block is at {sb.sequence})")
    known = book.answer(sb.block.uid, a.attendee)
    if known is not None and (known.sequence, _ts(known.stamp)) >= (a.sequence, _ts(a.stamp)):
        same = (known.partstat, known.sequence, known.stamp) == (a.partstat, a.sequence, a.stamp)
        return _with(out, why="recorded already" if same else "a newer answer is recorded already")
    etag = None
    if sb.state in ("booked", "cut_short"):
        etag = update_event(session, sb.href, sb.block.uid,
                            lambda text: answered_copy(text, sb.block.uid, a.attendee, a.partstat))
    with session.store.transaction():
        book.set_answer(StoredAnswer(sb.block.uid, a.attendee, a.partstat, a.sequence, a.stamp, a.note,
                                     session.now))
        if etag is not None:
            session.store.mark(sb.block.uid, sb.state, etag=etag)
        session.store.log(sb.block.uid, session.now, "answer", attendee=a.attendee, answer=a.partstat,
                          sequence=a.sequence, note=a.note)
    return _with(out, applied=True)


def _ts(stamp: object) -> str:
    return stamp.isoformat() if hasattr(stamp, "isoformat") else ""


def _with(o: Outcome, **changes: object) -> Outcome:
    from dataclasses import replace

    return replace(o, **changes)  # type: ignore[arg-type]


def record_counter(session: Session, c: Counter) -> Outcome:
    sb = _invited(session, c.uid, c.attendee)
    book = Attendance(session.store)
    out = Outcome("counter", sb, c.attendee, False, note=c.note)
    if sb.state != "booked" or sb.block.span.start <= session.now:
        state = "has started" if sb.state == "booked" else f"is {sb.state.replace('_', ' ')}"
        return _with(out, why=f"block {sb.block.id} {state}; the proposal cannot apply")
    if c.sequence < sb.sequence:
        return _with(out, why=f"it proposes against an earlier version (SEQUENCE {c.sequence}; "
                              f"the block is at {sb.sequence})")
    same = book.same_counter(sb.block.uid, c.attendee, c.sequence, c.start, c.stamp)
    if same is not None:
        return _with(out, why="recorded already", counter=same)
    length = sb.planned_end - sb.block.span.start
    from blocktime.ics.itip import proposal

    span = proposal(c, length)
    stored = StoredCounter(book.next_counter_id(sb.block.id), sb.block.uid, c.attendee, c.sequence, span.start,
                           span.end, c.note, c.stamp, session.now, "open")
    with session.store.transaction():
        book.add_counter(stored)
        session.store.log(sb.block.uid, session.now, "counter", id=stored.id, attendee=c.attendee,
                          start=span.start, proposed_end=c.end, note=c.note)
    return _with(out, applied=True, counter=stored)


def _open(session: Session, counter_id: str | None) -> StoredCounter:
    book = Attendance(session.store)
    if counter_id is None:
        waiting = book.counters()
        if len(waiting) != 1:
            ids = ", ".join(c.id for c in waiting) or "none"
            raise BadInput("name the proposal to answer" if waiting else "no proposal waits for an answer",
                           f"open proposals: {ids}")
        return waiting[0]
    c = book.counter(counter_id)
    if c is None:
        raise BadInput(f"no proposal {counter_id!r}", "`blocktime import-reply FILE` lists them")
    if c.state != "open":
        raise BadInput(f"proposal {c.id} is {c.state}")
    sb = session.store.block(c.uid)
    if sb is None or sb.state != "booked" or sb.sequence != c.sequence:
        with session.store.transaction():
            book.set_counter(c.id, "stale")
        raise BlocktimeError(f"block {sb.block.id if sb else c.uid} changed since {c.attendee} proposed "
                             f"{at(session, c.start)}", "the proposal no longer applies")
    return c


def accept_counter(session: Session, counter_id: str | None) -> tuple[StoredCounter, StoredBlock]:
    """Move the block to the proposed time (checked like any move); everyone gets the update."""
    from blocktime.usecases.changes import move

    c = _open(session, counter_id)
    moved = move(session, c.uid, c.start)
    with session.store.transaction():
        Attendance(session.store).set_counter(c.id, "accepted")
        session.store.log(c.uid, session.now, "counter_accepted", id=c.id, sequence=moved.block.sequence)
    return c, moved.block


def decline_counter(session: Session, counter_id: str | None, note: str = "") -> StoredCounter:
    """Keep the block where it is; the proposer gets a DECLINECOUNTER and a short note."""
    from blocktime.ics.event import EventFacts
    from blocktime.usecases.messages import queue_block
    from blocktime.usecases.offers import load_engagement

    finish_pending(session)
    c = _open(session, counter_id)
    sb = session.store.block(c.uid)
    assert sb is not None
    eng = load_engagement(session, sb.block.engagement)
    facts = EventFacts(sb.block, eng, session.config.organizer, sb.sequence, session.now)
    with session.store.transaction():
        queue_block(session, "declinecounter", facts, proposed=Interval(c.start, c.end), to=(c.attendee,),
                    note=note, ref=c.id)
        Attendance(session.store).set_counter(c.id, "declined")
        session.store.log(c.uid, session.now, "counter_declined", id=c.id)
    done = Attendance(session.store).counter(c.id)
    assert done is not None
    return done
