"""What every command shares: config, clock and session; JSON and table output."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blocktime.config.schema import Config
    from blocktime.core.model import Block, Engagement
    from blocktime.usecases.messages import Delivery
    from blocktime.usecases.session import Session


def load_config(args: argparse.Namespace) -> Config:
    from dataclasses import replace

    cfg = trainer_config(args)
    logless = getattr(args, "command", None) in LOGLESS
    if logless and cfg.store_url:  # PostgreSQL: its driver logs
        log_to_stderr(bool(getattr(args, "debug", False)))
    if not logless or cfg.store_url:  # (a LOGLESS command on SQLite has no logging set up)
        import logging

        from blocktime.config.redaction import Redactor
        from blocktime.config.secrets import secrets_of

        for handler in logging.getLogger().handlers:  # --debug shows what libraries log, servers' answers too
            handler.addFilter(Redactor(secrets_of(cfg)))
    if getattr(args, "command", None) in WRITERS:
        say_placeholders(cfg)
    if getattr(args, "insecure", False):
        print("blocktime: warning: --insecure: the calendar server's TLS certificate is not verified in this run",
              file=sys.stderr)
        return replace(cfg, calendar=replace(cfg.calendar, verify_tls=False))
    if not cfg.calendar.verify_tls and (cfg.calendar.url or "").startswith("https:"):
        print("blocktime: warning: [calendar] verify_tls = false: the calendar server's TLS certificate is not "
              "verified", file=sys.stderr)
    return cfg


def log_to_stderr(debug: bool) -> None:
    """Library and blocktime warnings as `blocktime: LEVEL: message` lines on stderr."""
    import logging

    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="blocktime: %(levelname)s: %(message)s",
        stream=sys.stderr,
        force=True,  # each call (tests run many in one process) logs to the current stderr
    )


def trainer_config(args: argparse.Namespace) -> Config:
    """The config of the trainer `--as` (or $BLOCKTIME_TRAINER) names; a one-trainer config needs neither.
    Only that trainer's file is read, except by doctor, which checks the whole team."""
    from blocktime.team.trainers import for_trainer, load_team, load_trainer

    config, name = getattr(args, "config", None), trainer_name(args)
    if getattr(args, "command", None) in ("doctor", "init"):
        return for_trainer(load_team(config), name)
    return load_trainer(config, name)


def trainer_name(args: argparse.Namespace) -> str | None:
    """`--as NAME`, else $BLOCKTIME_TRAINER, else None."""
    import os

    return getattr(args, "trainer", None) or os.environ.get("BLOCKTIME_TRAINER") or None


#: commands that import no module that logs on a SQLite store (tests/cli/test_coldstart.py checks): they start
#: without `logging` (cli.main does not set it up; load_config does for a PostgreSQL store, whose driver logs)
LOGLESS = frozenset({"agenda"})

#: commands that write to the calendar, the store or the outbox: they say which placeholders they use
WRITERS = frozenset({"book", "cut-short", "accept", "offer", "decline", "offers", "move", "cancel", "export",
                     "confirmations", "outbox", "import-reply", "accept-counter", "decline-counter", "daemon",
                     "repair"})


NOTES: list[str] = []  # said on stderr once the command has run (an error stays one line of its own)


def say_placeholders(cfg: Config) -> None:
    """One line on stderr when the organizer or zone is not in a config file (no silent defaults)."""
    from blocktime.cli.checks import placeholders

    used = placeholders(cfg)
    if used:
        where = f"{cfg.source} does not set them" if cfg.source else "no config file"
        note = (f"blocktime: note: {where}: using {', '.join(used)}, data in {cfg.data_dir}; "
                "run `blocktime init` to set them")
        if note not in NOTES:
            NOTES.append(note)


def now_of(args: argparse.Namespace, cfg: Config) -> datetime:
    from blocktime.config.inputs import moment

    tz = cfg.organizer.timezone
    return moment(args.now, tz) if args.now else datetime.now(tz)


def open_session(args: argparse.Namespace) -> Session:
    from blocktime.usecases.session import Session

    global _OUTPUT_ZONE
    cfg = load_config(args)
    _OUTPUT_ZONE = cfg.organizer.timezone
    session = Session(cfg, now_of(args, cfg))
    if getattr(args, "command", None) in WRITERS - {"repair"}:  # repair must run on a damaged store
        from blocktime.store.zoneguard import check

        try:
            check(session.store, cfg.organizer.timezone.key, session.now)
        except BaseException:
            session.close()
            raise
    session.say = say
    return session


