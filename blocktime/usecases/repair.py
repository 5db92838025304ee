"""`blocktime repair`: rebuild a lost or damaged store from the calendar itself.

Every block and hold carries X-BLOCKTIME-* properties (engagement, number, site, client, planned
end, delivered/remaining minutes, make-up link, offer, option, expiry), so the calendar is the
source of truth. What only the store knew (carried-over minutes, declined offers, history) is not
on the calendar and starts afresh, except the engagements' terms (contracted hours, closed), read
from the old store when it can be read; the remainder is recomputed from cut-short and make-up blocks.
Messages still waiting in `<outbox>/mail` (an .eml is deleted once sent) are queued again.

Google keeps only the properties of its own data model and may drop the X-BLOCKTIME-* ones. There
the blocks are rebuilt from what Google keeps: blocktime's UIDs name the engagement and the start
(`bt-<engagement>-<start>-<digest>@blocktime`, the digest checked), LOCATION the site, DTEND the
end. What that cannot restore is listed in `RepairReport.lost`, one line each.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from blocktime.config.store_url import SQLITE, engine
from blocktime.core.model import Block, Engagement, Interval
from blocktime.store.offers import StoredHold, StoredOffer
from blocktime.store.store import Store, open_store, set_aside
from blocktime.usecases.session import Session


@dataclass(frozen=True, slots=True)
class RepairReport:
    engagements: int
    blocks: int
    offers: int
    holds: int
    skipped: int
    backup: str | None
    mail: int = 0  # waiting messages queued again from the outbox
    lost: tuple[str, ...] = ()  # what the calendar did not keep and the store could not get back


SENT = "SELECT key, message_id, recipient, at FROM mail_sent"
TERMS = "SELECT key, contract_min, closed FROM engagements WHERE contract_min IS NOT NULL OR closed IS NOT NULL"


def uid_facts(uid: str) -> tuple[str, datetime] | None:
    """(engagement key, start) named by a block UID of blocktime's (core.series.block_uid)."""
    from blocktime.core.series import parse_block_uid

    return parse_block_uid(uid)


def _when(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _events(session: Session) -> Iterator[tuple[str, str | None, Any]]:
    import icalendar

    cal = session.target()
    for obj in session.backend.list_range(cal, datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)):
        try:
            parsed = icalendar.Calendar.from_ical(obj.data)
        except Exception:
            continue
        for ev in parsed.walk("VEVENT"):
            if "RECURRENCE-ID" not in ev:
                yield obj.href, obj.etag, ev


