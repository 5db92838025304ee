"""Attendees' answers (iTIP REPLY) and proposed new times (COUNTER), as the store keeps them.

One answer per block and attendee: the newest wins (higher SEQUENCE, then later DTSTAMP). A
proposal stays `open` until the organizer accepts or declines it, or the block changes under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blocktime.store.store import Store


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    uid: str
    attendee: str
    partstat: str
    sequence: int
    stamp: datetime | None
    note: str
    received: datetime


@dataclass(frozen=True, slots=True)
class StoredCounter:
    id: str
    uid: str
    attendee: str
    sequence: int
    start: datetime
    end: datetime
    note: str
    stamp: datetime | None
    received: datetime
    state: str


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


class Attendance:
    def __init__(self, store: Store) -> None:
        self.db = store.db

    # answers ------------------------------------------------------------------------------------
    def _answer(self, r: Any) -> StoredAnswer:
        return StoredAnswer(r["uid"], r["attendee"], r["partstat"], r["sequence"], _dt(r["stamp"]),
                            r["note"] or "", datetime.fromisoformat(r["received"]))

    def answer(self, uid: str, attendee: str) -> StoredAnswer | None:
        r = self.db.execute("SELECT * FROM answers WHERE uid=? AND attendee=?", (uid, attendee.lower())).fetchone()
        return None if r is None else self._answer(r)

    def answers(self, uid: str) -> dict[str, StoredAnswer]:
        return {r["attendee"]: self._answer(r) for r in self.db.execute("SELECT * FROM answers WHERE uid=?", (uid,))}

    def set_answer(self, a: StoredAnswer) -> None:
        self.db.execute(
            "INSERT INTO answers(uid, attendee, partstat, sequence, stamp, note, received)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT(uid, attendee) DO UPDATE SET partstat=excluded.partstat,"
            " sequence=excluded.sequence, stamp=excluded.stamp, note=excluded.note, received=excluded.received",
            (a.uid, a.attendee.lower(), a.partstat, a.sequence, _iso(a.stamp), a.note, a.received.isoformat()),
        )

    # proposals ----------------------------------------------------------------------------------
    def _counter(self, r: Any) -> StoredCounter:
        return StoredCounter(r["id"], r["uid"], r["attendee"], r["sequence"], datetime.fromisoformat(r["start"]),
                             datetime.fromisoformat(r["end"]), r["note"] or "", _dt(r["stamp"]),
                             datetime.fromisoformat(r["received"]), r["state"])

    def counter(self, counter_id: str) -> StoredCounter | None:
        r = self.db.execute("SELECT * FROM counters WHERE id=?", (counter_id,)).fetchone()
        return None if r is None else self._counter(r)

    def counters(self, states: tuple[str, ...] = ("open",)) -> list[StoredCounter]:
        marks = ",".join("?" for _ in states)
        return [self._counter(r) for r in self.db.execute(
            f"SELECT * FROM counters WHERE state IN ({marks}) ORDER BY received, id", states)]

    def same_counter(self, uid: str, attendee: str, sequence: int, start: datetime,
                     stamp: datetime | None) -> StoredCounter | None:
        same_stamp = "stamp IS NULL" if stamp is None else "stamp=?"
        r = self.db.execute(
            f"SELECT * FROM counters WHERE uid=? AND attendee=? AND sequence=? AND start=? AND {same_stamp}",
            (uid, attendee.lower(), sequence, start.isoformat(), *(() if stamp is None else (_iso(stamp),)))
        ).fetchone()
        return None if r is None else self._counter(r)

    def next_counter_id(self, block_id: str) -> str:
        n = self.db.execute("SELECT COUNT(*) FROM counters WHERE id LIKE ?", (f"{block_id}-c%",)).fetchone()[0]
        return f"{block_id}-c{int(n) + 1}"

    def add_counter(self, c: StoredCounter) -> None:
        self.db.execute(
            "INSERT INTO counters(id, uid, attendee, sequence, start, \"end\", note, stamp, received, state)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (c.id, c.uid, c.attendee.lower(), c.sequence, c.start.isoformat(), c.end.isoformat(), c.note,
             _iso(c.stamp), c.received.isoformat(), c.state),
        )

    def set_counter(self, counter_id: str, state: str) -> None:
        self.db.execute("UPDATE counters SET state=? WHERE id=?", (state, counter_id))
