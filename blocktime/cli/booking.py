"""Commands for booking: book, agenda, export."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from blocktime.cli.common import (
    answers_json,
    block_json,
    deliver_mail,
    mail_json,
    open_session,
    say_mail,
    shown_state,
    span_text,
    table,
)
from blocktime.errors import BadInput, BlocktimeError

if TYPE_CHECKING:
    from blocktime.usecases.booking import BookResult
    from blocktime.usecases.messages import Delivery
    from blocktime.usecases.session import Session


def cmd_book(args: argparse.Namespace) -> int:
    from blocktime.config import inputs
    from blocktime.usecases.booking import BookRequest, book

    with open_session(args) as s:
        tz = s.config.organizer.timezone
        first = inputs.moment(args.start, tz, s.now)
        req = BookRequest(
            client=args.client,
            site=args.site,
            attendees=tuple(args.attendee),
            first=first,
            length=inputs.duration(args.length, flag="--length"),
            weekdays=inputs.weekdays(args.every) if args.every else frozenset({first.weekday()}),
            count=args.count,
            skip_conflicts=args.skip_conflicts,
            language=args.language,
        )
        result = book(s, req)
        sent = deliver_mail(s, args) if result.written or s.queued else None
        print_booking(result, s, as_json=args.json, mail=sent)
        refused_error(result)
    return 0


def refused_error(result: BookResult) -> None:
    """Exit 1 when refusals kept this run from booking what it could; a re-run whose blocks are
    booked already (the rest refused) is not a failure: it shows the same table and exits 0."""
    from blocktime.notes.wording import hint

    plan = result.plan
    if not plan.refused or result.written or (plan.existing and not plan.create):
        return
    total = len(plan.refused) + len(plan.create) + len(plan.existing)
    what = f"{len(plan.refused)} of {total} blocks cannot be booked"
    advice = hint(r for refusal in plan.refused for r in refusal.reasons)
    if plan.create:
        advice += f"; or use --skip-conflicts to book the {len(plan.create)} free one(s)"
    before = f" ({len(plan.existing)} booked before)" if plan.existing else ""
    raise BlocktimeError(f"{'no new block' if plan.existing else 'nothing'} booked: {what}{before}", advice)


def print_booking(result: BookResult, s: Session, *, as_json: bool, mail: Delivery | None = None) -> None:
    from blocktime.notes.wording import why
    from blocktime.usecases.booking import refusal_json

    tz = s.config.organizer.timezone
    eng = result.engagement
    created = {b.uid for b in result.plan.create} if result.written else set()
    if as_json:
        doc: dict[str, Any] = {
            "engagement": eng.key,
            "booked": [block_json(b, eng, created=b.uid in created) for b in result.booked],
            "refused": [refusal_json(r) for r in result.plan.refused],
        }
        if mail is not None:
            doc["mail"] = mail_json(s, mail)
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    rows = [[b.id, span_text(b.span.start, b.span.end, tz), "booked" if b.uid in created else "already booked", ""]
            for b in result.booked]
    rows += [["-", span_text(r.span.start, r.span.end, tz), "refused: " + ", ".join(r.reasons),
              why(r.reasons, r.details)] for r in result.plan.refused]
    if not result.written and result.plan.create:
        rows += [["-", span_text(b.span.start, b.span.end, tz), "free, not booked", ""] for b in result.plan.create]
    rows.sort(key=lambda r: r[1][4:])
    print(f"{eng.client} at {eng.site} ({eng.key})")
    print(table(rows, ["block", "when", "result", "why"]))
    if result.written:
        print(f"invites written to {s.config.outbox}")
    say_mail(s, mail)


#: `agenda` fits a terminal this wide: the site is shortened first (whole in --json)
AGENDA_WIDTH = 100


def cmd_agenda(args: argparse.Namespace) -> int:
    from blocktime.config import inputs
    from blocktime.views.agenda import agenda

    if args.days is not None and args.days < 1:
        raise BadInput(f"--days {args.days}: give one day or more", "e.g. --days 7")
    with open_session(args) as s:
        tz = s.config.organizer.timezone
        start = None if args.all else (inputs.moment(args.start, tz, s.now) if args.start else s.now)
        end = start + timedelta(days=args.days) if (start is not None and args.days) else None
        items = agenda(s, start, end)
        if args.json:
            print(json.dumps({"blocks": [block_json(sb.block, e, state=shown_state(sb, s.now),
                                                    makeup_for=sb.block.makeup_for, sequence=sb.sequence,
                                                    answers=answers_json(s, sb, e))
                                         for sb, e in items]}, indent=2, ensure_ascii=False))
            return 0
        if not items:
            print("no blocks booked" + ("" if args.all else " from now on"))
            if not s.store.engagements():  # not one engagement: a new store, or one switched or lost
                from blocktime.usecases.emptystore import WAYS_BACK

                print(f"(the store {s.store.where} is empty: {WAYS_BACK})")
            return 0
        def said(got: list[dict[str, Any]], how: int) -> str:
            """Each attendee's answer (0), by the address's local part (1), or counted (2)."""
            if how < 2:
                return ", ".join(f"{a['attendee'] if how == 0 else a['attendee'].split('@')[0]} "
                                 f"{a['answer'].replace('none', 'no answer')}" for a in got)
            words = [a["answer"] for a in got]
            order = ("accepted", "tentative", "declined", "delegated", "none")
            return ", ".join(f"{words.count(w)} {w.replace('none', 'no answer')}"
                             for w in sorted(set(words), key=lambda w: order.index(w) if w in order else 3))

        base = [([sb.block.id, span_text(sb.block.span.start, sb.block.span.end, tz), e.client, e.site,
                  shown_state(sb, s.now)], answers_json(s, sb, e)) for sb, e in items]  # read once
        for how in range(3):  # the most the terminal takes; who answered what is always in --json
            rows = [[*cells, said(got, how)] for cells, got in base]
            shown = table(rows, ["block", "when", "client", "site", "state", "answers"], fit=AGENDA_WIDTH,
                          shrink=((3, 16), (2, 12), (5, 16), (3, 8)) if how == 2 else ((3, 16), (2, 12)))
            if max(len(line) for line in shown.splitlines()) <= AGENDA_WIDTH:
                break
        print(shown)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from blocktime.usecases.booking import export

    with open_session(args) as s:
        paths = export(s, args.blocks, args.engagement, args.out)
        if args.json:
            print(json.dumps({"files": paths}, indent=2))
        else:
            print("\n".join(paths))
    return 0
