"""When each trainer of a team is due: the work spread over the interval and the nightly window.

Every trainer has a fixed offset, a stable hash of its name, so that 200 trainers do not hit their
servers in the same second, and so that every daemon on every machine computes the same slots
without talking to the others. A trainer is due when its last pass started before its latest slot:
a pass that started in the current slot is the pass of this interval, whichever daemon ran it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from blocktime.core.schedule import last_nightly

#: the nightly passes of a team start within this window after the configured nightly time
NIGHTLY_WINDOW = timedelta(minutes=30)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def fraction(name: str) -> float:
    """A stable number in [0, 1) for a trainer's name (the same on every machine and run).

    >>> fraction("anna") == fraction("anna") and 0 <= fraction("anna") < 1
    True
    """
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def offset(name: str, span: timedelta) -> timedelta:
    """The trainer's place in `span`, whole milliseconds."""
    return timedelta(milliseconds=int(fraction(name) * span / timedelta(milliseconds=1)))


def sync_slot(name: str, now: datetime, every: timedelta) -> datetime:
    """The start of the trainer's current sync slot: the latest `epoch + k*every + offset` <= now.

    >>> t = datetime(2026, 3, 20, 9, 0, 7, tzinfo=UTC)
    >>> s = sync_slot("anna", t, timedelta(seconds=10))
    >>> s <= t < s + timedelta(seconds=10)
    True
    """
    off = offset(name, every)
    k = (now - _EPOCH - off) // every
    return _EPOCH + off + k * every


def nightly_slot(name: str, now: datetime, at: time, tz: ZoneInfo, window: timedelta = NIGHTLY_WINDOW) -> datetime:
    """The trainer's latest nightly start <= now: the nightly time of that night plus the trainer's
    offset in the window (added in UTC, so a DST night neither skips nor repeats it)."""
    off = offset(name, window)
    night = last_nightly(now - off, at, tz)
    return night.astimezone(UTC) + off


def next_sync(name: str, now: datetime, every: timedelta) -> datetime:
    return sync_slot(name, now, every) + every


def due(last_start: datetime | None, slot: datetime) -> bool:
    """A pass is due when none started in the current slot (or ever)."""
    return last_start is None or last_start < slot
