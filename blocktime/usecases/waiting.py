"""Mail kept for the organizer (see `answers`): listed by `status`, `offers` and `daemon --status`
until the organizer dismisses it."""

from __future__ import annotations

from typing import Any

from blocktime.errors import BadInput
from blocktime.mail.triage import KEPT, Handled
from blocktime.usecases.answers import row
from blocktime.usecases.session import Session


def waiting(session: Session) -> list[Handled]:
    """Messages kept for the organizer, oldest first."""
    rows = session.store.db.execute("SELECT * FROM inbox_messages WHERE action=? AND state='done' ORDER BY at",
                                    (KEPT,)).fetchall()
    return [Handled(r["message_id"], r["sender"], r["subject"], r["action"], r["offer"], r["option"], r["block"],
                    r["reason"]) for r in rows]


def dismiss(session: Session, message_id: str) -> Handled:
    """The organizer has dealt with a kept message: it is no longer listed as waiting."""
    found = row(session, message_id)
    if found is None:  # the id as text shows it, without its angle brackets (RFC 5322 §3.6.4)
        message_id = f"<{message_id.strip().strip('<>')}>"
        found = row(session, message_id)
    if found is None or found["action"] != KEPT or found["state"] != "done":
        raise BadInput(f"no message {message_id!r} waits for you", "`blocktime status` or `offers` lists them")
    with session.store.transaction():
        session.store.db.execute("UPDATE inbox_messages SET state='dismissed' WHERE message_id=?", (message_id,))
    return Handled(found["message_id"], found["sender"], found["subject"], KEPT, found["offer"], found["option"],
                   None, found["reason"])


def waiting_for(session: Session, engagement: str | None = None) -> list[dict[str, Any]]:
    """`waiting` as JSON, for one engagement's attendees and offers (all when None)."""
    from blocktime.ics.itip import address

    out = []
    eng = session.store.engagement(engagement) if engagement else None
    people = {address(a) for a in eng.attendees} if eng else set()
    for h in waiting(session):
        offer = session.store.offer(h.offer) if h.offer else None
        if eng is None or h.sender in people or (offer is not None and offer.engagement == eng.key):
            out.append(h.json())
    return out
