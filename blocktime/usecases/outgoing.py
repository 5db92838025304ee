"""What of the outbox is still true to send: one pure decision per waiting message.

A message is checked against the current state right before it leaves, not when it was queued
(issue 10): mail for an offer no longer open, an invitation for a block cancelled, cut short or
started, and a confirmation for a time that changed are withdrawn; an update whose "before" time
the client never saw is restated (RFC 5546 §2.1.4: an attendee's copy follows the highest
SEQUENCE it got, so a current REQUEST is always a true message). `messages` gathers the state and
applies the decision; this module only decides, so the outbox listing can ask without writing.

>>> from datetime import datetime
>>> from zoneinfo import ZoneInfo
>>> waw = ZoneInfo("Europe/Warsaw")
>>> span = Interval(datetime(2026, 3, 26, 12, tzinfo=waw), datetime(2026, 3, 26, 13, tzinfo=waw))
>>> now = datetime(2026, 3, 20, 9, tzinfo=waw)
>>> moved_twice = BlockNow("acme-1", "booked", 2, span, makeup=False)
>>> decide("update", 2, Current(now, waw, block=moved_twice)).action  # nothing ever went out
'request'
>>> decide("offer", 0, Current(now, waw, offer=OfferNow("acme-o1", "declined", now))).why
'the offer acme-o1 was declined'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from blocktime.core.model import Interval

SEND = "send"
WITHDRAW = "withdraw"
REQUEST = "request"  # one current REQUEST (the first invitation) instead of the queued message
RESTATE = "restate"  # the update again, with the "before" time the client really got

INVITATIONS = ("request", "makeup", "update")  # mail that carries an iTIP REQUEST for a block
BLOCK_KINDS = (*INVITATIONS, "cancel", "confirm", "declinecounter")
OFFER_KINDS = ("offer",)
INVITABLE = ("pending", "booked")


@dataclass(frozen=True, slots=True)
class BlockNow:
    """A block as the store knows it now."""

    id: str
    state: str
    sequence: int
    span: Interval
    makeup: bool


@dataclass(frozen=True, slots=True)
class OfferNow:
    """An offer as the store knows it now."""

    id: str
    state: str
    expires: datetime


@dataclass(frozen=True, slots=True)
class Current:
    """What is true now about the subject of one waiting message, for one recipient.

    `told` is the SEQUENCE and span of the last invitation that recipient really got for the
    block (from the sent log), None when none went out; the span is None when it cannot be read.
    `remembered` says the outbox still knows the block's invitations to that recipient (False
    after a store was rebuilt without them): only then does "none went out" withdraw a CANCEL.
    """

    now: datetime
    tz: tzinfo
    block: BlockNow | None = None
    offer: OfferNow | None = None
    told: tuple[int, Interval | None] | None = None
    remembered: bool = True


@dataclass(frozen=True, slots=True)
class Decision:
    """SEND, WITHDRAW, REQUEST or RESTATE, and why (one line, times in the organizer's zone)."""

    action: str
    why: str = ""


def when(span: Interval, tz: tzinfo) -> str:
    """`Tue 2026-03-24 12:00–13:00` in the organizer's zone, as the tables show it."""
    s, e = span.start.astimezone(tz), span.end.astimezone(tz)
    return f"{s:%a %Y-%m-%d %H:%M}–{e:%H:%M}"


def decide(kind: str, sequence: int, current: Current) -> Decision:
    """Whether message `kind` (about SEQUENCE `sequence` of its block, or 0) is still true to send.

    Kinds this module does not know (notes about a remainder: carried, noslot) are sent as queued.
    """
    if kind in OFFER_KINDS:
        return _offer(current)
    if kind not in BLOCK_KINDS:
        return Decision(SEND)
    b = current.block
    if b is None:
        return Decision(WITHDRAW, "its block is no longer in the store")
    if kind == "cancel":
        if current.told is None and current.remembered:
            return Decision(WITHDRAW, f"{b.id} was cancelled before any invitation for it went out")
        return Decision(SEND)
    if b.state not in INVITABLE:
        return Decision(WITHDRAW, f"{b.id} was {b.state.replace('_', ' ')} ({when(b.span, current.tz)})")
    if b.span.start <= current.now:
        return Decision(WITHDRAW, f"{b.id} has started already ({when(b.span, current.tz)})")
    if kind == "declinecounter":
        return Decision(SEND)
    if sequence < b.sequence:
        return Decision(WITHDRAW, f"{b.id} has changed since (now {when(b.span, current.tz)}, SEQUENCE {b.sequence})")
    if kind != "update":
        return Decision(SEND)
    if current.told is None:
        return Decision(REQUEST, f"no invitation for {b.id} went out yet: one invitation for "
                                 f"{when(b.span, current.tz)} (SEQUENCE {b.sequence}) instead")
    told_sequence, told_span = current.told
    if told_sequence >= sequence:
        return Decision(WITHDRAW, f"this time of {b.id} went out already (SEQUENCE {told_sequence})")
    if told_sequence == sequence - 1:  # the update's "before" is the time they got
        return Decision(SEND)
    if told_span is None:
        return Decision(REQUEST, f"the time before this update never went out: one invitation for "
                                 f"{when(b.span, current.tz)} (SEQUENCE {b.sequence}) instead")
    return Decision(RESTATE, f"the time before this update never went out: the update says "
                             f"{when(told_span, current.tz)} (what the client got) as before")


def _offer(current: Current) -> Decision:
    o = current.offer
    if o is None:
        return Decision(WITHDRAW, "the offer is no longer in the store")
    if o.state != "open":
        return Decision(WITHDRAW, f"the offer {o.id} was {o.state}")
    if o.expires <= current.now:
        expires = o.expires.astimezone(current.tz)
        return Decision(WITHDRAW, f"the offer {o.id} expired {expires:%a %Y-%m-%d %H:%M}")
    return Decision(SEND)
