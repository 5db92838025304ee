"""What to tell whom, and when it leaves: invites, updates, cancellations, offers and confirmations.

Each message is rendered per attendee in the engagement's language, queued in the store in the
same transaction as the change it reports (so a crash never loses or doubles it), mirrored as an
.eml file in `<outbox>/mail/` while it waits, and sent by `deliver` when [smtp] is configured.
Right before sending, every unsent message is checked against the current state (`review`), and
what --no-send kept back waits for `blocktime outbox send` (or the command that queued it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from blocktime.core.model import Engagement, Interval
from blocktime.store.mailqueue import HELD, INVITES, WAITING, MailQueue, Queued, mail_key
from blocktime.usecases.letters import (
    Composed,
    addresses,
    compose_block,
    eml_path,
)
from blocktime.usecases.session import Session

if TYPE_CHECKING:
    from blocktime.ics.event import EventFacts  # (icalendar: not for a pass that only counts the outbox)
    from blocktime.usecases.review import Step

log = logging.getLogger("blocktime")


def queue_block(session: Session, kind: str, facts: EventFacts, *, old: Interval | None = None,
                proposed: Interval | None = None, to: tuple[str, ...] | None = None, note: str = "",
                ref: str | None = None, composed: Composed | None = None, again: bool = False) -> list[str]:
    """Queue message `kind` about a block for every attendee (or `to`); call inside the
    transaction that records the change. `ref` names what it answers (default: the block's UID).
    `composed` is what `compose_block` made ahead with the same arguments (else composed here).
    `again`: a recipient who had this message before (then a CANCEL: taken off and invited again)
    gets it once more under a key of its own. Returns the keys queued now."""
    if composed is None:
        composed = compose_block(session, kind, facts, old=old, proposed=proposed, to=to, note=note, ref=ref)
    queue = MailQueue(session.store)
    keys = []
    for rcpt, data in composed.messages.items():
        key = mail_key(kind, composed.ref, facts.sequence, rcpt)
        n = 1
        while again and queue.known(key):
            n += 1
            key = f"{mail_key(kind, composed.ref, facts.sequence, rcpt)}#{n}"
        if queue.known(key):
            continue
        state = WAITING
        if kind in INVITES:
            for gone in queue.supersede(facts.block.uid, rcpt, facts.sequence):
                eml_path(session, gone.key).unlink(missing_ok=True)
                state = HELD if gone.state == HELD else state  # what --no-send kept back stays held
        keys += _add(session, queue, Queued(key, composed.ref, kind, facts.sequence, rcpt, composed.subject,
                                            data, session.now, state))
    return keys


def queue_note(session: Session, eng: Engagement, kind: str, ref: str, rendered: str) -> list[str]:
    """Queue a plain message (an offer, a carry-over, a request for times) to every attendee."""
    from blocktime.mail.imip import compose, letter

    who = addresses(session)
    text = letter(rendered, eng.language)
    queue = MailQueue(session.store)
    keys = []
    for rcpt in eng.attendees:
        key = mail_key(kind, ref, 0, rcpt)
        if not queue.known(key):
            data = compose(text, who=who, recipient=rcpt, key=key, stamp=session.now)
            keys += _add(session, queue, Queued(key, ref, kind, 0, rcpt, text.subject, data, session.now))
    return keys


def _add(session: Session, queue: MailQueue, q: Queued) -> list[str]:
    if not queue.add(q):
        return []
    path = eml_path(session, q.key)
    from blocktime import files
    files.write(path.parent, path.name, q.message.decode("ascii"))
    session.queued.append(q.key)
    return [q.key]


@dataclass(slots=True)
class Delivery:
    """What happened to the messages of one command: sent, refused, withdrawn (or merged) by the
    check before sending, or waiting in the outbox (`kept` of them held by --no-send)."""

    smtp: bool
    sent: list[Queued] = field(default_factory=list)
    failed: list[tuple[Queued, str]] = field(default_factory=list)
    waiting: int = 0
    error: str | None = None
    held: bool = False
    kept: int = 0
    withdrawn: list[Step] = field(default_factory=list)  # one log line each
    refused: Exception | None = None  # the SMTP server refused the login (a daemon pass ends at it)

    def json(self) -> dict[str, Any]:
        return {
            "sent": [{"to": q.recipient, "kind": q.kind, "subject": q.subject} for q in self.sent],
            "failed": [{"to": q.recipient, "kind": q.kind, "error": why} for q, why in self.failed],
            "waiting": self.waiting,
            "held": self.kept,
            "withdrawn": [st.json() for st in self.withdrawn],
            "error": self.error,
        }


def deliver(session: Session, keys: list[str] | None = None, *, send: bool = True, held: bool = False,
            clock: Callable[[], datetime] | None = None) -> Delivery:
    """Check every unsent message against the current state (withdrawn or merged as `review`
    says), then send the waiting ones over SMTP, once each: the sent log is checked before and
    written right after every message, while this process alone sends this trainer's outbox
    (`exclusive.sending`, on every machine that shares the store). `keys` (a command's own mail) go
    out even when held; without them only waiting mail goes, and held mail too with `held`
    (`blocktime outbox send`). With `send` False the `keys` are held. Each message leaves with the real time as its Date
    (RFC 5322 §3.6.1), from `clock` (default: the wall clock in the organizer's zone)."""
    from blocktime.usecases.outgoing import SEND
    from blocktime.usecases.review import apply, plan

    queue = MailQueue(session.store)
    sends = session.config.sends
    result = Delivery(smtp=sends, held=not send)
    steps = plan(session, queue)
    renamed = apply(session, steps, queue)
    result.withdrawn = [st for st in steps if st.decision.action != SEND]
    if keys is not None:
        keys = [renamed.get(k, k) for k in keys]
        if not send:
            with session.store.transaction():
                queue.hold(keys)
    batch = queue.waiting(keys, held=held or keys is not None)
    if not sends or not send or not batch:
        _count(result, queue)
        return result
    tz = session.config.organizer.timezone
    wall = clock or (lambda: datetime.now(tz))
    from blocktime.errors import LoginRefused
    from blocktime.mail.imip import MailError, Refused, restamp
    from blocktime.mail.sending import open_transport
    from blocktime.team.exclusive import sending

    cfg = session.config
    try:
        with sending(getattr(cfg, "store_url", None), cfg.data_dir, getattr(cfg, "trainer", None)), \
                open_transport(cfg) as transport:
            for q in batch:
                if queue.was_sent(q.key):  # sent by a run that crashed before marking it
                    with session.store.transaction():
                        queue.mark_sent(q.key, _message_id(q), q.recipient, wall())
                    continue
                at = wall()
                try:
                    transport.send(cfg.sender, q.recipient, restamp(q.message, at))
                except Refused as exc:
                    with session.store.transaction():
                        queue.mark_failed(q.key, str(exc))
                    result.failed.append((q, str(exc)))
                    continue
                with session.store.transaction():
                    queue.mark_sent(q.key, _message_id(q), q.recipient, at)
                eml_path(session, q.key).unlink(missing_ok=True)
                result.sent.append(q)
                log.info("sent %s to %s", q.kind, q.recipient)
    except MailError as exc:
        result.error = str(exc)
        result.refused = exc if isinstance(exc, LoginRefused) else None
        done = {q.key for q in result.sent} | {q.key for q, _ in result.failed}
        with session.store.transaction():
            for q in batch:
                if q.key not in done:
                    queue.mark_failed(q.key, exc.message)
    _count(result, queue)
    return result


def _count(result: Delivery, queue: MailQueue) -> None:
    unsent = queue.waiting()
    result.waiting = len(unsent)
    result.kept = sum(q.state == HELD for q in unsent)


def _message_id(q: Queued) -> str:
    import email.parser

    headers = email.parser.BytesHeaderParser().parsebytes(q.message)
    return str(headers.get("Message-ID", ""))


def tell(session: Session, eng: Engagement, kind: str, ref: str, rendered: str) -> list[str]:
    """`queue_note` in a transaction of its own (for use cases that wrote their change already)."""
    with session.store.transaction():
        return queue_note(session, eng, kind, ref, rendered)
