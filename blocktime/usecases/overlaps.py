"""New or changed events of others, seen by a sync pass: conflicts with future blocks (kept in
sync's `conflicts` table) and re-planning of offers whose holds they overlap, or, for a block moved
elsewhere, whose options no longer fit beside it."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from blocktime.core.intervals import Timeline
from blocktime.core.model import Busy, Interval
from blocktime.usecases.session import Session, at

if TYPE_CHECKING:
    from blocktime.ics.rawtext import Parts

log = logging.getLogger("blocktime.sync")


def overlaps(session: Session, objects: list[tuple[str, str, Parts]], actions: list[str]) -> None:
    """New or changed events of others, as (href, text, its raw parts): conflicts with future
    blocks, re-planning of held offers. Only events that can reach the horizon are parsed, and
    none when no future block and no hold could be overlapped (a first pass before any booking)."""
    future = [sb for sb in session.store.blocks(states=("booked",)) if sb.block.span.start > session.now]
    offers = session.store.offers()
    if not future and not any(session.store.holds(o.id) for o in offers):
        return
    from blocktime.ics.busy import busy_from_parts
    from blocktime.usecases.calendar import own_addresses

    policy = session.config.policy
    horizon_end = session.now + policy.horizon + timedelta(days=7)
    busy = busy_from_parts(objects, session.now, horizon_end, session.config.organizer.timezone,
                           me=own_addresses(session)).busy
    if not busy:
        return
    timeline: Timeline[Busy] = Timeline(busy, lambda b: b.span)
    for sb in future:
        for b in timeline.overlapping(sb.block.span):
            if b.uid == sb.block.uid:
                continue  # a copy of the block itself (see sync._copy): no conflict with its original
            cur = session.store.db.execute(
                "INSERT INTO conflicts(event_uid, block_uid, summary, start, \"end\", found)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT (event_uid, block_uid) DO NOTHING",
                (b.uid, sb.block.uid, b.summary, b.span.start.isoformat(), b.span.end.isoformat(),
                 session.now.isoformat()),
            )
            if cur.rowcount:
                log.warning("%r (%s) overlaps block %s", b.summary, at(session, b.span.start), sb.block.id)
                actions.append(f"conflict: {b.summary!r} overlaps {sb.block.id}")
    for offer in offers:
        if any(timeline.overlapping(h.span) for h in session.store.holds(offer.id)):
            _replan(session, offer, actions)


def holds_under(session: Session, span: Interval, actions: list[str]) -> None:
    """A block moved (in another calendar app): an offer whose option it overlaps, or whose option
    no longer keeps the day limit, travel or buffers beside it, now promises what cannot be kept, so
    it is re-planned like one whose hold another event overlaps."""
    from blocktime.usecases.offers import load_engagement
    from blocktime.usecases.promises import refusals

    reach = session.config.policy.reach
    near = span.widen(reach, reach)
    for offer in session.store.offers():
        holds = session.store.holds(offer.id)
        if not any(h.span.overlaps(near) for h in holds):
            continue
        eng = load_engagement(session, offer.engagement)
        if any(h.span.overlaps(span) or refusals(session, eng, h.span, h.uid, besides=(offer.id,))[0]
               for h in holds if h.span.overlaps(near)):
            _replan(session, offer, actions)


def _replan(session: Session, offer: Any, actions: list[str]) -> None:
    result = replan(session, offer)
    new = result.offer.id if result is not None and result.offer else "no new offer"
    actions.append(f"offer {offer.id} overlapped a new event: re-planned as {new}")


def replan(session: Session, offer: Any) -> Any:
    """Withdraw `offer` (holds released, state `replanned`) and offer its engagement's remainder
    afresh: an `offers.OfferResult`, or None when the offer's source block is gone."""
    from blocktime.usecases.offers import load_engagement, offer_remainder, release

    release(session, offer.id)
    with session.store.transaction():
        session.store.set_offer(offer.id, "replanned")
    eng = load_engagement(session, offer.engagement)
    source = session.store.block(offer.source_uid)
    if source is None:
        return None
    return offer_remainder(session, eng, source, source.ended_at or session.now)
