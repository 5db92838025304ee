"""The command line: the single place where errors become messages and exit codes.

Exit codes: 0 done, 1 runtime failure (server, conflicts), 2 bad input or usage.
Heavy libraries (icalendar, caldav, Babel) are imported by the commands that use them, and each
command's module only when that command runs (COMMANDS names them): `--help` and `agenda` start
without the modules of the other commands (tests/cli/test_coldstart.py checks what they import).

Layer: the top. One module per command group (booking, makeup, mail, ops, setup, team, views,
inbox), the daemon runners (`daemon`, `teamd`), doctor and its checks, progress, demo and init.
May import every layer; nothing imports it. A new command goes into its group's module and
into COMMANDS.
"""

from __future__ import annotations

import argparse
import gc
import sys
import threading
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

from blocktime.cli.common import LOGLESS, NOTES, log_to_stderr
from blocktime.errors import BadInput, BlocktimeError, driver_missing


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        raise BadInput(message, f"see `{self.prog} --help`")


class _Skipped:
    """Stands in for the parser of a command this run does not run (see `build_parser`): it takes
    every argument definition and keeps none."""

    def __getattr__(self, name: str) -> Callable[..., _Skipped]:
        return lambda *args, **kwargs: self


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only`, the other commands' parsers are stand-ins (a run of
    one command need not build the other two dozen). `parse` falls back to the whole parser.
    With `only=""` every command is listed (name and help) but none has its arguments: the
    top-level `--help` shows nothing more, and a command line that names no command selects none."""
    p = _Parser(prog="blocktime", description="Book on-site training as fixed blocks with a hard end.")
    p.add_argument("--version", action="store_true", help="print blocktime's version and exit")
    p.add_argument("--config", metavar="FILE", help="config file (else $BLOCKTIME_CONFIG, else the user config dir)")
    p.add_argument("--as", dest="trainer", metavar="TRAINER",
                   help="run as this trainer of a team config (else $BLOCKTIME_TRAINER; see README, For teams)")
    p.add_argument("--now", metavar="DATETIME", help="pretend it is this time (demos, tests, replays)")
    p.add_argument("--debug", action="store_true", help="debug logging (secrets are never logged)")
    p.add_argument("--insecure", action="store_true",
                   help="do not verify the calendar server's TLS certificate, for this run only (warned)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    if only is not None:
        real = sub.add_parser

        def add_parser(name: str, **kwargs: Any) -> Any:
            if name == only:
                return real(name, **kwargs)
            if only == "":
                real(name, **kwargs)  # listed, without its arguments
            return _Skipped()

        sub.add_parser = add_parser  # type: ignore[method-assign]

    b = sub.add_parser("book", help="book a series of fixed blocks")
    b.add_argument("--client", required=True)
    b.add_argument("--site", required=True, help="where the training happens (LOCATION)")
    b.add_argument("--attendee", action="append", default=[], metavar="EMAIL", help="repeatable")
    b.add_argument("--start", required=True, metavar="DATETIME", help="first block, organizer's zone")
    b.add_argument("--length", required=True, metavar="DURATION", help="45m, 1h, 1h30m (a unit is needed)")
    b.add_argument("--every", metavar="WEEKDAYS", help="e.g. tue,thu (default: the start's weekday)")
    b.add_argument("--count", type=int, default=1, metavar="N")
    b.add_argument("--language", choices=["en", "pl"], help="language of notes and invites")
    b.add_argument("--skip-conflicts", action="store_true", help="book the free blocks, skip the rest")
    b.add_argument("--no-send", action="store_true", help="keep the messages in the outbox")
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

    c = sub.add_parser("cut-short", help="record that a block ended early and offer the rest")
    c.add_argument("block", metavar="BLOCK", help="block id (acme-3) or UID")
    g = c.add_mutually_exclusive_group(required=True)
    g.add_argument("--ended-at", metavar="TIME", help="when it ended (HH:MM on the block's day, or a date-time)")
    g.add_argument("--delivered", metavar="DURATION", help="how much was delivered, e.g. 35m")
    c.add_argument("--reason", default="", help="a short note for the history")
    c.add_argument("--no-send", action="store_true", help="keep the messages in the outbox")
    c.add_argument("--json", action="store_true")

    ns = sub.add_parser("no-show", help="record that nobody came to a block: all its minutes are offered again")
    ns.add_argument("block", metavar="BLOCK", help="block id (acme-3) or UID")
    ns.add_argument("--reason", default="", help="a short note for the history")
    ns.add_argument("--no-offer", action="store_true", help="record it only: offer nothing now")
    ns.add_argument("--no-send", action="store_true", help="keep the messages in the outbox")
    ns.add_argument("--json", action="store_true")

    o = sub.add_parser("offers", help="open offers (and --expire the ones whose time is up)")
    o.add_argument("--expire", action="store_true", help="end expired offers and delete their holds")
    o.add_argument("--json", action="store_true")

    ac = sub.add_parser("accept", help="book an offered option as a make-up block")
    ac.add_argument("offer", metavar="OFFER")
    ac.add_argument("option", metavar="OPTION", type=int)
    ac.add_argument("--no-send", action="store_true", help="keep the messages in the outbox")
    ac.add_argument("--json", action="store_true")

    ro = sub.add_parser("offer", help="offer new slots for an engagement's open remainder (held, with a message)")
    ro.add_argument("engagement", metavar="ENGAGEMENT")
    ro.add_argument("--again", action="store_true", help="also offer times the client declined before")
    ro.add_argument("--no-send", action="store_true", help="keep the message in the outbox")
    ro.add_argument("--json", action="store_true")

    de = sub.add_parser("decline", help="decline an offer: holds are deleted, the remainder stays open")
    de.add_argument("offer", metavar="OFFER")
    de.add_argument("--json", action="store_true")

    en = sub.add_parser("engagements", help="every engagement with its planned, delivered, lost, made-up and "
                                            "remaining hours")
    en.add_argument("--all", action="store_true", help="closed engagements too")
    en.add_argument("--json", action="store_true")

    eg = sub.add_parser("engagement", help="change an engagement's terms (set) or close it (close)")
    eg.add_argument("action", choices=["set", "close"])
    eg.add_argument("key", metavar="KEY", help="the engagement's key or the client's name")
    eg.add_argument("--contract", metavar="DURATION", help="set: the contracted hours, e.g. 24h")
    eg.add_argument("--language", help="set: the language of its notes (en, pl)")
    eg.add_argument("--attendee", action="append", default=[], metavar="ADDR", help="set: invite ADDR too")
    eg.add_argument("--remove-attendee", action="append", default=[], metavar="ADDR", help="set: invite ADDR no more")
    eg.add_argument("--cancel-future", action="store_true", help="close: cancel its future blocks (CANCELs go out)")
    eg.add_argument("--no-send", action="store_true", help="keep the messages in the outbox")
    eg.add_argument("--json", action="store_true")

    hi = sub.add_parser("history", help="everything that happened to an engagement or a block, in order")
    hi.add_argument("ref", metavar="ENGAGEMENT|BLOCK")
    hi.add_argument("--json", action="store_true")

    rp = sub.add_parser("report", help="delivered hours per client and period, for invoicing")
    rp.add_argument("--from", dest="start", metavar="DATE", help="first day (default: the first block)")
    rp.add_argument("--to", dest="end", metavar="DATE", help="last day, included (default: the last block)")
    rp.add_argument("--client", metavar="NAME")
    rp.add_argument("--by", choices=["month", "week", "engagement"], default="month")
    rp.add_argument("--format", choices=["table", "csv", "json", "html"], default="table")
    rp.add_argument("--output", metavar="FILE", help="write it there (default: the terminal)")

    sm = sub.add_parser("statement", help="a factual summary for the client's manager, kept in the outbox")
    sm.add_argument("engagement", metavar="ENGAGEMENT")
    sm.add_argument("--to", action="append", default=[], metavar="ADDR", help="to ADDR (default: every attendee)")
    sm.add_argument("--language", help="en or pl (default: the engagement's)")
    sm.add_argument("--json", action="store_true")

    st = sub.add_parser("status", help="booked, delivered, cut-short and remaining minutes")
    st.add_argument("engagement", metavar="ENGAGEMENT")
    st.add_argument("--json", action="store_true")

    w = sub.add_parser("why", help="why each candidate slot of a day was refused")
    w.add_argument("date", metavar="DATE", help="e.g. 2026-04-07, tomorrow, next thu")
    w.add_argument("--engagement", required=True, metavar="KEY")
    w.add_argument("--length", metavar="DURATION", help="default: the open remainder")
    w.add_argument("--json", action="store_true")

    dm = sub.add_parser("daemon", help="nightly pass and regular sync (APScheduler); --once for cron")
    dm.add_argument("--once", action="store_true", help="run one full pass and exit")
    dm.add_argument("--status", action="store_true", help="last and next runs, outbox, offers, conflicts")
    dm.add_argument("--json", action="store_true")
    dm.add_argument("--workers", type=int, default=4, metavar="N",
                    help="a team config: trainers passed at the same time by this daemon (default 4)")
    dm.add_argument("--interval", type=float, metavar="SECONDS",
                    help="a team config: pass each trainer this often instead of [daemon] sync_every (tests, benches)")

    r = sub.add_parser("repair", help="rebuild the local store from the calendar's X-BLOCKTIME properties")
    r.add_argument("--json", action="store_true")

    mv = sub.add_parser("move", help="move a booked block; the attendees get the updated invitation")
    mv.add_argument("block", metavar="BLOCK", help="block id (acme-3) or UID")
    mv.add_argument("--to", required=True, metavar="DATETIME", help="new start (HH:MM keeps the block's day)")

    ca = sub.add_parser("cancel", help="cancel a booked block; the attendees get the cancellation")
    ca.add_argument("block", metavar="BLOCK", help="block id (acme-3) or UID")
    ca.add_argument("--drop-minutes", action="store_true",
                    help="take the block's minutes out of the engagement (default: back to the remainder)")

    ob = sub.add_parser("outbox", help="messages waiting to be sent (`outbox send` sends them)")
    ob.add_argument("action", nargs="?", choices=["list", "send"], default="list")

    ir = sub.add_parser("import-reply", help="apply an attendee's answer or proposed time (.ics or .eml)")
    ir.add_argument("file", metavar="FILE")

    acc = sub.add_parser("accept-counter", help="move the block to the time an attendee proposed")
    dec = sub.add_parser("decline-counter", help="keep the block's time; the attendee gets a note")
    for cp in (acc, dec):
        cp.add_argument("counter", nargs="?", metavar="PROPOSAL", help="e.g. acme-2-c1 (default: the only one)")

    cf = sub.add_parser("confirmations", help="send the advance confirmation of every block that is due")
    for sp in (mv, ca, ob, ir, acc, dec, cf):
        if sp not in (ob, ir):
            sp.add_argument("--no-send", action="store_true", help="keep the messages in the outbox")
        sp.add_argument("--json", action="store_true")

    d = sub.add_parser("demo", help="the main job end to end on the embedded calendar")
    d.add_argument("--dir", default=".demo", help="throwaway data folder (default .demo, recreated)")

    au = sub.add_parser("auth", help="sign in to Google or Outlook once (OAuth2; tokens refresh by themselves)")
    au.add_argument("provider", choices=["google", "outlook"])
    au.add_argument("--client-secrets", metavar="FILE", help="google: the client_secret.json of your OAuth client")
    au.add_argument("--no-browser", action="store_true", help="google: print the sign-in link instead of opening it")

    if only in (None, "", "inbox"):
        from blocktime.cli.inbox import add_parser as add_inbox_parser

        add_inbox_parser(sub)

    dr = sub.add_parser("doctor", help="check that blocktime can work with a calendar, with advice")
    dr.add_argument("profile", nargs="?", metavar="PROFILE",
                    help="a profile name from calendars/ or a .toml path (default: the configured calendar)")
    dr.add_argument("--json", action="store_true")
    if only in (None, "", "week"):
        from blocktime.cli.views import add_parser as add_views

        add_views(sub)
    if only in (None, "", "init"):
        from blocktime.cli.setup import add_parser as add_setup

        add_setup(sub)
    if only in (None, "", "team"):
        from blocktime.cli.team import add_parser as add_team

        add_team(sub)
    if only in (None, "", "store"):
        from blocktime.cli.stores import add_parser as add_store

        add_store(sub)
    for each in sub.choices.values():  # `blocktime agenda --as anna` too (if both, this one)
        each.add_argument("--as", dest="trainer", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return p


def parse(argv: list[str]) -> argparse.Namespace:
    """`argv` parsed by a parser built for the command it names (the first word that is a
    command); anything that parser refuses, and every --help, goes to the whole parser, so
    results and messages are the whole parser's. A command line that names no command (`--help`,
    `--version`, a typo) needs only the list of commands."""
    for option, value in pairwise(argv):
        if option.startswith("--") and value[:1] == "-" and value[1:2].isdigit():  # `--length -1h`
            raise BadInput(f"{option} {value}: a negative value makes no sense here",
                           f"give a positive one, e.g. {option} {value[1:]}")
    named = next((a for a in argv if a in COMMANDS), None)
    if named is None:
        return build_parser(only="").parse_args(argv)
    if named is not None and "-h" not in argv and "--help" not in argv:
        try:
            return build_parser(only=named).parse_args(argv)
        except BadInput:
            pass
    return build_parser().parse_args(argv)


#: set by `main` when the process may end without the interpreter's teardown (see `run`)
_QUICK_EXIT = False


def run() -> None:
    """The console script: `main`, then the exit. After a command that ended well and left no thread
    running (store closed, files written whole), `--help` and `--version`, the teardown that frees every
    object one by one (~10 ms of `agenda`, ~0.1 s after `book` 50) is skipped; exit handlers run."""
    global _QUICK_EXIT
    _QUICK_EXIT = False
    gc.set_threshold(100_000, 50, 10)  # the default re-walks what lives to the end: ~4 % of `book` 50
    try:
        code = main()
    except SystemExit as exc:  # argparse: --help shown, or a usage error
        if not _QUICK_EXIT or not isinstance(exc.code, int | None):
            raise
        code = exc.code or 0
    if not _QUICK_EXIT:
        sys.exit(code)
    import atexit
    import os
    atexit._run_exitfuncs()  # (logging's flush among them)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # `blocktime agenda | head`: the reader has what it wanted
            pass
        except OSError:  # a full disk: the output is not all there
            code = code or 1
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    global _QUICK_EXIT
    args_list = list(sys.argv[1:] if argv is None else argv)
    NOTES.clear()
    debug = "--debug" in args_list
    collecting = gc.isenabled()
    gc.disable()  # parsing and a LOGLESS command make few cycles, but their imports ~20 collections (4 ms)
    try:
        try:
            args = parse(args_list)
        except SystemExit:  # argparse printed help or a usage error: nothing is open yet
            _QUICK_EXIT = True
            raise
        if args.version:
            print(f"blocktime {version()}")
            _QUICK_EXIT = True
            return 0
        if args.command is None:
            build_parser(only="").print_help()
            _QUICK_EXIT = True
            return 2
        if args.command not in LOGLESS:
            if collecting:
                gc.enable()  # the other commands can hold a big account in memory
            log_to_stderr(debug)
        from blocktime.cli import classcode
        classcode.install()  # the command's dataclasses from compiled code kept across runs
        code = int(command(args.command)(args))
        for note in NOTES:
            print(note, file=sys.stderr)
        _QUICK_EXIT = args.command in LOGLESS or threading.active_count() == 1  # nothing left running
        return code
    except BlocktimeError as exc:
        print(f"blocktime: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `blocktime agenda | head`: the reader has what it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("blocktime: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the one boundary: never a traceback for the user
        if debug:
            raise
        missing = driver_missing(exc)  # an optional driver imported without errors.optional: still one line
        if missing is not None:
            print(f"blocktime: error: {missing}", file=sys.stderr)
            return missing.exit_code
        print(f"blocktime: internal error: {type(exc).__name__} (run with --debug for details)",
              file=sys.stderr)
        return 1
    finally:
        if collecting:
            gc.enable()


def version() -> str:
    """The installed distribution's version (the package's own when run from a source tree)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("blocktime")
    except PackageNotFoundError:
        from blocktime import __version__

        return __version__


def one_line(text: str) -> str:
    """Text on one printable line: a server's answer or a file may carry newlines or terminal escapes."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


#: command -> "module:function" under blocktime.cli, imported when the command runs
COMMANDS = {
    "book": "booking:cmd_book", "agenda": "booking:cmd_agenda", "export": "booking:cmd_export",
    "cut-short": "makeup:cmd_cut_short", "offers": "makeup:cmd_offers", "accept": "makeup:cmd_accept",
    "offer": "makeup:cmd_offer", "decline": "makeup:cmd_decline", "status": "makeup:cmd_status",
    "engagements": "books:cmd_engagements", "no-show": "books:cmd_no_show", "engagement": "books:cmd_engagement",
    "history": "books:cmd_history", "report": "books:cmd_report",
    "statement": "books:cmd_statement",
    "why": "makeup:cmd_why", "repair": "ops:cmd_repair", "daemon": "ops:cmd_daemon", "demo": "ops:cmd_demo",
    "move": "mail:cmd_move", "cancel": "mail:cmd_cancel", "outbox": "mail:cmd_outbox",
    "import-reply": "mail:cmd_import_reply", "accept-counter": "mail:cmd_accept_counter",
    "decline-counter": "mail:cmd_decline_counter", "confirmations": "mail:cmd_confirmations",
    "auth": "ops:cmd_auth", "doctor": "ops:cmd_doctor", "inbox": "inbox:cmd_inbox",
    "week": "views:cmd_week", "init": "setup:cmd_init", "team": "team:cmd_team", "store": "stores:cmd_store",
}


def command(name: str) -> Callable[[argparse.Namespace], int]:
    """The function of command `name` (its module imported now)."""
    from importlib import import_module

    module, function = COMMANDS[name].split(":")
    found: Callable[[argparse.Namespace], int] = getattr(import_module(f"blocktime.cli.{module}"), function)
    return found
