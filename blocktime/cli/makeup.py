"""Commands for the part that is left: cut-short, offers, accept, decline, status, why."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from blocktime.cli.common import (
    deliver_mail,
    dismiss_command,
    iso,
    mail_json,
    moment_text,
    offer_json,
    open_session,
    say_mail,
    shown_state,
    span_text,
    stored_json,
    table,
)
from blocktime.errors import BadInput

if TYPE_CHECKING:
    pass


def _until(at: datetime, s: Any) -> str:
    """`2026-03-27 13:05 (in 2 days)`: the organizer's zone, and how far away (English or Polish)."""
    from blocktime.views.week import relative

    cfg = s.config.organizer
    return f"{at.astimezone(cfg.timezone):%Y-%m-%d %H:%M} ({relative(at, s.now)})"


def ended_at(text: str, start: datetime, tz: Any, now: datetime) -> datetime:
    from blocktime.config import inputs
    raw = text.strip()
    if len(raw) <= 5 and ":" in raw:  # HH:MM on the block's own day
        raw = f"{start.astimezone(tz):%Y-%m-%d} {raw}"
    return inputs.moment(raw, tz, now)


def delivered_end(text: str, sb: Any, tz: Any, now: datetime) -> datetime:
    """When a block that delivered `text` (a duration) ended; a `--delivered` error says so
    in its own words (the use case checks an end time and speaks of --ended-at)."""
    from blocktime.config import inputs
    delivered = inputs.duration(text, flag="--delivered")
    ended: datetime = sb.block.span.start + delivered
    if sb.state != "booked" or now < sb.block.span.start:
        return ended  # already cut short, cancelled, not started: the use case says which
    planned = sb.planned_end - sb.block.span.start
    if delivered >= planned:
        raise BadInput(f"--delivered {text.strip()} is not less than block {sb.block.id}'s "
                       f"{int(planned.total_seconds() // 60)} min",
                       "a block delivered in full is not cut short")
    if ended > now:
        raise BadInput(f"--delivered {text.strip()}: block {sb.block.id} would have ended "
                       f"{moment_text(ended, tz)}, which is still ahead",
                       f"it started {moment_text(sb.block.span.start, tz)}")
    return ended


def cmd_cut_short(args: argparse.Namespace) -> int:
    from blocktime.usecases.offers import cut_short

    with open_session(args) as s:
        tz = s.config.organizer.timezone
        sb = s.store.block(args.block)
        if sb is None:
            raise BadInput(f"no block {args.block!r}", "see `blocktime agenda` for ids")
        if args.delivered is not None:
            ended = delivered_end(args.delivered, sb, tz, s.now)
        else:
            ended = ended_at(args.ended_at, sb.block.span.start, tz, s.now)
        block, result = cut_short(s, args.block, ended, args.reason)
        eng = s.store.engagement(block.block.engagement)
        sent = deliver_mail(s, args)
        if args.json:
            doc: dict[str, Any] = {"block": stored_json(block, eng), "offer": offer_json(result),
                   "remaining": result.remaining}
            if result.carried_to is not None:
                doc["carried_to"] = result.carried_to.id
            if result.message:
                doc["message"] = result.message
            doc["mail"] = mail_json(s, sent)
            print(json.dumps(doc, indent=2, ensure_ascii=False))
            return 0
        print(f"{block.block.id}: delivered {block.delivered_min} min, {block.remaining_min} min remain")
        if result.offer is not None:
            print(f"offer {result.offer.id} (held until {_until(result.offer.expires, s)}):")
            for h in result.options:
                print(f"  {h.number}. {span_text(h.span.start, h.span.end, tz)}")
        elif result.carried_to is not None:
            print(f"{result.remaining} min are short: carried over to {result.carried_to.id}")
        elif result.remaining > 0:
            print(f"no free slot within the horizon; {result.remaining} min stay open")
        if result.message:
            print(f"message for the client: {result.message}")
        say_mail(s, sent)
    return 0


def cmd_offer(args: argparse.Namespace) -> int:
    from blocktime.usecases.offers import reoffer

    with open_session(args) as s:
        tz = s.config.organizer.timezone
        result = reoffer(s, args.engagement, again=args.again)
        sent = deliver_mail(s, args)
        if args.json:
            print(json.dumps({"offer": offer_json(result), "remaining": result.remaining,
                              "message": result.message, "mail": mail_json(s, sent)}, indent=2, ensure_ascii=False))
            return 0
        if result.offer is None:
            print(f"no free slot within the horizon; {result.remaining} min stay open")
            return 0
        print(f"offer {result.offer.id} for {result.remaining} min "
              f"(held until {_until(result.offer.expires, s)}):")
        for h in result.options:
            print(f"  {h.number}. {span_text(h.span.start, h.span.end, tz)}")
        print(f"message for the client: {result.message}")
        say_mail(s, sent)
    return 0


