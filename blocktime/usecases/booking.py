"""Booking a series: plan it with the pure core against busy time and the policy, then apply it
(blocks recorded `pending`, written to the server, invites queued); and exporting invites.

Every write command first finishes what a crashed run left `pending` (see `pending`), so
re-running after a crash completes the work without duplicating it (UIDs and hrefs are
deterministic).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from blocktime.config.inputs import is_address
from blocktime.errors import BadInput
from blocktime.usecases import warmup
from blocktime.usecases.calendar import read_busy
from blocktime.usecases.pending import finish_pending, invite_name
from blocktime.usecases.promises import promised
from blocktime.usecases.session import Session

if TYPE_CHECKING:  # the rest is imported where it is used: `agenda` starts without the booking machinery
    from blocktime.core.model import Block, BookingPlan, Engagement, Refusal
    from blocktime.store.blocks import StoredBlock


#: the shortest block `book` takes: a bare `--length 3` is 3 minutes, seldom what was meant
MIN_BLOCK_MIN = 15
MIN_BLOCK = timedelta(minutes=MIN_BLOCK_MIN)

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
    if known is not None and session.store.terms(key)[1] is not None:
        raise BadInput(f"engagement {key} is closed", "book for it under a new site or client name")
    attendees, language = req.attendees, req.language or session.config.organizer.language
    if known is not None:
        # booking more blocks keeps the terms set earlier (`engagement set`): a new --attendee is
        # added, none is dropped (that is `engagement set --remove-attendee`), the language stays
        # unless --language is given
        seen = {a.lower() for a in known.attendees}
        attendees = (*known.attendees, *(a for a in req.attendees if a.lower() not in seen))
        language = req.language or known.language
    return Engagement(
        key=key,
        client=known.client if known is not None else req.client,
        site=site,
        attendees=attendees,
        language=language,
        length=req.length,
        site_hours=site_hours(session.config.site_hours, site),
    )


def validate(req: BookRequest) -> None:
    if not req.client.strip() or not req.site.strip():
        raise BadInput("--client and --site must not be empty")
    for a in req.attendees:
        if not is_address(a):
            raise BadInput(f"attendee {a!r} is not an e-mail address")
    if not 1 <= req.count <= 500:
        raise BadInput(f"--count {req.count} is out of range", "book 1 to 500 blocks at a time")
    if req.length > timedelta(hours=12):
        raise BadInput("a block longer than 12 hours is not a block", "check --length")
    if req.length < MIN_BLOCK:
        minutes = int(req.length.total_seconds() // 60)
        raise BadInput(f"a block of {minutes} minute{'s' if minutes != 1 else ''} is too short to be a block",
                       f"did you mean {minutes}h? (blocks are {MIN_BLOCK_MIN} min or more)")


def book(session: Session, req: BookRequest) -> BookResult:
    """Plan the series against busy time and policy; write nothing if any block is refused
    (unless skip_conflicts); create the rest with If-None-Match and record them."""
    from blocktime.core.model import Pattern
    from blocktime.core.series import plan_booking, wall_times
    from blocktime.usecases.engagements import planning_policy

    validate(req)
    finish_pending(session)
    eng = _engagement(session, req)
    _ = session.backend  # its HTTP client loaded first; the rest loads while the server answers
    warmup.start(eng.language)
    tz = session.config.organizer.timezone
    pattern = Pattern(req.first, req.length, req.weekdays, req.count)
    walls = wall_times(pattern, tz)
    span_start = req.first - timedelta(days=1)
    span_end = walls[-1].replace(tzinfo=tz) + req.length + timedelta(days=1)
    busy = promised(session, read_busy(session, span_start, span_end))
    known = {s.block.uid: s.block for s in session.store.blocks(eng.key)}
    plan = plan_booking(
        eng, pattern, tz=tz, policy=planning_policy(session), busy=busy, known=known,
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


def export(session: Session, refs: list[str], engagement: str | None, folder: str | None) -> list[str]:
    """Write REQUEST invites for the chosen blocks (ids or UIDs, or a whole engagement)."""
    from pathlib import Path

    from blocktime import files
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
        paths.append(str(files.write(target, invite_name(sb.block.uid, sb.sequence, "request"),
                                      _invite(session, sb, eng))))
    return paths


def _invite(session: Session, sb: StoredBlock, eng: Engagement) -> str:
    """The REQUEST for a stored block as the calendar copy reads: a cut-short block is written for
    its planned span, then cut as `cut-short` cut the calendar copy (its SEQUENCE unchanged)."""
    from dataclasses import replace

    from blocktime.core.model import Interval
    from blocktime.ics.event import EventFacts, cut_short_copy
    from blocktime.ics.itip import request

    planned = replace(sb.block, span=Interval(sb.block.span.start, sb.planned_end))
    text = request(EventFacts(planned, eng, session.config.organizer, sb.sequence, session.now))
    if sb.state != "cut_short" or sb.ended_at is None:
        return text
    return cut_short_copy(text, sb.block.uid, sb.block.span.start, sb.ended_at, sb.delivered_min or 0,
                          sb.remaining_min or 0, eng.language, eng.client, session.config.organizer.timezone)


def refusal_json(r: Refusal) -> dict[str, object]:
    return {
        "start": r.span.start.isoformat(),
        "end": r.span.end.isoformat(),
        "reasons": [str(x) for x in r.reasons],
        "details": list(r.details),
    }
