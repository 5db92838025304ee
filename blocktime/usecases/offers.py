"""Use cases for the part that is left: cut short -> offer (holds + message) -> accept / decline /
expire. What to offer is planned in `offer_planning`; this module applies it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from blocktime import files
from blocktime.core.model import Block, Engagement
from blocktime.core.series import fresh_uid
from blocktime.core.slots import Slot, answer_deadline, makeup_length
from blocktime.errors import BadInput, BlocktimeError, NoLongerFits
from blocktime.store.blocks import StoredBlock
from blocktime.store.offers import StoredHold, StoredOffer
from blocktime.usecases.calendar import log, update_event
from blocktime.usecases.engagements import resolve
from blocktime.usecases.offer_planning import plan_options
from blocktime.usecases.pending import finish_pending
from blocktime.usecases.promises import Competition, no_slot, refusals
from blocktime.usecases.session import Session, at


@dataclass(frozen=True, slots=True)
class OfferResult:
    """What happened to a remainder: an offer with options, a carry-over, or no free slot."""

    remaining: int
    offer: StoredOffer | None
    options: tuple[StoredHold, ...] = ()
    carried_to: Block | None = None
    message: str | None = None


def load_engagement(session: Session, key: str) -> Engagement:
    return resolve(session, key)


def load_block(session: Session, ref: str) -> StoredBlock:
    sb = session.store.block(ref)
    if sb is None:
        raise BadInput(f"no block {ref!r}", "see `blocktime agenda` for ids")
    return sb


def cut_short(session: Session, ref: str, ended_at: datetime, reason: str = "") -> tuple[StoredBlock, OfferResult]:
    """Record that block `ref` ended at `ended_at`; show it on the event; offer the remainder."""
    from blocktime.ics.event import cut_short_copy

    finish_pending(session)
    sb = load_block(session, ref)
    b = sb.block
    if sb.state == "cut_short":
        if sb.ended_at == ended_at:  # the same command again (after a crash, say): finish its offer
            return sb, _resume_offer(session, sb)
        raise BadInput(f"block {b.id} was already cut short at {at(session, sb.ended_at)}")
    if sb.state != "booked":
        raise BadInput(f"block {b.id} is {sb.state}, not booked")
    if session.now < b.span.start:
        raise BadInput(f"block {b.id} has not started yet (it starts {at(session, b.span.start)})")
    if not b.span.start < ended_at < sb.planned_end:
        raise BadInput(
            f"--ended-at {at(session, ended_at)} is outside block {b.id}",
            f"it runs {at(session, b.span.start)} to {at(session, sb.planned_end)}",
        )
    if ended_at > session.now:
        raise BadInput(f"--ended-at {at(session, ended_at)} is still in the future")
    eng = load_engagement(session, b.engagement)
    delivered = int((ended_at - b.span.start).total_seconds() // 60)
    remaining = int((sb.planned_end - ended_at).total_seconds() // 60)
    tz = session.config.organizer.timezone
    etag = update_event(session, sb.href, b.uid, lambda text: cut_short_copy(
        text, b.uid, b.span.start, ended_at, delivered, remaining, eng.language, eng.client, tz))
    with session.store.transaction():
        session.store.record_cut(b.uid, ended_at, delivered, remaining, reason)
        session.store.mark(b.uid, "cut_short", etag=etag)
        session.store.add_minutes(eng.key, owed_again(session, sb, delivered, remaining), "cut_short", b.uid,
                                  session.now)
        session.store.log(b.uid, session.now, "cut_short", ended_at=ended_at, delivered=delivered,
                          remaining=remaining, reason=reason)
    updated = load_block(session, b.uid)
    return updated, offer_remainder(session, eng, updated, ended_at)


def offer_remainder(session: Session, eng: Engagement, source: StoredBlock, ended_at: datetime,
                    kind: str = "offer") -> OfferResult:
    """Offer slots for the engagement's whole open remainder (or carry it over when it is short).

    One ledger: an offer still open for part of the remainder is replaced by the new one (its holds
    released, the new message withdraws its options), so open offers never cover more than what
    remains. When no slot fits the whole remainder, an open offer stays as it was."""
    from blocktime.notes import moment
    from blocktime.usecases.messages import tell

    policy = session.config.policy
    tz = session.config.organizer.timezone
    expire(session)
    remaining = session.store.remainder(eng.key)
    if remaining <= 0:
        return OfferResult(0, None)
    if session.store.terms(eng.key)[1] is not None:
        log.info("%s is closed: its %d min are not offered", eng.key, remaining)
        return OfferResult(remaining, None)
    earlier = session.store.offers(eng.key)
    common = _common(session, eng, remaining, ended_at)
    length = makeup_length(timedelta(minutes=remaining), policy, eng.length)
    if length is None:
        nxt = next((sb.block for sb in session.store.blocks(eng.key, ("booked",))
                    if sb.block.span.start > session.now), None)
        if nxt is None:
            return OfferResult(remaining, None, message=None)
        _withdraw(session, earlier, None)
        with session.store.transaction():
            session.store.add_minutes(eng.key, -remaining, "carried", nxt.uid, session.now)
            session.store.log(nxt.uid, session.now, "carried_in", minutes=remaining, source=source.block.uid)
        text = _render(eng, "noshow_carried" if kind == "noshow" else "carried",
                       next=moment(nxt.span.start, tz, eng.language), **common)
        path = files.write(session.config.outbox, f"carried-{source.block.uid.split('@')[0]}.txt", text)
        tell(session, eng, "carried", source.block.uid, text)
        return OfferResult(remaining, None, carried_to=nxt, message=str(path))
    slots, lost = plan_options(session, eng, length, besides=[o.id for o in earlier])
    if not slots:
        held = sum(o.minutes for o in earlier)
        if earlier:
            log.warning("no slot for all %d min of %s; offer %s stays open for its %d min",
                        remaining, eng.key, earlier[0].id, held)
            common = _common(session, eng, remaining - held, ended_at)
        no_slot(lost, eng.key)
        text = _render(eng, "noshow_noslot" if kind == "noshow" else "noslot", **common)
        path = files.write(session.config.outbox, f"noslot-{source.block.uid.split('@')[0]}.txt", text)
        tell(session, eng, "noslot", source.block.uid, text)
        return OfferResult(remaining, None, message=str(path))
    return _make_offer(session, eng, source, remaining, length, slots, common,
                       kind="replace" if earlier and kind == "offer" else kind, replacing=earlier, competed=lost)


def _withdraw(session: Session, offers: list[StoredOffer], by: str | None) -> None:
    """Release the holds of offers that a new plan for the remainder supersedes."""
    for o in offers:
        release(session, o.id)
        with session.store.transaction():
            session.store.set_offer(o.id, "replaced", replaced_by=by)
            session.store.log(o.source_uid, session.now, "offer_replaced", offer=o.id, by=by)


def _common(session: Session, eng: Engagement, remaining: int, ended_at: datetime) -> dict[str, str]:
    from blocktime.notes import minutes, moment, when

    tz = session.config.organizer.timezone
    return {"client": eng.client, "organizer": session.config.organizer.name,
            "remaining": minutes(remaining, eng.language), "ended": moment(ended_at, tz, eng.language),
            **{f"ended_{k}": v for k, v in when(ended_at, ended_at, tz, eng.language).items()}}


def _resume_offer(session: Session, sb: StoredBlock) -> OfferResult:
    """A re-run of a cut-short that a crash interrupted: the cut is recorded (and its minutes
    counted) once; the offer is made if it was not, or its holds and message finished if it was."""
    eng = load_engagement(session, sb.block.engagement)
    assert sb.ended_at is not None
    from blocktime.store.offers import OFFER_STATES

    made = [o for o in session.store.offers(eng.key, OFFER_STATES) if o.source_uid == sb.block.uid]
    if not made:
        return offer_remainder(session, eng, sb, sb.ended_at)
    if made[-1].state != "open":
        raise BadInput(f"block {sb.block.id} was already cut short at {at(session, sb.ended_at)}",
                       f"its offer {made[-1].id} is {made[-1].state}")
    return _announce(session, eng, made[-1], _common(session, eng, made[-1].minutes, sb.ended_at))


def _render(eng: Engagement, kind: str, **values: str) -> str:
    from blocktime.notes import render

    return render(kind, eng.language, **values) + "\n"


def _make_offer(session: Session, eng: Engagement, source: StoredBlock, remaining: int, length: timedelta,
                slots: list[Slot], common: dict[str, str], kind: str = "offer",
                replacing: list[StoredOffer] | None = None, competed: Competition | None = None) -> OfferResult:
    target = session.target()
    policy = session.config.policy
    offer = StoredOffer(
        id=session.store.next_offer_id(eng.key), engagement=eng.key, source_uid=source.block.uid,
        minutes=remaining, length_min=int(length.total_seconds() // 60), created=session.now,
        expires=answer_deadline(session.now, [s.span.start for s in slots], policy).astimezone(session.now.tzinfo),
        state="open", chosen=None, makeup_uid=None,
    )
    holds = []
    for n, slot in enumerate(slots, 1):
        uid = f"hold-{offer.id}-{n}@blocktime"
        holds.append(StoredHold(uid, offer.id, n, slot.span, session.backend.href_for(target, uid), None, "pending"))
    _withdraw(session, replacing or [], offer.id)
    with session.store.transaction():
        session.store.add_offer(offer)
        for h in holds:
            session.store.add_hold(h)
        session.store.log(source.block.uid, session.now, "offer", offer=offer.id, options=len(holds))
        if competed is not None and competed.lost:  # with the offer, so that a crash cannot lose it
            competed.keep(session, offer.id, len(holds))
    finish_pending(session)
    return _announce(session, eng, offer, common, kind)


def reoffer(session: Session, key: str, again: bool = False) -> OfferResult:
    """Offer slots for an engagement's open remainder on demand (after a decline, an expiry or a
    cancellation left minutes open). One open offer per engagement at a time. Options the client
    declined before are skipped unless `again`."""
    finish_pending(session)
    expire(session)
    eng = load_engagement(session, key)
    if session.store.terms(eng.key)[1] is not None:
        raise BadInput(f"engagement {eng.key} is closed", "a closed engagement gets no offers")
    open_offers = session.store.offers(eng.key)
    if open_offers:
        raise BadInput(f"offer {open_offers[0].id} is still open for {eng.key}",
                       "accept or decline it first, or wait until it expires")
    remaining = session.store.remainder(eng.key)
    if remaining <= 0:
        raise BadInput(f"nothing remains to be offered for {eng.key}", "see `blocktime status`")
    blocks = session.store.blocks(eng.key, ("cut_short", "cancelled", "booked"))
    if not blocks:
        raise BadInput(f"engagement {eng.key} has no blocks")
    source = max(blocks, key=lambda sb: (sb.state != "booked", sb.block.span.start))
    policy = session.config.policy  # asked for explicitly: a short remainder gets the minimum length
    length = makeup_length(max(timedelta(minutes=remaining), policy.min_makeup), policy, eng.length)
    assert length is not None
    slots, lost = plan_options(session, eng, length, again=again)
    if not slots:
        no_slot(lost, eng.key)
        return OfferResult(remaining, None)
    common = _common(session, eng, remaining, source.ended_at or source.block.span.end)
    return _make_offer(session, eng, source, remaining, length, slots, common, kind="reoffer", competed=lost)


def _announce(session: Session, eng: Engagement, offer: StoredOffer, common: dict[str, str],
              kind: str = "offer") -> OfferResult:
    """The offer's message in the outbox and queued for every attendee (once: keyed by offer)."""
    from blocktime.notes import each, minutes, moment
    from blocktime.usecases.messages import tell

    tz, policy = session.config.organizer.timezone, session.config.policy
    why_length = each(offer.minutes, offer.length_min, grid=int(policy.granularity.total_seconds() // 60),
                      block=int(eng.length.total_seconds() // 60), full_block=policy.makeup_full_block,
                      language=eng.language)
    text = _render(eng, kind, site=eng.site, length=minutes(offer.length_min, eng.language), each=why_length,
                   options=option_lines(session, eng, offer), expires=moment(offer.expires, tz, eng.language),
                   **common)
    path = files.write(session.config.outbox, f"offer-{offer.id}.txt", text)
    tell(session, eng, "offer", offer.id, text)
    return OfferResult(offer.minutes, offer, tuple(session.store.holds(offer.id)), message=str(path))


def option_lines(session: Session, eng: Engagement, offer: StoredOffer, numbers: Collection[int] | None = None) -> str:
    """The offer's options (those `numbers` only, when given), one per line, each with a prepared
    reply whose subject carries the option's pick token (see `picks`), so that the reply books it
    when blocktime reads the inbox."""
    from blocktime.mail.picks import token
    from blocktime.notes import render, when
    from blocktime.usecases.sharedkeys import pick_key

    tz = session.config.organizer.timezone
    org = session.config.organizer
    key = pick_key(session)
    lines = []
    for h in session.store.holds(offer.id):
        if numbers is not None and h.number not in numbers:
            continue
        w = when(h.span.start, h.span.end, tz, eng.language)
        subject = render("option_subject", eng.language, client=eng.client, number=str(h.number),
                         offer=offer.id, token=token(key, offer.id, h.number), **w)
        link = f"mailto:{org.email}?subject={quote(subject)}"
        lines.append(render("option", eng.language, number=str(h.number), link=link, **w))
    return "\n".join(lines)


def release(session: Session, offer_id: str, numbers: Collection[int] | None = None) -> int:
    """Delete every hold of an offer (those options `numbers` only, when given) from the calendar
    (a hold already gone is fine)."""
    from blocktime.errors import ConflictError

    count = 0
    for h in session.store.holds(offer_id, ("pending", "held")):
        if numbers is not None and h.number not in numbers:
            continue
        try:
            session.backend.delete(h.href, h.etag)
        except ConflictError:  # edited elsewhere: the user's copy wins, we only stop tracking it
            log.warning("hold %s was changed on the calendar; left there for you to remove", h.uid)
        with session.store.transaction():
            session.store.set_hold(h.uid, "released")
        count += 1
    return count


def _open_offer(session: Session, offer_id: str) -> StoredOffer:
    offer = session.store.offer(offer_id)
    if offer is None:
        raise BadInput(f"no offer {offer_id!r}", "see `blocktime offers`")
    return offer


def _closed(session: Session, offer: StoredOffer) -> BlocktimeError:
    """Why `offer` takes no answer any more, in the organizer's words."""
    from blocktime.notes import moment

    tz = session.config.organizer.timezone
    if offer.state == "replaced" and offer.replaced_by:
        return BlocktimeError(f"offer {offer.id} was replaced by {offer.replaced_by}",
                              f"see `blocktime offers`; answer {offer.replaced_by} instead")
    if offer.state == "expired" or (offer.state == "open" and offer.expires <= session.now):
        return BlocktimeError(f"offer {offer.id} expired {moment(offer.expires, tz, 'en')}; its slots are"
                              " no longer held", f"`blocktime offer {offer.engagement}` makes a new one")
    return BadInput(f"offer {offer.id} is {offer.state}", "see `blocktime status`")


def accept(session: Session, offer_id: str, option: int) -> StoredBlock:
    """Book the chosen option as a make-up block (REQUEST in the outbox), release every hold.
    An offer past its answer deadline, replaced or already answered books nothing (exit 1)."""
    finish_pending(session)
    offer = _open_offer(session, offer_id)
    if offer.state == "accepted" and offer.chosen == option and offer.makeup_uid:
        release(session, offer.id)  # finish what a crashed accept left
        return load_block(session, offer.makeup_uid)
    expire(session)
    offer = _open_offer(session, offer_id)
    if offer.state != "open":
        raise _closed(session, offer)
    holds = {h.number: h for h in session.store.holds(offer.id)}
    if option not in holds:
        raise BadInput(f"offer {offer.id} has no option {option}", f"choose 1 to {len(holds)}")
    chosen = holds[option]
    eng = load_engagement(session, offer.engagement)
    reasons, details = refusals(session, eng, chosen.span, chosen.uid, besides=(offer.id,))
    if reasons:
        log.warning("option %d of %s no longer fits, not booked: %s", option, offer.id, "; ".join(details))
        raise NoLongerFits(f"option {option} of {offer.id} no longer fits: {', '.join(reasons)} "
                           f"({'; '.join(details) or reasons[0]})",
                           "pick another option, or decline it and offer again")
    source = session.store.block(offer.source_uid)
    taken = {sb.block.uid for sb in session.store.blocks(eng.key, ("pending", "booked", "cut_short", "cancelled"))}
    block = Block(eng.key, session.store.next_number(eng.key), fresh_uid(eng.key, chosen.span.start, taken),
                  chosen.span, eng.site, makeup_for=source.block.id if source else offer.source_uid)
    with session.store.transaction():
        owed = session.store.remainder(eng.key)  # never below zero, whatever happened meanwhile
        covered = max(0, min(offer.minutes, owed))
        session.store.add_pending(block, session.backend.href_for(session.target(), block.uid))
        session.store.set_offer(offer.id, "accepted", chosen=option, makeup_uid=block.uid)
        session.store.add_minutes(eng.key, -covered, "makeup", block.uid, session.now)
        session.store.log(block.uid, session.now, "makeup_booked", offer=offer.id, option=option,
                          makes_up=offer.source_uid, minutes=covered)
    finish_pending(session, announce=False)  # the block just recorded: not one an earlier run left
    release(session, offer.id)
    return load_block(session, block.uid)


def owed_again(session: Session, sb: StoredBlock, delivered: int, lost: int) -> int:
    """The minutes a session that ended early (or did not take place) puts back on the remainder:
    what it lost, but for a make-up no more than the part of the remainder it was booked to cover
    less what it delivered (a make-up is rounded up to the grid: 30 min booked for 25 owed)."""
    if not sb.block.makeup_for:
        return lost
    from blocktime.usecases.books import covered

    return max(0, min(lost, covered(session, sb.block.engagement).get(sb.block.uid, 0) - delivered))


def decline(session: Session, offer_id: str) -> StoredOffer:
    """The client turned every option down: holds released, the options remembered as declined
    (a later offer skips them), the remainder stays open."""
    offer = _open_offer(session, offer_id)
    if offer.state != "open":
        raise _closed(session, offer)
    release(session, offer.id)
    with session.store.transaction():
        for h in session.store.holds(offer.id, ("pending", "held", "released")):
            session.store.add_declined(offer.engagement, h.span, offer.id, session.now)
        session.store.set_offer(offer.id, "declined")
        session.store.log(offer.source_uid, session.now, "offer_declined", offer=offer.id)
    return _open_offer(session, offer_id)


def expire(session: Session) -> list[StoredOffer]:
    """End every open offer whose answer deadline has passed: holds deleted, remainder left open."""
    done = []
    for offer in session.store.offers():
        if offer.expires <= session.now:
            release(session, offer.id)
            with session.store.transaction():
                session.store.set_offer(offer.id, "expired")
                session.store.log(offer.source_uid, session.now, "offer_expired", offer=offer.id,
                                  deadline=offer.expires.isoformat())
            done.append(offer)
    return done
