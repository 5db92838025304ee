"""A team's round: N trainers x E events each on one Radicale, one and two daemon processes, one PostgreSQL.

For each number of daemons: fresh trainer data and a fresh database, then
  round 1: every trainer's first pass (nightly: the calendar list, then a full sync of E events),
  round 2: every trainer's pass when nothing changed (the steady state, every interval).
Each round starts the daemons (`tests/teamproc.py`, the team daemon loop with a long interval, so
each trainer passes exactly once) and stops them when every trainer has passed. Measured: the round
(first pass start to last pass end, from blocktime_team.passes), each trainer's pass (median, p90,
max), requests to the calendar server (Radicale's own log at info level, by method) and statements
sent to PostgreSQL (the server's log with log_statement=all: every statement is a round trip).

Accounts are built as bench/large.py builds them: one calendar of E events written as files straight
into Radicale's storage folder and read once (Radicale's item cache filled, not measured), then that
folder copied for every trainer.

    .venv/bin/python bench/team.py                               # 200 x 500, 1 and 2 daemons
    .venv/bin/python bench/team.py --trainers 40 --events 500 --daemons 1,2 --workers 4 [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import niquests  # noqa: E402

from bench.large import Radicale, account_objects  # noqa: E402
from blocktime.team.pgclaims import PgCoordinator  # noqa: E402
from tests.pgserver import PostgresServer  # noqa: E402

PY = sys.executable
STATEMENT = re.compile(r"LOG:  (statement|execute [^:]*): ")  # simple and extended query protocol
SYNC = ('<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level>'
        '<D:prop><D:getetag/></D:prop></D:sync-collection>')


def template(server: Radicale, events: int) -> Path:
    """One account with one calendar of `events`, Radicale's item cache filled; returns its folder."""
    account = server.new_account("template")
    with niquests.Session() as s:
        s.auth = (account.username or "", account.password or "")
        r = s.request("MKCALENDAR", f"{account.url}work/")
        assert r.status_code == 201, r.status_code
        folder = server.folder(account, "work")
        for uid, text in account_objects(events, seed=7).items():
            (folder / f"{uid}.ics").write_bytes(text.encode())
        r = s.request("REPORT", f"{account.url}work/", headers={"Depth": "1"}, data=SYNC, timeout=600)
        assert r.status_code == 207, r.status_code
    return server.folder(account, "")


def trainers(server: Radicale, work: Path, n: int, home: Path, store_url: str | None,
             prefix: str) -> dict[str, Any]:
    out = {}
    for i in range(n):
        name = f"{prefix}{i:04d}"
        account = server.new_account(name)
        shutil.copytree(home, server.folder(account, ""))
        cfg = work / "configs" / f"{name}.toml"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        store = f'[store]\nurl = "{store_url}"\n' if store_url else ""
        cfg.write_text(f'[organizer]\nname = "Trainer {i}"\nemail = "{name}@school.example"\n'
                       f'timezone = "Europe/Warsaw"\n[calendar]\nurl = "{account.url}"\n'
                       f'username = "{account.username}"\npassword = "{account.password}"\n{store}')
        out[name] = {"config": str(cfg), "data_dir": str(work / "data" / name)}
    return out


