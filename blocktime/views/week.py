"""The organizer's week (Mon–Sun, organizer's zone) as plain values, ready to be drawn.

`build_week` gathers blocks with their hard end, cut-short blocks (the part delivered and the part
lost), holds of open offers with the offer's answer deadline, make-up blocks, and the other busy
time around them (titles only with `details`). Drawing is done by `views.text` and `views.html`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from blocktime.core.model import Interval, WeeklyHours, wall
from blocktime.errors import BlocktimeError

if TYPE_CHECKING:
    from blocktime.usecases.session import Session

log = logging.getLogger("blocktime.views")

#: the kinds of items, in drawing order (later ones are drawn over earlier ones)
KINDS = ("busy", "hold", "block", "makeup", "cut")


@dataclass(frozen=True, slots=True)
class Item:
    """One thing on the picture. `span` is what was planned; for a cut-short block `ended` is the
    real end (delivered: span.start..ended, lost: ended..span.end)."""

    kind: str
    span: Interval
    title: str
    ref: str = ""
    ended: datetime | None = None
    delivered_min: int | None = None
    lost_min: int | None = None
    offer: str = ""
    deadline: datetime | None = None
    option: int | None = None
    makeup_for: str | None = None

    @property
    def hard_end(self) -> datetime:
        return self.span.end


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    hours: tuple[Interval, ...]
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Week:
    """Seven days from Monday; `axis` is the time of day the picture spans (hours since midnight)."""

    monday: date
    tz: ZoneInfo
    now: datetime
    language: str
    days: tuple[Day, ...]
    axis: tuple[int, int]
    notes: tuple[str, ...] = ()
    details: bool = False

    @property
    def label(self) -> str:
        year, number, _ = self.monday.isocalendar()
        return f"{year}-W{number:02d}"


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def build_week(session: Session, day: date, *, details: bool = False) -> Week:
    """The week that holds `day`, from the store, plus busy time read through `usecases.calendar.read_busy`.
    A calendar that cannot be read leaves the busy time out, with a note (the rest still shows)."""
    cfg = session.config
    tz = cfg.organizer.timezone
    monday = monday_of(day)
    start = wall(monday, time(0), tz)
    end = wall(monday + timedelta(days=7), time(0), tz)
    window = Interval(start, end)
    items: list[Item] = []
    own: set[str] = set()
    for sb in session.store.blocks():
        own.add(sb.block.uid)
        planned = Interval(sb.block.span.start, sb.planned_end)
        if not _overlaps(planned, window):
            continue
        eng = session.store.engagement(sb.block.engagement)
        client = eng.client if eng is not None else sb.block.engagement
        if sb.state in ("cut_short", "no_show"):  # (nobody came: all of it lost)
            ended = sb.block.span.start if sb.state == "no_show" else sb.ended_at or sb.block.span.end
            items.append(Item("cut", planned, client, sb.block.id, ended=ended,
                              delivered_min=sb.delivered_min, lost_min=sb.remaining_min,
                              makeup_for=sb.block.makeup_for))
        else:
            kind = "makeup" if sb.block.makeup_for else "block"
            items.append(Item(kind, planned, client, sb.block.id, makeup_for=sb.block.makeup_for))
    offers = {o.id: o for o in session.store.offers()}
    for h in session.store.holds():
        own.add(h.uid)
        offer = offers.get(h.offer)
        if offer is None or not _overlaps(h.span, window):
            continue
        eng = session.store.engagement(offer.engagement)
        items.append(Item("hold", h.span, eng.client if eng else offer.engagement, f"{h.offer}#{h.number}",
                          offer=h.offer, deadline=offer.expires, option=h.number))
    notes: list[str] = []
    try:
        from blocktime.usecases.calendar import read_busy

        for b in read_busy(session, start, end):
            if b.uid in own:
                continue
            items.append(Item("busy", b.span, b.summary if details else "busy", b.uid if details else ""))
    except BlocktimeError as exc:
        notes.append(f"busy time not shown: {exc.message}")
        log.warning("busy time not shown: %s", exc)
    days = tuple(_day(monday + timedelta(days=i), tz, cfg.policy.working_hours, items) for i in range(7))
    return Week(monday, tz, session.now, cfg.organizer.language, days, _axis(days, tz), tuple(notes), details)


def _overlaps(a: Interval, b: Interval) -> bool:
    return a.start < b.end and b.start < a.end


def _day(day: date, tz: ZoneInfo, hours: WeeklyHours, items: list[Item]) -> Day:
    whole = Interval(wall(day, time(0), tz), wall(day + timedelta(days=1), time(0), tz))
    mine = [i for i in items if _overlaps(i.span, whole)]
    mine.sort(key=lambda i: (i.span.start, KINDS.index(i.kind)))
    return Day(day, tuple(hours.on(day, tz)), tuple(mine))


def _axis(days: tuple[Day, ...], tz: ZoneInfo) -> tuple[int, int]:
    """Whole hours from the earliest start to the latest end of working hours and items (default 8–18)."""
    first, last = 24, 0
    for d in days:
        for span in [*d.hours, *(i.span for i in d.items)]:
            s, e = span.start.astimezone(tz), span.end.astimezone(tz)
            first = min(first, s.hour if s.date() == d.day else 0)
            last = max(last, (e.hour + (1 if e.minute or e.second else 0)) if e.date() == d.day else 24)
    if first >= last:
        return 8, 18
    return first, last


def clip(item: Item, day: Day, week: Week) -> tuple[float, float]:
    """Where an item sits on its day's axis, as fractions 0..1 (clipped to the axis)."""
    return fraction(item.span.start, day, week), fraction(item.span.end, day, week)


