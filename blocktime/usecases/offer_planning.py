"""Planning an offer: the slot search for an engagement's remainder against busy time from every
calendar, the policy and the times the client declined; why a day has no slot; and where an
engagement stands (`status`). Nothing here writes; `offers` applies what is planned.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from blocktime.core.model import Busy, Engagement
from blocktime.core.slots import Candidate, Slot, SlotQuery, all_slots, candidates, makeup_length, search, usual_start
from blocktime.errors import MissingSecret
from blocktime.store.blocks import StoredBlock
from blocktime.store.offers import StoredOffer
from blocktime.usecases.calendar import read_busy
from blocktime.usecases.engagements import planning_policy, resolve
from blocktime.usecases.promises import Competition, competed, promised
from blocktime.usecases.session import Session

#: what an offer imports once its slots are found (its message, pick links, the outbox): imported
#: while busy time is read
OFFERING = ("blocktime.usecases.messages", "blocktime.mail.imip", "blocktime.mail.picks", "blocktime.usecases.outgoing",
            "blocktime.usecases.review", "blocktime.notes", "babel.dates")


def slot_query(session: Session, eng: Engagement, length: timedelta, again: bool = False,
               besides: Collection[str] = (), through: datetime | None = None, *,
               calendar: bool = True) -> SlotQuery:
    """The search for `eng`: busy time from every calendar over the horizon (or `through` a later
    moment, for `why` on a day past it) with every other open offer's holds (see `promises`; the
    offers in `besides` are the ones the search replaces), usual start, site days, and the options
    the client declined before (offered again only when `again`). Without `calendar`, the store's
    blocks stand for the busy time (`why` when the calendar's password is not at hand)."""
    policy = planning_policy(session)
    tz = session.config.organizer.timezone
    reach = policy.reach
    until = max(session.now + policy.horizon, through or session.now)
    blocks = [sb.block for sb in session.store.blocks()]
    taken = read_busy(session, session.now - reach, until + reach, then=OFFERING) \
        if calendar else [Busy(b.span, b.uid, site=b.site) for b in blocks]  # without it: the store's blocks
    busy = promised(session, taken, besides=besides)
    own = [b for b in blocks if b.engagement == eng.key and not b.makeup_for]
    return SlotQuery(
        engagement=eng, length=length, now=session.now, tz=tz, policy=policy, busy=busy,
        usual=usual_start(own, tz),
        site_days=frozenset(b.span.start.astimezone(tz).date() for b in blocks if b.site == eng.site),
        declined=() if again else tuple(session.store.declined(eng.key)),
    )


def plan_options(session: Session, eng: Engagement, length: timedelta, *, again: bool = False,
                 besides: Collection[str] = ()) -> tuple[list[Slot], Competition | None]:
    """The options for a new offer of `eng`, and what other offers' holds took from it: the options
    the search would have made without them that it could not make with them."""
    q = slot_query(session, eng, length, again=again, besides=besides)
    chosen = search(q)
    held = [b for b in q.busy if b.held is not None]
    if not held:
        return chosen, None
    free = search(replace(q, busy=[b for b in q.busy if b.held is None]))
    offerable = {s.span for s in all_slots(q)}
    lost = [s for s in free if s.span not in offerable]
    if not lost:
        return chosen, None
    tz, reach = q.tz, q.policy.longest_travel
    by = sorted({b.held.offer for b in held for s in lost if b.held is not None and (
        b.span.start.astimezone(tz).date() == s.span.start.astimezone(tz).date() or b.span.overlaps(
            s.span.widen(reach, reach)))})
    return chosen, Competition(len(lost), len(free), tuple(by))


def why(session: Session, engagement: str, day: date, length: timedelta | None) -> list[Candidate]:
    """Every candidate of `day` for the engagement's make-up, with refusal reasons (the holds of its
    own open offer left out, as a new offer would replace them)."""
    eng = resolve(session, engagement)
    remaining = session.store.remainder(eng.key)
    if length is None:
        length = makeup_length(timedelta(minutes=remaining), session.config.policy, eng.length) or eng.length
    own = [o.id for o in session.store.offers(eng.key)]
    tz = session.config.organizer.timezone
    through = datetime.combine(day + timedelta(days=1), time(0), tz)  # the whole day, also past the horizon
    try:
        q = slot_query(session, eng, length, besides=own, through=through)
    except MissingSecret as exc:  # only the calendar needs it: every other reason can still be told
        session.say(f"warning: the calendar's busy time not checked, only blocktime's blocks: {exc}")
        q = slot_query(session, eng, length, besides=own, through=through, calendar=False)
    return candidates(q, day)


@dataclass(frozen=True, slots=True)
class Status:
    engagement: Engagement
    blocks: list[StoredBlock]
    booked: int
    delivered: int
    cut_short: int
    remaining: int
    offers: list[StoredOffer]
    competed: dict[str, str]  # open offer -> what other offers' holds took from it (see promises)
    moved: dict[str, str]  # block uid -> the calendar it was moved to in Google or Outlook (see absence)


def status(session: Session, engagement: str) -> Status:
    eng = resolve(session, engagement)
    blocks = session.store.blocks(eng.key)
    booked = sum(int((sb.planned_end - sb.block.span.start).total_seconds() // 60) for sb in blocks)
    delivered = 0
    for sb in blocks:
        if sb.state in ("cut_short", "no_show"):
            delivered += sb.delivered_min or 0
        elif sb.block.span.end <= session.now:
            delivered += int(sb.block.span.duration.total_seconds() // 60)
    cut = sum(sb.remaining_min or 0 for sb in blocks if sb.state == "cut_short")
    offers = [o for o in session.store.offers(eng.key) if o.expires > session.now]
    said = {o.id: competed(session, o.id) for o in offers}
    moved = {}
    for sb in blocks:
        went = [d.get("calendar") for _, kind, d in session.store.history(sb.block.uid) if kind == "calendar_changed"]
        if went and went[-1]:
            moved[sb.block.uid] = str(went[-1])
    return Status(eng, blocks, booked, delivered, cut, session.store.remainder(eng.key), offers,
                  {k: v for k, v in said.items() if v}, moved)