def cmd_offers(args: argparse.Namespace) -> int:
    from blocktime.usecases.offers import expire

    with open_session(args) as s:
        tz = s.config.organizer.timezone
        expired = expire(s) if args.expire else []
        offers = [o for o in s.store.offers() if o.expires > s.now]
        lapsed = [o for o in s.store.offers() if o.expires <= s.now]  # released at the next write
        if args.json:
            doc = {"offers": [{"id": o.id, "engagement": o.engagement, "expires": iso(o.expires),
                               "minutes": o.minutes,
                               "options": [{"number": h.number, "start": iso(h.span.start),
                                            "end": iso(h.span.end)} for h in s.store.holds(o.id)]}
                              for o in offers],
                   "expired": [o.id for o in expired], "lapsed": [o.id for o in lapsed]}
            waiting = _inbox_waiting(s, None)
            if waiting is not None:
                doc["inbox_waiting"] = waiting
            print(json.dumps(doc, indent=2))
            return 0
        for o in expired:
            print(f"expired {o.id}: holds deleted, {o.minutes} min stay open")
        for o in lapsed:
            print(f"{o.id} expired {o.expires.astimezone(tz):%a %Y-%m-%d %H:%M}: no longer open; its holds are"
                  " released by the next daemon pass or `blocktime offers --expire`")
        _say_waiting(_inbox_waiting(s, None))
        if not offers:
            print("no open offers")
        for o in offers:
            print(f"{o.id}  {o.minutes} min  held until {_until(o.expires, s)}")
            for h in s.store.holds(o.id):
                print(f"  {h.number}. {span_text(h.span.start, h.span.end, tz)}")
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    from blocktime.usecases.offers import accept

    with open_session(args) as s:
        sb = accept(s, args.offer, args.option)
        eng = s.store.engagement(sb.block.engagement)
        sent = deliver_mail(s, args)
        if args.json:
            print(json.dumps({"block": stored_json(sb, eng), "mail": mail_json(s, sent)}, indent=2,
                             ensure_ascii=False))
        else:
            tz = s.config.organizer.timezone
            print(f"booked make-up block {sb.block.id}: {span_text(sb.block.span.start, sb.block.span.end, tz)}"
                  f" (makes up for {sb.block.makeup_for}); other holds released")
            say_mail(s, sent)
    return 0


def cmd_decline(args: argparse.Namespace) -> int:
    from blocktime.usecases.offers import decline

    with open_session(args) as s:
        offer = decline(s, args.offer)
        if args.json:
            print(json.dumps({"offer": {"id": offer.id, "state": offer.state, "minutes": offer.minutes}}))
        else:
            print(f"declined {offer.id}: holds deleted, {offer.minutes} min stay open")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from blocktime.usecases.offer_planning import status

    with open_session(args) as s:
        st = status(s, args.engagement)
        eng = st.engagement
        doc = {
            "engagement": eng.key, "client": eng.client, "site": eng.site,
            "booked_minutes": st.booked, "delivered_minutes": st.delivered,
            "cut_short_minutes": st.cut_short, "remaining_minutes": st.remaining,
            "blocks": [{**stored_json(sb, eng, s.now),
                        **({"calendar": st.moved[sb.block.uid]} if sb.block.uid in st.moved else {})}
                       for sb in st.blocks],
            "makeup_blocks": [sb.block.id for sb in st.blocks if sb.block.makeup_for],
            "open_offers": [{"id": o.id, "expires": iso(o.expires), "minutes": o.minutes,
                             **({"competed": st.competed[o.id]} if o.id in st.competed else {})} for o in st.offers],
        }
        waiting = _inbox_waiting(s, eng.key)
        if waiting is not None:
            doc["inbox_waiting"] = waiting
        if args.json:
            print(json.dumps(doc, indent=2, ensure_ascii=False))
            return 0
        tz = s.config.organizer.timezone
        print(f"{eng.client} at {eng.site} ({eng.key})")
        print(f"booked {st.booked} min, delivered {st.delivered} min, cut short {st.cut_short} min, "
              f"remaining {st.remaining} min")
        rows = [[sb.block.id, span_text(sb.block.span.start, sb.block.span.end, tz), shown_state(sb, s.now),
                 "; ".join(n for n in (f"makes up for {sb.block.makeup_for}" if sb.block.makeup_for else "",
                                       f"in calendar {st.moved[sb.block.uid]!r} (moved there)"
                                       if sb.block.uid in st.moved else "") if n)] for sb in st.blocks]
        if rows:
            print(table(rows, ["block", "when", "state", "note"]))
        for o in st.offers:
            print(f"open offer {o.id}: {o.minutes} min, held until {_until(o.expires, s)}")
            if o.id in st.competed:
                print(f"  {st.competed[o.id]}")
        _say_waiting(waiting)
    return 0


def _inbox_waiting(s: Any, engagement: str | None) -> list[dict[str, Any]] | None:
    """Mail kept for the organizer (None when no [inbox] is configured)."""
    if s.config.inbox is None:
        return None
    from blocktime.usecases.waiting import waiting_for

    return waiting_for(s, engagement)


def _say_waiting(waiting: list[dict[str, Any]] | None) -> None:
    for w in waiting or []:
        about = f" about {w['offer']}" if w["offer"] else ""
        print(f"waiting for you: mail from {w['from']}{about}: {w['subject'][:60]!r} ({w['reason']})\n"
              f"  dealt with it? {dismiss_command(w['message_id'])}")


def cmd_why(args: argparse.Namespace) -> int:
    from blocktime.cli.views import which_day
    from blocktime.config import inputs
    from blocktime.usecases.offer_planning import why

    with open_session(args) as s:
        day = which_day(args.date, s.now, s.config.organizer.timezone)  # 2026-04-07, tomorrow, next thu
        length = inputs.duration(args.length, flag="--length") if args.length else None
        cands = why(s, args.engagement, day, length)
        tz = s.config.organizer.timezone
        if args.json:
            print(json.dumps({"date": day.isoformat(), "candidates": [
                {"start": iso(c.span.start), "end": iso(c.span.end),
                 "reasons": [str(r) for r in c.reasons], "details": list(c.details)} for c in cands]}, indent=2))
            return 0
        if not cands:
            print(f"{day}: no working hours that day")
        rows = [[span_text(c.span.start, c.span.end, tz), ", ".join(c.reasons) or "free",
                 "; ".join(c.details)] for c in cands]
        if rows:
            print(table(rows, ["candidate", "result", "why"]))
    return 0
