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
    from blocktime.messages import Delivery
    from blocktime.service import BookResult, Session


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        raise BadInput(message, f"see `{self.prog} --help`")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="blocktime", description="Book on-site training as fixed blocks with a hard end.")
    p.add_argument("--config", metavar="FILE", help="config file (else $BLOCKTIME_CONFIG, else the user config dir)")
    p.add_argument("--now", metavar="DATETIME", help="pretend it is this time (demos, tests, replays)")
    p.add_argument("--debug", action="store_true", help="debug logging (secrets are never logged)")
    p.add_argument("--insecure", action="store_true",
                   help="do not verify the calendar server's TLS certificate, for this run only (warned)")
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

    o = sub.add_parser("offers", help="open offers (and --expire the ones whose time is up)")
    o.add_argument("--expire", action="store_true", help="end expired offers and delete their holds")
    o.add_argument("--json", action="store_true")

    ac = sub.add_parser("accept", help="book an offered option as a make-up block")
    ac.add_argument("offer", metavar="OFFER")
    ac.add_argument("option", metavar="OPTION", type=int)
    ac.add_argument("--no-send", action="store_true", help="keep the messages in the outbox")
    ac.add_argument("--json", action="store_true")

    de = sub.add_parser("decline", help="decline an offer: holds are deleted, the remainder stays open")
    de.add_argument("offer", metavar="OFFER")
    de.add_argument("--json", action="store_true")

    st = sub.add_parser("status", help="booked, delivered, cut-short and remaining minutes")
    st.add_argument("engagement", metavar="ENGAGEMENT")
    st.add_argument("--json", action="store_true")

    w = sub.add_parser("why", help="why each candidate slot of a day was refused")
    w.add_argument("date", metavar="DATE", help="e.g. 2026-04-07")
    w.add_argument("--engagement", required=True, metavar="KEY")
    w.add_argument("--length", metavar="DURATION", help="default: the open remainder")
    w.add_argument("--json", action="store_true")

    dm = sub.add_parser("daemon", help="nightly pass and regular sync (APScheduler); --once for cron")
    dm.add_argument("--once", action="store_true", help="run one full pass and exit")
    dm.add_argument("--status", action="store_true", help="last and next runs, outbox, offers, conflicts")
    dm.add_argument("--json", action="store_true")

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

    dr = sub.add_parser("doctor", help="check that blocktime can work with a calendar, with advice")
    dr.add_argument("profile", nargs="?", metavar="PROFILE",
                    help="a profile name from calendars/ or a .toml path (default: the configured calendar)")
    dr.add_argument("--json", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="blocktime: %(levelname)s: %(message)s",
        stream=sys.stderr,
        force=True,  # each call (tests run many in one process) logs to the current stderr
    )
    try:
        args = build_parser().parse_args(args_list)
        if args.command is None:
            build_parser().print_help()
            return 2
        return int(COMMANDS[args.command](args))
    except BlocktimeError as exc:
        print(f"blocktime: error: {one_line(str(exc))}", file=sys.stderr)
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


