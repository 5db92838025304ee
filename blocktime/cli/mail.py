"""Commands for changes and messages: move, cancel, outbox, replies, counters, confirmations."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from blocktime.cli.common import block_doc, deliver_mail, iso, mail_json, open_session, say_mail, span_text, table
from blocktime.cli.makeup import ended_at
from blocktime.errors import BadInput, BlocktimeError

if TYPE_CHECKING:
    from blocktime.usecases.session import Session


def cmd_move(args: argparse.Namespace) -> int:
    from blocktime.usecases.changes import move

    with open_session(args) as s:
        tz = s.config.organizer.timezone
        found = s.store.block(args.block)
        if found is None:
            raise BadInput(f"no block {args.block!r}", "see `blocktime agenda` for ids")
        moved = move(s, args.block, ended_at(args.to, found.block.span.start, tz, s.now))
        sent = deliver_mail(s, args)
        sb = moved.block
        if args.json:
            print(json.dumps({"block": block_doc(s, sb), "before": {"start": iso(moved.before.start),
                              "end": iso(moved.before.end)}, "mail": mail_json(s, sent)}, indent=2,
                             ensure_ascii=False))
            return 0
        print(f"moved {sb.block.id} to {span_text(sb.block.span.start, sb.block.span.end, tz)} "
              f"(was {span_text(moved.before.start, moved.before.end, tz)}); updated invitation, "
              f"SEQUENCE {sb.sequence}")
        say_mail(s, sent)
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from blocktime.usecases.changes import cancel

    with open_session(args) as s:
        done = cancel(s, args.block, drop_minutes=args.drop_minutes)
        sent = deliver_mail(s, args)
        remaining = s.store.remainder(done.block.block.engagement)
        if args.json:
            print(json.dumps({"block": block_doc(s, done.block), "returned_minutes": done.returned,
                              "dropped_minutes": done.dropped, "remaining_minutes": remaining,
                              "mail": mail_json(s, sent)}, indent=2, ensure_ascii=False))
            return 0
        b = done.block.block
        print(f"cancelled {b.id} ({span_text(b.span.start, b.span.end, s.config.organizer.timezone)}): "
              f"event deleted from the calendar, cancellation SEQUENCE {done.block.sequence}")
        if done.returned:
            print(f"{done.returned} min back in the remainder; {remaining} min remain")
        if done.dropped:
            print(f"{done.dropped} min taken out of the engagement")
        say_mail(s, sent)
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    """`outbox` lists what would go out now (checked against the current state, nothing written);
    `outbox send` sends it, held mail (--no-send) included, and says what it withdrew."""
    from blocktime.store.mailqueue import HELD
    from blocktime.usecases.letters import mail_dir
    from blocktime.usecases.messages import deliver
    from blocktime.usecases.review import outgoing

    with open_session(args) as s:
        if args.action == "send":
            if not s.config.sends:
                raise BadInput("no [smtp] section in the config",
                               "add [smtp] host and from, or [mail] transport = \"graph\"; see the README")
            sent = deliver(s, held=True)
            if args.json:
                print(json.dumps(mail_json(s, sent), indent=2, ensure_ascii=False))
            else:
                for step in sent.withdrawn:
                    print(step.line())
                print(f"sent {len(sent.sent)} message(s); {sent.waiting} wait in the outbox")
                for q, why in sent.failed:
                    print(f"  not sent to {q.recipient}: {why}")
            if sent.error:
                raise BlocktimeError(sent.error)
            return 1 if sent.failed else 0
        waiting = outgoing(s)
        if args.json:
            print(json.dumps({"outbox": str(mail_dir(s)), "waiting": [
                {"kind": q.kind, "to": q.recipient, "subject": q.subject, "ref": q.ref, "sequence": q.sequence,
                 "queued": iso(q.created), "attempts": q.attempts, "last_error": q.last_error,
                 "held": q.state == HELD}
                for q in waiting]}, indent=2, ensure_ascii=False))
            return 0
        if not waiting:
            print("the outbox is empty")
            return 0
        rows = [[q.kind, q.recipient, q.subject, q.last_error or "", "held" if q.state == HELD else ""]
                for q in waiting]
        print(table(rows, ["kind", "to", "subject", "last error", "held"]))
        if any(q.state == HELD for q in waiting):
            print("held: kept back by --no-send; `blocktime outbox send` sends them, the daemon does not")
    return 0


def _outcome_json(s: Session, o: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": o.kind, "block": o.block.block.id, "uid": o.block.block.uid,
                           "attendee": o.attendee, "applied": o.applied, "why": o.why or None, "note": o.note}
    if o.kind == "answer":
        doc["answer"] = (o.partstat or "").lower()
    if o.counter is not None:
        doc.update(id=o.counter.id, start=iso(o.counter.start), end=iso(o.counter.end), state=o.counter.state,
                   current_start=iso(o.block.block.span.start), current_end=iso(o.block.block.span.end))
    return doc


def cmd_import_reply(args: argparse.Namespace) -> int:
    from pathlib import Path

    from blocktime.usecases.replies import import_reply

    with open_session(args) as s:
        tz = s.config.organizer.timezone
        outcomes = import_reply(s, Path(args.file))
        if args.json:
            print(json.dumps({"items": [_outcome_json(s, o) for o in outcomes]}, indent=2, ensure_ascii=False))
            return 0
        for o in outcomes:
            b = o.block.block
            note = f' — "{o.note}"' if o.note else ""
            if not o.applied:
                print(f"{b.id}: {o.kind} from {o.attendee} not applied: {o.why}")
            elif o.kind == "answer":
                print(f"{b.id}: {o.attendee} {(o.partstat or '').lower()}{note}")
            elif o.counter is not None:
                c = o.counter
                print(f"{b.id}: {o.attendee} proposes {span_text(c.start, c.end, tz)} "
                      f"(now {span_text(b.span.start, b.span.end, tz)}){note}")
                print(f"  accept:  blocktime accept-counter {c.id}\n  decline: blocktime decline-counter {c.id}")
    return 0


def cmd_accept_counter(args: argparse.Namespace) -> int:
    from blocktime.usecases.replies import accept_counter

    with open_session(args) as s:
        c, sb = accept_counter(s, args.counter)
        sent = deliver_mail(s, args)
        if args.json:
            print(json.dumps({"counter": {"id": c.id, "state": "accepted", "attendee": c.attendee},
                              "block": block_doc(s, sb), "mail": mail_json(s, sent)}, indent=2,
                             ensure_ascii=False))
            return 0
        tz = s.config.organizer.timezone
        print(f"accepted {c.id}: {sb.block.id} moved to {span_text(sb.block.span.start, sb.block.span.end, tz)}")
        say_mail(s, sent)
    return 0


def cmd_decline_counter(args: argparse.Namespace) -> int:
    from blocktime.usecases.replies import decline_counter

    with open_session(args) as s:
        c = decline_counter(s, args.counter)
        sent = deliver_mail(s, args)
        if args.json:
            print(json.dumps({"counter": {"id": c.id, "state": c.state, "attendee": c.attendee},
                              "mail": mail_json(s, sent)}, indent=2, ensure_ascii=False))
            return 0
        print(f"declined {c.id}: the block keeps its time; {c.attendee} gets a note")
        say_mail(s, sent)
    return 0


def cmd_confirmations(args: argparse.Namespace) -> int:
    from blocktime.usecases.confirmations import prepare

    with open_session(args) as s:
        prepared, skipped = prepare(s)
        sent = deliver_mail(s, args)
        tz = s.config.organizer.timezone
        if args.json:
            print(json.dumps({
                "prepared": [{"block": p.block.block.id, "uid": p.block.block.uid, "sequence": p.block.sequence,
                              "due": iso(p.due), "to": [k.rsplit(":", 1)[1] for k in p.keys]} for p in prepared],
                "skipped": [{"block": k.block.block.id, "due": iso(k.due), "why": k.why} for k in skipped],
                "mail": mail_json(s, sent)}, indent=2, ensure_ascii=False))
            return 0
        if not prepared:
            print("no confirmation is due")
        for p in prepared:
            b = p.block.block
            print(f"{b.id} ({span_text(b.span.start, b.span.end, tz)}): confirmation to {len(p.keys)} attendee(s)")
        say_mail(s, sent)
    return 0
