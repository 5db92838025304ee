"""The mail outbox and the log of sent mail, kept in the store (tables mail_outbox and mail_sent).

Every message has a key that says what it is for: `kind:ref:sequence:recipient` (an invite for
SEQUENCE 2 of a block to one attendee). A key is queued at most once and sent at most once: the
sent log is checked before every send and written right after the server accepted the message.

States: `waiting` goes out with the next send; `held` (queued with --no-send) goes out only with
`blocktime outbox send` or the command that queued it; `sent`; `superseded` by a newer message
about the same block; `withdrawn` or `merged` when the check before sending (`outgoing`) found it
no longer true.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blocktime.store.store import Store

WAITING = "waiting"
SENT = "sent"
SUPERSEDED = "superseded"
HELD = "held"
WITHDRAWN = "withdrawn"
MERGED = "merged"
UNSENT = (WAITING, HELD)  # what may still go out
INVITES = ("request", "makeup", "update", "cancel")
NEXT_SEQ = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM mail_outbox)"  # queue order (was SQLite's rowid)


def mail_key(kind: str, ref: str, sequence: int, recipient: str) -> str:
    return f"{kind}:{ref}:{sequence}:{recipient.lower()}"


@dataclass(frozen=True, slots=True)
class Queued:
    """One message for one recipient, whole (RFC 5322 bytes), with its state."""

    key: str
    ref: str
    kind: str
    sequence: int
    recipient: str
    subject: str
    message: bytes
    created: datetime
    state: str = WAITING
    attempts: int = 0
    last_error: str | None = None


class MailQueue:
    """Queries on the two tables; the caller holds the store's transaction where it matters."""

    def __init__(self, store: Store) -> None:
        self.db = store.db

    def _row(self, row: Any) -> Queued:
        return Queued(row["key"], row["ref"], row["kind"], row["sequence"], row["recipient"], row["subject"],
                      bytes(row["message"]), datetime.fromisoformat(row["created"]), row["state"],
                      row["attempts"], row["last_error"])

    def known(self, key: str) -> bool:
        """Queued (in any state) or sent already."""
        return self.db.execute("SELECT 1 FROM mail_sent WHERE key=? UNION ALL SELECT 1 FROM mail_outbox WHERE key=?",
                               (key, key)).fetchone() is not None  # one round trip

    def was_sent(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM mail_sent WHERE key=?", (key,)).fetchone() is not None

    def add(self, q: Queued) -> bool:
        """Queue `q`; False (and nothing written) when its key is known already."""
        if self.known(q.key):
            return False
        self.db.execute(
            "INSERT INTO mail_outbox(key, ref, kind, sequence, recipient, subject, message, created, state, seq)"
            f" VALUES (?,?,?,?,?,?,?,?,?,{NEXT_SEQ})",
            (q.key, q.ref, q.kind, q.sequence, q.recipient.lower(), q.subject, q.message,
             q.created.isoformat(), q.state if q.state in UNSENT else WAITING),
        )
        return True

    def supersede(self, ref: str, recipient: str, below: int) -> list[Queued]:
        """Unsent messages about `ref` for `recipient` older than SEQUENCE `below`: a newer one
        replaces them (an unsent REQUEST need not go out before its own update)."""
        marks = ",".join("?" for _ in UNSENT)
        rows = [self._row(r) for r in self.db.execute(
            f"SELECT * FROM mail_outbox WHERE ref=? AND recipient=? AND sequence<? AND state IN ({marks})",
            (ref, recipient.lower(), below, *UNSENT))]
        for q in rows:
            self.db.execute("UPDATE mail_outbox SET state=? WHERE key=?", (SUPERSEDED, q.key))
        return rows

    def hold(self, keys: Iterable[str]) -> None:
        """Keep these waiting messages back until `blocktime outbox send` (--no-send)."""
        for key in keys:
            self.db.execute("UPDATE mail_outbox SET state=? WHERE key=? AND state=?", (HELD, key, WAITING))

    def withdraw(self, key: str) -> None:
        """No longer true to send (see `outgoing`): it stays in the table, never goes out."""
        self.db.execute("UPDATE mail_outbox SET state=? WHERE key=?", (WITHDRAWN, key))

    def replace(self, old: Queued, new: Queued) -> None:
        """Send `new` instead of `old` (a current REQUEST, or an update restated); the new message
        keeps the old one's state (held stays held). The same key is rewritten in place."""
        if new.key == old.key:
            self.db.execute("UPDATE mail_outbox SET kind=?, sequence=?, subject=?, message=? WHERE key=?",
                            (new.kind, new.sequence, new.subject, new.message, old.key))
            return
        self.db.execute("UPDATE mail_outbox SET state=? WHERE key=?", (MERGED, old.key))
        self.db.execute(
            "INSERT INTO mail_outbox(key, ref, kind, sequence, recipient, subject, message, created, state, seq)"
            f" VALUES (?,?,?,?,?,?,?,?,?,{NEXT_SEQ}) ON CONFLICT(key) DO UPDATE SET ref=excluded.ref,"
            " kind=excluded.kind, sequence=excluded.sequence, recipient=excluded.recipient,"
            " subject=excluded.subject, message=excluded.message, created=excluded.created, state=excluded.state,"
            " seq=excluded.seq, attempts=0, last_error=NULL",
            (new.key, new.ref, new.kind, new.sequence, new.recipient.lower(), new.subject, new.message,
             old.created.isoformat(), old.state),
        )

    def remembers(self, ref: str, recipient: str) -> bool:
        """The outbox holds an invitation about `ref` for `recipient`, in any state (a store
        rebuilt by `repair` from a lost file does not)."""
        return self.db.execute(
            "SELECT 1 FROM mail_outbox WHERE ref=? AND recipient=? AND kind IN (?, ?, ?) LIMIT 1",
            (ref, recipient.lower(), "request", "makeup", "update")).fetchone() is not None

    def last_invite(self, ref: str, recipient: str) -> tuple[int, bytes | None] | None:
        """The highest SEQUENCE of an invitation (REQUEST or update) about `ref` that went to
        `recipient`, from the sent log, with the message when the outbox still holds it."""
        best: tuple[int, bytes | None] | None = None
        suffix = f":{recipient.lower()}"
        prefixes = [f"{kind}:{ref}:" for kind in ("request", "makeup", "update")]
        ranges = [bound for p in prefixes for bound in (p, p + "\U0010ffff")]  # keys that start with p (index)
        found: dict[str, bytes | None] = {
            r[0]: None if r[1] is None else bytes(r[1]) for r in self.db.execute(
                "SELECT s.key, o.message FROM mail_sent s LEFT JOIN mail_outbox o ON o.key = s.key"
                " WHERE (s.key >= ? AND s.key < ?) OR (s.key >= ? AND s.key < ?) OR (s.key >= ? AND s.key < ?)",
                ranges)}
        for prefix in prefixes:  # one query; ties go to the first kind, as before
            for key in sorted(found):
                middle = key[len(prefix):-len(suffix)] if key.startswith(prefix) and key.endswith(suffix) else ""
                if middle.isdigit() and (best is None or int(middle) > best[0]):
                    best = (int(middle), found[key])
        return best

    def about_prefix(self, prefix: str) -> list[Queued]:
        """Every message queued about a ref that starts with `prefix` (notes about an engagement)."""
        return [self._row(r) for r in self.db.execute(
            "SELECT * FROM mail_outbox WHERE substr(ref, 1, ?) = ? ORDER BY created, seq", (len(prefix), prefix))]

    def about(self, ref: str) -> list[Queued]:
        """Every message queued about `ref` (a block UID, an offer…), oldest first."""
        return [self._row(r) for r in self.db.execute("SELECT * FROM mail_outbox WHERE ref=? ORDER BY created, seq",
                                                      (ref,))]

    def get(self, key: str) -> Queued | None:
        r = self.db.execute("SELECT * FROM mail_outbox WHERE key=?", (key,)).fetchone()
        return None if r is None else self._row(r)

    def waiting(self, keys: Iterable[str] | None = None, *, held: bool = True) -> list[Queued]:
        """Unsent messages, oldest first: only `keys` when given; without the held ones unless `held`."""
        states = UNSENT if held else (WAITING,)
        marks = ",".join("?" for _ in states)
        rows = [self._row(r) for r in self.db.execute(
            f"SELECT * FROM mail_outbox WHERE state IN ({marks}) ORDER BY created, seq", states)]
        if keys is not None:
            wanted = set(keys)
            rows = [q for q in rows if q.key in wanted]
        return rows

    def mark_sent(self, key: str, message_id: str, recipient: str, at: datetime) -> None:
        self.db.execute("INSERT INTO mail_sent(key, message_id, recipient, at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
                        (key, message_id, recipient.lower(), at.isoformat()))
        self.db.execute("UPDATE mail_outbox SET state=?, attempts=attempts+1, last_error=NULL WHERE key=?",
                        (SENT, key))

    def mark_failed(self, key: str, error: str) -> None:
        self.db.execute("UPDATE mail_outbox SET attempts=attempts+1, last_error=? WHERE key=?", (error, key))

    def first_invite(self, ref: str, sequence: int) -> datetime | None:
        """When the invite (REQUEST or update) for this SEQUENCE of `ref` was first queued."""
        marks = ",".join("?" for _ in INVITES)
        r = self.db.execute(
            f"SELECT MIN(created) AS c FROM mail_outbox WHERE ref=? AND sequence=? AND kind IN ({marks})",
            (ref, sequence, *INVITES)).fetchone()
        return datetime.fromisoformat(r["c"]) if r and r["c"] else None

    def sent(self, ref: str | None = None) -> list[tuple[str, str, datetime]]:
        """(key, recipient, at) from the sent log, oldest first."""
        sql = "SELECT s.key, s.recipient, s.at FROM mail_sent s"
        args: tuple[str, ...] = ()
        if ref is not None:
            sql += " JOIN mail_outbox o ON o.key = s.key WHERE o.ref=?"
            args = (ref,)
        return [(r[0], r[1], datetime.fromisoformat(r[2])) for r in self.db.execute(sql + " ORDER BY s.at", args)]
