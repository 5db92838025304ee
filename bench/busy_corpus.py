"""Busy extraction on real-world calendars: the cost of every calendar object of the corpus, by
object class, the worst single object, and whole exports.

Objects: every file of tests/corpus (see its SOURCES.md) split into one CalDAV object per UID
(`blocktime.ics.objects.split_by_uid`, as an import would store them); a file icalendar cannot
read whole stays one object ("damaged"). Each object is extracted alone (`busy_from_texts`) over
the year around the middle DTSTART of its file (so that its events are in the window), and over
the 8 weeks (blocktime's booking horizon) from that middle, `--runs` times; its cost is the median.
Exports: the 1.6 MB Google export of the corpus (issue42.ics) whole, over a booking horizon
(8 weeks) and over a full year of its busiest time, plus a synthetic birthday calendar (1,321
yearly all-day series since 2004) and the issue's custom zone that repeats daily since 1900,
used by a daily event.

    .venv/bin/python bench/busy_corpus.py            # ~2 min on a quiet machine
    .venv/bin/python bench/busy_corpus.py --runs 5 --json
    .venv/bin/python bench/busy_corpus.py --check    # exit 1 if a target is missed

Targets (issue 11): the worst single object <= 50 ms; the 1.6 MB export <= 1 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blocktime.ics.busy import busy_from_texts  # noqa: E402
from blocktime.ics.objects import split_by_uid  # noqa: E402
from tests.ics.corpus_reference import corpus_files, parse, window_of  # noqa: E402

TZ = ZoneInfo("Europe/Berlin")
WORST_OBJECT_MS, EXPORT_S = 50.0, 1.0


def object_class(text: str, damaged: bool) -> str:
    if damaged:
        return "damaged (file unreadable whole)"
    upper = text.upper()
    tzids = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.upper().startswith("TZID:")]
    if any(not _iana(t) for t in tzids):
        kind = "VTIMEZONE, other TZID (Windows, vendor, custom)"
    elif tzids:
        kind = "VTIMEZONE, IANA TZID"
    else:
        kind = "UTC/floating/dates"
    if "RECURRENCE-ID" in upper:
        return f"series with overrides, {kind}"
    if "RRULE" in upper or "RDATE" in upper:
        return f"series, {kind}"
    return f"single, {kind}"


def _iana(tzid: str) -> bool:
    try:
        ZoneInfo(tzid)
        return True
    except (KeyError, ValueError):
        return False


def timed(texts: list[tuple[str, str]], start: datetime, end: datetime, runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = busy_from_texts(texts, start, end, TZ)
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def objects(runs: int) -> list[dict[str, Any]]:
    rows = []
    for path in corpus_files():
        text = path.read_bytes().decode("utf-8", "replace")
        window = window_of(parse(text)) or (datetime(2026, 1, 1, tzinfo=TZ), datetime(2027, 1, 1, tzinfo=TZ))
        try:
            pieces = split_by_uid(text)
            damaged = False
        except Exception:
            pieces, damaged = [(path.name, text)], True
        middle = window[0] + (window[1] - window[0]) / 2
        for uid, obj in pieces:
            cost, result = timed([(uid, obj)], *window, runs)
            horizon, _ = timed([(uid, obj)], middle, middle + timedelta(weeks=8), runs)
            rows.append({"file": f"{path.parent.name}/{path.name}", "uid": uid[:60],
                         "class": object_class(obj, damaged), "ms": cost * 1000, "horizon_ms": horizon * 1000,
                         "busy": len(result.busy), "warnings": len(result.warnings)})
    return rows


def exports(runs: int) -> list[dict[str, Any]]:
    big = (ROOT / "tests/corpus/recurring_ical_events/issue42.ics").read_text()
    birthdays = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + "".join(
        f"BEGIN:VEVENT\r\nUID:b{i}\r\nDTSTART;VALUE=DATE:2004{1 + i % 12:02d}{1 + i % 28:02d}\r\n"
        f"DTEND;VALUE=DATE:2004{1 + i % 12:02d}{2 + i % 27:02d}\r\nRRULE:FREQ=YEARLY\r\nSUMMARY:b{i}\r\nEND:VEVENT\r\n"
        for i in range(1321)) + "END:VCALENDAR\r\n"
    daily_zone = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Custom/Daily\r\nBEGIN:STANDARD\r\n"
                  "DTSTART:19000101T030000\r\nRRULE:FREQ=DAILY\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
                  "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19000101T020000\r\nRRULE:FREQ=DAILY\r\n"
                  "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\n"
                  "UID:d@x\r\nDTSTART;TZID=Custom/Daily:20200101T100000\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY\r\n"
                  "END:VEVENT\r\nEND:VCALENDAR\r\n")
    now = datetime(2026, 3, 16, tzinfo=TZ)
    cases = [
        ("1.6 MB Google export (issue42.ics), 8-week horizon from 2019-03-01", big,
         datetime(2019, 3, 1, tzinfo=TZ), datetime(2019, 4, 26, tzinfo=TZ)),
        ("1.6 MB Google export (issue42.ics), 8-week horizon from 2026-03-16", big, now, now + timedelta(weeks=8)),
        ("1.6 MB Google export (issue42.ics), a full year of its busiest time (2012-07 to 2013-07)", big,
         datetime(2012, 7, 1, tzinfo=TZ), datetime(2013, 7, 1, tzinfo=TZ)),
        ("1,321 yearly all-day series since 2004, 8 weeks", birthdays, now, now + timedelta(weeks=8)),
        ("custom zone repeating daily since 1900, daily event, 8 weeks", daily_zone, now, now + timedelta(weeks=8)),
    ]
    rows = []
    for name, text, start, end in cases:
        cost, result = timed([(name, text)], start, end, runs)
        rows.append({"case": name, "bytes": len(text.encode()), "s": cost, "busy": len(result.busy),
                     "warnings": len(result.warnings)})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # icalendar warns about guessed globally unique TZIDs
    busy_from_texts([("warm-up", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")], datetime(2026, 1, 1, tzinfo=TZ),
                    datetime(2026, 2, 1, tzinfo=TZ), TZ)
    rows, big = objects(args.runs), exports(args.runs)
    classes: dict[str, list[float]] = {}
    for r in rows:
        classes.setdefault(r["class"], []).append(r["ms"])
    worst = max(rows, key=lambda r: r["ms"])
    worst_horizon = max(rows, key=lambda r: r["horizon_ms"])
    export = big[0]["s"]
    if args.json:
        print(json.dumps({"objects": len(rows), "worst": worst, "worst_horizon": worst_horizon, "classes": classes,
                          "exports": big}, indent=2))
    else:
        print(f"{len(rows)} objects from {len(corpus_files())} corpus files, median of {args.runs} runs each\n")
        print(f"{'object class':72} {'n':>5} {'median ms':>10} {'p99 ms':>8} {'max ms':>8}")
        for name, ms in sorted(classes.items()):
            p99 = sorted(ms)[min(len(ms) - 1, int(len(ms) * 0.99))]
            print(f"{name:72} {len(ms):5} {statistics.median(ms):10.2f} {p99:8.2f} {max(ms):8.2f}")
        print(f"\nworst single object, a year around its file's middle: {worst['ms']:.1f} ms ({worst['file']}, "
              f"{worst['uid']!r}, {worst['busy']} busy items, {worst['class']}); target <= {WORST_OBJECT_MS:.0f} ms")
        print(f"worst single object, an 8-week horizon from there: {worst_horizon['horizon_ms']:.1f} ms "
              f"({worst_horizon['file']}, {worst_horizon['uid']!r})")
        print()
        for r in big:
            print(f"{r['s'] * 1000:8.0f} ms  {r['case']} ({r['bytes'] / 1e6:.2f} MB, {r['busy']} busy, "
                  f"{r['warnings']} warnings)")
        print(f"\nexport target <= {EXPORT_S:.0f} s (first line)")
    ok = worst["ms"] <= WORST_OBJECT_MS and export <= EXPORT_S
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
