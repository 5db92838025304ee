"""The commands users wait for, on loopback and through a 20 ms round trip (bench/latency_proxy.py),
as whole processes, each beside its floor in the same run (issue 27).

One real Radicale (bench/large.py's, counting requests in its log). For each network — loopback,
then the latency proxy in front of the same server — :

- book 50 on an empty account (a fresh account each run): blocktime, the plain sequential PUT loop
  (`floors.py book`) and the floor's 4-thread version (`floors.py book-parallel`), in turn;
- on the 10k account (bench/large.py's, 5 calendars): cut-short, the daemon's first pass and its
  quiet pass, each against its floor script.

    .venv/bin/python bench/latency.py                 # 5 rounds (3 for first passes), ~15 minutes
    .venv/bin/python bench/latency.py --runs 3 --rtt-ms 20 --no-write
    .venv/bin/python bench/latency.py --only book50   # book 50 only (no 10k account)

A full run writes its table, with the commit, into bench/README.md between the latency markers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import niquests  # noqa: E402
from large import (  # noqa: E402
    BT,
    FLOORS,
    PY,
    Radicale,
    Side,
    config,
    first_pass,
    load_account,
    restore,
    run_once,
    summary,
)
from latency_proxy import LatencyProxy  # noqa: E402

from tests.servers import Account  # noqa: E402

README = ROOT / "bench" / "README.md"
BEGIN, END = "<!-- latency.py table: begin -->", "<!-- latency.py table: end -->"
NOW_BOOK, NOW10 = "2027-03-01 09:00", "2026-03-20 09:00"
BOOK_ARGS = ["book", "--client", "acme", "--site", "HQ", "--attendee", "a@acme.example", "--start", "2027-03-08 10:00",
             "--length", "1h", "--every", "mon,tue,wed,thu,fri", "--count", "50", "--no-send", "--json"]
#: (row, against) -> the ratio at most (issue 27; issue 15's targets for the rest)
TARGETS: dict[tuple[str, str, str], float] = {
    ("loopback", "book 50, empty account", "plain loop"): 1.25,
    ("20 ms", "book 50, empty account", "4-thread floor"): 1.15,
    ("20 ms", "book 50, empty account", "plain loop"): 0.6,
    ("20 ms", "daemon first pass, 10k", "floor"): 1.3,
    ("loopback", "cut-short, 10k account", "floor"): 1.15,
    ("loopback", "daemon first pass, 10k", "floor"): 1.5,
    ("loopback", "daemon quiet pass, 10k", "floor"): 1.1,
}


def rounds(server: Radicale, sides: list[Side], runs: int, warmup: int = 1) -> None:
    """Every side once per round, the order rotated from round to round (A B C, B C A, C A B…)."""
    for _ in range(warmup):
        for s in sides:
            run_once(server, s)
            s.runs.clear()
    for i in range(runs):
        k = i % len(sides)
        for s in sides[k:] + sides[:k]:
            s.runs.append(run_once(server, s))


def ratios(a: Side, b: Side) -> dict[str, float]:
    r = [x.wall / y.wall for x, y in zip(a.runs, b.runs, strict=True)]
    return {"median": round(statistics.median(r), 2), "min": round(min(r), 2), "max": round(max(r), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--first-runs", type=int, default=3)
    ap.add_argument("--rtt-ms", type=float, default=20.0)
    ap.add_argument("--only", choices=("book50", "all"), default="all")
    ap.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                    help="write the table into bench/README.md (default: after a full run)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "blocktime")], check=True, stdout=subprocess.DEVNULL)
    work = Path(tempfile.mkdtemp(prefix="bt-latency-"))
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith("BLOCKTIME_") and k != "PYTHONDONTWRITEBYTECODE"}
    server = Radicale(work / "radicale")
    proxy = LatencyProxy(server.port, rtt=args.rtt_ms / 1000)
    label = f"{args.rtt_ms:g} ms"
    rows: list[dict[str, Any]] = []
    acc10_loaded: Account | None = None

    def env_for(data: Path) -> dict[str, str]:
        return dict(base_env, BLOCKTIME_DATA_DIR=str(data))

    def record(net: str, name: str, a: Side, against: list[tuple[str, Side]], what: str) -> None:
        row = {"network": net, "row": name, "blocktime": summary(a), "floors": {}, "floor_is": what}
        for tag, b in against:
            row["floors"][tag] = {**summary(b), "ratio": ratios(a, b)}
        rows.append(row)
        if not args.json:
            fl = row["floors"]
            parts = "  ".join(f"{tag} {fl[tag]['median_s']:.3f} s ratio {fl[tag]['ratio']['median']}×"
                              f" ({fl[tag]['ratio']['min']}–{fl[tag]['ratio']['max']})" for tag, _ in against)
            print(f"[{net}] {name:26} blocktime {row['blocktime']['median_s']:.3f} s "
                  f"({row['blocktime']['min_s']:.3f}–{row['blocktime']['max_s']:.3f})  {parts}  "
                  f"req {row['blocktime']['requests']}", flush=True)

    try:
        nets: list[tuple[str, Callable[[Account], Account]]] = [
            ("loopback", lambda a: a),
            (label, lambda a: replace(a, url=proxy.url(a.url), root=proxy.url(a.root + "/").rstrip("/"))),
        ]
        for net, via in nets:
            tag = net.replace(" ", "")
            # --- book 50 on an empty account: blocktime, the plain loop, the 4-thread floor ---
            bt, seq, par = Side([], {}), Side([], dict(base_env)), Side([], dict(base_env))

            def fresh_bt(bt: Side = bt, via: Callable[[Account], Account] = via, tag: str = tag) -> None:
                acc = via(server.new_account())
                name = f"book50-{tag}-{acc.username}"
                bt.argv = [BT, "--config", str(config(work, acc, name)), "--now", NOW_BOOK, *BOOK_ARGS]
                bt.env = env_for(work / name)

            def fresh_floor(side: Side, kind: str, via: Callable[[Account], Account] = via) -> Callable[[], None]:
                def go() -> None:
                    acc = server.new_account()
                    with niquests.Session() as s:  # made on loopback, not timed
                        s.auth = (acc.username or "", acc.password or "")
                        assert s.request("MKCALENDAR", f"{acc.url}blocktime/").status_code == 201
                    side.argv = [PY, FLOORS, kind, f"{via(acc).url}blocktime/", acc.username or "", acc.password or "",
                                 "50", "2027-03-08T10:00:00+01:00"]
                return go
            bt.before, seq.before, par.before = fresh_bt, fresh_floor(seq, "book"), fresh_floor(par, "book-parallel")
            rounds(server, [bt, seq, par], args.runs)
            record(net, "book 50, empty account", bt, [("plain loop", seq), ("4-thread floor", par)],
                   "plain loop: 50 sequential PUTs; 4-thread floor: the same bodies PUT by 4 threads")
            if args.only == "book50":
                continue
            # --- the 10k account: cut-short, first and quiet daemon passes ---
            if acc10_loaded is None:  # one account, reached directly and through the proxy
                acc10_loaded = load_account(server, 10_000)[0]
            acc10_direct = acc10_loaded
            acc10 = via(acc10_direct)
            cfg10 = config(work, acc10, f"acc10-{tag}")
            urls = [f"{acc10.url}blocktime/"] + [f"{acc10.url}cal{c}/" for c in range(5)]
            btcal = server.folder(acc10_direct, "blocktime")
            if not btcal.exists():
                with niquests.Session() as s:
                    s.auth = (acc10.username or "", acc10.password or "")
                    assert s.request("MKCALENDAR", f"{acc10_direct.url}blocktime/").status_code == 201
            empty_cal = work / f"btcal-empty-{tag}"
            if not empty_cal.exists():
                shutil.copytree(btcal, empty_cal)
            restore(empty_cal, btcal)()
            booked_data, booked_cal = work / f"data-booked-{tag}", work / f"btcal-booked-{tag}"
            subprocess.run([BT, "--config", str(cfg10), "--now", NOW10, "book", "--client", "acme", "--site", "HQ",
                            "--attendee", "a@acme.example", "--start", "2026-03-23 18:00", "--length", "2h",
                            "--every", "mon,wed", "--count", "4", "--skip-conflicts", "--no-send", "--json"],
                           env=env_for(booked_data), check=True, stdout=subprocess.DEVNULL)
            shutil.copytree(btcal, booked_cal)
            data_cut = work / f"data-cut-{tag}"

            def reset_cut(booked_data: Path = booked_data, data_cut: Path = data_cut, booked_cal: Path = booked_cal,
                          btcal: Path = btcal) -> None:
                restore(booked_data, data_cut)()
                restore(booked_cal, btcal)()
            cut = Side([BT, "--config", str(cfg10), "--now", "2026-03-23 20:30", "cut-short", "acme-1", "--delivered",
                        "60m", "--no-send", "--json"], env_for(data_cut), before=reset_cut)
            reset_cut()
            puts = run_once(server, cut).requests.get("PUT", 0)
            cut_floor = Side([PY, FLOORS, "read-book", acc10.username or "", acc10.password or "", "20260323T120000Z",
                              "20260413T120000Z", str(puts), *urls], dict(base_env), before=reset_cut)
            rounds(server, [cut, cut_floor], args.runs, warmup=0)
            record(net, "cut-short, 10k account", cut, [("floor", cut_floor)],
                   f"6 time-range REPORTs (objects parsed) + {puts} PUTs")

            data_first, tokens = work / f"data-first-{tag}", work / f"tokens-{tag}.json"
            first = Side([BT, "--config", str(cfg10), "--now", NOW10, "daemon", "--once"], env_for(data_first))
            first_floor = Side([PY, FLOORS, "sync", acc10.username or "", acc10.password or "", str(tokens), *urls],
                               dict(base_env))
            first_pass(first, first_floor, data_first, tokens, (booked_data, booked_cal, btcal))
            rounds(server, [first, first_floor], args.first_runs, warmup=0)
            record(net, "daemon first pass, 10k", first, [("floor", first_floor)], "6 sync REPORTs (full)")

            after_first, data_quiet = work / f"data-after-first-{tag}", work / f"data-quiet-{tag}"
            restore(data_first, after_first)()
            quiet = Side([BT, "--config", str(cfg10), "--now", "2026-03-20 09:15", "daemon", "--once"],
                         env_for(data_quiet), before=restore(after_first, data_quiet))
            quiet_floor = Side([PY, FLOORS, "sync", acc10.username or "", acc10.password or "", str(tokens), *urls],
                               dict(base_env))
            rounds(server, [quiet, quiet_floor], args.runs)
            record(net, "daemon quiet pass, 10k", quiet, [("floor", quiet_floor)],
                   "6 sync REPORTs with the tokens of a first pass")
            restore(empty_cal, btcal)()
    finally:
        proxy.stop()
        server.stop()
    git = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    load = os.getloadavg()
    doc = {"date": datetime.now().strftime("%Y-%m-%d %H:%M"), "commit": git.stdout.strip() or "?",
           "rtt_ms": args.rtt_ms, "runs": args.runs, "first_runs": args.first_runs, "cpus": os.cpu_count(),
           "load": [round(x, 1) for x in load], "rows": rows}
    (work / "latency.json").write_text(json.dumps(doc, indent=2))
    print(json.dumps(doc, indent=2) if args.json else table(doc))
    if args.write or (args.write is None and args.only == "all"):
        text = README.read_text()
        head, rest = text.split(BEGIN, 1)
        _old, tail = rest.split(END, 1)
        README.write_text(f"{head}{BEGIN}\n{table(doc)}\n{END}{tail}")
        print(f"table written to {README}")
    shutil.rmtree(work / "radicale", ignore_errors=True)


def table(doc: dict[str, Any]) -> str:
    lines = [f"`bench/latency.py` on {doc['date']} UTC, commit {doc['commit']}: {doc['runs']} rounds "
             f"({doc['first_runs']} for first passes), {doc['cpus']} CPUs, load average {doc['load']}. "
             "Ratio: the median of the per-round ratios (min–max).", "",
             "| network | command | blocktime | against | its time | ratio | target |", "|---|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        a = r["blocktime"]
        for tag, f in r["floors"].items():
            net = "20 ms" if r["network"] != "loopback" else "loopback"
            limit = TARGETS.get((net, r["row"], tag))
            met = limit is not None and f["ratio"]["median"] <= limit
            verdict = "–" if limit is None else f"≤ {limit}×: " + ("met" if met else "**missed**")
            lines.append(f"| {r['network']} | {r['row']} | {a['median_s']:.3f} s ({a['min_s']:.3f}–{a['max_s']:.3f}) "
                         f"| {tag} | {f['median_s']:.3f} s | **{f['ratio']['median']}×** ({f['ratio']['min']}–"
                         f"{f['ratio']['max']}) | {verdict} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