def repair(session: Session) -> RepairReport:
    """Move the old store aside (kept as a backup) and rebuild it from the target calendar."""
    from blocktime.ics.event import (
        X_BLOCK,
        X_CLIENT,
        X_DELIVERED,
        X_ENGAGEMENT,
        X_EXPIRES,
        X_MAKEUP_FOR,
        X_OFFER,
        X_OPTION,
        X_PLANNED_END,
        X_REMAINING,
        X_SITE,
        x_text,
    )

    events = list(_events(session))  # read everything first: a failure here changes nothing
    cfg = session.config
    stamp = f"{session.now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    if engine(cfg.store_url) == SQLITE:
        backup, sent, terms = _set_file_aside(session, cfg.data_dir / "blocktime.sqlite3", stamp)
    else:  # a PostgreSQL schema is renamed aside, whole
        old = session.store
        sent = [tuple(r) for r in old.db.execute(SENT)]
        terms = [tuple(r) for r in old.db.execute(TERMS)]
        backup = set_aside(old, stamp)
    store = open_store(cfg.store_url, cfg.data_dir, cfg.trainer)
    session.store = store
    with store.transaction():  # what was sent stays sent: nothing goes out twice after a repair
        store.db.executemany("INSERT INTO mail_sent(key, message_id, recipient, at) VALUES (?,?,?,?)"
                             " ON CONFLICT DO NOTHING",
                             sent)
    engagements: dict[str, Engagement] = {}
    blocks = holds = skipped = 0
    offers: dict[str, StoredOffer] = {}
    deferred: list[StoredHold] = []
    bare: list[tuple[str, str | None, Any]] = []  # blocks whose X- properties the server dropped
    holds_lost = 0
    with store.transaction():
        for href, etag, ev in events:
            key = x_text(ev, X_ENGAGEMENT)
            if key is None:
                uid = str(ev.get("UID", ""))
                if uid_facts(uid) is not None:
                    bare.append((href, etag, ev))
                holds_lost += uid.startswith("hold-") and uid.endswith("@blocktime")
                continue
            start = ev["DTSTART"].dt.astimezone(UTC)
            end = ev["DTEND"].dt.astimezone(UTC)
            offer_id = x_text(ev, X_OFFER)
            if offer_id:
                expires = _when(x_text(ev, X_EXPIRES) or end.strftime("%Y%m%dT%H%M%SZ"))
                if offer_id not in offers:
                    minutes = x_text(ev, X_REMAINING) or "0"
                    offers[offer_id] = StoredOffer(offer_id, key, x_text(ev, X_MAKEUP_FOR) or "",
                                                   int(minutes) if minutes.isdigit() else 0,
                                                   int((end - start).total_seconds() // 60),
                                                   session.now, expires, "open", None, None)
                deferred.append(StoredHold(str(ev["UID"]), offer_id, int(x_text(ev, X_OPTION) or 0),
                                           Interval(start, end), href, etag, "held"))
                continue
            number = x_text(ev, X_BLOCK)
            if not number or not number.isdigit():
                skipped += 1
                continue
            planned_end = _when(x_text(ev, X_PLANNED_END) or end.strftime("%Y%m%dT%H%M%SZ"))
            site = x_text(ev, X_SITE) or str(ev.get("LOCATION", ""))
            if key not in engagements:
                attendees = ev.get("ATTENDEE", [])
                attendees = attendees if isinstance(attendees, list) else [attendees]
                emails = tuple(str(a).removeprefix("mailto:") for a in attendees)
                language = str(attendees[0].params.get("LANGUAGE", "en")) if attendees else "en"
                engagements[key] = Engagement(key, x_text(ev, X_CLIENT) or key, site, emails, language,
                                              planned_end - start)
                store.save_engagement(engagements[key], session.now)
            block = Block(key, int(number), str(ev["UID"]), Interval(start, planned_end), site,
                          makeup_for=x_text(ev, X_MAKEUP_FOR))
            store.add_pending(block, href)
            store.mark(block.uid, "booked", etag=etag, sequence=int(ev.get("SEQUENCE", 0)))
            remaining = x_text(ev, X_REMAINING)
            if remaining is not None and remaining.isdigit():
                delivered = int(x_text(ev, X_DELIVERED) or 0)
                if delivered == 0 and end >= planned_end:  # a no-show keeps its times; a cut ends early
                    store.record_no_show(block.uid, int(remaining), "rebuilt by repair")
                    store.add_minutes(key, int(remaining), "no_show", block.uid, session.now)
                else:
                    store.record_cut(block.uid, end, delivered, int(remaining), "rebuilt by repair")
                    store.add_minutes(key, int(remaining), "cut_short", block.uid, session.now)
            if block.makeup_for:
                store.add_minutes(key, -int((planned_end - start).total_seconds() // 60), "makeup",
                                  block.uid, session.now)
            store.log(block.uid, session.now, "repaired", href=href)
            blocks += 1
        for key, contract, closed in terms:  # the terms only the store knew: kept when it could be read
            if key in engagements:
                store.set_terms(key, contract_min=contract, closed=datetime.fromisoformat(closed) if closed else None)
        for offer in offers.values():
            if offer.engagement in engagements:
                store.add_offer(offer)
        for h in deferred:
            if offers[h.offer].engagement in engagements:
                store.add_hold(h)
                store.set_hold(h.uid, "held", h.etag)
                holds += 1
        rebuilt, lost = _from_uids(session, store, bare, engagements)
        blocks += rebuilt
        if holds_lost:
            lost.append(f"{holds_lost} hold(s) of open offers: the calendar kept no offer facts; they stay "
                        "on the calendar until you delete them there, and `blocktime offer` makes a new offer")
        for key in engagements:  # a make-up may be longer than its remainder (rounded up)
            if store.remainder(key) < 0:
                store.add_minutes(key, -store.remainder(key), "repair_clamp", key, session.now)
        mail = _requeue_mail(session, store)
    return RepairReport(len(engagements), blocks, len(offers), holds, skipped, backup, mail, tuple(lost))


def _from_uids(session: Session, store: Store, bare: list[tuple[str, str | None, Any]],
               engagements: dict[str, Engagement]) -> tuple[int, list[str]]:
    """Blocks rebuilt from their UIDs alone (numbered by start within their engagement): how many,
    and what could not be recovered, one line per engagement."""
    lost: list[str] = []
    by_key: dict[str, list[tuple[datetime, str, str | None, Any]]] = {}
    for href, etag, ev in bare:
        facts = uid_facts(str(ev["UID"]))
        assert facts is not None
        if store.block(str(ev["UID"])) is None:
            by_key.setdefault(facts[0], []).append((facts[1], href, etag, ev))
    for key, found in sorted(by_key.items()):
        found.sort(key=lambda f: f[0])
        first = found[0][3]
        site = str(first.get("LOCATION", "")) or key
        if key not in engagements:
            length = first["DTEND"].dt.astimezone(UTC) - found[0][0]
            engagements[key] = Engagement(key, key, site, (), "en", length)
            store.save_engagement(engagements[key], session.now)
        number = store.next_number(key)
        for i, (start, href, etag, ev) in enumerate(found):
            end = ev["DTEND"].dt.astimezone(UTC)
            block = Block(key, number + i, str(ev["UID"]), Interval(start, max(end, start)),
                          str(ev.get("LOCATION", "")) or site)
            store.add_pending(block, href)
            store.mark(block.uid, "booked", etag=etag, sequence=int(ev.get("SEQUENCE", 0)))
            store.log(block.uid, session.now, "repaired", href=href, source="uid")
        lost.append(f"{key}: {len(found)} block(s) rebuilt from their UIDs only (the calendar dropped blocktime's "
                    "properties): numbered by start; client name, attendees and language, cut-short minutes and "
                    "make-up links are not recovered (set attendees with the next `book --attendee`)")
    return sum(len(found) for found in by_key.values()), lost


def _requeue_mail(session: Session, store: Store) -> int:
    """Queue every waiting .eml again under its own key: the name gives kind, ref (a block's UID
    loses its @domain there), SEQUENCE and recipient, and the Message-ID (a hash of the key) proves
    the key right, so a message is still queued, and sent, once. Other files are left alone."""
    import email.parser
    import re
    from email.header import decode_header, make_header

    from blocktime.mail.imip import message_id
    from blocktime.store.mailqueue import MailQueue, Queued, mail_key
    from blocktime.usecases.letters import mail_dir

    folder = mail_dir(session)
    if not folder.is_dir():
        return 0
    queue = MailQueue(store)
    count = 0
    for path in sorted(folder.glob("*.eml")):
        m = re.fullmatch(r"([a-z]+)-(.+)-seq(\d+)-(.+)\.eml", path.name)
        data = path.read_bytes()
        headers = email.parser.BytesHeaderParser().parsebytes(data)
        rcpt, mid = str(headers["To"] or ""), str(headers["Message-ID"] or "")
        if m is None or not rcpt:
            continue
        kind, sequence = m.group(1), int(m.group(3))
        for ref in (m.group(2), m.group(2) + "@blocktime"):  # block UIDs end in @blocktime (core.series)
            key = mail_key(kind, ref, sequence, rcpt)
            if message_id(key, "").split("@")[0] == mid.split("@")[0]:
                subject = str(headers["Subject"] or "")
                with contextlib.suppress(Exception):  # only for `outbox list`: the message is sent as it is
                    subject = str(make_header(decode_header(subject)))
                count += queue.add(Queued(key, ref, kind, sequence, rcpt, subject, data, session.now))
                break
    return count


def _set_file_aside(session: Session, path: Path, stamp: str) -> tuple[str | None, list[tuple[Any, ...]],
                                                                      list[tuple[Any, ...]]]:
    """Move a SQLite store aside (with its -wal and -shm); its sent log and its engagements' terms,
    when they can be read."""
    if session._store is not None:
        session._store.close()
    backup = None
    sent = _readable_rows(path, SENT) if path.exists() else []
    terms = _readable_rows(path, TERMS) if path.exists() else []
    if path.exists():
        backup = str(path) + f".broken-{stamp}"
        shutil.move(str(path), backup)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(str(path) + suffix):
                os.remove(str(path) + suffix)
    return backup, sent, terms


def _readable_rows(path: Path, query: str) -> list[tuple[Any, ...]]:
    """The rows `query` reads from a possibly damaged store, or none when it cannot be read."""
    import sqlite3

    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return [tuple(r) for r in db.execute(query)]
        finally:
            db.close()
    except sqlite3.Error:
        return []
