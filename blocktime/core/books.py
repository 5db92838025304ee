"""The books of an engagement: planned, delivered, lost (cut short, or nobody came), made-up and
remaining minutes, from its blocks and the remainder its ledger holds. Pure: the same blocks give
the same books.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: block states that were never held (cancelled) do not count; these do
COUNTED = ("pending", "booked", "cut_short", "no_show")


@dataclass(frozen=True, slots=True)
class Entry:
    """One block as the books see it: its state, planned minutes, the minutes it really ran when it
    was cut short, whether its planned end has passed, and whether it makes up for another."""

    state: str
    planned: int
    delivered: int | None = None
    ended: bool = False
    makeup: bool = False
    covered: int | None = None  # a make-up: the remainder minutes it was booked for (it may run longer)

    @property
    def ran(self) -> int:
        """The minutes delivered: all of a block that ended as planned, what a cut-short one ran."""
        if self.state == "cut_short":
            return self.delivered or 0
        return self.planned if self.state == "booked" and self.ended else 0

    @property
    def lost(self) -> int:
        """The minutes an early end or an absence took (the remainder offered for them)."""
        if self.state == "cut_short":
            return max(self.planned - (self.delivered or 0), 0)
        return self.planned if self.state == "no_show" else 0


@dataclass(frozen=True, slots=True)
class Books:
    blocks: int
    planned: int
    delivered: int
    lost: int
    made_up: int
    remaining: int


def books(entries: Iterable[Entry], remaining: int) -> Books:
    """The books of one engagement (`remaining`: what its ledger still owes).

    A make-up counts as made up for the minutes it covered (it is rounded up to the slot grid):

    >>> b = books([Entry("booked", 90, ended=True), Entry("cut_short", 90, 65, True),
    ...            Entry("no_show", 90, ended=True), Entry("booked", 30, ended=True, makeup=True, covered=25),
    ...            Entry("cancelled", 90), Entry("booked", 90)], remaining=90)
    >>> (b.blocks, b.planned, b.delivered, b.lost, b.made_up, b.remaining)
    (5, 390, 185, 115, 25, 90)
    """
    counted = [e for e in entries if e.state in COUNTED]
    return Books(
        blocks=len(counted),
        planned=sum(e.planned for e in counted),
        delivered=sum(e.ran for e in counted),
        lost=sum(e.lost for e in counted),
        made_up=sum(min(e.ran, e.planned if e.covered is None else e.covered) for e in counted if e.makeup),
        remaining=remaining,
    )
