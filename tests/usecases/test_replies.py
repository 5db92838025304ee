"""Replies and proposed times from the Gmail- and Outlook-shaped samples, against real servers."""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest

from blocktime.ics.itip import address
from tests.conftest import Runner
from tests.helpers import SAMPLES, objects
from tests.imipcheck import calendar, parts
from tests.mailserver import MailSink
from tests.servers import Account
from tests.usecases.test_changes import BOOK, PEOPLE

REPLIES = SAMPLES / "replies"


def _attendee_answers(account: Account, uid: str) -> dict[str, str]:
    for text in objects(account):
        ev = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
        if str(ev["UID"]) == uid:
            return {address(a): str(a.params["PARTSTAT"]) for a in ev["ATTENDEE"]}
    raise AssertionError(uid)


def _answers(cli: Runner, block: str) -> dict[str, str]:
    (b,) = [b for b in cli.json("agenda")["blocks"] if b["id"] == block]
    return {a["attendee"]: a["answer"] for a in b["answers"]}


def test_replies_and_a_counter_from_gmail_and_outlook(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    booked = {b["id"]: b["uid"] for b in mailcli.json(*BOOK)["booked"]}
    smtp.reset()
    assert _answers(mailcli, "acme-1") == dict.fromkeys(PEOPLE, "none")
    # Gmail: the whole .eml; the note is in X-RESPONSE-COMMENT (HTML- and backslash-escaped)
    (item,) = mailcli.json("import-reply", str(REPLIES / "gmail_accepted.eml"))["items"]
    assert item["applied"] and item["answer"] == "accepted" and item["attendee"] == "it@acme.example"
    assert item["note"] == "See you on Tuesday; we'll bring laptops, and coffee ☕"
    # Outlook.com: no ORGANIZER, Windows zone name, the note in COMMENT
    (item,) = mailcli.json("import-reply", str(REPLIES / "outlook_tentative.ics"))["items"]
    assert item["applied"] and item["answer"] == "tentative" and item["note"].startswith("Postaramy się, ale")
    assert _answers(mailcli, "acme-1") == {"it@acme.example": "accepted", "office@acme.example": "tentative"}
    code, out, _ = mailcli("agenda")
    assert code == 0 and "it accepted, office tentative" in out  # the addresses' local parts: 100 columns
    assert "it no answer, office no answer" in out  # acme-2
    # the organizer's calendar shows the answers too
    assert _attendee_answers(account, booked["acme-1"]) == {
        "it@acme.example": "ACCEPTED", "office@acme.example": "TENTATIVE"}
    # importing the same answer again changes nothing
    (item,) = mailcli.json("import-reply", str(REPLIES / "gmail_accepted.eml"))["items"]
    assert not item["applied"] and item["why"] == "recorded already"

    # Outlook's "propose new time" (COUNTER, Windows zone) is shown to the organizer
    code, out, _ = mailcli("import-reply", str(REPLIES / "outlook_counter.eml"))
    assert code == 0
    assert "acme-2: it@acme.example proposes Fri 2026-03-27 10:00–11:00 (now Thu 2026-03-26 12:00–13:00)" in out
    assert "blocktime accept-counter acme-2-c1" in out and "Friday morning" in out
    assert smtp.messages == []
    done = mailcli.json("accept-counter")  # the only open proposal
    assert done["counter"]["id"] == "acme-2-c1"
    assert done["block"]["start"] == "2026-03-27T10:00:00+01:00" and done["block"]["sequence"] == 1
    sent = [(calendar(m.message)[1], m.rcpt_tos[0]) for m in smtp.messages]
    assert sorted(rcpt for _, rcpt in sent) == sorted(PEOPLE)
    assert all(str(c["METHOD"]) == "REQUEST" and c.walk("VEVENT")[0]["SEQUENCE"] == 1 for c, _ in sent)
    code, _, err = mailcli("accept-counter", "acme-2-c1")
    assert code == 2 and "accepted" in err

    # a reply to the old time (SEQUENCE 0) no longer counts
    (item,) = mailcli.json("import-reply", str(REPLIES / "gmail_declined.ics"))["items"]
    assert not item["applied"] and "earlier version" in item["why"]
    assert _answers(mailcli, "acme-2") == dict.fromkeys(PEOPLE, "none")
    assert _attendee_answers(account, booked["acme-2"]) == dict.fromkeys(PEOPLE, "NEEDS-ACTION")


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_decline_counter_sends_declinecounter_to_the_proposer(
        mailcli: Runner, account: Account, smtp: MailSink) -> None:
    mailcli.json(*BOOK)
    smtp.reset()
    (item,) = mailcli.json("import-reply", str(REPLIES / "outlook_counter.eml"))["items"]
    assert item["id"] == "acme-2-c1" and item["state"] == "open"
    doc = mailcli.json("decline-counter", "acme-2-c1")
    assert doc["counter"]["state"] == "declined"
    (m,) = smtp.messages
    assert m.rcpt_tos == ["it@acme.example"]
    _, cal = calendar(m.message)
    assert str(cal["METHOD"]) == "DECLINECOUNTER" == parts(m.message)[2].get_param("method")
    ev = cal.walk("VEVENT")[0]
    assert [address(a) for a in ([ev["ATTENDEE"]] if not isinstance(ev["ATTENDEE"], list) else ev["ATTENDEE"])] == [
        "it@acme.example"]
    assert "DTSTART" not in ev
    body = m.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Friday, March 27, 2026, 10:00–11:00" in body and "stays as planned" in body
    assert mailcli.json("agenda")["blocks"][1]["start"] == "2026-03-26T12:00:00+01:00"
    code, _, err = mailcli("decline-counter", "acme-2-c1")
    assert code == 2 and "declined" in err
    code, _, err = mailcli("decline-counter")
    assert code == 2 and "no proposal waits" in err


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_counter_onto_busy_time_is_refused_and_stays_open(
        mailcli: Runner, account: Account, smtp: MailSink, tmp_path: Path) -> None:
    from blocktime.usecases.replies import calendar_text

    mailcli.json(*BOOK)
    smtp.reset()
    text = calendar_text((REPLIES / "outlook_counter.eml").read_bytes())
    onto_acme3 = text.replace("20260327T100000", "20260331T120000").replace("20260327T110000", "20260331T130000")
    f = tmp_path / "busy.ics"
    f.write_text(onto_acme3, encoding="utf-8", newline="")
    assert mailcli.json("import-reply", str(f))["items"][0]["start"] == "2026-03-31T12:00:00+02:00"
    code, _, err = mailcli("accept-counter", "acme-2-c1")
    assert code == 1 and "BUSY" in err
    assert mailcli.json("import-reply", str(f))["items"][0]["state"] == "open"
    assert smtp.messages == []


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_bad_reply_files_are_bad_input(cli: Runner, account: Account, tmp_path: Path, data_dir: Path) -> None:
    cli.json(*BOOK)
    request = next((data_dir / "outbox").glob("*-request.ics"))
    cases = {
        "request": (request.read_bytes(), "not a REPLY or COUNTER"),
        "garbage": (b"hello there\r\n\r\njust text", "no calendar part"),
        "unknown": ((REPLIES / "gmail_declined.ics").read_bytes().replace(b"65a08eb0", b"00000000"),
                    "blocktime did not book"),
        "stranger": ((REPLIES / "gmail_declined.ics").read_bytes().replace(b"office@acme", b"eve@evil"),
                     "not an attendee"),
        "noanswer": ((REPLIES / "gmail_declined.ics").read_bytes().replace(b"PARTSTAT=DECLINED",
                                                                          b"PARTSTAT=DELEGATED"), "DELEGATED"),
    }
    for name, (data, needle) in cases.items():
        f = tmp_path / f"{name}.ics"
        f.write_bytes(data)
        code, _, err = cli("import-reply", str(f))
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, (name, err)
    code, _, err = cli("import-reply", str(tmp_path / "missing.eml"))
    assert code == 2 and "cannot read" in err
