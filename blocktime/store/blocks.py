"""Booked blocks as the store keeps them: what the server said of each (href, ETag, SEQUENCE), its
state, how it was cut short, its history, and the engagement's minutes (the ledger).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blocktime.core.model import Block, Interval
from blocktime.store.engines import Connection

LIVE = ("pending", "booked", "cut_short", "no_show")


@dataclass(frozen=True, slots=True)
class StoredBlock:
    """A block with what the server told us about it."""

    block: Block
    href: str
    etag: str | None
    sequence: int
    state: str
    planned_end: datetime
    ended_at: datetime | None = None
    delivered_min: int | None = None
    remaining_min: int | None = None
    cut_reason: str | None = None


class Records:
    """What every table's queries share: the connection (SQLite-style SQL on both engines)."""

    db: Connection

    def _select(
        self, table: str, states: tuple[str, ...], where: tuple[str, str | None], order: str
    ) -> Iterator[Any]:
        """Rows of `table` in one of `states`, optionally where column = value, in `order`."""
        marks = ",".join("?" for _ in states)
        sql = f"SELECT * FROM {table} WHERE state IN ({marks})"
        args: list[str] = list(states)
        column, value = where
        if value is not None:
            sql += f" AND {column}=?"
            args.append(value)
        return iter(self.db.execute(f"{sql} ORDER BY {order}", args).fetchall())


class BlockRecords(Records):
    """The blocks table, its history and the minutes ledger."""

    def _row(self, row: Any) -> StoredBlock:
        block = Block(
            engagement=row["engagement"],
            number=row["number"],
            uid=row["uid"],
            span=Interval(datetime.fromisoformat(row["start"]), datetime.fromisoformat(row["end"])),
            site=row["site"],
            makeup_for=row["makeup_for"],
        )
        return StoredBlock(block, row["href"], row["etag"], row["sequence"], row["state"],
                           datetime.fromisoformat(row["planned_end"]),
                           datetime.fromisoformat(row["ended_at"]) if row["ended_at"] else None,
                           row["delivered_min"], row["remaining_min"], row["cut_reason"])

    def blocks(self, engagement: str | None = None, states: tuple[str, ...] = LIVE) -> list[StoredBlock]:
        return [self._row(r) for r in self._select("blocks", states, ("engagement", engagement), "start, uid")]

    def block(self, ref: str) -> StoredBlock | None:
        """By id (`acme-3`) or UID."""
        row = self.db.execute("SELECT * FROM blocks WHERE uid=?", (ref,)).fetchone()
        if row is None and "-" in ref:
            key, _, num = ref.rpartition("-")
            if num.isdigit():
                row = self.db.execute(
                    "SELECT * FROM blocks WHERE engagement=? AND number=?", (key, int(num))
                ).fetchone()
        return None if row is None else self._row(row)

    def next_number(self, engagement: str) -> int:
        row = self.db.execute(
            "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM blocks WHERE engagement=?", (engagement,)
        ).fetchone()
        return int(row["n"])

    def add_pending(self, b: Block, href: str) -> None:
        self.db.execute(
            "INSERT INTO blocks(uid, engagement, number, start, \"end\", planned_end, site, href, state,"
            " makeup_for) VALUES (?,?,?,?,?,?,?,?, 'pending', ?)",
            (b.uid, b.engagement, b.number, b.span.start.isoformat(), b.span.end.isoformat(),
             b.span.end.isoformat(), b.site, href, b.makeup_for),
        )

    def mark(self, uid: str, state: str, etag: str | None = None, sequence: int | None = None) -> None:
        self.db.execute(
            "UPDATE blocks SET state=?, etag=COALESCE(?, etag), sequence=COALESCE(?, sequence)"
            " WHERE uid=?",
            (state, etag, sequence, uid),
        )

    def log(self, uid: str, at: datetime, kind: str, **detail: object) -> None:
        self.db.execute(
            "INSERT INTO history(uid, at, kind, detail) VALUES (?,?,?,?)",
            (uid, at.isoformat(), kind, json.dumps(detail, sort_keys=True, default=str)),
        )

    def histories(self, uids: list[str]) -> list[tuple[str, str, str, dict[str, object]]]:
        """(uid, at, kind, detail) of every row about one of `uids`, in the order written."""
        if not uids:
            return []
        marks = ",".join("?" for _ in uids)
        return [(r["uid"], r["at"], r["kind"], json.loads(r["detail"]))
                for r in self.db.execute(f"SELECT * FROM history WHERE uid IN ({marks}) ORDER BY id", tuple(uids))]

    def history(self, uid: str) -> list[tuple[str, str, dict[str, object]]]:
        return [
            (r["at"], r["kind"], json.loads(r["detail"]))
            for r in self.db.execute("SELECT * FROM history WHERE uid=? ORDER BY id", (uid,))
        ]

    def record_cut(self, uid: str, ended_at: datetime, delivered: int, remaining: int, reason: str) -> None:
        self.db.execute(
            "UPDATE blocks SET state='cut_short', \"end\"=?, ended_at=?, delivered_min=?, remaining_min=?,"
            " cut_reason=? WHERE uid=?",
            (ended_at.isoformat(), ended_at.isoformat(), delivered, remaining, reason, uid),
        )

    def record_no_show(self, uid: str, remaining: int, reason: str) -> None:
        """Nobody came: nothing delivered, every planned minute remains (the event keeps its times)."""
        self.db.execute(
            "UPDATE blocks SET state='no_show', delivered_min=0, remaining_min=?, cut_reason=? WHERE uid=?",
            (remaining, reason, uid),
        )

    def reschedule(self, uid: str, span: Interval, sequence: int, etag: str | None) -> None:
        """A moved block: new times (planned end included) and the SEQUENCE of its new invite."""
        self.db.execute(
            "UPDATE blocks SET start=?, \"end\"=?, planned_end=?, sequence=?, etag=COALESCE(?, etag) WHERE uid=?",
            (span.start.isoformat(), span.end.isoformat(), span.end.isoformat(), sequence, etag, uid),
        )

    # remainder ledger -------------------------------------------------------------------
    def add_minutes(self, engagement: str, minutes: int, kind: str, ref: str, at: datetime) -> None:
        self.db.execute(
            "INSERT INTO ledger(engagement, minutes, kind, ref, at) VALUES (?,?,?,?,?)",
            (engagement, minutes, kind, ref, at.isoformat()),
        )

    def remainder(self, engagement: str) -> int:
        row = self.db.execute(
            "SELECT COALESCE(SUM(minutes), 0) AS m FROM ledger WHERE engagement=?", (engagement,)
        ).fetchone()
        return int(row["m"])

    def remainder_at(self, engagement: str, until: datetime) -> int:
        """The remainder as it stood at `until`: an entry counts from when it was written or, when
        earlier, from the start of the block it is about (minutes lost in a session count from that
        session, even when recorded days later)."""
        total = 0
        for r in self.db.execute("SELECT l.minutes, l.at, b.start FROM ledger l LEFT JOIN blocks b ON b.uid = l.ref"
                                 " WHERE l.engagement=?", (engagement,)):
            at = datetime.fromisoformat(r["at"])
            if r["start"] is not None:
                at = min(at, datetime.fromisoformat(r["start"]))
            total += int(r["minutes"]) if at <= until else 0
        return total

    def ledger(self, engagement: str) -> list[tuple[int, str, str]]:
        return [(r["minutes"], r["kind"], r["ref"]) for r in self.db.execute(
            "SELECT * FROM ledger WHERE engagement=? ORDER BY id", (engagement,))]
