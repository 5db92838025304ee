"""Planning an offer: the slot search for an engagement's remainder against busy time from every
calendar, the policy and the times the client declined; why a day has no slot; and where an
engagement stands (`status`). Nothing here writes; `offers` applies what is planned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from blocktime.core.model import Engagement
from blocktime.core.slots import Candidate, SlotQuery, candidates, makeup_length, usual_start
from blocktime.store.blocks import StoredBlock
from blocktime.store.offers import StoredOffer
from blocktime.usecases.calendar import read_busy
from blocktime.usecases.engagements import resolve
from blocktime.usecases.session import Session

#: what an offer imports once its slots are found (its message, pick links, the outbox): imported
#: while busy time is read
OFFERING = ("blocktime.usecases.messages", "blocktime.mail.imip", "blocktime.mail.picks", "blocktime.usecases.outgoing",
            "blocktime.usecases.review", "blocktime.notes", "babel.dates")


def slot_query(session: Session, eng: Engagement, length: timedelta, again: bool = False) -> SlotQuery:
    """The search for `eng`: busy time from every calendar over the horizon, usual start, site days,
    and the options the client declined before (offered again only when `again`)."""
    policy = session.config.policy
    tz = session.config.organizer.timezone
    reach = policy.reach
    busy = read_busy(session, session.now - reach, session.now + policy.horizon + reach, then=OFFERING)
    blocks = [sb.block for sb in session.store.blocks()]
    own = [b for b in blocks if b.engagement == eng.key and not b.makeup_for]
    return SlotQuery(
        engagement=eng, length=length, now=session.now, tz=tz, policy=policy, busy=busy,
        usual=usual_start(own, tz),
        site_days=frozenset(b.span.start.astimezone(tz).date() for b in blocks if b.site == eng.site),
        declined=() if again else tuple(session.store.declined(eng.key)),
    )


def why(session: Session, engagement: str, day: date, length: timedelta | None) -> list[Candidate]:
    """Every candidate of `day` for the engagement's make-up, with refusal reasons."""
    eng = resolve(session, engagement)
    remaining = session.store.remainder(eng.key)
    if length is None:
        length = makeup_length(timedelta(minutes=remaining), session.config.policy, eng.length) or eng.length
    return candidates(slot_query(session, eng, length), day)


@dataclass(frozen=True, slots=True)
class Status:
    engagement: Engagement
    blocks: list[StoredBlock]
    booked: int
    delivered: int
    cut_short: int
    remaining: int
    offers: list[StoredOffer]


def status(session: Session, engagement: str) -> Status:
    eng = resolve(session, engagement)
    blocks = session.store.blocks(eng.key)
    booked = sum(int((sb.planned_end - sb.block.span.start).total_seconds() // 60) for sb in blocks)
    delivered = 0
    for sb in blocks:
        if sb.state == "cut_short":
            delivered += sb.delivered_min or 0
        elif sb.block.span.end <= session.now:
            delivered += int(sb.block.span.duration.total_seconds() // 60)
    cut = sum(sb.remaining_min or 0 for sb in blocks if sb.state == "cut_short")
    return Status(eng, blocks, booked, delivered, cut, session.store.remainder(eng.key),
                  [o for o in session.store.offers(eng.key) if o.expires > session.now])
