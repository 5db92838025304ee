"""The letters about a block: what each attendee is told (the text in the engagement's language and,
for invitations, updates and cancellations, the calendar part), and where each message's .eml copy
waits in the outbox. Composing only: `messages` queues and sends, `review` checks before sending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from blocktime.core.model import Interval
from blocktime.store.mailqueue import INVITES, mail_key
from blocktime.usecases.session import Session

if TYPE_CHECKING:
    from blocktime.ics.event import EventFacts  # (icalendar: not for a pass that only counts the outbox)
    from blocktime.mail.imip import Addresses, Letter  # (email, smtplib: not for a pass with nothing to send)

CALENDAR_KINDS = (*INVITES, "declinecounter")


def addresses(session: Session) -> Addresses:
    from blocktime.mail.imip import Addresses

    org = session.config.organizer
    return Addresses(org.name, session.config.sender, org.email)


def block_letter(kind: str, facts: EventFacts, *, old: Interval | None = None,
                 proposed: Interval | None = None) -> Letter:
    """The subject and text of a message about one block (template `mail_<kind>`)."""
    from blocktime.mail.imip import letter
    from blocktime.notes import minutes, render, when

    eng, org = facts.engagement, facts.organizer
    lang, tz, span = eng.language, org.timezone, facts.block.span
    values = {"client": eng.client, "site": eng.site, "organizer": org.name,
              "length": minutes(int(span.duration.total_seconds() // 60), lang),
              **when(span.start, span.end, tz, lang)}
    for prefix, other in (("old", old), ("proposed", proposed)):
        if other is not None:
            values.update({f"{prefix}_{k}": v for k, v in when(other.start, other.end, tz, lang).items()})
    return letter(render(f"mail_{kind}", lang, **values), lang)


def block_calendar(kind: str, facts: EventFacts, sender: str, attendee: str = "", note: str = "") -> str | None:
    """The iTIP part of a message about one block, or None for a plain message."""
    from blocktime.ics import itip

    if kind in ("request", "makeup", "update"):
        return itip.request(facts, sent_by=sender)
    if kind == "cancel":
        return itip.cancel(facts, sent_by=sender)
    if kind == "declinecounter":
        return itip.decline_counter(facts, attendee, note, sent_by=sender)
    return None


@dataclass(frozen=True, slots=True)
class Composed:
    """Message `kind` about one block, composed for each recipient before the transaction that
    queues it (`compose_block` touches no store), so booking can compose it in its writer threads
    while other PUTs are in flight; `queue_block` then only records it."""

    kind: str
    ref: str
    sequence: int
    subject: str
    messages: dict[str, bytes]  # recipient as given -> the whole message


def compose_block(session: Session, kind: str, facts: EventFacts, *, old: Interval | None = None,
                  proposed: Interval | None = None, to: tuple[str, ...] | None = None, note: str = "",
                  ref: str | None = None, invite: str | None = None) -> Composed:
    """Message `kind` about a block for every attendee (or `to`), composed and not queued.
    `invite` is the block's plain REQUEST (`itip.request(facts)`) when the caller has it: it is the
    mailed calendar part too unless a different sender needs SENT-BY, so it is not built twice."""
    from blocktime.ics.itip import address
    from blocktime.mail.imip import compose

    who = addresses(session)
    text = block_letter(kind, facts, old=old, proposed=proposed)
    if invite is not None and kind in ("request", "makeup") and address(who.sender) == address(facts.organizer.email):
        shared: str | None = invite  # itip.request adds SENT-BY only for another sender: the same text
    else:
        shared = None if kind == "declinecounter" else block_calendar(kind, facts, who.sender)  # same for everyone
    out: dict[str, bytes] = {}
    for rcpt in to if to is not None else facts.engagement.attendees:
        key = mail_key(kind, ref or facts.block.uid, facts.sequence, rcpt)
        cal = shared if kind != "declinecounter" else block_calendar(kind, facts, who.sender, rcpt, note)
        out[rcpt] = compose(text, who=who, recipient=rcpt, key=key, stamp=session.now, calendar=cal)
    return Composed(kind, ref or facts.block.uid, facts.sequence, text.subject, out)


def mail_dir(session: Session) -> Path:
    return session.config.outbox / "mail"


def eml_path(session: Session, key: str) -> Path:
    kind, ref, sequence, rcpt = key.split(":", 3)
    name = re.sub(r"[^A-Za-z0-9@._-]+", "_", f"{kind}-{ref.split('@')[0]}-seq{sequence}-{rcpt}")
    return mail_dir(session) / f"{name}.eml"
