"""An engagement's terms and its end: the contracted hours, the language of its notes, who is
invited (`engagement set`), and closing it (`engagement close`): its open offers withdrawn with one
message, holds released, future blocks kept or cancelled, the history kept. A closed engagement
gets no offers and no confirmations."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from blocktime.config.inputs import is_address
from blocktime.errors import BadInput
from blocktime.store.blocks import StoredBlock
from blocktime.usecases.engagements import resolve
from blocktime.usecases.session import Session


@dataclass(frozen=True, slots=True)
class Closed:
    key: str
    withdrawn: tuple[str, ...]  # offers
    cancelled: tuple[str, ...]  # blocks
    kept: tuple[str, ...]  # future blocks left booked


def is_closed(session: Session, key: str) -> bool:
    return session.store.terms(key)[1] is not None


def set_terms(session: Session, key: str, *, contract: timedelta | None = None, language: str | None = None,
              add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> None:
    """Change an engagement's contracted hours, language or attendees: a new attendee is invited
    to every future block, one taken off gets a CANCEL for each; later messages follow the list."""
    from blocktime.notes import LANGUAGES

    eng = resolve(session, key)
    if language is not None and language not in LANGUAGES:
        raise BadInput(f"--language {language!r} is not one of {', '.join(LANGUAGES)}")
    for a in add:
        if not is_address(a):
            raise BadInput(f"attendee {a!r} is not an e-mail address")
    have = {a.lower() for a in eng.attendees}
    unknown = [a for a in remove if a.lower() not in have]
    if unknown:
        raise BadInput(f"{unknown[0]} is not an attendee of {eng.key}", f"attendees: {', '.join(eng.attendees)}")
    gone = {a.lower() for a in remove}
    kept: dict[str, str] = {}
    for a in (*eng.attendees, *add):  # one each, compared without case, the first spelling kept
        if a.lower() not in gone:
            kept.setdefault(a.lower(), a)
    attendees = tuple(kept.values())
    if not attendees:
        raise BadInput(f"{eng.key} would have no attendee left")
    from blocktime.ics.event import EventFacts
    from blocktime.store.mailqueue import MailQueue
    from blocktime.usecases.messages import queue_block

    added = tuple(a for a in add if a.lower() not in have)
    now_eng = replace(eng, attendees=attendees, language=language or eng.language)
    future = [sb for sb in session.store.blocks(eng.key, ("booked",)) if sb.block.span.start > session.now]
    org = session.config.organizer
    with session.store.transaction():
        session.store.set_terms(eng.key, contract_min=None if contract is None else int(contract.total_seconds() // 60),
                                language=language, attendees=attendees if add or remove else None)
        session.store.log(eng.key, session.now, "terms", contract_min=None if contract is None else
                          int(contract.total_seconds() // 60), language=language, added=list(add), removed=list(remove))
        if remove:  # whatever still waits for them (invitations, offers, notes) goes nowhere now
            queue = MailQueue(session.store)
            for q in queue.waiting():
                if q.recipient.lower() in gone and _about(session, eng.key, q.ref):
                    queue.withdraw(q.key)
        for sb in future:  # a new attendee is invited to what is ahead; one taken off gets a CANCEL (RFC 5546 §3.2.5)
            if added:
                queue_block(session, "request", EventFacts(sb.block, now_eng, org, sb.sequence, session.now), to=added,
                            again=True)
            if remove:
                off = replace(eng, attendees=tuple(remove))
                queue_block(session, "cancel", EventFacts(sb.block, off, org, sb.sequence, session.now,
                                                          status="CANCELLED"), to=tuple(remove))
    if add or remove:  # also when re-run after a failure here: the invitations are queued already
        _relist(session, future, attendees, tuple(remove), now_eng.language)


def _relist(session: Session, future: list[StoredBlock], invite: tuple[str, ...], uninvite: tuple[str, ...],
            language: str) -> None:
    """The calendar copy of every block ahead lists whom it was sent to, as the invitations do
    (If-Match; an edit made meanwhile is re-read and kept). A re-run of the same `engagement set`
    changes nothing more."""
    from blocktime.ics.event import patch_event
    from blocktime.usecases.calendar import update_event

    for sb in future:
        uid = sb.block.uid
        etag = update_event(session, sb.href, uid, lambda text, uid=uid: patch_event(
            text, uid, invite=invite, uninvite=uninvite, language=language))
        with session.store.transaction():
            session.store.mark(uid, sb.state, etag=etag)


def _about(session: Session, key: str, ref: str) -> bool:
    """Whether a queued message's `ref` belongs to engagement `key` (a block, an offer, a note)."""
    sb = session.store.block(ref)
    if sb is not None:
        return sb.block.engagement == key
    offer = session.store.offer(ref)
    if offer is not None:
        return offer.engagement == key
    return engagement_note(key, ref)


def engagement_note(key: str, ref: str) -> bool:
    """Whether `ref` names a note about engagement `key` itself: its close message or a statement
    (`statement-acme-hq-1` is not about `acme`)."""
    import re

    return ref == f"close-{key}" or re.fullmatch(rf"statement-{re.escape(key)}-\d+", ref) is not None


def close(session: Session, key: str, *, cancel_future: bool = False) -> Closed:
    """Close an engagement: open offers withdrawn (one message), future blocks cancelled only when
    asked (with CANCELs). Closing a closed one again finishes what a stopped run left."""
    from blocktime.notes import render
    from blocktime.store.mailqueue import MailQueue
    from blocktime.usecases.changes import cancel
    from blocktime.usecases.messages import tell
    from blocktime.usecases.offers import release
    from blocktime.usecases.pending import finish_pending

    finish_pending(session)
    eng = resolve(session, key)
    offers = session.store.offers(eng.key)
    # a run stopped after withdrawing left offers `withdrawn` and no message yet: they count again
    # (only closing withdraws an offer, so every withdrawn offer of a closed engagement is one of these)
    closed_before = is_closed(session, eng.key)
    stopped = session.store.offers(eng.key, ("withdrawn",)) if closed_before else []
    with session.store.transaction():
        if not closed_before:
            session.store.set_terms(eng.key, closed=session.now)
            session.store.log(eng.key, session.now, "closed", cancel_future=cancel_future)
    for o in offers:
        release(session, o.id)
        with session.store.transaction():
            session.store.set_offer(o.id, "withdrawn")
            session.store.log(o.source_uid, session.now, "offer_withdrawn", offer=o.id, why="engagement closed")
    future = [sb for sb in session.store.blocks(eng.key, ("booked",)) if sb.block.span.start > session.now]
    queue = MailQueue(session.store)
    told = [o for o in (*offers, *stopped) if queue.sent(o.id)]  # offers the client really got
    if told:
        rest = {("en", True): "The sessions already booked stay as they are.",
                ("pl", True): "Zaplanowane sesje pozostają bez zmian.",
                ("en", False): "Thank you for the work together.", ("pl", False): "Dziękuję za współpracę."}
        text = render("withdrawn", eng.language, client=eng.client, organizer=session.config.organizer.name,
                      rest=rest[(eng.language if eng.language in ("en", "pl") else "en",
                                 bool(future) and not cancel_future)]) + "\n"
        tell(session, eng, "withdrawn", f"close-{eng.key}", text)
    cancelled = []
    if cancel_future:
        for sb in future:
            cancel(session, sb.block.uid, drop_minutes=True)
            cancelled.append(sb.block.id)
    kept = () if cancel_future else tuple(sb.block.id for sb in future)
    return Closed(eng.key, tuple(o.id for o in offers), tuple(cancelled), kept)
