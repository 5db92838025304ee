"""Move and cancel against real Radicale and Xandikos, with the mail arriving at a real SMTP server."""

from __future__ import annotations

import icalendar
import pytest

from tests.conftest import Runner
from tests.helpers import objects
from tests.imipcheck import calendar, check_imip
from tests.mailserver import MailSink
from tests.servers import Account

PEOPLE = ("it@acme.example", "office@acme.example")
BOOK = ("book", "--client", "Acme", "--site", "Acme HQ, ul. Prosta 1", "--attendee", PEOPLE[0],
        "--attendee", PEOPLE[1], "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue,thu",
        "--count", "4")
AFTER = "2026-03-24T13:05"


def _server_events(account: Account) -> dict[str, icalendar.Event]:
    evs = [icalendar.Calendar.from_ical(t).walk("VEVENT")[0] for t in objects(account)]
    return {str(e["UID"]): e for e in evs}


def _by_block(smtp: MailSink) -> list[tuple[str, str, int, str]]:
    """(UID, METHOD, SEQUENCE, recipient) of every received iMIP mail, in order."""
    out = []
    for m in smtp.messages:
        _, cal = calendar(m.message)
        ev = cal.walk("VEVENT")[0]
        out.append((str(ev["UID"]), str(cal["METHOD"]), int(ev["SEQUENCE"]), m.rcpt_tos[0]))
    return out


