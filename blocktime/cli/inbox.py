"""`blocktime inbox`: read the organizer's new mail once and act on the clients' answers."""

from __future__ import annotations

import argparse

from blocktime.cli.common import deliver_mail, dismiss_command, open_session


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ib = sub.add_parser("inbox", help="read new replies in the organizer's mailbox and act on them")
    ib.add_argument("--dry-run", action="store_true", help="say what would be done; change nothing, send nothing")
    ib.add_argument("--no-send", action="store_true", help="keep the messages in the outbox")
    ib.add_argument("--dismiss", metavar="MESSAGE_ID", help="a kept message you have dealt with: stop listing it")
    ib.add_argument("--json", action="store_true")


def cmd_inbox(args: argparse.Namespace) -> int:
    import json

    from blocktime.mail.triage import KEPT
    from blocktime.usecases.answers import run
    from blocktime.usecases.waiting import dismiss

    with open_session(args) as s:
        if args.dismiss:
            done = dismiss(s, args.dismiss)
            print(json.dumps({"dismissed": done.json()}) if args.json else f"dismissed {done.message_id}")
            return 0
        report = run(s, dry_run=args.dry_run)
        if not args.dry_run:
            deliver_mail(s, args)
        if args.json:
            print(json.dumps({"messages": [h.json() for h in report.messages], "busy": report.busy},
                             indent=2, ensure_ascii=False))
            return 0
        if report.busy:
            print("another inbox pass is running; nothing read")
            return 0
        shown = [h for h in report.messages if h.action != "ignored" or h.offer]
        prefix = "would be " if args.dry_run else ""
        for h in shown:
            what = f"{h.offer} option {h.option}" if h.offer and h.option else (h.offer or "")
            print(f"{prefix}{h.action}: {h.sender} {h.subject[:60]!r} {what} {h.block or ''} — {h.reason}".rstrip())
            if h.action == KEPT and not args.dry_run:
                print(f"  dealt with it? {dismiss_command(h.message_id)}")
        ignored = len(report.messages) - len(shown)
        print(f"{len(report.messages)} new message(s); {ignored} unrelated" if report.messages else "no new mail")
    return 0
