"""The outbox tells the truth (issue 10, point 4): every unsent message is checked against the
current state right before it is sent; --no-send holds mail until `outbox send`; real mail carries
the real Date. The pure decision first, then the commands against Radicale and a real SMTP server."""

from __future__ import annotations

import doctest
import email.utils
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from blocktime.core.model import Interval
from blocktime.usecases import outgoing
from blocktime.usecases.outgoing import REQUEST, RESTATE, SEND, WITHDRAW, BlockNow, Current, OfferNow, decide
from tests.conftest import Runner
from tests.mailserver import MailSink
from tests.servers import Account

WAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 3, 20, 9, tzinfo=WAW)
SPAN = Interval(datetime(2026, 3, 26, 12, tzinfo=WAW), datetime(2026, 3, 26, 13, tzinfo=WAW))
BEFORE = Interval(datetime(2026, 3, 24, 12, tzinfo=WAW), datetime(2026, 3, 24, 13, tzinfo=WAW))


def _block(state: str = "booked", sequence: int = 0, span: Interval = SPAN) -> BlockNow:
    return BlockNow("acme-1", state, sequence, span, makeup=False)


# The decision ---------------------------------------------------------------------------------------

def test_the_module_examples_run() -> None:
    assert doctest.testmod(outgoing).failed == 0


@pytest.mark.parametrize("state", ["declined", "accepted", "expired", "replaced", "replanned"])
def test_mail_for_an_offer_no_longer_open_is_withdrawn(state: str) -> None:
    d = decide("offer", 0, Current(NOW, WAW, offer=OfferNow("acme-o1", state, NOW + timedelta(days=2))))
    assert d.action == WITHDRAW and state in d.why


def test_an_open_offer_goes_until_it_expires() -> None:
    offer = OfferNow("acme-o1", "open", NOW + timedelta(hours=1))
    assert decide("offer", 0, Current(NOW, WAW, offer=offer)).action == SEND
    late = decide("offer", 0, Current(NOW + timedelta(hours=1), WAW, offer=offer))
    assert late.action == WITHDRAW and "expired Fri 2026-03-20 10:00" in late.why  # the organizer's zone
    assert decide("offer", 0, Current(NOW, WAW)).action == WITHDRAW  # unknown offer


@pytest.mark.parametrize("kind", ["request", "makeup", "update", "confirm"])
@pytest.mark.parametrize("state", ["cancelled", "cut_short", "something_new"])
def test_no_invitation_for_a_block_that_is_not_booked(kind: str, state: str) -> None:
    d = decide(kind, 0, Current(NOW, WAW, block=_block(state), told=(0, SPAN)))
    assert d.action == WITHDRAW and "acme-1" in d.why and "Thu 2026-03-26 12:00–13:00" in d.why


def test_no_invitation_for_a_block_that_has_started() -> None:
    d = decide("request", 0, Current(SPAN.start, WAW, block=_block()))
    assert d.action == WITHDRAW and "started" in d.why
    assert decide("request", 0, Current(NOW, WAW, block=_block())).action == SEND
    assert decide("request", 0, Current(NOW, WAW)).action == WITHDRAW  # its block is gone


def test_an_update_whose_before_never_went_out() -> None:
    moved = _block(sequence=2)
    first = decide("update", 2, Current(NOW, WAW, block=moved))  # nothing ever went out
    assert first.action == REQUEST and "SEQUENCE 2" in first.why and "Thu 2026-03-26 12:00–13:00" in first.why
    assert decide("update", 2, Current(NOW, WAW, block=moved, told=(1, BEFORE))).action == SEND
    skipped = decide("update", 2, Current(NOW, WAW, block=moved, told=(0, BEFORE)))
    assert skipped.action == RESTATE and "Tue 2026-03-24 12:00–13:00" in skipped.why
    assert decide("update", 2, Current(NOW, WAW, block=moved, told=(0, None))).action == REQUEST
    assert decide("update", 2, Current(NOW, WAW, block=moved, told=(2, SPAN))).action == WITHDRAW
    assert decide("update", 1, Current(NOW, WAW, block=moved, told=(0, BEFORE))).action == WITHDRAW  # stale


def test_a_cancellation_goes_only_to_someone_who_was_invited() -> None:
    gone = _block("cancelled", 1)
    assert decide("cancel", 1, Current(NOW, WAW, block=gone, told=(0, SPAN))).action == SEND
    assert decide("cancel", 1, Current(NOW, WAW, block=gone)).action == WITHDRAW
    # a store rebuilt without its outbox cannot tell "never invited": the client may hold the event
    assert decide("cancel", 1, Current(NOW, WAW, block=gone, remembered=False)).action == SEND


def test_notes_about_a_remainder_go_as_queued() -> None:
    assert decide("carried", 0, Current(NOW, WAW)).action == SEND
    assert decide("noslot", 0, Current(NOW, WAW)).action == SEND


# Through the commands, against Radicale and a real SMTP server --------------------------------------

BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue,thu", "--count", "4")
AFTER = "2026-03-24T13:05"
radicale_only = pytest.mark.parametrize("account", ["radicale"], indirect=True)


def _methods(smtp: MailSink) -> list[tuple[str, str, int]]:
    """(METHOD or 'plain', first line of the subject, SEQUENCE) of every mail received."""
    out = []
    for m in smtp.messages:
        msg = m.message
        cal = next((p for p in msg.walk() if p.get_content_type() == "text/calendar"), None)
        if cal is None:
            out.append(("plain", str(msg["Subject"]), 0))
            continue
        parsed = icalendar.Calendar.from_ical(cal.get_content())
        out.append((str(parsed["METHOD"]), str(msg["Subject"]), int(parsed.walk("VEVENT")[0]["SEQUENCE"])))
    return out


@radicale_only
def test_a_declined_offer_is_never_mailed(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    mailcli.json(*BOOK)
    smtp.reset()
    offer = mailcli.json("cut-short", "acme-1", "--ended-at", "12:35", "--no-send", now=AFTER)["offer"]["id"]
    assert [w["kind"] for w in mailcli.json("outbox", now=AFTER)["waiting"]] == ["offer"]
    mailcli.json("decline", offer, now=AFTER)
    assert mailcli.json("outbox", now=AFTER)["waiting"] == []  # lists only what would go out now
    code, out, _ = mailcli("outbox", "send", now=AFTER)
    assert code == 0 and smtp.messages == []
    assert f"withdrawn: offer {offer} to it@acme.example: the offer {offer} was declined" in out
    assert mailcli.json("outbox", "send", now=AFTER)["withdrawn"] == []  # said once


@radicale_only
def test_an_accepted_offer_is_never_mailed(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    mailcli.json(*BOOK)
    smtp.reset()
    offer = mailcli.json("cut-short", "acme-1", "--ended-at", "12:35", "--no-send", now=AFTER)["offer"]["id"]
    made = mailcli.json("accept", offer, "1", now=AFTER)
    assert [s["kind"] for s in made["mail"]["sent"]] == ["makeup"]
    doc = mailcli.json("outbox", "send", now=AFTER)
    assert doc["sent"] == [] and doc["waiting"] == 0
    assert [k for k, _, _ in _methods(smtp)] == ["REQUEST"]  # the make-up's invitation, no offer
    (step,) = made["mail"]["withdrawn"]  # said by the command that closed the offer
    assert step["ref"] == offer and step["action"] == "withdrawn" and "accepted" in step["why"]


@radicale_only
def test_no_invitation_for_a_block_cut_short_cancelled_or_started(mailcli: Runner, account: Account,
                                                                   smtp: MailSink) -> None:
    booked = mailcli.json(*BOOK, "--no-send")
    uids = {b["id"]: b["uid"] for b in booked["booked"]}
    said = mailcli("cancel", "acme-2", "--no-send")[1]  # the check runs with every command's mail
    said += mailcli("cut-short", "acme-1", "--ended-at", "12:35", "--no-send", now=AFTER)[1]
    waiting = mailcli.json("outbox", now=AFTER)["waiting"]
    assert sorted((w["kind"], w["ref"]) for w in waiting) == sorted(
        [("offer", "acme-o1"), ("request", uids["acme-3"]), ("request", uids["acme-4"])])
    assert all(w["held"] for w in waiting)
    code, out, _ = mailcli("outbox", "send", now=AFTER)
    said += out
    assert code == 0 and "sent 3 message(s); 0 wait" in out
    assert ("withdrawn: invitation for acme-1 to it@acme.example: acme-1 was cut short "
            "(Tue 2026-03-24 12:00–12:35)") in said  # the organizer's zone, as the tables show it
    assert "withdrawn: cancellation of acme-2 to it@acme.example: acme-2 was cancelled before any" in said
    got = {str(icalendar.Calendar.from_ical(p.get_content()).walk("VEVENT")[0]["UID"])
           for m in smtp.messages for p in m.message.walk() if p.get_content_type() == "text/calendar"}
    assert got == {uids["acme-3"], uids["acme-4"]}
    # a block whose time has come: its invitation is withdrawn too
    mailcli.json("move", "acme-3", "--to", "15:00", "--no-send", now=AFTER)
    smtp.reset()
    doc = mailcli.json("outbox", "send", now="2026-03-31T15:30")
    assert doc["sent"] == [] and [w["why"] for w in doc["withdrawn"]] == [
        "acme-3 has started already (Tue 2026-03-31 15:00–16:00)"]
    assert smtp.messages == []


@radicale_only
def test_a_block_moved_twice_before_anything_went_out(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    mailcli.json(*BOOK, "--no-send")
    said = mailcli("move", "acme-2", "--to", "15:00", "--no-send")[1]
    said += mailcli("move", "acme-2", "--to", "2026-03-27 09:00", "--no-send")[1]
    mine = [w for w in mailcli.json("outbox")["waiting"] if w["ref"].startswith("bt-acme-20260326")]
    assert [(w["kind"], w["sequence"]) for w in mine] == [("request", 2)]  # one first invitation, current
    code, out, _ = mailcli("outbox", "send")
    said += out
    assert code == 0 and "merged: update for acme-2 to it@acme.example: no invitation for acme-2 went out yet" in said
    assert len(smtp.messages) == 4
    ours = [m.message for m in smtp.messages if "27" in str(m.message["Subject"])]
    assert len(ours) == 1
    assert str(ours[0]["Subject"]).startswith("Invitation: Acme training")
    text = next(p for p in ours[0].walk() if p.get_content_type() == "text/plain").get_content()
    assert "Before" not in text and "Thursday" not in text and "09:00–10:00" in text
    ev = icalendar.Calendar.from_ical(next(p for p in ours[0].walk()
                                           if p.get_content_type() == "text/calendar").get_content())
    assert str(ev["METHOD"]) == "REQUEST"
    (event,) = ev.walk("VEVENT")
    assert int(event["SEQUENCE"]) == 2 and event["DTSTART"].dt == datetime(2026, 3, 27, 8, tzinfo=UTC)
    assert mailcli.json("outbox", "send")["sent"] == []  # nothing twice


@radicale_only
def test_an_update_says_the_time_the_client_really_got(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    mailcli.json(*BOOK)  # the invitations go out: Thu 26 12:00
    mailcli.json("move", "acme-2", "--to", "15:00", "--no-send")
    smtp.reset()
    mailcli.json("move", "acme-2", "--to", "2026-03-27 09:00")
    (m,) = smtp.messages
    text = next(p for p in m.message.walk() if p.get_content_type() == "text/plain").get_content()
    assert "Before:   Thursday, March 26, 2026, 12:00–13:00" in text  # not 15:00, which never went out
    assert str(m.message["Subject"]).startswith("New time")


@radicale_only
def test_the_daemon_never_sends_held_mail(mailcli: Runner, account: Account, smtp: MailSink,
                                         data_dir: Path) -> None:
    from blocktime.config.loading import load
    from blocktime.usecases.daemon_pass import run_pass

    mailcli.json(*BOOK, "--no-send")
    code, out, err = mailcli("daemon", "--once", "--json")
    assert code == 0, err
    assert smtp.messages == []
    assert json.loads(out)["outbox"]["held"] == 4
    run_pass(load(str(mailcli.config)), NOW, nightly=False)  # the long-running daemon's sync job
    assert smtp.messages == []
    status = mailcli.json("daemon", "--status")
    assert status["outbox_pending"] == 4 and status["outbox_held"] == 4
    code, out, _ = mailcli("daemon", "--status")
    assert "4 waiting, 4 held until `blocktime outbox send`" in out
    assert len(mailcli.json("outbox", "send")["sent"]) == 4
    assert mailcli.json("daemon", "--status")["outbox_held"] == 0


@radicale_only
def test_a_change_to_held_mail_stays_held(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    mailcli.json(*BOOK, "--no-send")
    from blocktime.config.loading import load
    from blocktime.store.mailqueue import HELD
    from blocktime.usecases.messages import deliver, queue_block
    from blocktime.usecases.session import Session

    with Session(load(str(mailcli.config)), NOW) as s:  # as the sync pass does for a move made elsewhere
        from blocktime.ics.event import EventFacts

        sb = s.store.block("acme-2")
        eng = s.store.engagement("acme")
        assert sb is not None and eng is not None
        with s.store.transaction():
            s.store.reschedule(sb.block.uid, SPAN, 1, None)
            (key,) = queue_block(s, "update", EventFacts(sb.block, eng, s.config.organizer, 1, NOW), old=SPAN)
        assert s.store.db.execute("SELECT state FROM mail_outbox WHERE key=?", (key,)).fetchone()[0] == HELD
        assert deliver(s).sent == []  # the daemon's call
    assert smtp.messages == []


@radicale_only
def test_real_mail_carries_the_real_date(mailcli: Runner, account: Account, smtp: MailSink,
                                         data_dir: Path) -> None:
    before = datetime.now(UTC) - timedelta(minutes=1)
    mailcli.json(*BOOK)  # --now 2026-03-20T09:00
    mailcli.json("cut-short", "acme-1", "--ended-at", "12:35", "--no-send", now=AFTER)
    mailcli.json("outbox", "send", now=AFTER)
    after = datetime.now(UTC) + timedelta(minutes=1)
    assert len(smtp.messages) == 5
    for m in smtp.messages:
        date = email.utils.parsedate_to_datetime(str(m.message["Date"]))
        assert before <= date <= after, m.message["Date"]
        assert date.utcoffset() == datetime.now(WAW).utcoffset()  # said in the organizer's zone
    eml = next((data_dir / "outbox" / "mail").glob("*.eml"), None)
    assert eml is None  # sent mail leaves the folder
