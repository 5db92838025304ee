"""The organizer's zone that booked blocks were planned in, kept in the store, so that a later edit
of `[organizer] timezone` is not silent: booked blocks keep their instants, and in another zone
they show at other hours. A writing command refuses until the change is confirmed
(`blocktime init --confirm-timezone`) or the zone is set back."""

from __future__ import annotations

from datetime import datetime

from blocktime.errors import BadInput
from blocktime.store.store import Store

KEY = "organizer_timezone"


def upcoming(store: Store, now: datetime) -> int:
    return sum(1 for sb in store.blocks() if sb.block.span.end > now)


def check(store: Store, zone: str, now: datetime) -> None:
    """Remember `zone`; refuse (exit 2) when it differs from the one upcoming blocks were booked in."""
    known = store.get_meta(KEY)
    if known != zone and known is not None:
        count = upcoming(store, now)
        if count:
            raise BadInput(f"[organizer] timezone is {zone}, but {count} upcoming block(s) were booked in {known}: "
                           f"they keep their times as booked in {known}, so in {zone} they would show at other hours",
                           f"set the timezone back to {known}, or run `blocktime init --confirm-timezone` to keep "
                           f"{zone}")
    if known != zone:
        confirm(store, zone)


def confirm(store: Store, zone: str) -> None:
    with store.transaction():
        store.set_meta(KEY, zone)