def one_line(text: str) -> str:
    """Text on one printable line: a server's answer or a file may carry newlines or terminal escapes."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _config(args: argparse.Namespace) -> Config:
    from dataclasses import replace

    from blocktime.config import load

    cfg = load(args.config)
    from blocktime.daemon import Redactor, secrets_of

    for handler in logging.getLogger().handlers:  # --debug shows what libraries log, servers' answers too
        handler.addFilter(Redactor(secrets_of(cfg)))
    if getattr(args, "insecure", False):
        print("blocktime: warning: --insecure: the calendar server's TLS certificate is not verified in this run",
              file=sys.stderr)
        return replace(cfg, calendar=replace(cfg.calendar, verify_tls=False))
    if not cfg.calendar.verify_tls and (cfg.calendar.url or "").startswith("https:"):
        print("blocktime: warning: [calendar] verify_tls = false: the calendar server's TLS certificate is not "
              "verified", file=sys.stderr)
    return cfg


def _now(args: argparse.Namespace, cfg: Config) -> datetime:
    from blocktime.inputs import moment

    tz = cfg.organizer.timezone
    return moment(args.now, tz) if args.now else datetime.now(tz)


def _session(args: argparse.Namespace) -> Session:
    from blocktime.service import Session

    global _OUTPUT_ZONE
    cfg = _config(args)
    _OUTPUT_ZONE = cfg.organizer.timezone
    return Session(cfg, _now(args, cfg))


_OUTPUT_ZONE: Any = None  # the organizer's zone, set per command: JSON times carry its offset


def iso(dt: datetime) -> str:
    """ISO 8601 with the UTC offset of the organizer's zone."""
    return (dt.astimezone(_OUTPUT_ZONE) if _OUTPUT_ZONE is not None else dt).isoformat()


