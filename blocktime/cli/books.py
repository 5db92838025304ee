"""Commands for the consultant's books: `engagements`, `no-show` (and, later, `history`, `report`,
`statement`)."""

from __future__ import annotations

import argparse
import json

from blocktime.cli.common import (
    deliver_mail,
    iso,
    mail_json,
    offer_json,
    open_session,
    say_mail,
    span_text,
    stored_json,
    table,
)


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.2f}".rstrip("0").rstrip(".") + " h" if minutes % 60 else f"{minutes // 60} h"


def cmd_engagements(args: argparse.Namespace) -> int:
    from blocktime.usecases.books import all_books

    with open_session(args) as s:
        found = all_books(s, closed_too=args.all)
        if args.json:
            print(json.dumps({"engagements": [{
                "key": b.engagement.key, "client": b.engagement.client, "site": b.engagement.site,
                "language": b.engagement.language, "attendees": list(b.engagement.attendees),
                "contract_minutes": b.contract_min, "state": b.state,
                "closed": iso(b.closed) if b.closed else None,
                "blocks": b.books.blocks, "planned_minutes": b.books.planned,
                "delivered_minutes": b.books.delivered, "lost_minutes": b.books.lost,
                "made_up_minutes": b.books.made_up, "remaining_minutes": b.books.remaining,
                "open_offers": list(b.offers)} for b in found]}, indent=2, ensure_ascii=False))
            return 0
        if not found:
            print("no engagements yet" if args.all else "no active engagements (--all shows closed ones too)")
            return 0
        rows = [[b.engagement.key, b.engagement.client, b.state,
                 _hours(b.contract_min) if b.contract_min is not None else "",
                 _hours(b.books.planned), _hours(b.books.delivered), _hours(b.books.lost),
                 _hours(b.books.made_up), _hours(b.books.remaining), ", ".join(b.offers)] for b in found]
        print(table(rows, ["engagement", "client", "state", "contract", "planned", "delivered", "lost",
                           "made up", "remaining", "open offers"]))
    return 0


def cmd_no_show(args: argparse.Namespace) -> int:
    from blocktime.usecases.noshow import no_show

    with open_session(args) as s:
        block, result = no_show(s, args.block, args.reason, offer=not args.no_offer)
        eng = s.store.engagement(block.block.engagement)
        sent = deliver_mail(s, args)
        if args.json:
            doc = {"block": stored_json(block, eng), "offer": offer_json(result) if result else None,
                   "remaining": block.remaining_min, "mail": mail_json(s, sent)}
            print(json.dumps(doc, indent=2, ensure_ascii=False))
            return 0
        print(f"{block.block.id}: nobody came; {block.remaining_min} min remain")
        if result is not None and result.offer is not None:
            print(f"offer {result.offer.id}:")
            for h in result.options:
                print(f"  {h.number}. {span_text(h.span.start, h.span.end, s.config.organizer.timezone)}")
        say_mail(s, sent)
    return 0


def cmd_engagement(args: argparse.Namespace) -> int:
    from blocktime.config import inputs
    from blocktime.errors import BadInput
    from blocktime.usecases.terms import close, set_terms

    set_only = args.contract or args.language or args.attendee or args.remove_attendee
    if args.action == "close" and set_only:
        raise BadInput("--contract, --language and --attendee go with `engagement set`")
    if args.action == "set" and args.cancel_future:
        raise BadInput("--cancel-future goes with `engagement close`")
    if args.action == "set" and not set_only:
        raise BadInput("nothing to set", "give --contract, --language, --attendee or --remove-attendee")
    with open_session(args) as s:
        if args.action == "set":
            contract = inputs.duration(args.contract, flag="--contract") if args.contract else None
            set_terms(s, args.key, contract=contract,
                      language=args.language, add=tuple(args.attendee), remove=tuple(args.remove_attendee))
            sent = deliver_mail(s, args)  # invitations to a new attendee, CANCELs to one taken off
            if args.json:
                print(json.dumps({"engagement": args.key, "set": True, "mail": mail_json(s, sent)},
                                 indent=2, ensure_ascii=False))
            else:
                print(f"{args.key}: set")
                say_mail(s, sent)
            return 0
        done = close(s, args.key, cancel_future=args.cancel_future)
        sent = deliver_mail(s, args)
        if args.json:
            print(json.dumps({"engagement": done.key, "state": "closed", "withdrawn": list(done.withdrawn),
                              "cancelled": list(done.cancelled), "kept": list(done.kept),
                              "mail": mail_json(s, sent)}, indent=2, ensure_ascii=False))
            return 0
        print(f"{done.key} is closed")
        if done.withdrawn:
            print(f"  withdrawn: {', '.join(done.withdrawn)} (one message to the attendees)")
        if done.cancelled:
            print(f"  cancelled: {', '.join(done.cancelled)}")
        if done.kept:
            print(f"  still booked: {', '.join(done.kept)} (`--cancel-future` cancels them)")
        say_mail(s, sent)
    return 0


def _detail(detail: dict[str, object]) -> str:
    """`reason: fire drill; remaining: 30`: the facts of one event, the reason first."""
    items = sorted(detail.items(), key=lambda kv: (kv[0] != "reason", kv[0]))
    return "; ".join(f"{k}: {v}" for k, v in items if v not in (None, "", [], {}))


def cmd_history(args: argparse.Namespace) -> int:
    from blocktime.usecases.history import history

    with open_session(args) as s:
        title, events = history(s, args.ref)
        if args.json:
            print(json.dumps({"about": title, "events": [
                {"at": iso(e.at), "kind": e.kind, "about": e.about, "detail": e.detail} for e in events]},
                indent=2, ensure_ascii=False, default=str))
            return 0
        tz = s.config.organizer.timezone
        print(f"history of {title} ({tz.key})")
        rows = [[f"{e.at.astimezone(tz):%a %Y-%m-%d %H:%M}", e.kind, e.about, _detail(e.detail)] for e in events]
        print(table(rows, ["when", "what", "about", "detail"]) if rows else "nothing happened yet")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import sys

    from blocktime import files
    from blocktime.cli.views import which_day
    from blocktime.errors import BadInput
    from blocktime.usecases.report import report
    from blocktime.views.report import ROUNDING, as_csv, as_html, as_json, as_table

    with open_session(args) as s:
        tz = s.config.organizer.timezone
        start = which_day(args.start, s.now, tz) if args.start else None
        end = which_day(args.end, s.now, tz) if args.end else None
        if start and end and end < start:
            raise BadInput(f"--to {end} is before --from {start}")
        rows = report(s, start=start, end=end, client=args.client, by=args.by)
        title = "blocktime report" + (f": {args.client}" if args.client else "") + (
            f", {start or '…'} to {end or '…'}" if start or end else "")
        text = {"csv": lambda: as_csv(rows), "html": lambda: as_html(rows, title),
                "json": lambda: json.dumps(as_json(rows), indent=2, ensure_ascii=False) + "\n",
                "table": lambda: as_table(rows) + "\n"}[args.format]()
    if args.output:
        from pathlib import Path

        target = Path(args.output).expanduser()
        if target.is_dir():
            raise BadInput(f"--output {target} is a folder", "give a file name, e.g. report.csv")
        try:
            files.write(target.parent, target.name, text)
        except OSError as e:
            raise BadInput(f"cannot write {target}: {e.strerror or e}") from None
        print(f"wrote {target} ({len(rows)} row(s); {ROUNDING})", file=sys.stderr)
    else:
        sys.stdout.write(text)
        if args.format == "csv":
            print(f"({ROUNDING})", file=sys.stderr)
    return 0


def cmd_statement(args: argparse.Namespace) -> int:
    from blocktime.config.inputs import is_address
    from blocktime.errors import BadInput
    from blocktime.usecases.statement import statement

    for a in args.to:
        if not is_address(a):
            raise BadInput(f"--to {a!r} is not an e-mail address")
    with open_session(args) as s:
        done = statement(s, args.engagement, to=tuple(args.to), language=args.language)
        if args.json:
            print(json.dumps({"to": list(done.recipients), "text": done.text, "held": True}, indent=2,
                             ensure_ascii=False))
            return 0
        print(done.text)
        print(f"kept in the outbox for {', '.join(done.recipients)}: `blocktime outbox send` sends it")
    return 0