def test_every_change_mails_exactly_the_right_messages(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    booked = mailcli.json(*BOOK)
    uids = {b["id"]: b["uid"] for b in booked["booked"]}
    assert len(booked["mail"]["sent"]) == 8 and booked["mail"]["waiting"] == 0
    # booking: one REQUEST per block and attendee, one recipient per mail, the stored UID
    assert sorted(_by_block(smtp)) == sorted((u, "REQUEST", 0, p) for u in uids.values() for p in PEOPLE)
    assert all(len(m.rcpt_tos) == 1 and str(m.message["To"]) == m.rcpt_tos[0] for m in smtp.messages)
    assert set(_server_events(account)) == set(uids.values())
    for m in smtp.messages:
        check_imip(m.message, "REQUEST")
    assert smtp.messages[0].mail_from == "anna@example.com"

    # move: an updated REQUEST, same UID, SEQUENCE 1, fresh DTSTAMP; the calendar copy follows
    smtp.reset()
    moved = mailcli.json("move", "acme-2", "--to", "15:00")
    assert moved["block"]["start"] == "2026-03-26T15:00:00+01:00" and moved["block"]["sequence"] == 1
    assert moved["before"]["start"] == "2026-03-26T12:00:00+01:00"
    assert sorted(_by_block(smtp)) == [(uids["acme-2"], "REQUEST", 1, p) for p in PEOPLE]
    ev = check_imip(smtp.messages[0].message, "REQUEST")
    assert str(ev["SUMMARY"]) == "Training: Acme — until 16:00"
    assert ev["DTSTAMP"].dt.isoformat() == "2026-03-20T08:00:00+00:00"  # the command's now, in UTC
    assert "New time" in str(smtp.messages[0].message["Subject"])
    copy = _server_events(account)[uids["acme-2"]]
    assert int(copy["SEQUENCE"]) == 1 and copy["DTSTART"].dt.isoformat() == "2026-03-26T14:00:00+00:00"
    assert all(a.params["SCHEDULE-AGENT"] == "CLIENT" for a in copy["ATTENDEE"])
    assert str(copy["X-BLOCKTIME-PLANNED-END"]) == "20260326T150000Z"

    # cancel: CANCEL to every attendee, SEQUENCE 2, no alarm; the event leaves the calendar
    smtp.reset()
    cancelled = mailcli.json("cancel", "acme-2")
    assert cancelled["block"]["state"] == "cancelled" and cancelled["block"]["sequence"] == 2
    assert sorted(_by_block(smtp)) == [(uids["acme-2"], "CANCEL", 2, p) for p in PEOPLE]
    check_imip(smtp.messages[0].message, "CANCEL")
    assert uids["acme-2"] not in _server_events(account)
    assert [b["id"] for b in mailcli.json("agenda")["blocks"]] == ["acme-1", "acme-3", "acme-4"]
    assert cancelled["returned_minutes"] == 60 and cancelled["remaining_minutes"] == 60  # offered again later

    # cut short -> the offer goes out as a plain message (no calendar part), one per attendee
    smtp.reset()
    cut = mailcli.json("cut-short", "acme-1", "--ended-at", "12:35", now=AFTER)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(PEOPLE)
    offer_mail = smtp.messages[0].message
    assert offer_mail.get_content_type() == "multipart/alternative"
    # the cancelled hour of acme-2 is offered again together with the 25 cut-short minutes
    assert "new times for the remaining 1 hour 25 minutes" in str(offer_mail["Subject"])
    assert offer_mail.get_body(("plain",)).get_content().count("mailto:anna@example.com") == 3  # type: ignore[union-attr]

    # accept -> the make-up block's REQUEST to both attendees
    smtp.reset()
    made = mailcli.json("accept", cut["offer"]["id"], "2", now=AFTER)["block"]
    assert sorted(_by_block(smtp)) == [(made["uid"], "REQUEST", 0, p) for p in PEOPLE]
    assert "the remaining part" in str(smtp.messages[0].message["Subject"])
    check_imip(smtp.messages[0].message, "REQUEST")
    assert mailcli.json("outbox")["waiting"] == []


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_move_is_checked_like_a_booking(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    mailcli.json(*BOOK)
    smtp.reset()
    code, _, err = mailcli("move", "acme-2", "--to", "2026-03-31 12:30")  # onto acme-3
    assert code == 1 and "cannot move" in err and "BUSY" in err
    code, _, err = mailcli("move", "acme-2", "--to", "2026-03-26 19:00")
    assert code == 1 and "OUTSIDE_HOURS" in err
    code, _, err = mailcli("move", "acme-2", "--to", "2026-03-19 12:00")
    assert code == 1 and "TOO_SOON" in err
    code, _, err = mailcli("move", "acme-9", "--to", "12:00")
    assert code == 2 and "no block" in err
    code, _, err = mailcli("move", "acme-2", "--to", "12:00")
    assert code == 2 and "already" in err
    code, _, err = mailcli("move", "acme-1", "--to", "15:00", now=AFTER)
    assert code == 2 and "started" in err
    assert smtp.messages == []
    assert {b["sequence"] for b in mailcli.json("agenda")["blocks"]} == {0}


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_move_keeps_a_users_edits_and_resets_answers(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    from tests.helpers import backend

    doc = mailcli.json(*BOOK)
    uid = doc["booked"][1]["uid"]
    b = backend(account)
    cal = next(c for c in b.calendars() if c.name == "blocktime")
    href = b.href_for(cal, uid)
    got = b.get(href)
    assert got is not None and got.etag
    edited = got.data.replace("END:VEVENT", "X-USER-NOTE:bring the projector\r\nEND:VEVENT")
    b.update(href, edited, got.etag)
    b.close()
    mailcli.json("move", "acme-2", "--to", "2026-03-27 09:00")
    copy = _server_events(account)[uid]
    assert str(copy["X-USER-NOTE"]) == "bring the projector"
    assert copy["DTSTART"].dt.isoformat() == "2026-03-27T08:00:00+00:00"
    assert len(copy.walk("VALARM")) == 1 and "10:00" in str(copy.walk("VALARM")[0]["DESCRIPTION"])


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_cancelled_minutes_go_back_to_the_remainder(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    mailcli.json(*BOOK)
    offer = mailcli.json("cut-short", "acme-1", "--ended-at", "12:35", now=AFTER)["offer"]
    made = mailcli.json("accept", offer["id"], "1", now=AFTER)["block"]
    assert mailcli.json("status", "acme", now=AFTER)["remaining_minutes"] == 0
    # a make-up block returns what it was to make up (25 min owed, not its 30-minute slot)
    doc = mailcli.json("cancel", made["id"], now=AFTER)
    assert doc["returned_minutes"] == 25 and doc["remaining_minutes"] == 25
    # --drop-minutes: the programme is shorter by this block
    doc = mailcli.json("cancel", "acme-4", "--drop-minutes", now=AFTER)
    assert doc["dropped_minutes"] == 60 and doc["returned_minutes"] == 0 and doc["remaining_minutes"] == 25
    doc = mailcli.json("cancel", "acme-3", now=AFTER)
    assert doc["returned_minutes"] == 60 and doc["remaining_minutes"] == 85
    code, _, err = mailcli("cancel", "acme-4", now=AFTER)
    assert code == 2 and "cancelled" in err
    code, _, err = mailcli("cancel", "acme-1", now=AFTER)
    assert code == 2 and "cut short" in err


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_no_send_keeps_messages_until_outbox_send(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    doc = mailcli.json(*BOOK, "--no-send")
    assert doc["mail"]["sent"] == [] and doc["mail"]["waiting"] == 8
    assert smtp.messages == []
    waiting = mailcli.json("outbox")["waiting"]
    assert len(waiting) == 8 and {w["kind"] for w in waiting} == {"request"}
    # a move before anything was sent: the unsent REQUEST of acme-2 becomes one REQUEST at the new time
    # (an "update" would show a "before" time the client never saw; issue 10)
    mailcli.json("move", "acme-2", "--to", "15:00", "--no-send")
    kinds = sorted((w["kind"], w["sequence"]) for w in mailcli.json("outbox")["waiting"] if w["ref"].startswith(
        doc["booked"][1]["uid"][:20]))
    assert kinds == [("request", 1), ("request", 1)]
    sent = mailcli.json("outbox", "send")
    assert len(sent["sent"]) == 8 and sent["waiting"] == 0
    assert len(smtp.messages) == 8
    assert mailcli.json("outbox", "send")["sent"] == []  # nothing twice
    assert len(smtp.messages) == 8


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_without_smtp_the_mail_waits_as_eml_files(cli: Runner, account: Account, data_dir: object) -> None:
    from pathlib import Path

    code, out, _ = cli(*BOOK)
    assert code == 0 and "8 message(s) wait in" in out and "no [smtp] configured" in out
    files = sorted((Path(str(data_dir)) / "outbox" / "mail").glob("*.eml"))
    assert len(files) == 8 and all(f.read_bytes().count(b"\r\n") > 10 for f in files)
    code, _, err = cli("outbox", "send")
    assert code == 2 and "no [smtp]" in err
