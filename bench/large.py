"""Commands on large accounts, as whole processes, each paired with its floor script in the same run.

A real Radicale on a free loopback port (as `tests/servers.py:RadicaleServer` starts it, with info
logging so that the server itself counts the requests of every run). Accounts: 5 calendars with
10,000 or 20,000 events in all (10 % weekly series with an EXDATE and a moved occurrence, 5 %
all-day, the rest single timed events, Europe/Warsaw with its VTIMEZONE, about 3.4 a day over 8
years), each calendar's objects written into Radicale's storage folder (kept in
~/.cache/blocktime-bench with Radicale's item cache: the first run builds it, ~3 + 6 minutes);
blocktime's own `blocktime` calendar is the sixth. Each measured command is the `blocktime`
console script (`--config`, `--now`) against a
floor script (`bench/floors.py`: python + niquests + icalendar doing only the unavoidable work),
run in turn A B A B … with the order alternated, state restored between runs (not timed). Peak
memory is the command's own maximum RSS as /usr/bin/time reports it (else os.wait4's).

    .venv/bin/python bench/large.py            # about 8 minutes on 2 shared cores
    .venv/bin/python bench/large.py --quick    # fewer runs, no 20k account (about 3 minutes)
    .venv/bin/python bench/large.py --json
    .venv/bin/python bench/large.py --only book50 cut agenda help --runs 7   # some rows only

blocktime's modules are byte-compiled first (`compileall`, as a wheel install does): with
PYTHONDONTWRITEBYTECODE set, every run would otherwise compile them from source (~+40 ms a start).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import niquests  # noqa: E402

from tests.servers import Account, free_port, wait_port  # noqa: E402

PY = sys.executable
BT = str(Path(sys.executable).with_name("blocktime"))
FLOORS = str(ROOT / "bench" / "floors.py")
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "blocktime-bench"
# A child's ru_maxrss includes the parent's pages it had before exec (~45 MB of this script), and so
# does that of /usr/bin/time started from here; the %M that /usr/bin/time reports for its own child
# (started from the small /usr/bin/time) is the command's own peak.
TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
REQUEST = re.compile(r"\b([A-Z]+) request for ")

VTIMEZONE = """BEGIN:VTIMEZONE\r\nTZID:Europe/Warsaw\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\n\
TZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n\
END:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n\
DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"""


class Radicale:
    """tests/servers.py:RadicaleServer's process, logging at info level to a file we can count."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.htpasswd = workdir / "htpasswd"
        self.htpasswd.write_text("")
        self.log = workdir / "radicale.log"
        self.port = free_port()
        self.proc = subprocess.Popen(
            [PY, "-m", "radicale", "--server-hosts", f"127.0.0.1:{self.port}",
             "--storage-filesystem-folder", str(workdir / "collections"),
             "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(self.htpasswd),
             "--auth-htpasswd-encryption", "plain", "--auth-delay", "0", "--rights-type", "owner_only",
             "--logging-level", "info"],
            stdout=subprocess.DEVNULL, stderr=self.log.open("ab"))
        wait_port(self.port, self.proc)
        self.users = 0

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def new_account(self, user: str | None = None) -> Account:
        self.users += 1
        user = user or f"user{self.users}"
        password = f"pw-{user}"
        with self.htpasswd.open("a") as f:
            f.write(f"{user}:{password}\n")
        return Account("radicale", f"{self.root}/{user}/", user, password, self.root)

    def mark(self) -> int:
        return self.log.stat().st_size

    def requests_since(self, mark: int) -> Counter[str]:
        with self.log.open("rb") as f:
            f.seek(mark)
            return Counter(REQUEST.findall(f.read().decode("utf-8", "replace")))

    def folder(self, account: Account, cal: str) -> Path:
        return self.workdir / "collections" / "collection-root" / (account.username or "") / cal

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def account_objects(n: int, seed: int) -> dict[str, str]:
    """One calendar of n events, one CalDAV object per UID: 10 % weekly series (an EXDATE and a moved
    occurrence), 5 % all-day, the rest single timed events in Europe/Warsaw."""
    rnd = random.Random(seed)
    first = date(2019, 3, 1)
    objects = {}
    f = "%Y%m%dT%H%M%S"
    for i in range(n):
        uid = f"s{seed}-{i}"
        day = first + timedelta(days=rnd.randrange(8 * 365))
        if i % 20 == 7:  # all-day, 1–3 days, free (holidays, birthdays)
            end = day + timedelta(days=rnd.choice((1, 1, 1, 2, 3)))
            comps = (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:{day:%Y%m%d}\r\n"
                     f"DTEND;VALUE=DATE:{end:%Y%m%d}\r\nSUMMARY:away {i}\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\n")
            objects[uid] = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//blocktime bench//EN\r\n" + comps + \
                "END:VCALENDAR\r\n"
            continue
        start = datetime(day.year, day.month, day.day, 7 + rnd.randrange(9), 15 * rnd.randrange(4))
        end = start + timedelta(minutes=rnd.choice((30, 45, 60, 90, 120)))
        comps = (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
                 f"DTSTART;TZID=Europe/Warsaw:{start:{f}}\r\nDTEND;TZID=Europe/Warsaw:{end:{f}}\r\n"
                 f"SUMMARY:meeting {i}\r\nLOCATION:room {i % 7}\r\n")
        if i % 10 == 3:  # weekly series, one occurrence removed, one an hour earlier
            count = rnd.choice((4, 8, 12, 26))
            ex, moved = start + timedelta(weeks=2), start + timedelta(weeks=4)
            comps += (f"RRULE:FREQ=WEEKLY;COUNT={count}\r\nEXDATE;TZID=Europe/Warsaw:{ex:{f}}\r\nEND:VEVENT\r\n"
                      f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
                      f"RECURRENCE-ID;TZID=Europe/Warsaw:{moved:{f}}\r\n"
                      f"DTSTART;TZID=Europe/Warsaw:{moved - timedelta(hours=1):{f}}\r\n"
                      f"DTEND;TZID=Europe/Warsaw:{moved - timedelta(hours=1) + (end - start):{f}}\r\n"
                      f"SUMMARY:meeting {i} (moved)\r\nEND:VEVENT\r\n")
        else:
            comps += "END:VEVENT\r\n"
        objects[uid] = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//blocktime bench//EN\r\n" + VTIMEZONE + comps
                        + "END:VCALENDAR\r\n")
    return objects