def say(text: str) -> None:
    """What a use case tells the user on the side: one line on stderr (stdout stays a table or JSON)."""
    print(f"blocktime: {text}", file=sys.stderr)


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


def table(rows: list[list[str]], header: list[str], *, fit: int | None = None,
          shrink: tuple[tuple[int, int], ...] = ()) -> str:
    """Rows under a header, columns two spaces apart. With `fit`, the columns in `shrink`
    ((index, narrowest), in that order) are cut with "…" until the lines fit that many columns."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for col, narrowest in shrink:
        over = sum(widths) + 2 * (len(widths) - 1) - (fit or sum(widths))
        if over <= 0:
            break
        widths[col] = min(widths[col], max(narrowest, len(header[col]), widths[col] - over))
        rows = [[_cut(str(c), widths[col]) if i == col else c for i, c in enumerate(r)] for r in rows]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def dismiss_command(message_id: str) -> str:
    """The command that stops listing a kept message (its id without the angle brackets)."""
    import shlex

    return f"blocktime inbox --dismiss {shlex.quote(message_id.strip().strip('<>'))}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def span_text(start: datetime, end: datetime, tz: Any) -> str:
    from blocktime.notes.wording import span_text

    return span_text(start, end, tz)


def moment_text(dt: datetime, tz: Any) -> str:
    from blocktime.notes.wording import moment_text

    return moment_text(dt, tz)


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


def shown_state(sb: Any, now: datetime | None) -> str:
    """The state a block shows: after its end a booked block was `delivered` (cut_short, no_show and
    cancelled say what happened instead)."""
    return "delivered" if now is not None and sb.state == "booked" and sb.planned_end <= now else str(sb.state)


def stored_json(sb: Any, eng: Any, now: datetime | None = None) -> dict[str, Any]:
    extra: dict[str, Any] = {"state": shown_state(sb, now), "makeup_for": sb.block.makeup_for,
                             "planned_end": iso(sb.planned_end)}
    if sb.state in ("cut_short", "no_show"):
        extra.update(delivered=sb.delivered_min, remaining=sb.remaining_min)
    return block_json(sb.block, eng, **extra)


def deliver_mail(s: Session, args: argparse.Namespace) -> Delivery:
    """Send what this command queued (unless --no-send); a failure is a warning, since the
    calendar work is done: the messages wait in the outbox for `blocktime outbox send`."""
    from blocktime.usecases.messages import deliver

    sent = deliver(s, s.queued, send=not getattr(args, "no_send", False))
    if sent.error or sent.failed:
        why = sent.error or "; ".join(f"{q.recipient}: {e}" for q, e in sent.failed)
        print(f"blocktime: warning: mail not sent ({why}); {sent.waiting} message(s) wait in the outbox: "
              "run `blocktime outbox send`", file=sys.stderr)
    return sent


def mail_json(s: Session, sent: Delivery) -> dict[str, Any]:
    from blocktime.usecases.letters import mail_dir

    return {**sent.json(), "outbox": str(mail_dir(s))}


def say_mail(s: Session, sent: Delivery | None) -> None:
    from blocktime.usecases.letters import mail_dir

    if sent is None:
        return
    for step in sent.withdrawn:  # the check before sending: one line each
        print(step.line())
    if sent.sent:
        print(f"sent {len(sent.sent)} message(s) to {', '.join(sorted({q.recipient for q in sent.sent}))}")
    if sent.waiting and not sent.error and not sent.failed:
        why = "--no-send" if sent.held else ("no [smtp] configured" if not sent.smtp else "")
        print(f"{sent.waiting} message(s) wait in {mail_dir(s)}" + (f" ({why})" if why else "")
              + ("; `blocktime outbox send` sends them" if sent.smtp else ""))
        if sent.kept and not sent.held:
            print(f"{sent.kept} of them held by --no-send until `blocktime outbox send`")


def answers_json(s: Session, sb: Any, eng: Engagement) -> list[dict[str, Any]]:
    """Each attendee's answer; an answer to an earlier SEQUENCE (before a move) no longer counts."""
    from blocktime.store.attendance import Attendance

    got = Attendance(s.store).answers(sb.block.uid)
    out = []
    for email in eng.attendees:
        a = got.get(email.lower())
        current = a is not None and a.sequence >= sb.sequence
        out.append({"attendee": email, "answer": a.partstat.lower() if a and current else "none",
                    "note": a.note if a and current else "", "earlier": a.partstat.lower() if a and not current
                    else None})
    return out


def block_doc(s: Session, sb: Any) -> dict[str, Any]:
    eng = s.store.engagement(sb.block.engagement)
    return {**stored_json(sb, eng, s.now), "sequence": sb.sequence}
