"""A reference for busy extraction on the corpus: each UID of a file expanded with plain icalendar +
recurring-ical-events (no salvage, no bounds), series by series (`skip_bad_series`) or, when the
calendar as a whole cannot be expanded, UID by UID, so that damage elsewhere in the file cannot
hide it. What the reference cannot read has no reference busy time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

Item = tuple[str, datetime, datetime]


def corpus_files() -> list[Path]:
    return sorted(CORPUS.rglob("*.ics"))


def _aware(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0), tz)


def _item(ev: Any, tz: ZoneInfo) -> Item | None:
    """RFC 5545 busy semantics: TRANSPARENT and CANCELLED take no time, a DATE-TIME without end
    takes none, a DATE lasts a day (also when DTEND equals it)."""
    if str(ev.get("TRANSP", "")).upper() == "TRANSPARENT" or str(ev.get("STATUS", "")).upper() == "CANCELLED":
        return None
    raw = ev["DTSTART"].dt
    start = _aware(raw, tz)
    if "DTEND" in ev:
        end = _aware(ev["DTEND"].dt, tz)
    elif "DURATION" in ev:
        end = start + ev["DURATION"].dt
    else:
        end = start if isinstance(raw, datetime) else start + timedelta(days=1)
    if end == start and not isinstance(raw, datetime):
        end = _aware(raw + timedelta(days=1), tz)
    if end < start:
        start, end = end, start
    if end == start:
        return None
    return str(ev.get("UID", "")), start.astimezone(UTC), end.astimezone(UTC)


def parse(text: str) -> list[Any]:
    """The VCALENDARs of `text` as icalendar reads them ([] when it cannot)."""
    import icalendar

    try:
        return list(icalendar.Calendar.from_ical(text.replace("\ufeff", ""), multiple=True))
    except Exception:
        return []


def window_of(cals: list[Any]) -> tuple[datetime, datetime] | None:
    """A year around the middle DTSTART of the file's events (the corpus spans 1997-2048)."""
    firsts = []
    for cal in cals:
        for ev in cal.walk("VEVENT"):
            try:
                firsts.append(_aware(ev["DTSTART"].dt, ZoneInfo("UTC")))
            except Exception:
                continue
    if not firsts:
        return None
    middle = sorted(firsts)[len(firsts) // 2]
    return middle - timedelta(days=183), middle + timedelta(days=183)


def reference(cals: list[Any], start: datetime, end: datetime, tz: ZoneInfo) -> set[Item]:
    """Busy items of every UID that plain icalendar and recurring-ical-events can read alone."""
    import icalendar
    import recurring_ical_events

    out: set[Item] = set()
    for cal in cals:
        try:  # skip_bad_series: a series that cannot be expanded costs only itself (= per UID)
            found = [_item(o, tz) for o in recurring_ical_events.of(cal, skip_bad_series=True).between(start, end)]
            out.update(i for i in found if i is not None and i[1] < end and i[2] > start)
            continue
        except Exception:
            pass  # UID by UID then
        zones = [c for c in cal.subcomponents if c.name == "VTIMEZONE"]
        groups: dict[str, list[Any]] = {}
        for ev in cal.walk("VEVENT"):
            groups.setdefault(str(ev.get("UID", id(ev))), []).append(ev)
        for events in groups.values():
            one = icalendar.Calendar()
            if "X-WR-TIMEZONE" in cal:
                one.add("X-WR-TIMEZONE", cal["X-WR-TIMEZONE"])
            for c in [*zones, *events]:
                one.add_component(c)
            try:
                found = [_item(o, tz) for o in recurring_ical_events.of(one).between(start, end)]
            except Exception:
                continue
            out.update(i for i in found if i is not None and i[1] < end and i[2] > start)
    return out


def recall(reference: set[Item], found: set[Item]) -> tuple[timedelta, timedelta]:
    """(reference busy time covered by `found` of the same UID, reference busy time)."""
    def merged(items: set[Item]) -> dict[str, list[tuple[datetime, datetime]]]:
        out: dict[str, list[tuple[datetime, datetime]]] = {}
        for uid, s, e in sorted(items, key=lambda i: (i[0], i[1], i[2])):
            spans = out.setdefault(uid, [])
            if spans and s <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], e))
            else:
                spans.append((s, e))
        return out

    ref, got = merged(reference), merged(found)
    covered = total = timedelta(0)
    for uid, spans in ref.items():
        for s, e in spans:
            total += e - s
            for gs, ge in got.get(uid, []):
                if gs < e and ge > s:
                    covered += min(e, ge) - max(s, gs)
    return covered, total
