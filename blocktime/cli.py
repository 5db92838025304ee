"""The command line: the single place where errors become messages and exit codes.

Exit codes: 0 done, 1 runtime failure (server, conflicts), 2 bad input or usage.
Heavy libraries (icalendar, caldav, Babel) are imported by the commands that use them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from blocktime.errors import BadInput, BlocktimeError

if TYPE_CHECKING:
    from blocktime.config import Config
    from blocktime.core.model import Block, Engagement
    from blocktime.service import BookResult, Session


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        raise BadInput(message, f"see `{self.prog} --help`")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="blocktime", description="Book on-site training as fixed blocks with a hard end.")
    p.add_argument("--config", metavar="FILE", help="config file (else $BLOCKTIME_CONFIG, else the user config dir)")
    p.add_argument("--now", metavar="DATETIME", help="pretend it is this time (demos, tests, replays)")
    p.add_argument("--debug", action="store_true", help="debug logging (secrets are never logged)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    b = sub.add_parser("book", help="book a series of fixed blocks")
    b.add_argument("--client", required=True)
    b.add_argument("--site", required=True, help="where the training happens (LOCATION)")
    b.add_argument("--attendee", action="append", default=[], metavar="EMAIL", help="repeatable")
    b.add_argument("--start", required=True, metavar="DATETIME", help="first block, organizer's zone")
    b.add_argument("--length", required=True, metavar="DURATION", help="90, 45m, 1h, 1h30m")
    b.add_argument("--every", metavar="WEEKDAYS", help="e.g. tue,thu (default: the start's weekday)")
    b.add_argument("--count", type=int, default=1, metavar="N")
    b.add_argument("--language", choices=["en", "pl"], help="language of notes and invites")
    b.add_argument("--skip-conflicts", action="store_true", help="book the free blocks, skip the rest")
    b.add_argument("--json", action="store_true")

    a = sub.add_parser("agenda", help="upcoming blocks as a table")
    a.add_argument("--from", dest="start", metavar="DATETIME", help="default: now")
    a.add_argument("--days", type=int, default=None, help="how many days ahead (default: all)")
    a.add_argument("--all", action="store_true", help="include past blocks")
    a.add_argument("--json", action="store_true")

    e = sub.add_parser("export", help="write .ics invites (iTIP REQUEST) for chosen blocks")
    e.add_argument("blocks", nargs="*", metavar="BLOCK", help="block ids (acme-3) or UIDs")
    e.add_argument("--engagement", metavar="KEY", help="every block of an engagement")
    e.add_argument("--out", metavar="DIR", help="folder (default: the outbox)")
    e.add_argument("--json", action="store_true")

    d = sub.add_parser("demo", help="the main job end to end on the embedded calendar")
    d.add_argument("--dir", default=".demo", help="throwaway data folder (default .demo, recreated)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="blocktime: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        args = build_parser().parse_args(args_list)
        if args.command is None:
            build_parser().print_help()
            return 2
        return int(COMMANDS[args.command](args))
    except BlocktimeError as exc:
        print(f"blocktime: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("blocktime: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the one boundary: never a traceback for the user
        if debug:
            raise
        print(f"blocktime: internal error: {type(exc).__name__} (run with --debug for details)",
              file=sys.stderr)
        return 1


def _config(args: argparse.Namespace) -> Config:
    from blocktime.config import load

    return load(args.config)


def _now(args: argparse.Namespace, cfg: Config) -> datetime:
    from blocktime.inputs import moment

    tz = cfg.organizer.timezone
    return moment(args.now, tz) if args.now else datetime.now(tz)


def _session(args: argparse.Namespace) -> Session:
    from blocktime.service import Session

    cfg = _config(args)
    return Session(cfg, _now(args, cfg))


def block_json(b: Block, eng: Engagement, **extra: Any) -> dict[str, Any]:
    return {
        "id": b.id,
        "uid": b.uid,
        "engagement": eng.key,
        "client": eng.client,
        "site": b.site,
        "start": b.span.start.isoformat(),
        "end": b.span.end.isoformat(),
        **extra,
    }


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _span_text(start: datetime, end: datetime, tz: Any) -> str:
    s, e = start.astimezone(tz), end.astimezone(tz)
    return f"{s:%a %Y-%m-%d %H:%M}–{e:%H:%M}"


def cmd_book(args: argparse.Namespace) -> int:
    from blocktime import inputs
    from blocktime.service import BookRequest, book

    with _session(args) as s:
        tz = s.config.organizer.timezone
        first = inputs.moment(args.start, tz, s.now)
        req = BookRequest(
            client=args.client,
            site=args.site,
            attendees=tuple(args.attendee),
            first=first,
            length=inputs.duration(args.length),
            weekdays=inputs.weekdays(args.every) if args.every else frozenset({first.weekday()}),
            count=args.count,
            skip_conflicts=args.skip_conflicts,
            language=args.language,
        )
        result = book(s, req)
        print_booking(result, s, as_json=args.json)
        if result.plan.refused and not result.written:
            raise BlocktimeError(
                f"nothing booked: {len(result.plan.refused)} of {req.count} blocks cannot be booked",
                "free the time, or use --skip-conflicts to book the others",
            )
    return 0


def print_booking(result: BookResult, s: Session, *, as_json: bool) -> None:
    from blocktime.service import refusal_json

    tz = s.config.organizer.timezone
    eng = result.engagement
    created = {b.uid for b in result.plan.create} if result.written else set()
    if as_json:
        doc = {
            "engagement": eng.key,
            "booked": [block_json(b, eng, created=b.uid in created) for b in result.booked],
            "refused": [refusal_json(r) for r in result.plan.refused],
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    rows = [[b.id, _span_text(b.span.start, b.span.end, tz), "booked" if b.uid in created else "already booked", ""]
            for b in result.booked]
    rows += [["-", _span_text(r.span.start, r.span.end, tz), "refused: " + ", ".join(r.reasons),
              "; ".join(r.details)] for r in result.plan.refused]
    if not result.written and result.plan.create:
        rows += [["-", _span_text(b.span.start, b.span.end, tz), "free, not booked", ""] for b in result.plan.create]
    rows.sort(key=lambda r: r[1][4:])
    print(f"{eng.client} at {eng.site} ({eng.key})")
    print(_table(rows, ["block", "when", "result", "why"]))
    if result.written:
        print(f"invites written to {s.config.outbox}")


def cmd_agenda(args: argparse.Namespace) -> int:
    from blocktime import inputs
    from blocktime.service import agenda

    with _session(args) as s:
        tz = s.config.organizer.timezone
        start = None if args.all else (inputs.moment(args.start, tz, s.now) if args.start else s.now)
        end = start + timedelta(days=args.days) if (start is not None and args.days) else None
        items = agenda(s, start, end)
        if args.json:
            print(json.dumps({"blocks": [block_json(sb.block, e, state=sb.state, sequence=sb.sequence)
                                         for sb, e in items]}, indent=2, ensure_ascii=False))
            return 0
        if not items:
            print("no blocks booked" + ("" if args.all else " from now on"))
            return 0
        rows = [[sb.block.id, _span_text(sb.block.span.start, sb.block.span.end, tz), e.client, e.site, sb.state]
                for sb, e in items]
        print(_table(rows, ["block", "when", "client", "site", "state"]))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from blocktime.service import export

    with _session(args) as s:
        paths = export(s, args.blocks, args.engagement, args.out)
        if args.json:
            print(json.dumps({"files": paths}, indent=2))
        else:
            print("\n".join(paths))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from blocktime.demo import run

    return run(args.dir, os.environ)


COMMANDS = {"book": cmd_book, "agenda": cmd_agenda, "export": cmd_export, "demo": cmd_demo}

if __name__ == "__main__":
    raise SystemExit(main())
