"""What blocktime has promised besides its blocks: the slots open offers hold. An offer is a promise
to a client, so whatever is planned (a booking, an offer, a move, an acceptance) counts every held
slot like a booked block at its site: overlaps, the day limit, travel and buffers all apply.

The options of one offer are alternatives: planning one of them, or a new offer that replaces
them, leaves that offer's holds out (`besides`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta

from blocktime.core.model import Busy, Engagement, Held, Interval, Reason
from blocktime.usecases.calendar import log, read_busy
from blocktime.usecases.engagements import planning_policy
from blocktime.usecases.session import Session


def promised(session: Session, busy: Sequence[Busy], *, besides: Collection[str] = ()) -> list[Busy]:
    """`busy` (from the calendars) with every open offer's holds as blocks at their site, except
    the holds of offers in `besides`. The calendar copy of a hold (an opaque event without a site)
    gives way to it; a copy someone moved in their calendar stays busy where it now is."""
    holds = session.store.holds(states=("pending", "held"))
    if not holds:
        return list(busy)
    offers = {o.id: o for o in session.store.offers()}
    stored = {(h.uid, h.span.start, h.span.end) for h in holds}
    out = [b for b in busy if (b.uid, b.span.start, b.span.end) not in stored]
    engagements: dict[str, tuple[str, str] | None] = {}
    for h in holds:
        offer = offers.get(h.offer)
        if offer is None or offer.id in besides or offer.expires <= session.now:
            continue  # closed or ending: its holds are being released
        if offer.engagement not in engagements:
            eng = session.store.engagement(offer.engagement)
            engagements[offer.engagement] = (eng.client, eng.site) if eng else None
        known = engagements[offer.engagement]
        if known is None:
            continue
        client, site = known
        out.append(Busy(h.span, h.uid, f"held for {client}", site, Held(offer.id, h.number, client, offer.expires)))
    out.sort(key=lambda b: (b.span.start, b.span.end, b.uid))
    return out


def refusals(session: Session, eng: Engagement, span: Interval, uid: str, *, notice: timedelta = timedelta(0),
             besides: Collection[str] = ()) -> tuple[list[Reason], list[str]]:
    """Every reason `span` cannot hold event `uid` of `eng` now: busy time read around it (that
    event itself excluded), other offers' holds (those of `besides` excluded), every policy rule
    (working and site hours, travel by pair, buffers, the day limit) and `notice`."""
    from blocktime.core.intervals import Timeline
    from blocktime.core.series import check, onsite_per_day

    policy, tz = planning_policy(session), session.config.organizer.timezone
    reach = policy.reach
    around = read_busy(session, span.start - reach, span.end + reach)
    busy = [b for b in promised(session, around, besides=besides) if b.uid != uid]
    return check(span, site=eng.site, uid=uid, tz=tz, policy=policy, site_hours=eng.site_hours,
                 busy=Timeline(busy, lambda b: b.span), onsite_per_day=onsite_per_day(busy, tz),
                 notice=notice, now=session.now)


@dataclass(frozen=True, slots=True)
class Competition:
    """How many of the options an offer would have made are held for other offers, and by which."""

    lost: int
    wanted: int
    held_by: tuple[str, ...]

    def text(self, offer: str, offered: int) -> str:
        by = ", ".join(self.held_by) or "other offers"
        if offered < self.wanted:
            return (f"offer {offer}: only {offered} of {self.wanted} options; {self.lost} of its best times are "
                    f"held for {by}")
        return f"offer {offer}: {self.lost} of its {self.wanted} best times are held for {by}; offered others"

    def keep(self, session: Session, offer: str, offered: int) -> None:
        """Keep it for `status` (in the transaction that records the offer) and say it in the log."""
        session.store.log(offer, session.now, "competed", lost=self.lost, wanted=self.wanted, offered=offered,
                          held_by=list(self.held_by))
        log.warning("%s", self.text(offer, offered))


def no_slot(found: Competition | None, engagement: str) -> None:
    """Say in the log that other offers' holds took the times an offer could have had."""
    if found is not None and found.lost:
        log.warning("no slot for %s: %d time(s) it could have had are held for %s", engagement, found.lost,
                    ", ".join(found.held_by) or "other offers")


def competed(session: Session, offer: str) -> str | None:
    """What `Competition.keep` kept for `offer`, in words (None: it lost nothing)."""
    for _, kind, detail in session.store.history(offer):
        if kind == "competed":
            held_by = detail.get("held_by")
            by = tuple(str(x) for x in held_by) if isinstance(held_by, list) else ()
            lost, wanted, offered = (int(str(detail.get(k, 0))) for k in ("lost", "wanted", "offered"))
            return Competition(lost, wanted, by).text(offer, offered)
    return None