def fraction(at: datetime, day: Day, week: Week) -> float:
    lo, hi = week.axis
    local = at.astimezone(week.tz)
    if local.date() < day.day:
        return 0.0
    if local.date() > day.day:
        return 1.0
    hours = local.hour + local.minute / 60 + local.second / 3600
    return min(1.0, max(0.0, (hours - lo) / (hi - lo)))


def relative(at: datetime, now: datetime, language: str = "en") -> str:
    """`in 3 days`, `2 hours ago` / `za 3 dni`, `2 godziny temu` (Babel, CLDR); under a minute
    either way, `now` / `teraz` (never "in 0 seconds"). The language is the output's: blocktime's
    own output is English, whatever the language of the notes.

    >>> from datetime import UTC, timedelta
    >>> t = datetime(2026, 3, 24, 12, tzinfo=UTC)
    >>> relative(t, t), relative(t - timedelta(hours=2), t), relative(t + timedelta(days=1), t, "pl")
    ('now', '2 hours ago', 'za 1 dzień')
    """
    from babel.dates import format_timedelta

    if abs((at - now).total_seconds()) < 60:
        return "teraz" if language == "pl" else "now"
    return str(format_timedelta(at - now, add_direction=True, locale=language))


def hm(at: datetime, tz: ZoneInfo) -> str:
    return f"{at.astimezone(tz):%H:%M}"


def describe(item: Item, week: Week) -> str:
    """One line of text for an item: the same words in the terminal, the HTML page and --json."""
    tz = week.tz
    when = f"{hm(item.span.start, tz)}–{hm(item.span.end, tz)}"
    if item.kind == "block":
        return f"{when} {item.title} ({item.ref}), hard end {hm(item.hard_end, tz)}"
    if item.kind == "makeup":
        return f"{when} make-up for {item.makeup_for}: {item.title} ({item.ref}), hard end {hm(item.hard_end, tz)}"
    if item.kind == "cut":
        ended = item.ended or item.span.end
        return (f"{when} {item.title} ({item.ref}) cut short at {hm(ended, tz)}: {item.delivered_min} min delivered, "
                f"{item.lost_min} min lost (planned end {hm(item.hard_end, tz)})")
    if item.kind == "hold":
        deadline = item.deadline or item.span.start
        return (f"{when} hold: {item.title}, offer {item.offer} option {item.option}, awaiting an answer until "
                f"{deadline.astimezone(tz):%a %d %b %H:%M} ({relative(deadline, week.now)})")
    return f"{when} {item.title}"


def as_json(week: Week, iso: Any) -> dict[str, Any]:
    """The week as a JSON document; `iso` formats a datetime (the CLI's, with the zone's offset)."""
    def one(i: Item) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": i.kind, "start": iso(i.span.start), "end": iso(i.span.end),
                               "title": i.title, "text": describe(i, week)}
        if i.ref:
            doc["id"] = i.ref
        if i.kind in ("block", "makeup", "cut"):
            doc["hard_end"] = iso(i.hard_end)
        if i.kind == "cut":
            doc.update(ended=iso(i.ended or i.span.end), delivered=i.delivered_min, lost=i.lost_min)
        if i.makeup_for:
            doc["makeup_for"] = i.makeup_for
        if i.kind == "hold":
            doc.update(offer=i.offer, option=i.option, deadline=iso(i.deadline) if i.deadline else None)
        return doc

    return {"week": week.label, "timezone": week.tz.key, "start": week.monday.isoformat(),
            "end": (week.monday + timedelta(days=6)).isoformat(), "notes": list(week.notes),
            "days": [{"date": d.day.isoformat(), "items": [one(i) for i in d.items]} for d in week.days]}
