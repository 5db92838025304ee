"""Acting on the organizer's mailbox: option picks booked, attendees' answers recorded, the rest
kept for the organizer. One pass reads new mail once (`blocktime inbox`, the daemon's pass).

Exactly once: every message is claimed in the store by Message-ID (and its UIDVALIDITY/UID)
before anything is done, and marked done in the transaction that records what was done. A crash
in between leaves the claim: the next pass redoes the claimed decision, and every action is
idempotent (`offers.accept` returns the block it booked; mail is keyed). One pass at a time per
data dir (a lock file), so two daemons never handle one message twice. Mail is never deleted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from blocktime.errors import BadInput, BlocktimeError
from blocktime.files import try_lock
from blocktime.mail.incoming import Incoming, parse
from blocktime.mail.triage import IGNORED, ITIP, KEPT, PICK, Context, Decision, Handled, decide, needs_body
from blocktime.store.offers import OFFER_STATES
from blocktime.usecases.session import Session

log = logging.getLogger("blocktime.inbox")
BUDGET = 120.0  # seconds per pass: a flood is worked off over several passes


class Mailbox(Protocol):
    """What a pass needs from a mailbox (`inbox.ImapMailbox`)."""

    uidvalidity: int

    def envelopes(self, after: int, limit: int = ...) -> list[Any]: ...
    def body(self, uid: int) -> tuple[bytes, bool]: ...
    def mark(self, uids: list[int]) -> None: ...


@dataclass(slots=True)
class InboxReport:
    messages: list[Handled] = field(default_factory=list)
    busy: bool = False  # another pass held the lock: nothing was read


@contextlib.contextmanager
def _lock(session: Session) -> Iterator[bool]:
    """`<data dir>/inbox.lock`, held for one pass; False when another pass (process or thread) has it."""
    d = session.config.data_dir
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = try_lock(d / "inbox.lock")
    if fd is None:
        yield False
        return
    try:
        from blocktime.team.exclusive import reading  # and on every machine sharing a PostgreSQL store

        with reading(session.config.store_url, session.config.trainer) as mine:
            yield mine
    finally:
        os.close(fd)


def context(session: Session) -> Context:
    """Issued tokens, offers, attendees and offer mail ids, read from the store once per pass."""
    from blocktime.ics.itip import address
    from blocktime.mail.imip import message_id
    from blocktime.mail.picks import token
    from blocktime.store.mailqueue import mail_key
    from blocktime.usecases.letters import addresses
    from blocktime.usecases.sharedkeys import pick_key

    key = pick_key(session)
    store = session.store
    attendees = {e.key: frozenset(address(a) for a in e.attendees) for e in store.engagements()}
    sender = addresses(session).sender
    tokens: dict[str, tuple[str, int]] = {}
    offer_engagement: dict[str, str] = {}
    offer_mail: dict[str, str] = {}
    for o in store.offers(None, OFFER_STATES):
        offer_engagement[o.id] = o.engagement
        for h in store.holds(o.id, ("pending", "held", "released")):
            tokens[token(key, o.id, h.number)] = (o.id, h.number)
        for rcpt in attendees.get(o.engagement, ()):
            offer_mail[message_id(mail_key("offer", o.id, 0, rcpt), sender)] = o.id
    own = frozenset(a.lower() for a in (session.config.organizer.email, sender))
    return Context(tokens, offer_engagement, attendees, offer_mail, own)


def run(session: Session, *, dry_run: bool = False, mailbox: Mailbox | None = None,
        budget: float = BUDGET) -> InboxReport:
    """Read new mail once and act on it (`dry_run`: decide and report, change nothing). A pass
    stops after `budget` seconds (at least one message handled); the next pass goes on from there."""
    cfg = session.config.inbox
    if cfg is None:
        raise BadInput("no [inbox] in the config", "add [inbox] host, username and password_env (see README)")
    with _lock(session) as mine:
        if not mine:
            return InboxReport(busy=True)
        if mailbox is not None:
            return _pass(session, mailbox, cfg.folder, dry_run, budget)
        box = _open(session)
        try:
            return _pass(session, box, cfg.folder, dry_run, budget)
        finally:
            box.close()


def _open(session: Session) -> Any:
    """The configured mailbox: IMAP, or Graph mail for auth = outlook (its delta link in the store)."""
    cfg = session.config.inbox
    assert cfg is not None
    cal = session.config.calendar
    if cfg.auth == "outlook":
        from blocktime.backends.graph import graph_base
        from blocktime.mail.graph import open_graph

        key = f"inbox_graph_link:{cfg.folder}"

        def save(link: str) -> None:
            with session.store.transaction():
                session.store.set_meta(key, link)

        base = graph_base(cal.provider, cal.url)
        return open_graph(cfg, session.config.data_dir, cal.token_store, base,
                          (lambda: session.store.get_meta(key), save))
    from blocktime.mail.imap import open_mailbox

    return open_mailbox(cfg, session.config.data_dir, cal.token_store)


def row(session: Session, message_id: str) -> Any:
    """The stored record of one message (None when never seen)."""
    return _row(session, message_id)


def _row(session: Session, message_id: str) -> Any:
    return session.store.db.execute("SELECT * FROM inbox_messages WHERE message_id=?", (message_id,)).fetchone()


def _pass(session: Session, box: Mailbox, folder: str, dry_run: bool, budget: float) -> InboxReport:
    db = session.store.db
    stop_at = time.monotonic() + budget
    uv = box.uidvalidity
    mark = db.execute("SELECT last_uid FROM inbox_marks WHERE folder=? AND uidvalidity=?", (folder, uv)).fetchone()
    report = InboxReport()
    ctx = context(session)
    handled: list[int] = []
    for n, env in enumerate(box.envelopes(int(mark["last_uid"]) if mark else 0)):
        if n and time.monotonic() > stop_at:
            log.warning("inbox: the pass stops after %d messages (time budget); the next pass goes on", n)
            break
        head = parse(env.headers)
        row = _row(session, head.message_id)
        if row is not None and row["state"] == "done":
            handled.append(env.uid)  # seen under another UID (a copy, or a new UIDVALIDITY)
            if not dry_run:
                _advance(session, folder, uv, env.uid)
            continue
        msg = head
        if row is None and needs_body(ctx, head.sender, head.subject, head.refs):
            data, cut = box.body(env.uid)
            msg = _with_id(parse(data, truncated=cut), head.message_id)
        for problem in msg.problems:
            log.warning("message %s from %s: %s", msg.message_id[:80], msg.sender or "?", problem)
        if row is not None:  # claimed by a pass that crashed: redo its decision
            decision = Decision(row["action"], row["offer"], row["option"], row["reason"])
            msg = _with_calendar(msg, row["payload"])
        else:
            decision = decide(msg, ctx)
        if dry_run:
            report.messages.append(_planned(msg, decision))
            continue
        if row is None and decision.action == IGNORED:  # nothing to do: recorded done in one step
            with session.store.transaction():
                db.execute("INSERT INTO inbox_messages (message_id, folder, uidvalidity, uid, sender, subject, action,"
                           " offer, option, reason, state, at) VALUES (?,?,?,?,?,?,?,?,?,?,'done',?)",
                           (msg.message_id, folder, uv, env.uid, msg.sender, msg.subject, IGNORED, decision.offer,
                            decision.option, decision.reason, session.now.isoformat()))
                _advance(session, folder, uv, env.uid)
            report.messages.append(_planned(msg, decision))
            handled.append(env.uid)
            continue
        if row is None:
            with session.store.transaction():
                db.execute("INSERT INTO inbox_messages (message_id, folder, uidvalidity, uid, sender, subject, action,"
                           " offer, option, reason, payload, state, at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           (msg.message_id, folder, uv, env.uid, msg.sender, msg.subject, decision.action,
                            decision.offer, decision.option, decision.reason,
                            msg.calendar if decision.action == ITIP else None, "claimed", session.now.isoformat()))
        done = act(session, msg, decision, retry=row is not None)
        with session.store.transaction():
            db.execute("UPDATE inbox_messages SET action=?, offer=?, option=?, block=?, reason=?, state='done'"
                       " WHERE message_id=?", (done.action, done.offer, done.option, done.block, done.reason,
                                               msg.message_id))
            _advance(session, folder, uv, env.uid)
            if done.action != IGNORED:
                session.store.log(msg.message_id, session.now, "inbox", **done.json())
        if done.action != IGNORED:
            log.info("inbox: %s from %s: %s (%s)", done.action, done.sender, done.subject[:80], done.reason)
        report.messages.append(done)
        handled.append(env.uid)
    if not dry_run:
        box.mark(handled)
    return report


def _advance(session: Session, folder: str, uv: int, uid: int) -> None:
    session.store.db.execute(
        "INSERT INTO inbox_marks (folder, uidvalidity, last_uid) VALUES (?,?,?) ON CONFLICT (folder, uidvalidity)"
        " DO UPDATE SET last_uid=excluded.last_uid WHERE inbox_marks.last_uid < excluded.last_uid", (folder, uv, uid))


def _with_id(msg: Incoming, message_id: str) -> Incoming:
    from dataclasses import replace

    return replace(msg, message_id=message_id)


def _with_calendar(msg: Incoming, calendar: str | None) -> Incoming:
    from dataclasses import replace

    return replace(msg, calendar=calendar) if calendar else msg


def _planned(msg: Incoming, d: Decision) -> Handled:
    action = {PICK: "accepted", ITIP: "reply"}.get(d.action, d.action)
    return Handled(msg.message_id, msg.sender, msg.subject, action, d.offer, d.option, None, d.reason)


def act(session: Session, msg: Incoming, d: Decision, *, retry: bool = False) -> Handled:
    """Carry out one decision; a refusal turns into `kept` (or a courteous answer), never an error,
    except when the calendar or the store cannot be reached (then the pass stops and is retried)."""
    base = Handled(msg.message_id, msg.sender, msg.subject, d.action, d.offer, d.option, None, d.reason)
    if d.action == PICK and d.offer is not None and d.option is not None:
        return _pick(session, base, d.offer, d.option, retry)
    if d.action == ITIP and msg.calendar:
        from blocktime.usecases.itipmail import record

        return record(session, base, msg.calendar)
    return base


def _pick(session: Session, base: Handled, offer_id: str, option: int, retry: bool) -> Handled:
    from dataclasses import replace

    from blocktime.errors import NoLongerFits, ServerError
    from blocktime.usecases.closedpick import answer_closed
    from blocktime.usecases.offers import accept, expire

    expire(session)
    offer = session.store.offer(offer_id)
    booked = offer is not None and offer.state == "accepted" and offer.chosen == option and offer.makeup_uid
    if offer is not None and booked and not retry:  # a second pick of it (a retry finishes its own booking)
        sb = session.store.block(offer.makeup_uid or "")
        return replace(base, action=IGNORED, block=sb.block.id if sb else None,
                       reason=f"option {option} of {offer_id} is booked already")
    if (offer is not None and offer.state not in ("open", "accepted")) or (
            offer is not None and offer.state == "accepted" and offer.chosen != option):
        why = answer_closed(session, base.message_id, base.sender, offer, option)
        return replace(base, action=IGNORED, reason=f"{why}; answered with what is open now")
    try:
        sb = accept(session, offer_id, option)
    except ServerError:
        raise
    except NoLongerFits as exc:  # nothing booked: the client hears what is still open
        assert offer is not None
        said = answer_closed(session, base.message_id, base.sender, offer, option, taken=True)
        return replace(base, action=IGNORED, reason=f"not booked: {exc.message}; {said}; answered with what is open")
    except BlocktimeError as exc:
        return replace(base, action=KEPT, reason=f"not booked: {exc.message}")
    return replace(base, action="accepted", block=sb.block.id, reason=f"booked option {option} of {offer_id}")
