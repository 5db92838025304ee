"""Cold start of whole processes: `blocktime --help` and `blocktime agenda --json` (median of N).

`agenda` reads only the local store (here one with 50 booked blocks), so it must not pay for
icalendar, caldav or Babel. Uses the venv's own interpreter (the pyenv shim adds ~100 ms).

    .venv/bin/python bench/coldstart.py [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def seed_store(data: Path) -> None:
    from blocktime.core.model import Block, Engagement, Interval
    from blocktime.store.store import Store

    store = Store(data / "blocktime.sqlite3")
    now = datetime(2026, 3, 20, 8, tzinfo=UTC)
    with store.transaction():
        store.save_engagement(Engagement("acme", "Acme", "HQ", ("a@acme.example",), "en"), now)
        for n in range(1, 51):
            start = now + timedelta(days=n, hours=3)
            store.add_pending(Block("acme", n, f"uid-{n}", Interval(start, start + timedelta(hours=1)), "HQ"),
                              f"/u/blocktime/uid-{n}.ics")
            store.mark(f"uid-{n}", "booked", etag='"x"')
    store.close()


def timed(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    # one unmeasured run first: it writes blocktime's compiled dataclass code (blocktime.cli.classcode),
    # as an installed blocktime's first start does
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("blocktime"))
    # byte-compiled as installed from a wheel (PYTHONDONTWRITEBYTECODE would otherwise make every
    # run compile blocktime's modules from source)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "blocktime")], check=True,
                   stdout=subprocess.DEVNULL)
    data = Path(tempfile.mkdtemp(prefix="bt-cold-"))
    seed_store(data)
    cfg = data / "config.toml"
    cfg.write_text('[organizer]\ntimezone = "Europe/Warsaw"\n')
    # without PYTHONDONTWRITEBYTECODE, as installed: bytecode and blocktime.cli.classcode's file are written once
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["BLOCKTIME_DATA_DIR"] = str(data)
    rows = {}
    bare = timed([sys.executable, "-c", "pass"], env, args.runs)
    for label, argv in (("python -c pass", None), ("blocktime --help", [exe, "--help"]),
                        ("blocktime agenda --json", [exe, "--config", str(cfg), "--now", "2026-03-20 09:00",
                                                     "agenda", "--json"])):
        times = bare if argv is None else timed(argv, env, args.runs)
        rows[label] = {"median_ms": round(statistics.median(times) * 1000, 1),
                       "min_ms": round(min(times) * 1000, 1), "max_ms": round(max(times) * 1000, 1)}
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"whole-process cold start, median of {args.runs} (target: --help under 150 ms)")
    for label, r in rows.items():
        print(f"  {label:26} {r['median_ms']:>7} ms  (min {r['min_ms']}, max {r['max_ms']})")


if __name__ == "__main__":
    main()