def load_account(server: Radicale, events: int, calendars: int = 5) -> tuple[Account, float]:
    """MKCALENDAR each calendar, then its objects written straight into Radicale's storage folder
    (as Radicale stores them: one file per UID); a whole-calendar PUT of 2,000 such events took
    123 s in Radicale 3.9 here. One full sync REPORT per calendar afterwards (not measured) fills
    Radicale's item cache (about 15–35 s per 2,000 objects here), so no measured run pays for it.
    The account's folder, cache included, is kept in CACHE and copied from there by later runs."""
    account = server.new_account(f"big{events // 1000}k")
    t = time.perf_counter()
    kept = CACHE / f"v2-{events}-{calendars}"
    home = server.folder(account, "")
    if kept.exists():
        shutil.copytree(kept, home)
        return account, time.perf_counter() - t
    with niquests.Session() as s:
        s.auth = (account.username or "", account.password or "")
        for c in range(calendars):
            r = s.request("MKCALENDAR", f"{account.url}cal{c}/")
            assert r.status_code == 201, r.status_code
            folder = server.folder(account, f"cal{c}")
            for uid, text in account_objects(events // calendars, seed=100 * events + c).items():
                (folder / f"{uid}.ics").write_bytes(text.encode())
        for c in range(calendars):
            r = s.request("REPORT", f"{account.url}cal{c}/", headers={"Depth": "1"},
                          data='<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/>'
                               '<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>',
                          timeout=600)
            assert r.status_code == 207, r.status_code
    shutil.rmtree(kept.with_suffix(".tmp"), ignore_errors=True)
    shutil.copytree(home, kept.with_suffix(".tmp"))
    kept.with_suffix(".tmp").rename(kept)
    return account, time.perf_counter() - t


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    requests: Counter[str]


@dataclass
class Side:
    argv: list[str]
    env: dict[str, str]
    before: Callable[[], None] = lambda: None
    after: Callable[[], None] = lambda: None
    runs: list[Run] = field(default_factory=list)


def first_pass(bt: Side, floor: Side, data_first: Path, tokens: Path, booked: tuple[Path, Path, Path]) -> None:
    """Make the daemon's first pass and its floor start from the booked state every run:
    blocktime's data dir copied afresh and its calendar restored; the floor's tokens forgotten (so
    that it syncs in full) and the same calendar restored. `booked`: (data, calendar copy, calendar)."""
    data_src, cal_src, cal_dst = booked

    def fresh_first() -> None:
        restore(data_src, data_first)()
        restore(cal_src, cal_dst)()

    def fresh_tokens() -> None:
        tokens.unlink(missing_ok=True)
        restore(cal_src, cal_dst)()
    bt.before, floor.before = fresh_first, fresh_tokens


def run_once(server: Radicale, side: Side) -> Run:
    side.before()
    mark = server.mark()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        peak_file = Path(tempfile.mktemp(prefix="bt-peak-"))
        prefix = [TIME, "-f", "%M", "-o", str(peak_file)] if TIME else []
        p = subprocess.Popen(prefix + side.argv, env=side.env, stdout=out, stderr=err, cwd=ROOT)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            out.seek(0)
            raise RuntimeError(f"{side.argv} exited {p.returncode}:\n{out.read().decode()[-2000:]}"
                               f"\n{err.read().decode()[-3000:]}")
    time.sleep(0.05)  # the server's log line of the last request
    peak_kb = ru.ru_maxrss
    if TIME:
        peak_kb = int(peak_file.read_text().split()[-1])
        peak_file.unlink()
    run = Run(wall, ru.ru_utime + ru.ru_stime, peak_kb / 1024, server.requests_since(mark))
    side.after()
    return run


def paired(server: Radicale, a: Side, b: Side, runs: int, warmup: int = 1) -> None:
    for _ in range(warmup):
        run_once(server, a)
        run_once(server, b)
    for i in range(runs):
        for side in ((a, b) if i % 2 == 0 else (b, a)):
            side.runs.append(run_once(server, side))


def summary(side: Side) -> dict[str, object]:
    walls = [r.wall for r in side.runs]
    req = side.runs[-1].requests
    return {"median_s": round(statistics.median(walls), 3), "min_s": round(min(walls), 3),
            "max_s": round(max(walls), 3), "cpu_s": round(statistics.median(r.cpu for r in side.runs), 3),
            "peak_mb": round(max(r.rss_mb for r in side.runs), 1), "requests": sum(req.values()),
            "by_method": dict(sorted(req.items())), "walls": [round(w, 3) for w in walls]}


def config(work: Path, account: Account, name: str) -> Path:
    path = work / f"{name}.toml"
    path.write_text(f'[organizer]\ntimezone = "Europe/Warsaw"\nname = "Bench"\nemail = "me@example.com"\n'
                    '[policy]\nworking_hours = "Mon-Fri 08:00-21:00"\n'
                    f'[calendar]\nurl = "{account.url}"\nusername = "{account.username}"\n'
                    f'password = "{account.password}"\n')
    return path


def restore(src: Path, dst: Path) -> Callable[[], None]:
    def go() -> None:
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst)
    return go


