"""An engagement's books for `engagements` (and, later, `report` and `statement`): its blocks and
the remainder of its ledger read from the store, summed by `core.books`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from blocktime.core.books import Books, Entry, books
from blocktime.core.model import Engagement
from blocktime.store.blocks import StoredBlock
from blocktime.usecases.engagements import resolve
from blocktime.usecases.session import Session

#: every state a block can be in (the books leave cancelled ones out)
ALL_STATES = ("pending", "booked", "cut_short", "no_show", "cancelled")


@dataclass(frozen=True, slots=True)
class EngagementBooks:
    engagement: Engagement
    books: Books
    contract_min: int | None
    closed: datetime | None
    offers: tuple[str, ...]
    blocks: tuple[StoredBlock, ...] = ()  # what the books were summed from, in every state

    @property
    def state(self) -> str:
        return "closed" if self.closed is not None else "active"


def entry(sb: StoredBlock, now: datetime, covered: dict[str, int] | None = None) -> Entry:
    """One stored block as the books see it (`covered`: the make-ups' minutes from the ledger)."""
    planned = int((sb.planned_end - sb.block.span.start).total_seconds() // 60)
    return Entry(sb.state, planned, sb.delivered_min, sb.planned_end <= now, sb.block.makeup_for is not None,
                 (covered or {}).get(sb.block.uid))


def covered(session: Session, key: str) -> dict[str, int]:
    """Make-up block UID -> the remainder minutes the ledger took off for it."""
    out: dict[str, int] = {}
    for minutes, kind, ref in session.store.ledger(key):
        if kind == "makeup":
            out[ref] = out.get(ref, 0) - minutes
    return out


def engagement_books(session: Session, key: str) -> EngagementBooks:
    eng = resolve(session, key)
    blocks = session.store.blocks(eng.key, ALL_STATES)
    contract, closed = session.store.terms(eng.key)
    offers = tuple(o.id for o in session.store.offers(eng.key) if o.expires > session.now)
    made = covered(session, eng.key)
    return EngagementBooks(eng, books([entry(sb, session.now, made) for sb in blocks],
                                      session.store.remainder(eng.key)), contract, closed, offers, tuple(blocks))


def all_books(session: Session, *, closed_too: bool = False) -> list[EngagementBooks]:
    """Every engagement's books (active ones only unless `closed_too`), by key."""
    out = [engagement_books(session, e.key) for e in session.store.engagements()]
    return [b for b in out if closed_too or b.closed is None]
