"""The consultant's books for invoicing (`report`): per client and period (month, ISO week, or the
whole engagement), the blocks, planned, delivered, lost (cut short, nobody came), made-up and
remaining minutes. A block counts in the period its start falls in (the organizer's zone); the
remaining minutes are the engagement's remainder as it stood at the period's end (the last row's: as it
stands now, or at the end of `--to`), minutes lost in a session counting from that session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from blocktime.core.books import COUNTED, Books, books
from blocktime.core.model import wall
from blocktime.store.blocks import StoredBlock
from blocktime.usecases.books import covered, entry
from blocktime.usecases.engagements import same
from blocktime.usecases.session import Session

BY = ("month", "week", "engagement")


@dataclass(frozen=True, slots=True)
class Row:
    client: str
    engagement: str
    period: str
    books: Books


def _period(day: date, by: str) -> tuple[str, date]:
    """(label, first day after it) of the period `day` is in."""
    if by == "month":
        nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return f"{day:%Y-%m}", nxt
    year, week, weekday = day.isocalendar()
    return f"{year}-W{week:02d}", day + timedelta(days=8 - weekday)


def report(session: Session, *, start: date | None = None, end: date | None = None, client: str | None = None,
           by: str = "month") -> list[Row]:
    """The rows, by client, engagement and period; `end` is the last day included."""
    tz = session.config.organizer.timezone
    rows: list[Row] = []
    if client is not None and not any(same(e.client) == same(client) for e in session.store.engagements()):
        from blocktime.errors import BadInput

        raise BadInput(f"no client {client!r}", "see `blocktime engagements --all`")
    for eng in session.store.engagements():
        if client is not None and same(eng.client) != same(client):
            continue
        blocks = [sb for sb in session.store.blocks(eng.key, COUNTED)  # a period of cancelled blocks only has no row
                  if (start is None or _day(sb, session) >= start) and (end is None or _day(sb, session) <= end)]
        made = covered(session, eng.key)
        groups: dict[str, list[StoredBlock]] = {}
        ends: dict[str, datetime] = {}
        for sb in blocks:
            if by == "engagement":
                label, until = "all", session.now
            else:
                label, after = _period(_day(sb, session), by)
                until = min(wall(after, time(0), tz), session.now)
            groups.setdefault(label, []).append(sb)
            ends[label] = until
        if groups:  # the last row holds the remainder as it stands now (or at the end of --to)
            last = max(groups)
            ends[last] = session.now if end is None else min(wall(end + timedelta(days=1), time(0), tz), session.now)
        for label, members in sorted(groups.items()):
            if by == "engagement":
                label = f"{min(_day(sb, session) for sb in members)} – {max(_day(sb, session) for sb in members)}"
            rows.append(Row(eng.client, eng.key, label, books(
                [entry(sb, session.now, made) for sb in members], session.store.remainder_at(eng.key, ends[
                    "all" if by == "engagement" else label]))))
    return sorted(rows, key=lambda r: (r.client.casefold(), r.engagement, r.period))


def _day(sb: StoredBlock, session: Session) -> date:
    return sb.block.span.start.astimezone(session.config.organizer.timezone).date()


def totals(rows: list[Row]) -> Books:
    """The sums of every column but `remaining` (a running figure: the last row's per engagement)."""
    last: dict[str, int] = {}
    for r in rows:
        last[r.engagement] = r.books.remaining
    return Books(sum(r.books.blocks for r in rows), sum(r.books.planned for r in rows),
                 sum(r.books.delivered for r in rows), sum(r.books.lost for r in rows),
                 sum(r.books.made_up for r in rows), sum(last.values()))
