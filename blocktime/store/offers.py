"""Offers as the store keeps them: the options held on the calendar (holds), their state, and the
times a client declined.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blocktime.core.model import Interval
from blocktime.store.blocks import Records

#: every state an offer has once made, but "withdrawn" (an offer its engagement's closing took back)
OFFER_STATES = ("open", "accepted", "declined", "expired", "replanned", "replaced")


@dataclass(frozen=True, slots=True)
class StoredOffer:
    id: str
    engagement: str
    source_uid: str
    minutes: int
    length_min: int
    created: datetime
    expires: datetime
    state: str
    chosen: int | None
    makeup_uid: str | None
    replaced_by: str | None = None


@dataclass(frozen=True, slots=True)
class StoredHold:
    uid: str
    offer: str
    number: int
    span: Interval
    href: str
    etag: str | None
    state: str


class OfferRecords(Records):
    """The offers, holds and declined tables."""

    # offers and holds -------------------------------------------------------------------
    def _offer(self, r: Any) -> StoredOffer:
        return StoredOffer(r["id"], r["engagement"], r["source_uid"], r["minutes"], r["length_min"],
                           datetime.fromisoformat(r["created"]), datetime.fromisoformat(r["expires"]),
                           r["state"], r["chosen"], r["makeup_uid"], r["replaced_by"])

    def offer(self, offer_id: str) -> StoredOffer | None:
        r = self.db.execute("SELECT * FROM offers WHERE id=?", (offer_id,)).fetchone()
        return None if r is None else self._offer(r)

    def offers(self, engagement: str | None = None, states: tuple[str, ...] = ("open",)) -> list[StoredOffer]:
        return [self._offer(r) for r in self._select("offers", states, ("engagement", engagement), "created, id")]

    def next_offer_id(self, engagement: str) -> str:
        n = self.db.execute("SELECT COUNT(*) AS n FROM offers WHERE engagement=?", (engagement,)).fetchone()
        return f"{engagement}-o{int(n['n']) + 1}"

    def add_offer(self, o: StoredOffer) -> None:
        self.db.execute(
            "INSERT INTO offers(id, engagement, source_uid, minutes, length_min, created, expires, state)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (o.id, o.engagement, o.source_uid, o.minutes, o.length_min, o.created.isoformat(),
             o.expires.isoformat(), o.state),
        )

    def set_offer(self, offer_id: str, state: str, chosen: int | None = None, makeup_uid: str | None = None,
                  replaced_by: str | None = None) -> None:
        self.db.execute(
            "UPDATE offers SET state=?, chosen=COALESCE(?, chosen), makeup_uid=COALESCE(?, makeup_uid),"
            " replaced_by=COALESCE(?, replaced_by) WHERE id=?", (state, chosen, makeup_uid, replaced_by, offer_id),
        )

    def add_declined(self, engagement: str, span: Interval, offer: str, at: datetime) -> None:
        """An option the client turned down: later offers for the engagement skip it."""
        self.db.execute(
            "INSERT INTO declined(engagement, start, \"end\", offer, at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
            (engagement, span.start.isoformat(), span.end.isoformat(), offer, at.isoformat()),
        )

    def declined(self, engagement: str) -> list[Interval]:
        return [Interval(datetime.fromisoformat(r["start"]), datetime.fromisoformat(r["end"]))
                for r in self.db.execute("SELECT start, \"end\" FROM declined WHERE engagement=? ORDER BY start",
                                         (engagement,))]

    def add_hold(self, h: StoredHold) -> None:
        self.db.execute(
            "INSERT INTO holds(uid, offer, number, start, \"end\", href, state) VALUES (?,?,?,?,?,?,?)",
            (h.uid, h.offer, h.number, h.span.start.isoformat(), h.span.end.isoformat(), h.href, h.state),
        )

    def holds(self, offer: str | None = None, states: tuple[str, ...] = ("pending", "held")) -> list[StoredHold]:
        return [
            StoredHold(r["uid"], r["offer"], r["number"],
                       Interval(datetime.fromisoformat(r["start"]), datetime.fromisoformat(r["end"])),
                       r["href"], r["etag"], r["state"])
            for r in self._select("holds", states, ("offer", offer), "offer, number")
        ]

    def set_hold(self, uid: str, state: str, etag: str | None = None) -> None:
        self.db.execute("UPDATE holds SET state=?, etag=COALESCE(?, etag) WHERE uid=?", (state, etag, uid))
