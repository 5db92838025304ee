"""Checks shared by the fault tests: what the real server holds, and whether the store agrees."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import icalendar

from tests.helpers import backend
from tests.servers import Account
from tests.stores import StoreDB


@dataclass(frozen=True)
class ServerObject:
    href: str
    etag: str | None
    uids: tuple[str, ...]
    data: str


def server_objects(account: Account, calendar: str = "blocktime") -> dict[str, ServerObject]:
    """Every object of one calendar, read straight from the server (never through a proxy)."""
    b = backend(account)
    try:
        for cal in b.calendars():
            if cal.name == calendar:
                out = {}
                for o in b.list_range(cal, datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)):
                    uids = tuple(str(e["UID"]) for e in icalendar.Calendar.from_ical(o.data).walk("VEVENT"))
                    out[o.href] = ServerObject(o.href, o.etag, uids, o.data)
                return out
        return {}
    finally:
        b.close()


def rows(data_dir: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    db = StoreDB(data_dir)
    try:
        return [tuple(r) for r in db.execute(sql, args)]
    finally:
        db.close()


def assert_consistent(account: Account, data_dir: Path, *, blocks: int, holds: int = 0) -> dict[str, ServerObject]:
    """Exactly `blocks` live blocks and `holds` held holds, on the server and in the store alike:
    no duplicate UID, no object the store does not know, nothing pending, every recorded href
    holding that UID with the ETag the store remembers; one REQUEST invite per block."""
    objects = server_objects(account)
    uids = Counter(u for o in objects.values() for u in o.uids)
    assert all(n == 1 for n in uids.values()), f"duplicate UIDs on the server: {uids.most_common(3)}"
    assert all(len(o.uids) == 1 for o in objects.values())
    live = rows(data_dir, "SELECT uid, href, etag, state FROM blocks WHERE state IN ('pending','booked','cut_short')")
    held = rows(data_dir, "SELECT uid, href, etag, state FROM holds WHERE state IN ('pending','held')")
    assert [r for r in live + held if r[3] == "pending"] == [], "work left pending"
    assert len(live) == blocks, f"{len(live)} blocks in the store, expected {blocks}"
    assert len(held) == holds, f"{len(held)} holds in the store, expected {holds}"
    for uid, href, etag, _state in live + held:
        assert href in objects, f"{uid} is recorded at {href}, which the server does not hold"
        assert objects[href].uids == (uid,)
        assert etag == objects[href].etag, f"stale ETag for {uid}"
    assert set(objects) == {str(r[1]) for r in live + held}, "objects on the server the store does not know"
    invites = Counter(p.name for p in (data_dir / "outbox").glob("*-request.ics"))
    assert len(invites) >= blocks  # one per block and SEQUENCE
    for uid, *_ in live:
        assert any(name.startswith(str(uid).split("@")[0] + "-seq") for name in invites), f"no invite for {uid}"
    return objects