ROWS = ("book50", "book10", "cut", "first10", "quiet10", "first20", "agenda", "help")
#: issue 15's targets: a ratio to the floor of the same run, or (cold starts) a time in seconds
TARGETS: dict[str, tuple[str, float]] = {
    "book 50 blocks, empty account": ("ratio", 0.9), "book 10 blocks, 10k account": ("ratio", 1.15),
    "cut-short, 10k account": ("ratio", 1.15), "daemon first pass, 10k": ("ratio", 1.5),
    "daemon first pass, 20k": ("ratio", 1.5), "daemon quiet pass, 10k": ("ratio", 1.1),
    "agenda --json cold": ("seconds", 0.1), "--help cold": ("seconds", 0.1),
}
README = ROOT / "bench" / "README.md"
BEGIN, END = "<!-- large.py table: begin -->", "<!-- large.py table: end -->"


def table(doc: dict[str, Any]) -> str:
    """The run as a markdown table (what a full run writes into bench/README.md between BEGIN and END)."""
    results: dict[str, dict[str, Any]] = doc["results"]
    lines = [f"`bench/large.py` on {doc['date']} UTC, commit {doc.get('commit', '?')}: {doc['runs']} pairs "
             f"({doc['first_pass_runs']} for first passes), {doc['cpus']} CPUs, Python {doc['python']}. "
             "Ratio: the median of the per-pair ratios (min–max); CPU: the child's user+sys (median); "
             "requests: Radicale's log.", "",
             "| command | blocktime | floor | ratio | target | | requests bt / floor | CPU bt / floor | peak RSS |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        a, b = r["blocktime"], r["floor"]
        kind, limit = TARGETS.get(name, ("", 0.0))
        if kind == "ratio":
            met = r["ratio_median_of_pairs"] <= limit
            target = f"≤ {limit}×"
        elif kind == "seconds":
            met = a["median_s"] <= limit
            target = f"≤ {limit * 1000:.0f} ms"
        else:
            met, target = None, "–"
        if name == "daemon first pass, 20k":
            met = bool(met) and a["peak_mb"] <= 100
            target += ", peak ≤ 100 MB"
        verdict = "" if met is None else ("met" if met else "**missed**")
        if kind == "seconds":
            shown = f"{a['median_s'] * 1000:.0f} ms ({a['min_s'] * 1000:.0f}–{a['max_s'] * 1000:.0f})"
            floor = f"{b['median_s'] * 1000:.0f} ms ({r['floor_is']})"
        else:
            shown = f"{a['median_s']:.3f} s ({a['min_s']:.3f}–{a['max_s']:.3f})"
            floor = f"{b['median_s']:.3f} s ({r['floor_is']})"
        lines.append(f"| {name} | {shown} | {floor} "
                     f"| **{r['ratio_median_of_pairs']}×** ({r['ratio_min']}–{r['ratio_max']}) | {target} | {verdict} "
                     f"| {a['requests']} / {b['requests']} | {a['cpu_s']} / {b['cpu_s']} s | {a['peak_mb']} MB |")
    ten, twenty = results.get("daemon first pass, 10k"), results.get("daemon first pass, 20k")
    if ten and twenty:
        lines += ["", f"Growth of the first pass from 10k to 20k events: wall ×"
                  f"{twenty['blocktime']['median_s'] / ten['blocktime']['median_s']:.2f} (the floor ×"
                  f"{twenty['floor']['median_s'] / ten['floor']['median_s']:.2f}), client CPU ×"
                  f"{twenty['blocktime']['cpu_s'] / ten['blocktime']['cpu_s']:.2f}, peak "
                  f"{ten['blocktime']['peak_mb']} → {twenty['blocktime']['peak_mb']} MB."]
    return "\n".join(lines)


def write_table(doc: dict[str, Any]) -> None:
    text = README.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{README} has no {BEGIN} … {END} section to write the table into")
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    README.write_text(f"{head}{BEGIN}\n{table(doc)}\n{END}{tail}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="3 runs (1 for first passes), no 20k account")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                    help="write the table into bench/README.md (default: after a full run, not --only/--quick)")
    ap.add_argument("--only", nargs="+", metavar="ROW", choices=ROWS,
                    help=f"measure only these rows ({', '.join(ROWS)}); default all (quiet10 runs first10 too)")
    args = ap.parse_args()
    only = set(args.only or ROWS) | ({"first10"} if args.only and "quiet10" in args.only else set())
    runs = args.runs or (3 if args.quick else 5)
    # the program as installed: blocktime's modules byte-compiled (as pip does for a wheel install),
    # also where PYTHONDONTWRITEBYTECODE is set (then every run would compile them from source)
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "blocktime")], check=True, stdout=subprocess.DEVNULL)
    slow_runs = 1 if args.quick else 3
    work = Path(tempfile.mkdtemp(prefix="bt-large-"))
    server = Radicale(work / "radicale")
    # PYTHONDONTWRITEBYTECODE would make every blocktime run compile its ~50 modules from source
    # (an installed package has its .pyc; the floors' libraries have theirs): not what users pay
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith("BLOCKTIME_") and k != "PYTHONDONTWRITEBYTECODE"}
    results: dict[str, dict[str, object]] = {}
    notes: dict[str, object] = {}

    def env_for(data: Path) -> dict[str, str]:
        return dict(base_env, BLOCKTIME_DATA_DIR=str(data))

    def record(name: str, a: Side, b: Side, floor: str) -> None:
        sa, sb = summary(a), summary(b)
        ratios = [x.wall / y.wall for x, y in zip(a.runs, b.runs, strict=True)]
        results[name] = {"blocktime": sa, "floor": sb, "floor_is": floor,
                         "ratio_of_medians": round(float(sa["median_s"]) / float(sb["median_s"]), 2),  # type: ignore[arg-type]
                         "ratio_median_of_pairs": round(statistics.median(ratios), 2),
                         "ratio_min": round(min(ratios), 2), "ratio_max": round(max(ratios), 2)}
        if not args.json:
            r = results[name]
            print(f"{name:34} blocktime {sa['median_s']:>7.3f} s ({sa['min_s']:.3f}–{sa['max_s']:.3f}) "
                  f"floor {sb['median_s']:>7.3f} s ({sb['min_s']:.3f}–{sb['max_s']:.3f})  "
                  f"ratio {r['ratio_median_of_pairs']}× ({r['ratio_min']}–{r['ratio_max']})  "
                  f"req {sa['requests']} vs {sb['requests']}  peak {sa['peak_mb']} vs {sb['peak_mb']} MB",
                  flush=True)

    try:
        if "book50" in only:
            # --- book 50 blocks on an empty account (a fresh account for every run) ---
            now_book = "2027-03-01 09:00"
            bt_book = Side([], {})

            def fresh_bt_book() -> None:
                acc = server.new_account()
                data = work / f"book50-{acc.username}"
                bt_book.argv = [BT, "--config", str(config(work, acc, f"book50-{acc.username}")), "--now", now_book,
                                "book", "--client", "acme", "--site", "HQ", "--attendee", "a@acme.example",
                                "--start", "2027-03-08 10:00", "--length", "1h", "--every", "mon,tue,wed,thu,fri",
                                "--count", "50", "--no-send", "--json"]
                bt_book.env = env_for(data)

            bt_book.before = fresh_bt_book
            fl_book = Side([], dict(base_env))

            def fresh_fl_book() -> None:
                acc = server.new_account()
                with niquests.Session() as s:
                    s.auth = (acc.username or "", acc.password or "")
                    r = s.request("MKCALENDAR", f"{acc.url}blocktime/")
                    assert r.status_code == 201, r.status_code
                fl_book.argv = [PY, FLOORS, "book", f"{acc.url}blocktime/", acc.username or "", acc.password or "",
                                "50", "2027-03-08T10:00:00+01:00"]
            fl_book.before = fresh_fl_book
            paired(server, bt_book, fl_book, runs)
            record("book 50 blocks, empty account", bt_book, fl_book, "50 PUTs, icalendar-built bodies")
            # a reference, not a target: the same floor with its bodies built first and PUT by 4
            # threads — what parallel writes can win at most against this server
            par, seq = Side([], dict(base_env)), Side([], dict(base_env))

            def fresh_par() -> None:
                fresh_fl_book()
                par.argv = [*fl_book.argv[:2], "book-parallel", *fl_book.argv[3:]]

            def fresh_seq() -> None:
                fresh_fl_book()
                seq.argv = list(fl_book.argv)
            par.before, seq.before = fresh_par, fresh_seq
            paired(server, par, seq, runs)
            record("(reference) 50 PUTs in 4 threads", par, seq, "50 PUTs, icalendar-built bodies")

        # --- the 10k account ---
        acc10, load10 = load_account(server, 10_000)
        notes["load_10k_s"] = round(load10, 1)
        if not args.json:
            print(f"(10,000 events in 5 calendars written and cached in {load10:.1f} s)", flush=True)
        cfg10 = config(work, acc10, "acc10")
        cal_urls10 = [f"{acc10.url}blocktime/"] + [f"{acc10.url}cal{c}/" for c in range(5)]
        # blocktime's own calendar, made once, then restored before every run that writes into it
        with niquests.Session() as s:
            s.auth = (acc10.username or "", acc10.password or "")
            assert s.request("MKCALENDAR", cal_urls10[0]).status_code == 201
        btcal = server.folder(acc10, "blocktime")
        empty_cal = work / "btcal-empty"
        shutil.copytree(btcal, empty_cal)

        now10 = "2026-03-20 09:00"
        if "book10" in only:
            # book 10 blocks (Mon–Fri 18:00–19:00, two weeks; the generated events end by 17:45),
            # fresh data dir, calendar restored
            bt10 = Side([BT, "--config", str(cfg10), "--now", now10, "book", "--client", "acme", "--site", "HQ",
                         "--attendee", "a@acme.example", "--start", "2026-03-23 18:00", "--length", "1h", "--every",
                         "mon,tue,wed,thu,fri", "--count", "10", "--skip-conflicts", "--no-send", "--json"],
                        env_for(work / "data-book10"))

            def reset_book10() -> None:
                shutil.rmtree(work / "data-book10", ignore_errors=True)
                restore(empty_cal, btcal)()
            bt10.before = reset_book10
            # how many blocks blocktime books there (conflicts skipped): the floor writes as many
            reset_book10()
            probe = run_once(server, bt10)
            puts10 = probe.requests.get("PUT", 0)
            fl10 = Side([PY, FLOORS, "read-book", acc10.username or "", acc10.password or "", "20260323T000000Z",
                         "20260404T000000Z", str(puts10), *cal_urls10], dict(base_env),
                        before=restore(empty_cal, btcal))
            paired(server, bt10, fl10, runs, warmup=0)
            record("book 10 blocks, 10k account", bt10, fl10,
                   f"6 time-range REPORTs (objects parsed) + {puts10} PUTs")

        # cut-short: 4 blocks booked once (not timed); every run starts from that store and calendar
        booked_data, booked_cal = work / "data-booked", work / "btcal-booked"
        restore(empty_cal, btcal)()
        subprocess.run([BT, "--config", str(cfg10), "--now", now10, "book", "--client", "acme", "--site", "HQ",
                        "--attendee", "a@acme.example", "--start", "2026-03-23 18:00", "--length", "2h",
                        "--every", "mon,wed", "--count", "4", "--skip-conflicts", "--no-send", "--json"],
                       env=env_for(booked_data), check=True, stdout=subprocess.DEVNULL)
        shutil.copytree(btcal, booked_cal)
        data_cut = work / "data-cut"

        if "cut" in only:
            def reset_cut() -> None:
                restore(booked_data, data_cut)()
                restore(booked_cal, btcal)()
            bt_cut = Side([BT, "--config", str(cfg10), "--now", "2026-03-23 20:30", "cut-short", "acme-1",
                           "--delivered", "60m", "--no-send", "--json"], env_for(data_cut), before=reset_cut)
            reset_cut()
            probe = run_once(server, bt_cut)
            puts_cut = probe.requests.get("PUT", 0)
            fl_cut = Side([PY, FLOORS, "read-book", acc10.username or "", acc10.password or "", "20260323T120000Z",
                           "20260413T120000Z", str(puts_cut), *cal_urls10], dict(base_env), before=reset_cut)
            paired(server, bt_cut, fl_cut, runs, warmup=0)
            record("cut-short, 10k account", bt_cut, fl_cut,
                   f"6 time-range REPORTs over the 21-day horizon (objects parsed) + {puts_cut} PUTs")
            restore(empty_cal, btcal)()

        # daemon first pass: no sync state yet, but the store of a booking (4 blocks ahead), so that the
        # pass has a window to read busy time for and parses what can reach it; quiet pass: from the
        # state after a first pass
        def daemon_pair(acc: Account, cfg: Path, urls: list[str], label: str, n_runs: int,
                        booked: tuple[Path, Path, Path]) -> None:
            data_first, tokens = work / f"data-first-{label}", work / f"tokens-{label}.json"
            a = Side([BT, "--config", str(cfg), "--now", now10, "daemon", "--once"], env_for(data_first))
            b = Side([PY, FLOORS, "sync", acc.username or "", acc.password or "", str(tokens), *urls],
                     dict(base_env))
            first_pass(a, b, data_first, tokens, booked)
            paired(server, a, b, n_runs, warmup=0)
            record(f"daemon first pass, {label}", a, b, f"{len(urls)} sync REPORTs (full)")

        if "first10" in only:
            daemon_pair(acc10, cfg10, cal_urls10, "10k", slow_runs, (booked_data, booked_cal, btcal))
        if "quiet10" in only:
            # quiet pass: state after one first pass, copied for every run; the floor reuses its tokens
            after_first = work / "data-after-first"
            restore(work / "data-first-10k", after_first)()
            data_quiet = work / "data-quiet"
            tokens10 = work / "tokens-10k.json"
            assert tokens10.exists()
            qa = Side([BT, "--config", str(cfg10), "--now", "2026-03-20 09:15", "daemon", "--once"],
                      env_for(data_quiet), before=restore(after_first, data_quiet))
            qb = Side([PY, FLOORS, "sync", acc10.username or "", acc10.password or "", str(tokens10), *cal_urls10],
                      dict(base_env))
            paired(server, qa, qb, runs)
            record("daemon quiet pass, 10k", qa, qb, "6 sync REPORTs with the tokens of a first pass")

        if not args.quick and "first20" in only:
            acc20, load20 = load_account(server, 20_000)
            notes["load_20k_s"] = round(load20, 1)
            if not args.json:
                print(f"(20,000 events in 5 calendars written and cached in {load20:.1f} s)", flush=True)
            cfg20 = config(work, acc20, "acc20")
            urls20 = [f"{acc20.url}blocktime/"] + [f"{acc20.url}cal{c}/" for c in range(5)]
            with niquests.Session() as s:  # the same 4 blocks booked as on the 10k account (not timed)
                s.auth = (acc20.username or "", acc20.password or "")
                assert s.request("MKCALENDAR", urls20[0]).status_code == 201
            booked20 = work / "data-booked-20k"
            subprocess.run([BT, "--config", str(cfg20), "--now", now10, "book", "--client", "acme", "--site", "HQ",
                            "--attendee", "a@acme.example", "--start", "2026-03-23 18:00", "--length", "2h",
                            "--every", "mon,wed", "--count", "4", "--skip-conflicts", "--no-send", "--json"],
                           env=env_for(booked20), check=True, stdout=subprocess.DEVNULL)
            btcal20 = server.folder(acc20, "blocktime")
            shutil.copytree(btcal20, work / "btcal-booked-20k")
            daemon_pair(acc20, cfg20, urls20, "20k", slow_runs, (booked20, work / "btcal-booked-20k", btcal20))

        if "agenda" in only:
            # cold start: no server contact
            cold_data = work / "data-cold"
            restore(booked_data, cold_data)()
            bare = Side([PY, "-c", "pass"], dict(base_env))
            agenda = Side([BT, "--config", str(cfg10), "--now", now10, "agenda", "--json"], env_for(cold_data))
            paired(server, agenda, bare, max(runs, 7))
            record("agenda --json cold", agenda, bare, "python -c pass")
        if "help" in only:
            bare2 = Side([PY, "-c", "pass"], dict(base_env))
            helps = Side([BT, "--help"], dict(base_env))
            paired(server, helps, bare2, max(runs, 7))
            record("--help cold", helps, bare2, "python -c pass")
    finally:
        server.stop()
    git = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    doc = {"date": datetime.now().strftime("%Y-%m-%d %H:%M"), "commit": git.stdout.strip() or "?",
           "cpus": os.cpu_count(), "python": sys.version.split()[0], "runs": runs, "first_pass_runs": slow_runs,
           "notes": notes, "results": results}
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(json.dumps(notes))
    (work / "large.json").write_text(json.dumps(doc, indent=2))
    if args.write or (args.write is None and not args.only and not args.quick):
        write_table(doc)
        print(f"table written to {README}")
    shutil.rmtree(work / "radicale", ignore_errors=True)


if __name__ == "__main__":
    main()
