"""Everything that happened to an engagement or one block, in order: what blocktime did and why
(booked, moved, cut short with its reason, nobody came, offers made, replaced, lapsed, withdrawn,
picks and answers, edits seen in other calendar apps), the mail queued and sent about it, and the
answers read from the inbox. Read from the store only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from blocktime.errors import BadInput
from blocktime.store.mailqueue import MailQueue
from blocktime.store.offers import OFFER_STATES
from blocktime.usecases.books import ALL_STATES
from blocktime.usecases.engagements import resolve
from blocktime.usecases.session import Session
from blocktime.usecases.terms import engagement_note


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    kind: str
    about: str  # a block id, an offer id, the engagement key, or a recipient for mail
    detail: dict[str, Any] = field(default_factory=dict)


def history(session: Session, ref: str) -> tuple[str, list[Event]]:
    """(what it is about, its events oldest first) for a block (id or UID) or an engagement."""
    sb = session.store.block(ref)
    if sb is not None:
        blocks, title = [sb], f"block {sb.block.id}"
        key = sb.block.engagement
    else:
        try:
            eng = resolve(session, ref)
        except BadInput:
            raise BadInput(f"no block or engagement {ref!r}",
                           "see `blocktime engagements` and `agenda --all`") from None
        key, title = eng.key, f"engagement {eng.key}"
        blocks = session.store.blocks(key, ALL_STATES)
    ids = {b.block.uid: b.block.id for b in blocks}
    offers = [o for o in session.store.offers(key, (*OFFER_STATES, "withdrawn")) if sb is None or o.source_uid in ids]
    names = {**ids, **{o.id: o.id for o in offers}, **({} if sb is not None else {key: key})}
    events = [Event(datetime.fromisoformat(at), kind, names.get(uid, uid), detail)
              for uid, at, kind, detail in session.store.histories(list(names))]
    queue = MailQueue(session.store)
    for ref_ in names:
        for q in queue.about(ref_):
            events.append(Event(q.created, f"mail {q.kind} queued", q.recipient,
                                {"subject": q.subject, "state": q.state}))
        for _key, recipient, at in queue.sent(ref_):
            events.append(Event(at, "mail sent", recipient, {"about": names[ref_]}))
    # the engagement's own notes (the close message, statements) and the answers to picks of its offers
    prefixes = [f"pick-{o.id}-" for o in offers] + ([f"close-{key}", f"statement-{key}-"] if sb is None else [])
    for prefix in prefixes:
        for q in queue.about_prefix(prefix):
            if not (prefix.startswith("pick-") or engagement_note(key, q.ref)):
                continue  # `statement-acme-` also begins `statement-acme-hq-1`
            events.append(Event(q.created, f"mail {q.kind} queued", q.recipient,
                                {"subject": q.subject, "state": q.state}))
            events += [Event(at, "mail sent", rcpt, {"about": key}) for _k, rcpt, at in queue.sent(q.ref)
                       if rcpt == q.recipient]
    for row in session.store.answers_about(list(ids.values()), [o.id for o in offers]):
        events.append(Event(datetime.fromisoformat(row["at"]), f"mail read: {row['action']}", row["sender"],
                            {"offer": row["offer"], "option": row["option"], "block": row["block"],
                             "reason": row["reason"]}))
    events.sort(key=lambda e: e.at)
    return title, events
