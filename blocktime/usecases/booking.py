"""Use cases: plan with the pure core, then apply (backend writes, store, invites).

Every write command first finishes what a crashed run left `pending`, so re-running after a
crash completes the work without duplicating it (UIDs and hrefs are deterministic).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from blocktime.errors import BadInput, BlocktimeError, ServerError
from blocktime.usecases.session import Session as Session  # re-exported: the use cases take it from here

if TYPE_CHECKING:  # the rest is imported where it is used: `agenda` starts without the booking machinery
    from blocktime.core.model import Block, BookingPlan, Busy, Engagement, Interval, Reason, Refusal
    from blocktime.ics.event import EventFacts
    from blocktime.store.store import StoredBlock
    from blocktime.usecases.messages import Composed

log = logging.getLogger("blocktime")


#: what writing blocks imports (events, invitations, messages): imported while busy time is read
WRITING = ("blocktime.ics.itip", "blocktime.usecases.messages", "blocktime.mail.imip", "blocktime.notes", "babel.dates",
           "blocktime.usecases.outgoing", "blocktime.usecases.review")


def read_busy(session: Session, start: datetime, end: datetime, *, then: tuple[str, ...] = ()) -> list[Busy]:
    """Busy time from every calendar of the account, expanded here (see ics.busy).

    A reader thread sends one REPORT after the other (servers serialise, and Radicale slows down
    with parallel REPORTs) and stops at the first failure; each answer is expanded here as it
    comes, while the server works on the next. Meanwhile the modules the command needs `then`
    (after the busy time) are imported. The result is the one reading everything first would
    give: each object is expanded on its own."""
    import importlib
    import queue
    import threading

    backend, tz = session.backend, session.config.organizer.timezone
    calendars = backend.calendars()
    busy: list[Busy] = []
    if not calendars:
        return busy
    answers: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue()
    stop = threading.Event()

    def read_all() -> None:
        for cal in calendars:
            if stop.is_set():
                return
            try:
                answers.put((backend.list_range(cal, start, end), None))
            except BaseException as exc:  # handed to the caller's thread; nothing further is read
                answers.put((None, exc))
                return

    reader = threading.Thread(target=read_all, name="busy-read", daemon=True)
    reader.start()
    try:
        from blocktime.ics.busy import busy_from_texts  # (while the first answer is awaited)

        for name in then:
            importlib.import_module(name)
        for cal in calendars:
            objects, failed = answers.get()
            if failed is not None:
                raise failed
            result = busy_from_texts([(f"{cal.name}: {o.href.rsplit('/', 1)[-1]}", o.data) for o in objects],
                                     start, end, tz)
            busy += result.busy
            for w in result.warnings:
                log.warning("%s", w)
    finally:
        stop.set()
        reader.join()  # no request of this reader outlives the call
    busy.sort(key=lambda b: (b.span.start, b.span.end, b.uid))
    return busy


def refusals(session: Session, eng: Engagement, span: Interval, uid: str, *, notice: timedelta = timedelta(0),
             day_limit: bool = False) -> tuple[list[Reason], list[str]]:
    """Every reason `span` cannot hold event `uid` of `eng` now: busy time read around it (that
    event itself excluded), the policy and, with `day_limit`, the on-site blocks per day."""
    from blocktime.core.intervals import Timeline
    from blocktime.core.series import check, onsite_per_day

    policy, tz = session.config.policy, session.config.organizer.timezone
    reach = max(policy.travel, policy.buffer) + timedelta(days=1)
    busy = [b for b in read_busy(session, span.start - reach, span.end + reach) if b.uid != uid]
    return check(span, site=eng.site, uid=uid, tz=tz, policy=policy, site_hours=eng.site_hours,
                 busy=Timeline(busy, lambda b: b.span), onsite_per_day=onsite_per_day(busy, tz) if day_limit else {},
                 notice=notice, now=session.now)


@dataclass(frozen=True, slots=True)
class BookRequest:
    client: str
    site: str
    attendees: tuple[str, ...]
    first: datetime
    length: timedelta
    weekdays: frozenset[int]
    count: int
    skip_conflicts: bool = False
    language: str | None = None


@dataclass(frozen=True, slots=True)
class BookResult:
    engagement: Engagement
    plan: BookingPlan
    written: bool

    @property
    def booked(self) -> tuple[Block, ...]:
        return (*self.plan.existing, *self.plan.create) if self.written else self.plan.existing


def _engagement(session: Session, req: BookRequest) -> Engagement:
    from blocktime.core.model import Engagement
    from blocktime.usecases.engagements import for_booking, site_hours

    key, site = for_booking(session, req.client, req.site)
    known = session.store.engagement(key)
    return Engagement(
        key=key,
        client=known.client if known is not None else req.client,
        site=site,
        attendees=req.attendees,
        language=req.language or session.config.organizer.language,
        length=req.length,
        site_hours=site_hours(session.config.site_hours, site),
    )


def validate(req: BookRequest) -> None:
    if not req.client.strip() or not req.site.strip():
        raise BadInput("--client and --site must not be empty")
    for a in req.attendees:
        if "@" not in a or " " in a or a.startswith("@") or a.endswith("@"):
            raise BadInput(f"attendee {a!r} is not an e-mail address")
    if not 1 <= req.count <= 500:
        raise BadInput(f"--count {req.count} is out of range", "book 1 to 500 blocks at a time")
    if req.length > timedelta(hours=12):
        raise BadInput("a block longer than 12 hours is not a block", "check --length")


def book(session: Session, req: BookRequest) -> BookResult:
    """Plan the series against busy time and policy; write nothing if any block is refused
    (unless skip_conflicts); create the rest with If-None-Match and record them."""
    from blocktime.core.model import Pattern
    from blocktime.core.series import plan_booking, wall_times

    validate(req)
    finish_pending(session)
    eng = _engagement(session, req)
    tz = session.config.organizer.timezone
    pattern = Pattern(req.first, req.length, req.weekdays, req.count)
    walls = wall_times(pattern, tz)
    span_start = req.first - timedelta(days=1)
    span_end = walls[-1].replace(tzinfo=tz) + req.length + timedelta(days=1)
    busy = read_busy(session, span_start, span_end, then=WRITING)
    known = {s.block.uid: s.block for s in session.store.blocks(eng.key)}
    plan = plan_booking(
        eng, pattern, tz=tz, policy=session.config.policy, busy=busy, known=known,
        next_number=session.store.next_number(eng.key), now=session.now,
        retired=frozenset(sb.block.uid for sb in session.store.blocks(eng.key, ("cancelled",))),
    )
    if (plan.refused and not req.skip_conflicts) or not plan.create:
        return BookResult(eng, plan, written=False)
    target = session.target()
    with session.store.transaction():
        session.store.save_engagement(eng, session.now)
        for b in plan.create:
            session.store.add_pending(b, session.backend.href_for(target, b.uid))
            session.store.log(b.uid, session.now, "planned", start=b.span.start, end=b.span.end)
    finish_pending(session, announce=False)
    return BookResult(eng, plan, written=True)


def finish_pending(session: Session, *, announce: bool = True) -> int:
    """Create every `pending` block and hold on the server (idempotent) and write invites.

    Blocks are left `pending` by a run that was stopped (Ctrl-C, a crash, a lost connection);
    every write command and the daemon's pass call this first, and (with `announce`) say what
    they finished and queued."""
    if session.store.holds(states=("pending",)):  # (nothing is imported for nothing to do)
        from blocktime.usecases.offers import finish_holds

        finish_holds(session)
    pending = session.store.blocks(states=("pending",))
    if not pending:
        return 0
    from concurrent.futures import ThreadPoolExecutor

    from blocktime.backends.base import AlreadyExists
    from blocktime.ics.event import EventFacts
    from blocktime.ics.itip import copy_and_request
    from blocktime.usecases.messages import compose_block

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
    # on remote servers); each result is recorded in order, one transaction per block. When the
    # command is stopped, the writes not yet started are dropped (they stay `pending`).
    queued = len(session.queued)
    pool = ThreadPoolExecutor(max_workers=WRITERS)
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


WRITERS = 4


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
    from blocktime.mail import outbox
    from blocktime.usecases.messages import queue_block

    sb = w.block
    outbox.write(session.config.outbox, outbox.invite_name(sb.block.uid, sb.sequence, "request"), w.invite)
    with session.store.transaction():
        queue_block(session, w.composed.kind, w.facts, composed=w.composed)
        session.store.mark(sb.block.uid, "booked", etag=w.etag)
        session.store.log(sb.block.uid, session.now, "booked", note=w.kind, href=sb.href)


def export(session: Session, refs: list[str], engagement: str | None, folder: str | None) -> list[str]:
    """Write REQUEST invites for the chosen blocks (ids or UIDs, or a whole engagement)."""
    from pathlib import Path

    from blocktime.ics.event import EventFacts
    from blocktime.ics.itip import request
    from blocktime.mail import outbox
    from blocktime.usecases.engagements import resolve

    chosen: list[StoredBlock] = []
    for ref in refs:
        sb = session.store.block(ref)
        if sb is None:
            raise BadInput(f"no block {ref!r}", "see `blocktime agenda` for ids")
        chosen.append(sb)
    if engagement is not None:
        chosen.extend(session.store.blocks(resolve(session, engagement).key))
    if not chosen:
        raise BadInput("nothing to export", "name blocks, or --engagement KEY")
    target = Path(folder) if folder else session.config.outbox
    paths = []
    for sb in chosen:
        eng = session.store.engagement(sb.block.engagement)
        assert eng is not None
        facts = EventFacts(sb.block, eng, session.config.organizer, sb.sequence, session.now)
        paths.append(str(outbox.write(target, outbox.invite_name(sb.block.uid, sb.sequence, "request"),
                                      request(facts))))
    return paths


def refusal_json(r: Refusal) -> dict[str, object]:
    return {
        "start": r.span.start.isoformat(),
        "end": r.span.end.isoformat(),
        "reasons": [str(x) for x in r.reasons],
        "details": list(r.details),
    }


def update_event(session: Session, href: str, uid: str, change: Any, attempts: int = 3) -> str | None:
    """Apply `change(server_text) -> new_text` to the server's current copy with If-Match.

    On a conflict (someone edited between our read and write) the copy is re-read and the
    change applied again on top of their edit, so it survives; after `attempts` it is reported.
    """
    from blocktime.errors import ConflictError

    for _ in range(attempts):
        current = session.backend.get(href)
        if current is None:
            raise ServerError(f"event {uid} is no longer on the calendar", "was it deleted elsewhere?")
        if current.etag is None:
            raise ServerError(f"the server gave no ETag for {href}; refusing an unconditional write")
        try:
            return session.backend.update(href, change(current.data), current.etag) or _etag_of(session, href)
        except ConflictError:
            log.info("conflict on %s: re-reading and merging", href)
    raise BlocktimeError(f"event {uid} keeps changing on the server", "try again in a moment")


def _etag_of(session: Session, href: str) -> str | None:
    got = session.backend.get(href)
    return got.etag if got else None
