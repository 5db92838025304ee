"""HTTP requests and peak memory of a daemon pass on an account of 5 calendars and 10,000 events.

A real Radicale gets 5 calendars; 2,000 events each (10 % weekly series with an override) are
written straight into its storage folder (as `radicale` itself would store them) so that loading
takes seconds, not minutes. Then, each in a fresh process (`daemon --once`, peak RSS from
getrusage):

  1. the first pass (no sync tokens yet: full sync of every calendar),
  2. a pass when nothing changed,
  3. a pass after another client changed one event in one calendar.

    .venv/bin/python bench/daemon_pass.py [--events 10000] [--calendars 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import RadicaleServer  # noqa: E402

RUNNER = r"""
import json, resource, sys
from datetime import datetime
from zoneinfo import ZoneInfo
from blocktime.config.loading import load
from blocktime.usecases.daemon_pass import run_pass
from blocktime.usecases.session import Session
import blocktime.backends.caldav as cd

counts = {"requests": 0, "by_method": {}}
orig = cd.CalDAVBackend._count
def count(self, response, *a, **k):
    m = response.request.method
    counts["by_method"][m] = counts["by_method"].get(m, 0) + 1
    counts["requests"] += 1
    return orig(self, response, *a, **k)
cd.CalDAVBackend._count = count
cfg = load(sys.argv[1])
t = __import__("time").perf_counter()
result = run_pass(cfg, datetime.fromisoformat(sys.argv[2]), nightly=sys.argv[3] == "nightly")
elapsed = __import__("time").perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": round(elapsed, 3), "peak_rss_mb": round(peak, 1),
                  "changed": result.report.get("changed"), "errors": result.report.get("errors"), **counts}))
"""


def event(uid: str, start: datetime, recurring: bool) -> str:
    f = "%Y%m%dT%H%M%SZ"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN", "BEGIN:VEVENT", f"UID:{uid}",
             "DTSTAMP:20260101T000000Z", f"DTSTART:{start:{f}}", f"DTEND:{start + timedelta(minutes=45):{f}}",
             f"SUMMARY:event {uid}"]
    if recurring:
        lines.append("RRULE:FREQ=WEEKLY;COUNT=10")
    lines.append("END:VEVENT")
    if recurring:
        rid = start + timedelta(weeks=2)
        lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"RECURRENCE-ID:{rid:{f}}",
                  f"DTSTART:{rid + timedelta(hours=2):{f}}", f"DTEND:{rid + timedelta(hours=3):{f}}",
                  "SUMMARY:moved", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10000)
    ap.add_argument("--calendars", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bt-bench-"))
    server = RadicaleServer(work / "radicale")
    try:
        account = server.new_account()
        from blocktime.backends.caldav import CalDAVBackend

        b = CalDAVBackend(account.url, account.username, account.password)
        rnd = random.Random(3)
        per = args.events // args.calendars
        names = [f"cal{i}" for i in range(args.calendars - 1)] + ["blocktime"]
        t0 = time.perf_counter()
        for name in names:
            cal = b.ensure_calendar(name)
            folder = work / "radicale" / "collections" / "collection-root" / cal.url.strip("/")
            for i in range(per):
                start = datetime(2025, 1, 6, 8, tzinfo=UTC) + timedelta(days=rnd.randrange(730),
                                                                        minutes=15 * rnd.randrange(40))
                (folder / f"{name}-{i}.ics").write_text(event(f"{name}-{i}", start, i % 10 == 0))
        load_s = time.perf_counter() - t0
        config = work / "config.toml"
        config.write_text(f'[organizer]\ntimezone = "Europe/Warsaw"\n[calendar]\nurl = "{account.url}"\n'
                          f'username = "{account.username}"\npassword = "{account.password}"\n')
        env = dict(os.environ, BLOCKTIME_DATA_DIR=str(work / "data"))

        def run(now: str, kind: str = "sync") -> dict[str, object]:
            out = subprocess.run([sys.executable, "-c", RUNNER, str(config), now, kind], capture_output=True,
                                 text=True, env=env, cwd=ROOT, check=True)
            return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

        first = run("2026-03-20T09:00:00+01:00", "nightly")
        quiet = run("2026-03-20T09:15:00+01:00")
        quiet2 = run("2026-03-20T09:30:00+01:00")
        # another client edits one event of cal0
        target = work / "radicale" / "collections" / "collection-root" / account.url.strip("/").split("/", 3)[-1]
        import niquests

        cal0 = next(c for c in b.calendars() if c.name == "cal0")
        href = account.root + cal0.url + "cal0-1.ics"
        got = niquests.get(href, auth=(account.username or "", account.password or ""))
        body = (got.text or "").replace("SUMMARY:event cal0-1", "SUMMARY:changed elsewhere")
        r = niquests.put(href, data=body, auth=(account.username or "", account.password or ""),
                         headers={"If-Match": got.headers["ETag"], "Content-Type": "text/calendar"})
        assert r.status_code in (200, 201, 204), r.status_code
        one = run("2026-03-20T09:45:00+01:00")
        _ = target
        rows = {"events": per * args.calendars, "calendars": args.calendars, "load_s": round(load_s, 1),
                "first_pass": first, "no_change_pass": quiet, "no_change_pass_again": quiet2,
                "one_change_pass": one}
        if args.json:
            print(json.dumps(rows, indent=2))
            return
        print(f"{rows['events']} events in {args.calendars} calendars (written in {load_s:.1f} s)")
        for label, key in (("first pass (full sync)", "first_pass"), ("no change", "no_change_pass"),
                           ("no change, again", "no_change_pass_again"), ("one event changed", "one_change_pass")):
            r_ = rows[key]
            assert isinstance(r_, dict)
            print(f"  {label:24} {r_['requests']:>4} requests {r_['by_method']}  {r_['seconds']:>7} s  "
                  f"peak RSS {r_['peak_rss_mb']} MB  changed={r_['changed']} errors={r_['errors']}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
