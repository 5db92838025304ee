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
