"""Make-up slot search on calendars of 1,000 / 10,000 / 100,000 events vs a naive minute scan.

Each calendar is generated deterministically with the density of a busy consultant (about three
events a working day): 90 % single events, 10 % weekly series (COUNT=12, each with one RECURRENCE-ID
override and one EXDATE), some on-site blocks at two sites. More events means more years of history:
1,000 events cover about a year, 100,000 about a century, all ending two months after `now`.
The calendar is expanded once (busy extraction, timed separately);
then the core search (`blocktime.core.slots.search`) and a naive baseline (mark every busy minute of
the horizon in a bitmap, then test every grid start minute by minute) run over the same busy list.
Both must agree on the set of offerable starts; the script checks that.

    .venv/bin/python bench/search.py            # all sizes, 7 runs each
    .venv/bin/python bench/search.py --sizes 1000 10000 --runs 5 --json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from blocktime.core.model import Busy, Engagement, Interval, Policy
from blocktime.core.slots import SlotQuery, all_slots, search
from blocktime.ics.busy import busy_from_texts

TZ = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=TZ)


def calendar(n: int, seed: int = 7) -> str:
    rnd = random.Random(seed)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//blocktime bench//EN"]
    span = span_days(n)
    start0 = NOW + timedelta(days=60) - timedelta(days=span)
    for i in range(n):
        day = start0 + timedelta(days=rnd.randrange(span))
        at = day.replace(hour=rnd.randrange(7, 19), minute=rnd.choice((0, 15, 30, 45)))
        at = at.astimezone(UTC)
        length = timedelta(minutes=rnd.choice((15, 30, 45, 60, 90)))
        stamp = "%Y%m%dT%H%M%SZ"
        ev = ["BEGIN:VEVENT", f"UID:ev-{i}", "DTSTAMP:20260101T000000Z",
              f"DTSTART:{at:{stamp}}", f"DTEND:{at + length:{stamp}}", f"SUMMARY:event {i}"]
        if i % 50 == 0:
            ev.append(f"X-BLOCKTIME-SITE:{'Acme HQ' if i % 100 else 'Beta Office'}")
        recurring = i % 10 == 0
        if recurring:
            ev += ["RRULE:FREQ=WEEKLY;COUNT=12", f"EXDATE:{at + timedelta(weeks=3):{stamp}}"]
        ev.append("END:VEVENT")
        lines += ev
        if recurring:
            rid = at + timedelta(weeks=5)
            moved = rid + timedelta(hours=2)
            lines += ["BEGIN:VEVENT", f"UID:ev-{i}", "DTSTAMP:20260101T000000Z", f"RECURRENCE-ID:{rid:{stamp}}",
                      f"DTSTART:{moved:{stamp}}", f"DTEND:{moved + length:{stamp}}", "SUMMARY:moved", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def span_days(n: int) -> int:
    return max(120, n * 7 // 15)  # ~3 events per working day


def naive(q: SlotQuery) -> set[datetime]:
    """Minute bitmap over the horizon, then every grid start checked minute by minute."""
    p = q.policy
    first = (q.now.astimezone(UTC) + p.min_notice)
    last = q.now.astimezone(UTC) + p.horizon
    base = first.replace(second=0, microsecond=0)
    total = int((last - base).total_seconds() // 60) + 1
    free = bytearray(b"\x01") * total
    onsite: dict[object, int] = {}
    for b in q.busy:
        pad = p.buffer
        if b.site is not None:
            d = b.span.start.astimezone(q.tz).date()
            onsite[d] = onsite.get(d, 0) + 1
            if b.site != q.engagement.site:
                pad = max(pad, p.travel)
        s = int(((b.span.start - pad) - base).total_seconds() // 60)
        e = -(-int(((b.span.end + pad) - base).total_seconds()) // 60)
        for m in range(max(s, 0), min(e, total)):
            free[m] = 0
    need = int(q.length.total_seconds() // 60)
    out = set()
    step = int(p.granularity.total_seconds() // 60)
    t = base
    while t + q.length <= last:
        local = t.astimezone(q.tz)
        if local.minute % step == 0 and t >= first and p.working_hours.allows(Interval(t, t + q.length), q.tz) \
                and onsite.get(local.date(), 0) < p.max_blocks_per_day:
            m0 = int((t - base).total_seconds() // 60)
            if all(free[m0 + k] for k in range(need)):
                out.add(t)
        t += timedelta(minutes=1)
    return out


def measure(n: int, runs: int) -> dict[str, float | int]:
    text = calendar(n)
    t0 = time.perf_counter()
    first = NOW + timedelta(days=60) - timedelta(days=span_days(n) + 1)
    result = busy_from_texts([("bench", text)], first, NOW + timedelta(days=200), TZ)
    expand = time.perf_counter() - t0
    busy: list[Busy] = result.busy
    eng = Engagement("acme", "Acme", "Acme HQ", (), "en", timedelta(hours=1))
    q = SlotQuery(eng, timedelta(minutes=45), NOW, TZ, Policy(), busy, usual=(1, datetime(2026, 1, 1, 12).time()))
    fast, slow = [], []
    for _ in range(runs):
        t = time.perf_counter()
        options = search(q)
        fast.append(time.perf_counter() - t)
        t = time.perf_counter()
        baseline = naive(q)
        slow.append(time.perf_counter() - t)
    assert {s.span.start.astimezone(UTC) for s in all_slots(q)} == baseline, "search and baseline disagree"
    assert len(options) == 3
    return {"events": n, "busy_items": len(busy), "expand_s": round(expand, 3),
            "search_ms": round(statistics.median(fast) * 1000, 2),
            "search_min_ms": round(min(fast) * 1000, 2), "search_max_ms": round(max(fast) * 1000, 2),
            "naive_ms": round(statistics.median(slow) * 1000, 1),
            "speedup": round(statistics.median(slow) / statistics.median(fast), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = [measure(n, args.runs) for n in args.sizes]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    head = ("events", "busy items", "expand s", "search ms (median)", "naive ms", "speed-up")
    print(f"{head[0]:>8} {head[1]:>10} {head[2]:>9} {head[3]:>19} {head[4]:>9} {head[5]:>8}")
    for r in rows:
        print(f"{r['events']:>8} {r['busy_items']:>10} {r['expand_s']:>9} {r['search_ms']:>19} "
              f"{r['naive_ms']:>9} {r['speedup']:>8}")
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        growth = (float(b["search_ms"]) / float(a["search_ms"])) / (int(b["busy_items"]) / int(a["busy_items"]))
        print(f"search time grows {growth:.2f}x as fast as the busy list ({a['events']} -> {b['events']} events)")


if __name__ == "__main__":
    main()
