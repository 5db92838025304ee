"""The advance confirmation: a short, friendly note before each block ("Just confirming our session
on …; could we keep this time free of other commitments?"), so the client can plan around it.

It is due `[messages] confirm_before` ahead of the block: N working days (days on which the policy
has working hours; same time of day, so a Thursday 12:00 block is confirmed on Tuesday at 12:00),
or a plain duration such as 48h. `blocktime confirmations` (and the daemon) prepare what is due.
Idempotent: one message per block, SEQUENCE and attendee (the mail key), so re-runs never send it
twice, while a moved block (new SEQUENCE) is confirmed again. A block whose invitation for this
SEQUENCE itself went out after the due time is skipped: that invitation is fresh news already.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from blocktime.config.schema import Lead
from blocktime.core.series import local
from blocktime.notes.wording import moment_text

if TYPE_CHECKING:
    from blocktime.store.blocks import StoredBlock
    from blocktime.usecases.session import Session


def due(start: datetime, lead: Lead, working_days: frozenset[int], tz: ZoneInfo) -> datetime:
    """When the confirmation of a block starting at `start` is due.

    >>> from zoneinfo import ZoneInfo
    >>> waw = ZoneInfo("Europe/Warsaw")
    >>> due(datetime(2026, 3, 30, 12, tzinfo=waw), Lead(2), frozenset(range(5)), waw).isoformat()
    '2026-03-26T12:00:00+01:00'
    """
    if lead.duration is not None:
        return (start.astimezone(UTC) - lead.duration).astimezone(tz)
    here = start.astimezone(tz)
    day, counted = here.date(), 0
    while counted < lead.working_days:
        day -= timedelta(days=1)
        if not working_days or day.weekday() in working_days:
            counted += 1
    wall = datetime.combine(day, here.time())
    return local(wall, tz) or (wall + timedelta(hours=1)).replace(tzinfo=tz)  # in a DST gap: after it


@dataclass(frozen=True, slots=True)
class Prepared:
    block: StoredBlock
    due: datetime
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Skipped:
    block: StoredBlock
    due: datetime
    why: str


def prepare(session: Session) -> tuple[list[Prepared], list[Skipped]]:
    """Queue the confirmation of every booked block that is due and has not started.
    A block whose confirmation every attendee has already (the usual case on the next passes)
    is passed over before anything is composed: with nothing to queue, no mail module is imported."""
    from blocktime.store.mailqueue import MailQueue, mail_key

    if session.has_pending():
        from blocktime.usecases.pending import finish_pending

        finish_pending(session)
    tz = session.config.organizer.timezone
    days = frozenset(w.weekday for w in session.config.policy.working_hours.windows)
    queue = MailQueue(session.store)
    prepared: list[Prepared] = []
    skipped: list[Skipped] = []
    closed = session.store.closed_keys()
    for sb in session.store.blocks(states=("booked",)):
        if sb.block.engagement in closed:
            continue  # a closed engagement gets no confirmations
        start = sb.block.span.start
        when = due(start, session.config.confirm_before, days, tz)
        if not when <= session.now < start:
            continue
        invited = queue.first_invite(sb.block.uid, sb.sequence)
        if invited is not None and invited >= when:
            skipped.append(Skipped(sb, when, f"its invitation went out {moment_text(invited, tz)}, after the due time"))
            continue
        stored = session.store.engagement(sb.block.engagement)
        if stored is not None and all(queue.known(mail_key("confirm", sb.block.uid, sb.sequence, rcpt))
                                      for rcpt in stored.attendees):
            continue  # queue_block would compose them and queue none
        from blocktime.ics.event import EventFacts
        from blocktime.usecases.messages import queue_block
        from blocktime.usecases.offers import load_engagement

        eng = load_engagement(session, sb.block.engagement)
        facts = EventFacts(sb.block, eng, session.config.organizer, sb.sequence, session.now)
        with session.store.transaction():
            keys = queue_block(session, "confirm", facts)
            if keys:
                session.store.log(sb.block.uid, session.now, "confirmation", sequence=sb.sequence, due=when)
        if keys:
            prepared.append(Prepared(sb, when, tuple(keys)))
    return prepared, skipped
