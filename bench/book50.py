"""Booking 50 blocks through blocktime vs. a plain keep-alive PUT loop, on one real Radicale.

Every measured run gets a fresh Radicale user (an empty account) and, for blocktime, a fresh
data dir. blocktime's time is the wall time of one `usecases.booking.book()` call (discovery, busy read,
planning, calendar creation, 50 conditional PUTs, store and outbox writes). The plain loop PUTs
the very bytes blocktime sent (captured from its first, unmeasured run) with `If-None-Match: *`
into a calendar made by MKCALENDAR beforehand (not timed). Rounds alternate the order.

    .venv/bin/python bench/book50.py [--runs 11] [--count 50] [--json] [--check]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import niquests  # noqa: E402

from blocktime.config.loading import from_mapping  # noqa: E402
from blocktime.usecases.booking import BookRequest, book  # noqa: E402
from blocktime.usecases.session import Session  # noqa: E402
from tests.servers import Account, RadicaleServer  # noqa: E402

TZ = ZoneInfo("Europe/Warsaw")
# A fixed clock keeps the written bodies identical from run to run. The series starts on a
# Monday a week after "now" and crosses the 2027-03-28 DST change (50 weekdays = 10 weeks).
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=TZ)
FIRST = datetime(2027, 3, 8, 10, 0, tzinfo=TZ)
TARGET_RATIO = 1.25
WRITES = {"PUT", "DELETE", "MKCALENDAR", "MKCOL", "PROPPATCH", "MOVE", "COPY"}
ICS_HEADERS = {"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"}


@dataclass
class Run:
    """One measured booking: wall time and what went over the wire."""

    seconds: float
    methods: Counter[str]
    counted: int  # blocktime's own counter (backend.requests); the plain loop's PUT count
    stored: int  # .ics files in the account's storage afterwards
    per_block: float | None = None  # seconds between consecutive PUT replies (blocktime)
    http_seconds: float = 0.0  # sum of request round trips as niquests measured them
    bodies: list[tuple[str, bytes]] = field(default_factory=list, repr=False)

    @property
    def requests(self) -> int:
        return sum(self.methods.values())


def stored_objects(server: RadicaleServer, account: Account) -> int:
    user = account.username or ""
    return len(list((server.workdir / "collections" / "collection-root" / user).glob("*/*.ics")))


def config_for(account: Account) -> Any:
    return from_mapping(
        {
            "organizer": {"name": "Anna Nowak", "email": "anna@example.com",
                          "timezone": "Europe/Warsaw", "language": "en"},
            "calendar": {"url": account.url, "username": account.username,
                         "password": account.password},
        }
    )


def run_blocktime(server: RadicaleServer, scratch: Path, count: int) -> Run:
    account = server.new_account()
    data = Path(tempfile.mkdtemp(prefix="data-", dir=scratch))
    os.environ["BLOCKTIME_DATA_DIR"] = str(data)
    req = BookRequest(
        client="Acme Logistics",
        site="Acme HQ, ul. Prosta 1, Warszawa",
        attendees=("it-team@acme.example", "office@acme.example"),
        first=FIRST,
        length=timedelta(hours=1),
        weekdays=frozenset({0, 1, 2, 3, 4}),
        count=count,
    )
    methods: Counter[str] = Counter()
    put_times: list[float] = []
    bodies: list[tuple[str, bytes]] = []
    http = [0.0]

    def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
        method = str(response.request.method)
        methods[method] += 1
        elapsed = getattr(response, "elapsed", None)
        http[0] += elapsed.total_seconds() if elapsed is not None else 0.0
        if method == "PUT":
            put_times.append(time.perf_counter())
            body = response.request.body
            bodies.append((str(response.request.url).rsplit("/", 1)[-1],
                           body if isinstance(body, bytes) else str(body).encode()))
        return response

    with Session(config_for(account), NOW) as session:
        # Building the backend makes no request; it is done here only to attach the hook.
        session.backend.client.session.hooks.setdefault("response", []).append(hook)  # type: ignore[attr-defined]
        gc.collect()
        t0 = time.perf_counter()
        result = book(session, req)
        seconds = time.perf_counter() - t0
        counted = session.backend.requests  # type: ignore[attr-defined]
    if not result.written or len(result.plan.create) != count or result.plan.refused:
        raise SystemExit(f"blocktime did not book {count} blocks: {len(result.plan.create)} "
                         f"planned, {len(result.plan.refused)} refused")
    per_block = ((put_times[-1] - put_times[0]) / (len(put_times) - 1)
                 if len(put_times) > 1 else None)
    return Run(seconds, methods, counted, stored_objects(server, account), per_block, http[0],
               bodies)


def run_plain(server: RadicaleServer, bodies: list[tuple[str, bytes]]) -> Run:
    account = server.new_account()
    calendar = f"{account.url}bench/"
    methods: Counter[str] = Counter()
    with niquests.Session() as http:
        http.auth = (account.username or "", account.password or "")
        made = http.request("MKCALENDAR", calendar)  # opens the keep-alive connection; not timed
        if made.status_code != 201:
            raise SystemExit(f"MKCALENDAR {calendar} answered {made.status_code}")
        elapsed = 0.0
        gc.collect()
        t0 = time.perf_counter()
        for name, body in bodies:
            r = http.put(calendar + name, data=body, headers=ICS_HEADERS)
            if r.status_code != 201:
                raise SystemExit(f"PUT {name} answered {r.status_code}")
            methods["PUT"] += 1
            elapsed += r.elapsed.total_seconds() if r.elapsed is not None else 0.0
        seconds = time.perf_counter() - t0
    return Run(seconds, methods, methods["PUT"], stored_objects(server, account), None, elapsed)


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(bt: list[Run], plain: list[Run], count: int) -> dict[str, Any]:
    methods: Counter[str] = Counter()
    for r in bt:
        methods.update(r.methods)
    n = len(bt)
    bt_s = spread([r.seconds for r in bt])
    pl_s = spread([r.seconds for r in plain])
    per_block = [r.per_block for r in bt if r.per_block is not None]
    ratio = bt_s["median"] / pl_s["median"]
    puts_per_block = methods["PUT"] / (n * count)
    writes = sum(v for k, v in methods.items() if k in WRITES) / n
    return {
        "date": date.today().isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "radicale": _version("radicale"),
                    "caldav": _version("caldav"), "niquests": _version("niquests")},
        "count": count,
        "runs": n,
        "blocktime_s": bt_s,
        "plain_s": pl_s,
        "ratio": ratio,
        "paired_ratio_median": statistics.median(
            b.seconds / p.seconds for b, p in zip(bt, plain, strict=True)),
        "blocktime_requests_per_booking": {k: v / n for k, v in sorted(methods.items())},
        "blocktime_requests_total": sum(methods.values()) / n,
        "blocktime_requests_counter": statistics.median(r.counted for r in bt),
        "blocktime_writes_per_booking": writes,
        "puts_per_block": puts_per_block,
        "requests_per_block": sum(methods.values()) / (n * count),
        "blocktime_per_block_s": statistics.median(per_block) if per_block else None,
        "plain_per_put_s": pl_s["median"] / count,
        "blocktime_http_s": statistics.median(r.http_seconds for r in bt),
        "plain_http_s": statistics.median(r.http_seconds for r in plain),
        "blocktime_local_s": statistics.median(r.seconds - r.http_seconds for r in bt),
        "stored_objects_ok": all(r.stored == count for r in (*bt, *plain)),
        "target": {"ratio_max": TARGET_RATIO, "puts_per_block": 1,
                   "met": ratio <= TARGET_RATIO and puts_per_block == 1},
        "raw": {"blocktime_s": [r.seconds for r in bt], "plain_s": [r.seconds for r in plain]},
    }


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def table(s: dict[str, Any]) -> str:
    ms = 1000.0
    bt, pl = s["blocktime_s"], s["plain_s"]
    m = s["machine"]
    lines = [
        f"book {s['count']} blocks, {s['runs']} runs each, Radicale {m['radicale']}, "
        f"{m['cpus']} CPUs, Python {m['python']}, {s['date']}",
        "",
        f"{'':22}{'median':>10}{'min':>10}{'max':>10}{'per block':>12}",
        f"{'blocktime book()':22}{bt['median'] * ms:>8.0f}ms{bt['min'] * ms:>8.0f}ms"
        f"{bt['max'] * ms:>8.0f}ms{bt['median'] * ms / s['count']:>10.1f}ms",
        f"{'plain PUT loop':22}{pl['median'] * ms:>8.0f}ms{pl['min'] * ms:>8.0f}ms"
        f"{pl['max'] * ms:>8.0f}ms{s['plain_per_put_s'] * ms:>10.1f}ms",
        "",
        f"ratio blocktime/plain   {s['ratio']:.2f}x  (median of per-round ratios "
        f"{s['paired_ratio_median']:.2f}x; target <= {TARGET_RATIO}x)",
        f"requests per booking    {s['blocktime_requests_total']:.0f} "
        f"({', '.join(f'{k} {v:g}' for k, v in s['blocktime_requests_per_booking'].items())}); "
        f"backend.requests says {s['blocktime_requests_counter']:.0f}",
        f"requests per block      {s['requests_per_block']:.2f}  "
        f"(PUTs per block {s['puts_per_block']:.2f}, target 1)",
    ]
    if s["blocktime_per_block_s"] is not None:
        fixed = bt["median"] - s["count"] * s["blocktime_per_block_s"]
        lines.append(
            f"blocktime breakdown     {s['blocktime_per_block_s'] * ms:.1f}ms between PUT replies "
            f"(plain {s['plain_per_put_s'] * ms:.1f}ms), ~{fixed * ms:.0f}ms fixed "
            f"(discovery, busy, plan, MKCALENDAR)"
        )
    lines.append(
        f"time inside HTTP        blocktime {s['blocktime_http_s'] * ms:.0f}ms, "
        f"plain {s['plain_http_s'] * ms:.0f}ms (niquests' elapsed, summed); blocktime outside "
        f"HTTP {s['blocktime_local_s'] * ms:.0f}ms"
    )
    stored = f"{s['count']} in every run" if s["stored_objects_ok"] else "MISMATCH"
    lines.append(f"objects on the server   {stored}")
    lines.append(f"target                  {'met' if s['target']['met'] else 'MISSED'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=11, help="measured runs of each (default 11)")
    parser.add_argument("--count", type=int, default=50, help="blocks per booking (default 50)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    if args.runs < 1 or not 2 <= args.count <= 500:
        parser.error("--runs must be >= 1 and --count 2..500")

    with tempfile.TemporaryDirectory(prefix="blocktime-bench-") as tmp:
        scratch = Path(tmp)
        (scratch / "radicale").mkdir()
        server = RadicaleServer(scratch / "radicale")
        try:
            # Unmeasured warm-up: imports, first connections; its PUT bodies feed the plain loop.
            bodies = run_blocktime(server, scratch, args.count).bodies
            if len(bodies) != args.count:
                raise SystemExit(f"blocktime sent {len(bodies)} PUTs for {args.count} blocks")
            run_plain(server, bodies)
            bt: list[Run] = []
            plain: list[Run] = []
            for i in range(args.runs):
                if i % 2 == 0:
                    bt.append(run_blocktime(server, scratch, args.count))
                    plain.append(run_plain(server, bodies))
                else:
                    plain.append(run_plain(server, bodies))
                    bt.append(run_blocktime(server, scratch, args.count))
        finally:
            server.stop()
    summary = summarize(bt, plain, args.count)
    print(json.dumps(summary, indent=2) if args.json else table(summary))
    return 1 if args.check and not summary["target"]["met"] else 0


if __name__ == "__main__":
    sys.exit(main())
