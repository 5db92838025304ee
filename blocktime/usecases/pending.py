"""Finishing what a stopped run left `pending`: blocks and holds planned and recorded, not yet on
the server. Every write command and the daemon's pass call `finish_pending` first, so re-running
after a crash completes the work without duplicating it (UIDs and hrefs are deterministic).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from blocktime.errors import BlocktimeError, ServerError
from blocktime.usecases.session import Session

if TYPE_CHECKING:
    from blocktime.ics.event import EventFacts
    from blocktime.store.blocks import StoredBlock
    from blocktime.usecases.letters import Composed


def finish_pending(session: Session, *, announce: bool = True) -> int:
    """Create every `pending` block and hold on the server (idempotent) and write invites.

    Blocks are left `pending` by a run that was stopped (Ctrl-C, a crash, a lost connection);
    every write command and the daemon's pass call this first, and (with `announce`) say what
    they finished and queued."""
    if session.store.holds(states=("pending",)):  # (nothing is imported for nothing to do)
        finish_holds(session)
    pending = session.store.blocks(states=("pending",))
    if not pending:
        return 0
    from concurrent.futures import ThreadPoolExecutor

    from blocktime.backends.base import AlreadyExists
    from blocktime.ics.event import EventFacts
    from blocktime.ics.itip import copy_and_request
    from blocktime.usecases.letters import compose_block

    engagements = {k: session.store.engagement(k) for k in {sb.block.engagement for sb in pending}}

    def write(sb: StoredBlock) -> Written:
        """The network part of one block, then its invite and messages composed while other PUTs
        are in flight (runs in a worker thread; no store access here)."""
        eng = engagements[sb.block.engagement]
        if eng is None:
            raise BlocktimeError(f"block {sb.block.id} has no engagement in the store", "run `blocktime repair`")
        facts = EventFacts(sb.block, eng, session.config.organizer, sb.sequence, session.now)
        copy, invite = copy_and_request(facts)
        try:
            etag = session.backend.create(sb.href, copy)
            kind = "booked"
        except AlreadyExists as exc:
            if exc.elsewhere:
                raise ServerError(
                    f"the server already holds UID {sb.block.uid} at another place", "run `blocktime repair`"
                ) from None
            found = session.backend.get(sb.href)
            if found is None or sb.block.uid not in found.data:
                raise ServerError(f"{sb.href} holds an event that is not block {sb.block.id}") from None
            etag, kind = found.etag, "booked (found after restart)"
        if etag is None:
            got = session.backend.get(sb.href)
            etag = got.etag if got else None
        composed = compose_block(session, "makeup" if sb.block.makeup_for else "request", facts, invite=invite)
        return Written(sb, facts, etag, kind, invite, composed)

    # A few PUTs in flight at once (PITFALLS: 4 parallel PUTs cost ~0.7x on Radicale, far less
    # on remote servers): how many, the backend's gate decides from the server's answers
    # (`backends.pacing`); the pool only offers it enough threads. Each result is recorded in
    # order, one transaction per block. When the command is stopped, the writes not yet started
    # are dropped (they stay `pending`).
    queued = len(session.queued)
    pool = ThreadPoolExecutor(max_workers=min(len(pending), writers(session.backend)))
    try:
        for done in pool.map(write, pending):
            _record(session, done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if announce and pending:
        ids = [sb.block.id for sb in pending]
        shown = ", ".join(ids) if len(ids) <= 4 else f"{ids[0]} … {ids[-1]}"
        session.say(f"finished {len(pending)} block(s) an earlier run left pending ({shown}); "
                    f"{len(session.queued) - queued} message(s) queued for the attendees")
    return len(pending)


#: threads for a backend without a gate of its own (the embedded calendar is CalDAV: it has one)
WRITERS = 4


def writers(backend: object) -> int:
    """Threads worth starting for parallel writes: the cap of the backend's gate."""
    gate = getattr(backend, "gate", None) or getattr(getattr(backend, "http", None), "gate", None)
    cap = getattr(gate, "cap", None)
    return cap if isinstance(cap, int) and cap > 0 else WRITERS


@dataclass(frozen=True, slots=True)
class Written:
    """One block on the server, with what its recording needs: the ETag, how it got there
    (`booked` or found after a restart), its REQUEST for the outbox and its composed messages."""

    block: StoredBlock
    facts: EventFacts
    etag: str | None
    kind: str
    invite: str
    composed: Composed


def _record(session: Session, w: Written) -> None:
    """The local part of one written block: its invite in the outbox, its row, messages and history."""
    from blocktime import files
    from blocktime.usecases.messages import queue_block

    sb = w.block
    files.write(session.config.outbox, invite_name(sb.block.uid, sb.sequence, "request"), w.invite)
    with session.store.transaction():
        queue_block(session, w.composed.kind, w.facts, composed=w.composed)
        session.store.mark(sb.block.uid, "booked", etag=w.etag)
        session.store.log(sb.block.uid, session.now, "booked", note=w.kind, href=sb.href)


def finish_holds(session: Session) -> None:
    """Create every `pending` hold on the server (idempotent: If-None-Match)."""
    from blocktime.backends.base import AlreadyExists
    from blocktime.ics.event import HoldFacts, hold_copy
    from blocktime.usecases.engagements import resolve

    for h in session.store.holds(states=("pending",)):
        offer = session.store.offer(h.offer)
        assert offer is not None
        eng = resolve(session, offer.engagement)
        facts = HoldFacts(h.uid, h.offer, h.number, h.span.start, h.span.end, eng,
                          session.config.organizer, offer.expires, session.now, offer.source_uid, offer.minutes)
        try:
            etag = session.backend.create(h.href, hold_copy(facts))
        except AlreadyExists:
            got = session.backend.get(h.href)
            etag = got.etag if got else None
        with session.store.transaction():
            session.store.set_hold(h.uid, "held", etag)


def invite_name(uid: str, sequence: int, method: str) -> str:
    """The outbox file name of an invite: its UID, SEQUENCE and iTIP method."""
    return f"{uid.split('@', 1)[0]}-seq{sequence}-{method.lower()}.ics"
