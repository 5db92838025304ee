"""`agenda`: the booked blocks of a time range with their engagements, from the local store only."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from blocktime.core.model import Engagement
    from blocktime.store.blocks import StoredBlock
    from blocktime.usecases.session import Session


def agenda(session: Session, start: datetime | None, end: datetime | None) -> list[tuple[StoredBlock, Engagement]]:
    """Booked blocks in [start, end) from the local store (no server round trip)."""
    out = []
    engagements: dict[str, Engagement | None] = {}  # one query per engagement, not per block
    for sb in session.store.blocks():
        if start is not None and sb.block.span.end <= start:
            continue
        if end is not None and sb.block.span.start >= end:
            continue
        key = sb.block.engagement
        eng = engagements[key] if key in engagements else engagements.setdefault(key, session.store.engagement(key))
        if eng is not None:
            out.append((sb, eng))
    return out
