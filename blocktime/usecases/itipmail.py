"""Attendees' iTIP answers that arrive by mail (RFC 6047): a REPLY is recorded as `import-reply`
records it; a COUNTER is recorded, and moved to only when `[inbox] auto_accept_counter` is on and
the proposed time passes every check a move passes. The ATTENDEE answering must be the mail's
sender: nobody answers for someone else."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from blocktime.errors import BadInput, BlocktimeError, ServerError
from blocktime.usecases.session import Session

if TYPE_CHECKING:
    from blocktime.mail.triage import Handled


def record(session: Session, base: Handled, calendar: str) -> Handled:
    """Apply every answer in `calendar`; `base` is the message's entry to complete."""
    from blocktime.ics.itip import Answer, read_itip
    from blocktime.usecases.replies import accept_counter, apply_answer, record_counter

    try:
        _method, items = read_itip(calendar, session.config.organizer.timezone)
    except BadInput as exc:
        return replace(base, action="kept", reason=f"an unreadable calendar answer ({exc.message})")
    if not items:
        return replace(base, action="kept", reason="a calendar answer with nothing in it")
    notes: list[str] = []
    action = "reply"
    block: str | None = None
    for it in items:
        if it.attendee != base.sender:
            return replace(base, action="kept", reason=f"the answer is for {it.attendee}, the mail comes from"
                                                       f" {base.sender}: not recorded")
        try:
            out = apply_answer(session, it) if isinstance(it, Answer) else record_counter(session, it)
        except ServerError:
            raise
        except BlocktimeError as exc:
            return replace(base, action="kept", reason=f"not recorded: {exc.message}")
        block = out.block.block.id
        if out.kind == "answer":
            notes.append(f"{it.attendee} {(out.partstat or '').lower()} {block}" + ("" if out.applied
                                                                                   else f" ({out.why})"))
            continue
        if not out.applied or out.counter is None:
            notes.append(f"proposal for {block} not recorded ({out.why})")
            action = "kept"
            continue
        if not (session.config.inbox and session.config.inbox.auto_accept_counter):
            notes.append(f"proposal {out.counter.id} for {block} waits: accept-counter or decline-counter")
            action = "kept"
            continue
        try:
            _c, moved = accept_counter(session, out.counter.id)
        except ServerError:
            raise
        except BlocktimeError as exc:
            notes.append(f"proposal {out.counter.id} kept: {exc.message}")
            action = "kept"
            continue
        notes.append(f"{block} moved to the proposed time")
        block = moved.block.id
        action = "counter-accepted"
    return replace(base, action=action, block=block, reason="; ".join(notes))