class Statements:
    """Counts the statements PostgreSQL logs (log_statement=all) from a mark on."""

    def __init__(self, pg: PostgresServer) -> None:
        import psycopg

        self.log = pg.log
        with psycopg.connect(pg.url(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET log_statement = 'all'")
            conn.execute("ALTER SYSTEM SET log_line_prefix = '%d '")
            conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)

    def mark(self) -> int:
        return self.log.stat().st_size

    def since(self, mark: int, database: str) -> int:
        with self.log.open("rb") as f:
            f.seek(mark)
            return sum(1 for line in f.read().decode("utf-8", "replace").splitlines()
                       if line.startswith(f"{database} ") and STATEMENT.search(line))


def round_of(spec: Path, n_daemons: int, url: str, names: list[str], server: Radicale, stmts: Statements,
             database: str, logs: Path, label: str) -> dict[str, Any]:
    coord = PgCoordinator(url)
    already = len(coord.passes())
    http, sql = server.mark(), stmts.mark()
    t0 = time.perf_counter()
    env = dict(os.environ)
    env.pop("BLOCKTIME_DATA_DIR", None)
    procs = [subprocess.Popen([PY, "-m", "tests.teamproc", str(spec)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=(logs / f"{label}-d{i}.log").open("wb")) for i in range(n_daemons)]
    try:
        while True:
            passes = coord.passes()[already:]
            if {p.trainer for p in passes if p.ended is not None} >= set(names):
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a daemon exited early; see {logs}")
            time.sleep(0.5)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(120)
    wall = time.perf_counter() - t0
    requests = server.requests_since(http)
    statements = stmts.since(sql, database)
    firsts: dict[str, Any] = {}  # a trainer whose next slot began during the round passes again: not counted
    for p in coord.passes()[already:]:
        if p.ended is not None and p.trainer not in firsts:
            firsts[p.trainer] = p
    passes = list(firsts.values())
    coord.close()
    durations = sorted((p.ended - p.started).total_seconds() for p in passes if p.ended)
    start = min(p.started for p in passes)
    end = max(p.ended for p in passes if p.ended)
    errors = [p.error for p in passes if p.error]
    return {
        "round_seconds": round((end - start).total_seconds(), 1),
        "wall_with_startup_seconds": round(wall, 1),
        "passes": len(passes),
        "pass_median_seconds": round(statistics.median(durations), 3),
        "pass_p90_seconds": round(durations[int(0.9 * (len(durations) - 1))], 3),
        "pass_max_seconds": round(durations[-1], 3),
        "requests": sum(requests.values()),
        "requests_by_method": dict(requests),
        "requests_per_trainer": round(sum(requests.values()) / len(names), 2),
        "pg_statements": statements,
        "pg_statements_per_trainer": round(statements / len(names), 1),
        "errors": len(errors),
        "daemons": sorted(Counter(p.daemon for p in passes).values()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trainers", type=int, default=200)
    ap.add_argument("--events", type=int, default=500)
    ap.add_argument("--daemons", default="1,2")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="blocktime-team-bench-"))
    server = Radicale(work / "radicale")
    pg = PostgresServer()
    results: dict[str, Any] = {"trainers": args.trainers, "events": args.events, "workers": args.workers,
                               "at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        t = time.perf_counter()
        home = template(server, args.events)
        results["template_seconds"] = round(time.perf_counter() - t, 1)
        stmts = Statements(pg)
        from blocktime.config.schema import SCHEMA

        for n in [int(x) for x in args.daemons.split(",")]:
            url = pg.create_database()
            database = url.rsplit("/", 1)[1]
            run = work / f"d{n}"
            t = time.perf_counter()
            team = trainers(server, run, args.trainers, home, url if "store" in SCHEMA else None, f"d{n}t")
            build = time.perf_counter() - t
            spec = run / "team.json"
            spec.write_text(json.dumps({"store_url": url, "base_dir": str(run / "base"), "every": 86400,
                                        "workers": args.workers, "trainers": team}))
            names = sorted(team)
            first = round_of(spec, n, url, names, server, stmts, database, run, "first")
            coord = PgCoordinator(url)  # the next round: every trainer due again (a sync pass, not nightly)
            coord._exec(f"UPDATE {coord.prefix}trainers SET last_start = NULL")
            coord.close()
            quiet = round_of(spec, n, url, names, server, stmts, database, run, "quiet")
            results[f"{n}_daemon(s)"] = {"accounts_built_seconds": round(build, 1), "first_round": first,
                                         "quiet_round": quiet,
                                         "trainer_stores": "postgresql" if "store" in SCHEMA else "sqlite"}
            if not args.json:
                print(f"{n} daemon(s) x {args.workers} workers, {args.trainers} trainers x {args.events} events")
                for label, r in (("first round (nightly, full sync)", first), ("quiet round", quiet)):
                    print(f"  {label:33} {r['round_seconds']:7.1f} s  per trainer median {r['pass_median_seconds']}"
                          f" s (p90 {r['pass_p90_seconds']}, max {r['pass_max_seconds']})  requests "
                          f"{r['requests']} ({r['requests_per_trainer']}/trainer {r['requests_by_method']})  "
                          f"PostgreSQL statements {r['pg_statements']} ({r['pg_statements_per_trainer']}/trainer)"
                          f"  errors {r['errors']}  passes per daemon {r['daemons']}", flush=True)
    finally:
        server.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
