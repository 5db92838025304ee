"""Inbox figures (issue 13), on 127.0.0.1 only:

  1. reply arrival -> make-up block on the calendar, with the long-running daemon on IMAP IDLE:
     a real Radicale, a real pymap, a real SMTP sink; `blocktime daemon` as a process; the clock
     starts right before the client's reply is APPENDed and stops when the make-up block's event
     is in Radicale (polled every 20 ms over CalDAV). Several rounds, each a fresh account.
  2. one inbox pass over 1,000 unread messages that have nothing to do with blocktime (in-process
     `answers.run`, a fresh data dir per run so that every run reads all of them).

    .venv/bin/python bench/inbox.py [--rounds 5] [--unrelated 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import write_config  # noqa: E402
from tests.helpers import objects  # noqa: E402
from tests.imapserver import ImapServer, letter  # noqa: E402
from tests.mailserver import MailSink  # noqa: E402
from tests.servers import Account, RadicaleServer  # noqa: E402

CLIENT = "it@acme.example"
BOOK = ["book", "--client", "Acme", "--site", "Acme HQ", "--attendee", CLIENT, "--start", "2026-03-24 12:00",
        "--length", "1h", "--every", "tue,thu", "--count", "4", "--json"]


def _cli(config: Path, data: Path, *args: str, now: str) -> str:
    import subprocess

    env = dict(os.environ, BLOCKTIME_DATA_DIR=str(data))
    done = subprocess.run([sys.executable, "-m", "blocktime.cli", "--config", str(config), "--now", now, *args],
                          capture_output=True, text=True, env=env, check=True)
    return done.stdout


def idle_round(radicale: RadicaleServer, imap: ImapServer, sink: MailSink, work: Path) -> float:
    import subprocess

    account = radicale.new_account()
    work.mkdir(parents=True)
    folder = imap.new_folder()
    data = work / "data"
    cfg = write_config(work / "config.toml", account, smtp={"host": "127.0.0.1", "port": sink.port,
                                                            "security": "none"},
                       inbox=imap.section(folder), daemon={"sync_every": "24h"})
    _cli(cfg, data, *BOOK, now="2026-03-20T09:00")
    sink.reset()
    _cli(cfg, data, "cut-short", "acme-1", "--ended-at", "12:35", "--json", now="2026-03-24T13:05")
    offer = [m.message for m in sink.messages if CLIENT in m.rcpt_tos][-1]
    text = offer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    subject = unquote(re.findall(r"mailto:[^?\s]+\?subject=(\S+)", text)[1])
    env = dict(os.environ, BLOCKTIME_DATA_DIR=str(data))
    proc = subprocess.Popen([sys.executable, "-m", "blocktime.cli", "--config", str(cfg), "--now",
                             "2026-03-24T14:00", "daemon"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "waiting for new mail" in line:
                break
        t0 = time.perf_counter()
        imap.append(folder, letter(CLIENT, f"Re: {subject}", ""))
        while _blocks_count(account) < 5:
            if time.perf_counter() - t0 > 120:
                raise RuntimeError("no make-up block after 120 s")
            time.sleep(0.02)
        return time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(60)


def _blocks_count(account: Account) -> int:
    """Events of the engagement in blocktime's calendar on the CalDAV server (holds not counted)."""
    return sum("UID:bt-acme-" in text for text in objects(account))


def unrelated_pass(imap: ImapServer, count: int, runs: int, work: Path) -> list[float]:
    from blocktime.config.loading import from_mapping
    from blocktime.usecases.answers import run
    from blocktime.usecases.session import Session

    folder = imap.new_folder()
    m = imap.client()
    try:
        for i in range(count):
            m.append(folder, None, None, letter(f"news{i % 37}@shop{i % 11}.example", f"Offer {i}: 20% off",
                                                "Lorem ipsum dolor sit amet.\n" * 20))
    finally:
        m.logout()
    out = []
    for r in range(runs):
        os.environ["BLOCKTIME_DATA_DIR"] = str(work / f"unrelated-{r}")
        cfg = from_mapping({"organizer": {"name": "Anna", "email": "anna@example.com", "timezone": "Europe/Warsaw"},
                            "inbox": imap.section(folder)})
        with Session(cfg, datetime(2026, 3, 24, 14, tzinfo=ZoneInfo("Europe/Warsaw"))) as s:
            t0 = time.perf_counter()
            report = run(s)
            out.append(time.perf_counter() - t0)
            assert len(report.messages) == count and all(h.action == "ignored" for h in report.messages)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--unrelated", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        radicale, imap, sink = RadicaleServer(work / "radicale"), ImapServer(work / "pymap"), MailSink()
        try:
            idle = [idle_round(radicale, imap, sink, work / f"r{i}") for i in range(args.rounds)]
            passes = unrelated_pass(imap, args.unrelated, args.runs, work)
        finally:
            radicale.stop()
            imap.stop()
            sink.stop()
    doc = {"reply_to_makeup_s": {"median": round(statistics.median(idle), 3), "min": round(min(idle), 3),
                                 "max": round(max(idle), 3), "runs": [round(x, 3) for x in idle]},
           "unrelated_pass_s": {"messages": args.unrelated, "median": round(statistics.median(passes), 3),
                                "runs": [round(x, 3) for x in passes]}}
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        r, u = doc["reply_to_makeup_s"], doc["unrelated_pass_s"]
        print(f"reply arrival -> make-up block on the calendar (IDLE): median {r['median']} s "
              f"(min {r['min']}, max {r['max']}, {args.rounds} rounds)")
        print(f"one inbox pass over {args.unrelated} unrelated unread messages: median {u['median']} s "
              f"({args.runs} runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