def block_json(b: Block, eng: Engagement, **extra: Any) -> dict[str, Any]:
    return {
        "id": b.id,
        "uid": b.uid,
        "engagement": eng.key,
        "client": eng.client,
        "site": b.site,
        "start": iso(b.span.start),
        "end": iso(b.span.end),
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
        sent = _deliver(s, args) if result.written else None
        print_booking(result, s, as_json=args.json, mail=sent)
        if result.plan.refused and not result.written:
            raise BlocktimeError(
                f"nothing booked: {len(result.plan.refused)} of {req.count} blocks cannot be booked",
                "free the time, or use --skip-conflicts to book the others",
            )
    return 0


def print_booking(result: BookResult, s: Session, *, as_json: bool, mail: Delivery | None = None) -> None:
    from blocktime.service import refusal_json

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
            doc["mail"] = _mail_json(s, mail)
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
    _say_mail(s, mail)


def cmd_agenda(args: argparse.Namespace) -> int:
    from blocktime import inputs
    from blocktime.service import agenda

    with _session(args) as s:
        tz = s.config.organizer.timezone
        start = None if args.all else (inputs.moment(args.start, tz, s.now) if args.start else s.now)
        end = start + timedelta(days=args.days) if (start is not None and args.days) else None
        items = agenda(s, start, end)
        if args.json:
            print(json.dumps({"blocks": [block_json(sb.block, e, state=sb.state, sequence=sb.sequence,
                                                    answers=_answers(s, sb, e))
                                         for sb, e in items]}, indent=2, ensure_ascii=False))
            return 0
        if not items:
            print("no blocks booked" + ("" if args.all else " from now on"))
            return 0
        rows = [[sb.block.id, _span_text(sb.block.span.start, sb.block.span.end, tz), e.client, e.site, sb.state,
                 ", ".join(f"{a['attendee']} {a['answer'].replace('none', 'no answer')}" for a in _answers(s, sb, e))]
                for sb, e in items]
        print(_table(rows, ["block", "when", "client", "site", "state", "answers"]))
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


def _ended_at(text: str, start: datetime, tz: Any, now: datetime) -> datetime:
    from blocktime import inputs

    raw = text.strip()
    if len(raw) <= 5 and ":" in raw:  # HH:MM on the block's own day
        raw = f"{start.astimezone(tz):%Y-%m-%d} {raw}"
    return inputs.moment(raw, tz, now)


def offer_json(result: Any) -> dict[str, Any] | None:
    if result.offer is None:
        return None
    return {
        "id": result.offer.id,
        "expires": iso(result.offer.expires),
        "minutes": result.offer.minutes,
        "length": result.offer.length_min,
        "options": [{"number": h.number, "start": iso(h.span.start), "end": iso(h.span.end)}
                    for h in result.options],
    }


def stored_json(sb: Any, eng: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {"state": sb.state, "planned_end": iso(sb.planned_end)}
    if sb.state == "cut_short":
        extra.update(delivered=sb.delivered_min, remaining=sb.remaining_min)
    if sb.block.makeup_for:
        extra["makeup_for"] = sb.block.makeup_for
    return block_json(sb.block, eng, **extra)


def cmd_cut_short(args: argparse.Namespace) -> int:
    from blocktime import inputs
    from blocktime.offers import cut_short

    with _session(args) as s:
        tz = s.config.organizer.timezone
        sb = s.store.block(args.block)
        if sb is None:
            raise BadInput(f"no block {args.block!r}", "see `blocktime agenda` for ids")
        if args.delivered is not None:
            ended = sb.block.span.start + inputs.duration(args.delivered)
        else:
            ended = _ended_at(args.ended_at, sb.block.span.start, tz, s.now)
        block, result = cut_short(s, args.block, ended, args.reason)
        eng = s.store.engagement(block.block.engagement)
        sent = _deliver(s, args)
        if args.json:
            doc: dict[str, Any] = {"block": stored_json(block, eng), "offer": offer_json(result),
                   "remaining": result.remaining}
            if result.carried_to is not None:
                doc["carried_to"] = result.carried_to.id
            if result.message:
                doc["message"] = result.message
            doc["mail"] = _mail_json(s, sent)
            print(json.dumps(doc, indent=2, ensure_ascii=False))
            return 0
        print(f"{block.block.id}: delivered {block.delivered_min} min, {block.remaining_min} min remain")
        if result.offer is not None:
            print(f"offer {result.offer.id} (held until {result.offer.expires.astimezone(tz):%Y-%m-%d %H:%M}):")
            for h in result.options:
                print(f"  {h.number}. {_span_text(h.span.start, h.span.end, tz)}")
        elif result.carried_to is not None:
            print(f"{result.remaining} min are short: carried over to {result.carried_to.id}")
        elif result.remaining > 0:
            print(f"no free slot within the horizon; {result.remaining} min stay open")
        if result.message:
            print(f"message for the client: {result.message}")
        _say_mail(s, sent)
    return 0


def cmd_offers(args: argparse.Namespace) -> int:
    from blocktime.offers import expire

    with _session(args) as s:
        tz = s.config.organizer.timezone
        expired = expire(s) if args.expire else []
        offers = s.store.offers()
        if args.json:
            doc = {"offers": [{"id": o.id, "engagement": o.engagement, "expires": iso(o.expires),
                               "minutes": o.minutes,
                               "options": [{"number": h.number, "start": iso(h.span.start),
                                            "end": iso(h.span.end)} for h in s.store.holds(o.id)]}
                              for o in offers],
                   "expired": [o.id for o in expired]}
            print(json.dumps(doc, indent=2))
            return 0
        for o in expired:
            print(f"expired {o.id}: holds deleted, {o.minutes} min stay open")
        if not offers:
            print("no open offers")
        for o in offers:
            print(f"{o.id}  {o.minutes} min  held until {o.expires.astimezone(tz):%Y-%m-%d %H:%M}")
            for h in s.store.holds(o.id):
                print(f"  {h.number}. {_span_text(h.span.start, h.span.end, tz)}")
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    from blocktime.offers import accept

    with _session(args) as s:
        sb = accept(s, args.offer, args.option)
        eng = s.store.engagement(sb.block.engagement)
        sent = _deliver(s, args)
        if args.json:
            print(json.dumps({"block": stored_json(sb, eng), "mail": _mail_json(s, sent)}, indent=2,
                             ensure_ascii=False))
        else:
            tz = s.config.organizer.timezone
            print(f"booked make-up block {sb.block.id}: {_span_text(sb.block.span.start, sb.block.span.end, tz)}"
                  f" (makes up for {sb.block.makeup_for}); other holds released")
            _say_mail(s, sent)
    return 0


def cmd_decline(args: argparse.Namespace) -> int:
    from blocktime.offers import decline

    with _session(args) as s:
        offer = decline(s, args.offer)
        if args.json:
            print(json.dumps({"offer": {"id": offer.id, "state": offer.state, "minutes": offer.minutes}}))
        else:
            print(f"declined {offer.id}: holds deleted, {offer.minutes} min stay open")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from blocktime.offers import status

    with _session(args) as s:
        st = status(s, args.engagement)
        eng = st.engagement
        doc = {
            "engagement": eng.key, "client": eng.client, "site": eng.site,
            "booked_minutes": st.booked, "delivered_minutes": st.delivered,
            "cut_short_minutes": st.cut_short, "remaining_minutes": st.remaining,
            "blocks": [stored_json(sb, eng) for sb in st.blocks],
            "makeup_blocks": [sb.block.id for sb in st.blocks if sb.block.makeup_for],
            "open_offers": [{"id": o.id, "expires": iso(o.expires), "minutes": o.minutes} for o in st.offers],
        }
        if args.json:
            print(json.dumps(doc, indent=2, ensure_ascii=False))
            return 0
        tz = s.config.organizer.timezone
        print(f"{eng.client} at {eng.site} ({eng.key})")
        print(f"booked {st.booked} min, delivered {st.delivered} min, cut short {st.cut_short} min, "
              f"remaining {st.remaining} min")
        rows = [[sb.block.id, _span_text(sb.block.span.start, sb.block.span.end, tz), sb.state,
                 f"makes up for {sb.block.makeup_for}" if sb.block.makeup_for else ""] for sb in st.blocks]
        if rows:
            print(_table(rows, ["block", "when", "state", "note"]))
        for o in st.offers:
            print(f"open offer {o.id}: {o.minutes} min, held until {o.expires.astimezone(tz):%Y-%m-%d %H:%M}")
    return 0


def cmd_why(args: argparse.Namespace) -> int:
    from blocktime import inputs
    from blocktime.offers import why

    with _session(args) as s:
        day = inputs.day(args.date)
        length = inputs.duration(args.length) if args.length else None
        cands = why(s, args.engagement, day, length)
        tz = s.config.organizer.timezone
        if args.json:
            print(json.dumps({"date": day.isoformat(), "candidates": [
                {"start": iso(c.span.start), "end": iso(c.span.end),
                 "reasons": [str(r) for r in c.reasons], "details": list(c.details)} for c in cands]}, indent=2))
            return 0
        if not cands:
            print(f"{day}: no working hours that day")
        rows = [[_span_text(c.span.start, c.span.end, tz), ", ".join(c.reasons) or "free",
                 "; ".join(c.details)] for c in cands]
        if rows:
            print(_table(rows, ["candidate", "result", "why"]))
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from blocktime.repair import repair

    with _session(args) as s:
        rep = repair(s)
        doc = {"engagements": rep.engagements, "blocks": rep.blocks, "offers": rep.offers,
               "holds": rep.holds, "skipped": rep.skipped, "backup": rep.backup, "mail": rep.mail}
        if args.json:
            print(json.dumps(doc, indent=2))
        else:
            print(f"rebuilt the store from the calendar: {rep.engagements} engagements, {rep.blocks} blocks, "
                  f"{rep.offers} open offers with {rep.holds} holds")
            if rep.mail:
                print(f"{rep.mail} waiting message(s) queued again from the outbox")
            if rep.backup:
                print(f"the old store was kept as {rep.backup}")
    return 0


def _deliver(s: Session, args: argparse.Namespace) -> Delivery:
    """Send what this command queued (unless --no-send); a failure is a warning, since the
    calendar work is done: the messages wait in the outbox for `blocktime outbox send`."""
    from blocktime.messages import deliver

    sent = deliver(s, s.queued, send=not getattr(args, "no_send", False))
    if sent.error or sent.failed:
        why = sent.error or "; ".join(f"{q.recipient}: {e}" for q, e in sent.failed)
        print(f"blocktime: warning: mail not sent ({why}); {sent.waiting} message(s) wait in the outbox: "
              "run `blocktime outbox send`", file=sys.stderr)
    return sent


def _mail_json(s: Session, sent: Delivery) -> dict[str, Any]:
    from blocktime.messages import mail_dir

    return {**sent.json(), "outbox": str(mail_dir(s))}


def _say_mail(s: Session, sent: Delivery | None) -> None:
    from blocktime.messages import mail_dir

    if sent is None:
        return
    if sent.sent:
        print(f"sent {len(sent.sent)} message(s) to {', '.join(sorted({q.recipient for q in sent.sent}))}")
    if sent.waiting and not sent.error and not sent.failed:
        why = "--no-send" if sent.held else ("no [smtp] configured" if not sent.smtp else "")
        print(f"{sent.waiting} message(s) wait in {mail_dir(s)}" + (f" ({why})" if why else "")
              + ("; `blocktime outbox send` sends them" if sent.smtp else ""))


def _answers(s: Session, sb: Any, eng: Engagement) -> list[dict[str, Any]]:
    """Each attendee's answer; an answer to an earlier SEQUENCE (before a move) no longer counts."""
    from blocktime.attendance import Attendance

    got = Attendance(s.store).answers(sb.block.uid)
    out = []
    for email in eng.attendees:
        a = got.get(email.lower())
        current = a is not None and a.sequence >= sb.sequence
        out.append({"attendee": email, "answer": a.partstat.lower() if a and current else "none",
                    "note": a.note if a and current else "", "earlier": a.partstat.lower() if a and not current
                    else None})
    return out


def _block_doc(s: Session, sb: Any) -> dict[str, Any]:
    eng = s.store.engagement(sb.block.engagement)
    return {**stored_json(sb, eng), "sequence": sb.sequence}


def cmd_move(args: argparse.Namespace) -> int:
    from blocktime.changes import move

    with _session(args) as s:
        tz = s.config.organizer.timezone
        found = s.store.block(args.block)
        if found is None:
            raise BadInput(f"no block {args.block!r}", "see `blocktime agenda` for ids")
        moved = move(s, args.block, _ended_at(args.to, found.block.span.start, tz, s.now))
        sent = _deliver(s, args)
        sb = moved.block
        if args.json:
            print(json.dumps({"block": _block_doc(s, sb), "before": {"start": iso(moved.before.start),
                              "end": iso(moved.before.end)}, "mail": _mail_json(s, sent)}, indent=2,
                             ensure_ascii=False))
            return 0
        print(f"moved {sb.block.id} to {_span_text(sb.block.span.start, sb.block.span.end, tz)} "
              f"(was {_span_text(moved.before.start, moved.before.end, tz)}); updated invitation, "
              f"SEQUENCE {sb.sequence}")
        _say_mail(s, sent)
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from blocktime.changes import cancel

    with _session(args) as s:
        done = cancel(s, args.block, drop_minutes=args.drop_minutes)
        sent = _deliver(s, args)
        remaining = s.store.remainder(done.block.block.engagement)
        if args.json:
            print(json.dumps({"block": _block_doc(s, done.block), "returned_minutes": done.returned,
                              "dropped_minutes": done.dropped, "remaining_minutes": remaining,
                              "mail": _mail_json(s, sent)}, indent=2, ensure_ascii=False))
            return 0
        b = done.block.block
        print(f"cancelled {b.id} ({_span_text(b.span.start, b.span.end, s.config.organizer.timezone)}): "
              f"event deleted from the calendar, cancellation SEQUENCE {done.block.sequence}")
        if done.returned:
            print(f"{done.returned} min back in the remainder; {remaining} min remain")
        if done.dropped:
            print(f"{done.dropped} min taken out of the engagement")
        _say_mail(s, sent)
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    from blocktime.mailqueue import MailQueue
    from blocktime.messages import deliver, mail_dir

    with _session(args) as s:
        if args.action == "send":
            if s.config.smtp is None:
                raise BadInput("no [smtp] section in the config", "add [smtp] host and from; see the README")
            sent = deliver(s)
            if args.json:
                print(json.dumps(_mail_json(s, sent), indent=2, ensure_ascii=False))
            else:
                print(f"sent {len(sent.sent)} message(s); {sent.waiting} wait in the outbox")
                for q, why in sent.failed:
                    print(f"  not sent to {q.recipient}: {why}")
            if sent.error:
                raise BlocktimeError(sent.error)
            return 1 if sent.failed else 0
        waiting = MailQueue(s.store).waiting()
        if args.json:
            print(json.dumps({"outbox": str(mail_dir(s)), "waiting": [
                {"kind": q.kind, "to": q.recipient, "subject": q.subject, "ref": q.ref, "sequence": q.sequence,
                 "queued": iso(q.created), "attempts": q.attempts, "last_error": q.last_error}
                for q in waiting]}, indent=2, ensure_ascii=False))
            return 0
        if not waiting:
            print("the outbox is empty")
            return 0
        rows = [[q.kind, q.recipient, q.subject, q.last_error or ""] for q in waiting]
        print(_table(rows, ["kind", "to", "subject", "last error"]))
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

    from blocktime.replies import import_reply

    with _session(args) as s:
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
                print(f"{b.id}: {o.attendee} proposes {_span_text(c.start, c.end, tz)} "
                      f"(now {_span_text(b.span.start, b.span.end, tz)}){note}")
                print(f"  accept:  blocktime accept-counter {c.id}\n  decline: blocktime decline-counter {c.id}")
    return 0


def cmd_accept_counter(args: argparse.Namespace) -> int:
    from blocktime.replies import accept_counter

    with _session(args) as s:
        c, sb = accept_counter(s, args.counter)
        sent = _deliver(s, args)
        if args.json:
            print(json.dumps({"counter": {"id": c.id, "state": "accepted", "attendee": c.attendee},
                              "block": _block_doc(s, sb), "mail": _mail_json(s, sent)}, indent=2,
                             ensure_ascii=False))
            return 0
        tz = s.config.organizer.timezone
        print(f"accepted {c.id}: {sb.block.id} moved to {_span_text(sb.block.span.start, sb.block.span.end, tz)}")
        _say_mail(s, sent)
    return 0


def cmd_decline_counter(args: argparse.Namespace) -> int:
    from blocktime.replies import decline_counter

    with _session(args) as s:
        c = decline_counter(s, args.counter)
        sent = _deliver(s, args)
        if args.json:
            print(json.dumps({"counter": {"id": c.id, "state": c.state, "attendee": c.attendee},
                              "mail": _mail_json(s, sent)}, indent=2, ensure_ascii=False))
            return 0
        print(f"declined {c.id}: the block keeps its time; {c.attendee} gets a note")
        _say_mail(s, sent)
    return 0


def cmd_confirmations(args: argparse.Namespace) -> int:
    from blocktime.confirmations import prepare

    with _session(args) as s:
        prepared, skipped = prepare(s)
        sent = _deliver(s, args)
        tz = s.config.organizer.timezone
        if args.json:
            print(json.dumps({
                "prepared": [{"block": p.block.block.id, "uid": p.block.block.uid, "sequence": p.block.sequence,
                              "due": iso(p.due), "to": [k.rsplit(":", 1)[1] for k in p.keys]} for p in prepared],
                "skipped": [{"block": k.block.block.id, "due": iso(k.due), "why": k.why} for k in skipped],
                "mail": _mail_json(s, sent)}, indent=2, ensure_ascii=False))
            return 0
        if not prepared:
            print("no confirmation is due")
        for p in prepared:
            b = p.block.block
            print(f"{b.id} ({_span_text(b.span.start, b.span.end, tz)}): confirmation to {len(p.keys)} attendee(s)")
        _say_mail(s, sent)
    return 0


def cmd_daemon(args: argparse.Namespace) -> int:
    from blocktime import daemon

    cfg = _config(args)
    tz = cfg.organizer.timezone
    if args.status:
        doc = daemon.status(cfg, _now(args, cfg))
        if args.json:
            print(json.dumps(doc, indent=2, default=str))
        else:
            print(f"last sync     {doc['last_sync'] or 'never'}")
            print(f"last nightly  {doc['last_nightly'] or 'never'}")
            print(f"next nightly  {doc['next_nightly']}")
            print(f"outbox        {doc['outbox_pending']} waiting")
            print(f"open offers   {', '.join(o['id'] for o in doc['open_offers']) or 'none'}")
            for c in doc["conflicts"]:
                print(f"conflict      {c['summary']!r} {c['start']} overlaps {c['block_uid']}")
        return 0
    daemon.setup_logging(cfg, level=logging.DEBUG if args.debug else logging.INFO)
    if args.once:
        with daemon.single_instance(cfg.data_dir):
            result = daemon.run_pass(cfg, _now(args, cfg), nightly=True)
        if args.json:
            print(json.dumps(result.report, indent=2, default=str))
        return 1 if result.report.get("errors") else 0
    fixed = _now(args, cfg) if args.now else None
    return daemon.run(cfg, (lambda: fixed) if fixed else (lambda: datetime.now(tz)))


def cmd_demo(args: argparse.Namespace) -> int:
    from blocktime.demo import run

    return run(args.dir, os.environ)


def cmd_auth(args: argparse.Namespace) -> int:
    from pathlib import Path

    from blocktime import auth_flows
    from blocktime.auth import TokenStore

    cfg = _config(args)
    store = TokenStore(cfg.data_dir, args.provider, cfg.calendar.token_store)
    if args.provider == "google":
        if not args.client_secrets:
            raise BadInput("--client-secrets FILE is required for google",
                           "create an OAuth client (Desktop app) in the Google Cloud console and download it")
        auth_flows.google(Path(args.client_secrets).expanduser(), store, open_browser=not args.no_browser)
    else:
        auth_flows.outlook(cfg.calendar.client_id, cfg.calendar.tenant, store, print)
    print(f"signed in to {args.provider}; token kept in {store.where}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from blocktime.doctor import diagnose

    cfg = _config(args)
    cal, label = cfg.calendar, cfg.calendar.profile or cfg.calendar.provider
    if args.profile:
        from blocktime.backends.profiles import read_profile
        from blocktime.config import from_mapping

        try:
            path, table = read_profile(args.profile)
        except ValueError as exc:
            raise BadInput(str(exc), "see `ls calendars/`") from None
        cal, label = from_mapping({"calendar": table}, path).calendar, f"profile {path.stem}"
        if args.insecure:
            from dataclasses import replace

            cal = replace(cal, verify_tls=False)
    report = diagnose(cal, cfg.data_dir, _now(args, cfg))
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(report.text(label))
    return 0 if report.ok else 1


COMMANDS = {
    "book": cmd_book, "agenda": cmd_agenda, "export": cmd_export, "cut-short": cmd_cut_short,
    "offers": cmd_offers, "accept": cmd_accept, "decline": cmd_decline, "status": cmd_status,
    "why": cmd_why, "repair": cmd_repair, "daemon": cmd_daemon, "demo": cmd_demo,
    "move": cmd_move, "cancel": cmd_cancel, "outbox": cmd_outbox, "import-reply": cmd_import_reply,
    "accept-counter": cmd_accept_counter, "decline-counter": cmd_decline_counter,
    "confirmations": cmd_confirmations, "auth": cmd_auth, "doctor": cmd_doctor,
}

if __name__ == "__main__":
    raise SystemExit(main())
