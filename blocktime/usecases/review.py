"""The check before sending: every unsent message against the current state (issue 10).

`plan` gathers, for each unsent message, what is true now about its block or offer and asks
`outgoing.decide`; it writes nothing, so `blocktime outbox` and `daemon --status` show what would
go out now. `apply` carries a plan out in one transaction: a withdrawn message never goes out, a
merged one is replaced by the current message (its .eml mirror too), and each is one log line
with times in the organizer's zone. `messages.deliver` runs both right before sending.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blocktime import files
from blocktime.core.model import Interval
from blocktime.store.blocks import StoredBlock
from blocktime.store.mailqueue import MailQueue, Queued, mail_key
from blocktime.usecases.outgoing import (
    BLOCK_KINDS,
    OFFER_KINDS,
    REQUEST,
    RESTATE,
    SEND,
    WITHDRAW,
    BlockNow,
    Current,
    Decision,
    OfferNow,
    decide,
)
from blocktime.usecases.session import Session

log = logging.getLogger("blocktime")

_VERBS = {WITHDRAW: "withdrawn", REQUEST: "merged", RESTATE: "restated"}
_LABELS = {"request": "invitation for", "makeup": "invitation for", "update": "update for",
           "cancel": "cancellation of", "confirm": "confirmation of", "declinecounter": "answer about"}


@dataclass(frozen=True, slots=True)
class Step:
    """One unsent message, the decision about it, and the message to send in its place."""

    queued: Queued
    decision: Decision
    subject: str  # the block's id or the offer's id, for the log line
    instead: Queued | None = None

    @property
    def outgoing(self) -> Queued | None:
        """What goes out for this message now (None: nothing)."""
        if self.decision.action == WITHDRAW:
            return None
        return self.instead or self.queued

    def line(self) -> str:
        """One line for the log: what happened to which message, and why."""
        q = self.queued
        label = _LABELS.get(q.kind, q.kind)
        return f"{_VERBS[self.decision.action]}: {label} {self.subject} to {q.recipient}: {self.decision.why}"

    def json(self) -> dict[str, Any]:
        return {"to": self.queued.recipient, "kind": self.queued.kind, "ref": self.queued.ref,
                "action": _VERBS[self.decision.action], "why": self.decision.why,
                "instead": self.instead.kind if self.instead else None}


def plan(session: Session, queue: MailQueue | None = None) -> list[Step]:
    """A decision for every unsent (waiting or held) message; nothing is written."""
    queue = queue or MailQueue(session.store)
    steps = []
    for q in queue.waiting():
        sb = _block_of(session, q)
        current = _current(session, queue, q, sb)
        decision = decide(q.kind, q.sequence, current)
        instead = None
        if decision.action in (REQUEST, RESTATE) and sb is not None:
            instead = _instead(session, q, sb, decision, current)
            if instead is None:
                decision = Decision(SEND)
        subject = sb.block.id if sb is not None else q.ref.split("@")[0]
        steps.append(Step(q, decision, subject, instead))
    return steps


def apply(session: Session, steps: list[Step], queue: MailQueue | None = None) -> dict[str, str]:
    """Withdraw and replace as `steps` say, in one transaction; returns old key -> new key."""
    from blocktime.usecases.letters import eml_path

    queue = queue or MailQueue(session.store)
    renamed: dict[str, str] = {}
    changes = [st for st in steps if st.decision.action != SEND]
    if not changes:
        return renamed
    with session.store.transaction():
        for st in changes:
            q = st.queued
            if st.decision.action == WITHDRAW:
                queue.withdraw(q.key)
            elif st.instead is not None:
                queue.replace(q, st.instead)
                renamed[q.key] = st.instead.key
            eml_path(session, q.key).unlink(missing_ok=True)
            if st.instead is not None:
                path = eml_path(session, st.instead.key)
                files.write(path.parent, path.name, st.instead.message.decode("ascii"))
    for st in changes:
        log.info("%s", st.line())
    return renamed


def outgoing(session: Session) -> list[Queued]:
    """What would go out now: every unsent message that is still true, as it would be sent."""
    return [q for st in plan(session) if (q := st.outgoing) is not None]


def _block_of(session: Session, q: Queued) -> StoredBlock | None:
    if q.kind not in BLOCK_KINDS:
        return None
    uid: str | None = q.ref
    if q.kind == "declinecounter":  # keyed by the proposal it answers
        from blocktime.store.attendance import Attendance

        counter = Attendance(session.store).counter(q.ref)
        uid = counter.uid if counter is not None else None
    return session.store.block(uid) if uid else None


def _current(session: Session, queue: MailQueue, q: Queued, sb: StoredBlock | None) -> Current:
    now, tz = session.now, session.config.organizer.timezone
    if q.kind in OFFER_KINDS:
        o = session.store.offer(q.ref)
        return Current(now, tz, offer=None if o is None else OfferNow(o.id, o.state, o.expires))
    if sb is None:
        return Current(now, tz)
    block = BlockNow(sb.block.id, sb.state, sb.sequence, sb.block.span, sb.block.makeup_for is not None)
    last = queue.last_invite(sb.block.uid, q.recipient)
    told = None if last is None else (last[0], _span_of(last[1]) if q.kind == "update" else None)
    remembered = last is not None or q.kind != "cancel" or queue.remembers(sb.block.uid, q.recipient)
    return Current(now, tz, block=block, told=told, remembered=remembered)


def _instead(session: Session, q: Queued, sb: StoredBlock, decision: Decision, current: Current) -> Queued | None:
    """The current REQUEST (or the update restated with what the client got as "before")."""
    from blocktime.ics.event import EventFacts
    from blocktime.mail.imip import compose
    from blocktime.usecases.letters import addresses, block_calendar, block_letter

    eng = session.store.engagement(sb.block.engagement)
    if eng is None:
        return None
    if decision.action == REQUEST:
        kind, old = ("makeup" if sb.block.makeup_for else "request"), None
    else:
        kind, old = "update", current.told[1] if current.told else None
    facts = EventFacts(sb.block, eng, session.config.organizer, sb.sequence, session.now)
    who = addresses(session)
    key = mail_key(kind, sb.block.uid, sb.sequence, q.recipient)
    text = block_letter(kind, facts, old=old)
    data = compose(text, who=who, recipient=q.recipient, key=key, stamp=session.now,
                   calendar=block_calendar(kind, facts, who.sender))
    return Queued(key, sb.block.uid, kind, sb.sequence, q.recipient, text.subject, data, q.created, q.state)


def _span_of(message: bytes | None) -> Interval | None:
    """DTSTART and DTEND of the invitation a sent message carried (None when it cannot be read)."""
    if message is None:
        return None
    import email
    import email.policy

    from icalendar import Calendar

    try:
        msg = email.message_from_bytes(message, policy=email.policy.default)
        for part in msg.walk():
            if part.get_content_type() == "text/calendar":
                payload = part.get_payload(decode=True)
                if not isinstance(payload, bytes):
                    return None
                ev: Any = Calendar.from_ical(payload).walk("VEVENT")[0]
                start, end = ev["DTSTART"].dt, ev["DTEND"].dt
                return Interval(start, end) if isinstance(start, datetime) and isinstance(end, datetime) else None
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return None
