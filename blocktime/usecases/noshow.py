"""A block nobody came to (`no-show`): all its minutes are lost to the engagement's books and owed
to it, and are offered like a cut-short's (unless the organizer says not to). The calendar event
keeps its times and says it was not held."""

from __future__ import annotations

from blocktime.errors import BadInput
from blocktime.store.blocks import StoredBlock
from blocktime.usecases.calendar import update_event
from blocktime.usecases.offers import OfferResult, load_block, load_engagement, offer_remainder, owed_again
from blocktime.usecases.pending import finish_pending
from blocktime.usecases.session import Session, at


def no_show(session: Session, ref: str, reason: str = "", offer: bool = True) -> tuple[StoredBlock, OfferResult | None]:
    """Record that nobody came to block `ref` (it has started); offer its minutes unless not `offer`.
    The same command again (after a crash, say) finishes what is left and records nothing twice."""
    from blocktime.ics.event import X_DELIVERED, X_REMAINING, patch_event
    from blocktime.notes import render

    finish_pending(session)
    sb = load_block(session, ref)
    b = sb.block
    eng = load_engagement(session, b.engagement)
    if sb.state == "no_show":  # a re-run: the offer, if one was wanted and none was made
        from blocktime.store.offers import OFFER_STATES

        made = [o for o in session.store.offers(eng.key, OFFER_STATES) if o.source_uid == b.uid]
        # an open offer that already covers what is owed (a later cut-short's, say) stays as it is
        covered = sum(o.minutes for o in session.store.offers(eng.key)) >= session.store.remainder(eng.key)
        wanted = offer and not made and not covered
        return sb, (offer_remainder(session, eng, sb, b.span.start, "noshow") if wanted else None)
    if sb.state != "booked":
        raise BadInput(f"block {b.id} is {sb.state.replace('_', ' ')}, not booked")
    if session.now < b.span.start:
        raise BadInput(f"block {b.id} has not started yet (it starts {at(session, b.span.start)})")
    minutes = int((sb.planned_end - b.span.start).total_seconds() // 60)
    summary = render("noshow_summary", eng.language, client=eng.client)
    extra = {X_DELIVERED: "0", X_REMAINING: str(minutes)}
    etag = update_event(session, sb.href, b.uid, lambda text: patch_event(text, b.uid, summary=summary, extra=extra))
    with session.store.transaction():
        session.store.record_no_show(b.uid, minutes, reason)
        session.store.mark(b.uid, "no_show", etag=etag)
        session.store.add_minutes(eng.key, owed_again(session, sb, 0, minutes), "no_show", b.uid, session.now)
        session.store.log(b.uid, session.now, "no_show", remaining=minutes, reason=reason)
    updated = load_block(session, b.uid)
    return updated, (offer_remainder(session, eng, updated, b.span.start, "noshow") if offer else None)
