"""The same commands on the two store engines: wall time, and statements sent to PostgreSQL.

A real Radicale and a real PostgreSQL (tests/pgserver.py) on loopback. For each engine, in one
process: book a series of 20 blocks, a daemon pass with nothing changed, a cut-short (which makes
an offer of 3 holds), `agenda`, and a second daemon pass. On PostgreSQL every statement the store
sends is one round trip (BEGIN and its write lock travel together; the version check on open is
one); the connection itself (TCP, startup, search_path in the startup packet) is counted apart.

    .venv/bin/python bench/store_engines.py [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blocktime.cli import main  # noqa: E402
from blocktime.store.engines import PgConnection  # noqa: E402
from tests.conftest import write_config  # noqa: E402
from tests.pgserver import PostgresServer  # noqa: E402
from tests.servers import RadicaleServer  # noqa: E402

NOW = "2026-03-20T09:00"
AFTER = "2026-03-24T13:05"
STEPS: list[tuple[str, tuple[str, ...], str]] = [
    ("book 20 blocks", ("book", "--client", "Acme", "--site", "HQ", "--attendee", "it@acme.example", "--start",
                        "2026-03-24 12:00", "--length", "1h", "--every", "mon-fri", "--count", "20"), NOW),
    ("daemon pass, nothing changed", ("daemon", "--once"), NOW),
    ("cut-short + offer of 3", ("cut-short", "acme-1", "--ended-at", "12:35"), AFTER),
    ("agenda", ("agenda",), AFTER),
    ("daemon pass after the offer", ("daemon", "--once"), AFTER),
]

opened: list[PgConnection] = []
_init = PgConnection.__init__


def _counting_init(self: PgConnection, *args: Any, **kw: Any) -> None:
    _init(self, *args, **kw)
    opened.append(self)


PgConnection.__init__ = _counting_init  # type: ignore[method-assign]


def run(engine: str, url: str | None, radicale: RadicaleServer, work: Path) -> list[dict[str, Any]]:
    os.environ["BLOCKTIME_DATA_DIR"] = str(work / engine / "data")
    if url:
        os.environ["BLOCKTIME_STORE_URL"] = url
    else:
        os.environ.pop("BLOCKTIME_STORE_URL", None)
    (work / engine).mkdir()
    config = write_config(work / engine / "config.toml", radicale.new_account())
    rows = []
    for name, args, now in STEPS:
        opened.clear()
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = main(["--config", str(config), "--now", now, *args])
        elapsed = time.perf_counter() - start
        assert code == 0, (engine, name, code)
        rows.append({"engine": engine, "step": name, "seconds": round(elapsed, 3),
                     "connections": len(opened), "statements": sum(c.statements for c in opened)})
    return rows


def main_() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        radicale = RadicaleServer(work / "radicale")
        pg = PostgresServer()
        try:
            rows = run("sqlite", None, radicale, work) + run("postgresql", pg.create_database(), radicale, work)
        finally:
            pg.stop()
            radicale.stop()
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'step':32} {'engine':11} {'seconds':>8} {'conns':>6} {'statements':>10}")
    for r in rows:
        stmts = r["statements"] if r["engine"] == "postgresql" else "-"
        conns = r["connections"] if r["engine"] == "postgresql" else "-"
        print(f"{r['step']:32} {r['engine']:11} {r['seconds']:8.3f} {conns:>6} {stmts:>10}")


if __name__ == "__main__":
    main_()
