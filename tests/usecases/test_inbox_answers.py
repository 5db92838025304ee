"""Issue 13, points 4, 6 and 7: iTIP answers by mail, exactly once across crashes and concurrent
passes, hostile mail. Real Radicale, real IMAP (pymap), real SMTP sink, real SQLite."""

from __future__ import annotations

import fcntl
import os
import re
from email.message import EmailMessage
from pathlib import Path

import pytest

from blocktime.usecases import answers, offers
from tests.conftest import Runner, smtp_section, write_config
from tests.helpers import SAMPLES, objects
from tests.imapserver import USER, ImapServer, letter
from tests.mail.test_inbox import _subjects
from tests.mailserver import MailSink
from tests.servers import Account
from tests.usecases.test_changes import BOOK, PEOPLE

REPLIES = SAMPLES / "replies"
RADICALE = pytest.mark.parametrize("account", ["radicale"], indirect=True)


def _cli(account: Account, smtp: MailSink, imap: ImapServer, folder: str, tmp_path: Path,
         capsys: pytest.CaptureFixture[str], **inbox: object) -> Runner:
    return Runner(write_config(tmp_path / "config.toml", account, smtp=smtp_section(smtp),
                               inbox=imap.section(folder, **inbox)), capsys)


def _attached(sender: str, ics: bytes) -> bytes:
    """Outlook's shape: a short text and the answer as an .ics attachment."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, USER, "Tentative: Acme training"
    msg["Message-ID"] = "<outlook-tentative-1@acme.example>"
    msg.set_content("Postaramy się.\n")
    msg.add_attachment(ics, maintype="text", subtype="calendar", filename="reply.ics")
    return bytes(msg.as_bytes())


@RADICALE
def test_itip_replies_and_a_counter_arrive_by_mail(account: Account, smtp: MailSink, imap_server: ImapServer,
                                                   tmp_path: Path, data_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = imap_server.new_folder()
    cli = _cli(account, smtp, imap_server, folder, tmp_path, capsys)
    cli.json(*BOOK)
    imap_server.append(folder, (REPLIES / "gmail_accepted.eml").read_bytes())  # inline text/calendar
    imap_server.append(folder, _attached(PEOPLE[1], (REPLIES / "outlook_tentative.ics").read_bytes()))
    imap_server.append(folder, (REPLIES / "outlook_counter.eml").read_bytes())
    # someone else's mail carrying an attendee's answer is not an answer
    forged = (REPLIES / "gmail_accepted.eml").read_bytes().replace(b"From: Iwona Tkacz <it@acme.example>",
                                                                   b"From: x@evil.example")
    imap_server.append(folder, forged.replace(b"<000000000000a1b2c3d4e5f6@google.com>", b"<forged@evil.example>"))
    got = cli.json("inbox")["messages"]
    assert [m["action"] for m in got] == ["reply", "reply", "kept", "ignored"]
    assert got[0]["block"] == "acme-1" and "accepted" in got[0]["reason"]
    assert "acme-2-c1" in got[2]["reason"] and "accept-counter" in got[2]["reason"]
    assert got[3]["block"] is None  # a stranger's: not even downloaded
    (b,) = [b for b in cli.json("agenda")["blocks"] if b["id"] == "acme-1"]
    assert {a["attendee"]: a["answer"] for a in b["answers"]} == {PEOPLE[0]: "accepted", PEOPLE[1]: "tentative"}
    assert cli.json("inbox")["messages"] == []


@RADICALE
def test_a_counter_is_accepted_by_itself_only_when_configured(account: Account, smtp: MailSink,
                                                              imap_server: ImapServer, tmp_path: Path,
                                                              data_dir: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = imap_server.new_folder()
    cli = _cli(account, smtp, imap_server, folder, tmp_path, capsys, auto_accept_counter=True)
    cli.json(*BOOK)
    imap_server.append(folder, (REPLIES / "outlook_counter.eml").read_bytes())
    (got,) = cli.json("inbox")["messages"]
    assert got["action"] == "counter-accepted" and got["block"] == "acme-2"
    (b,) = [b for b in cli.json("agenda")["blocks"] if b["id"] == "acme-2"]
    assert b["start"] == "2026-03-27T10:00:00+01:00"
    # a proposal onto busy time (acme-3) fails a check a move must pass: kept for the organizer
    from blocktime.usecases.replies import calendar_text

    text = calendar_text((REPLIES / "outlook_counter.eml").read_bytes())
    onto = text.replace("20260327T100000", "20260331T120000").replace("20260327T110000", "20260331T130000")
    onto = re.sub(r"(?m)^SEQUENCE:0", "SEQUENCE:1", onto)  # against the block as it is now (moved once)
    mail = _attached(PEOPLE[0], onto.encode("utf-8")).replace(b"<outlook-tentative-1@", b"<busy-counter@")
    imap_server.append(folder, mail)
    (busy,) = cli.json("inbox")["messages"]
    assert busy["action"] == "kept" and "BUSY" in busy["reason"], busy
    (b,) = [b for b in cli.json("agenda")["blocks"] if b["id"] == "acme-2"]
    assert b["start"] == "2026-03-27T10:00:00+01:00"  # not moved


@RADICALE
def test_a_crash_between_reading_and_acting_loses_nothing_and_doubles_nothing(
        account: Account, smtp: MailSink, imap_server: ImapServer, tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.mail.test_inbox import BOOK as ONE
    from tests.mail.test_inbox import CLIENT

    folder = imap_server.new_folder()
    cli = _cli(account, smtp, imap_server, folder, tmp_path, capsys)
    cli.json(*ONE)
    offer = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")["offer"]
    imap_server.append(folder, letter(CLIENT, f"Re: {_subjects(smtp)[2]}", ""))

    class Crash(BaseException):
        pass

    real = offers.release

    def crash(session: object, offer_id: str) -> int:
        raise Crash  # the make-up block is booked, the holds not yet released, the message not yet done

    monkeypatch.setattr(offers, "release", crash)
    with pytest.raises(Crash):
        cli("inbox", now="2026-03-24T14:00")
    monkeypatch.setattr(offers, "release", real)
    (got,) = cli.json("inbox", now="2026-03-24T14:01")["messages"]
    assert (got["action"], got["option"], got["block"]) == ("accepted", 2, "acme-5")
    status = cli.json("status", "acme", now="2026-03-24T14:02")
    assert status["makeup_blocks"] == ["acme-5"] and status["remaining_minutes"] == 0
    assert not [t for t in objects(account) if "UID:hold-" in t]
    assert sum("UID:bt-acme-" in t for t in objects(account)) == 5  # the make-up block once
    assert cli.json("inbox", now="2026-03-24T14:03")["messages"] == []
    assert offer["id"] == got["offer"]


@RADICALE
def test_two_passes_never_handle_one_message_twice(account: Account, smtp: MailSink, imap_server: ImapServer,
                                                   tmp_path: Path, data_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = imap_server.new_folder()
    cli = _cli(account, smtp, imap_server, folder, tmp_path, capsys)
    cli.json(*BOOK)
    imap_server.append(folder, (REPLIES / "gmail_accepted.eml").read_bytes())
    fd = os.open(data_dir / "inbox.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another daemon's pass is running
        doc = cli.json("inbox")
        assert doc == {"messages": [], "busy": True}
    finally:
        os.close(fd)
    assert [m["action"] for m in cli.json("inbox")["messages"]] == ["reply"]
    # the same message again (a copy in the folder) is known by its Message-ID
    imap_server.append(folder, (REPLIES / "gmail_accepted.eml").read_bytes())
    assert cli.json("inbox")["messages"] == []
    assert answers.IGNORED == "ignored"


def _hostile() -> list[bytes]:
    big = b"A" * (3 * 1024 * 1024)
    nested = (b"From: it@acme.example\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;"
              b" boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nFrom: a@b\r\nSubject: inner"
              b" [offer acme-o1 btaaaaaaaaaaaaaaaa]\r\n\r\n2\r\n--x--\r\n")
    deep = (b"From: it@acme.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n")
    for i in range(1, 120):
        deep += f"--b{i - 1}\r\nContent-Type: multipart/mixed; boundary=b{i}\r\n\r\n".encode()
    return [
        b"From: it@acme.example\r\nSubject: huge\r\nContent-Type: text/plain\r\n\r\n" + big,
        b"From: it@acme.example\r\nSubject: =?utf-8?b?!!!broken?=\r\nContent-Type: multipart/mixed\r\n\r\n--\r\n",
        b"From: it@acme.example\r\nSubject: hi\r\n Bcc: victim@example.com\r\nContent-Transfer-Encoding: base64\r\n"
        b"\r\n%%%not base64",
        nested,
        deep,
        b"\x00\xff garbage without headers",
        b"From: it@acme.example\r\nSubject: " + b"x" * (3 * 1024 * 1024) + b"\r\n\r\nhuge header\r\n",
    ]


@RADICALE
def test_hostile_mail_is_skipped_with_a_warning_never_a_crash(account: Account, smtp: MailSink,
                                                              imap_server: ImapServer, tmp_path: Path,
                                                              data_dir: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = imap_server.new_folder()
    cli = _cli(account, smtp, imap_server, folder, tmp_path, capsys)
    cli.json(*BOOK)
    for data in _hostile():
        imap_server.append(folder, data)
    code, out, err = cli("inbox", "--json")
    assert code == 0, err
    import json

    got = json.loads(out)["messages"]
    assert len(got) == 7 and all(m["action"] in ("kept", "ignored") for m in got)
    assert all(len(m["subject"]) <= 300 for m in got)
    assert all(m["block"] is None for m in got)
    assert "only its beginning was read" in err
    assert all("\n" not in m["subject"] and "\r" not in m["subject"] for m in got)
    assert imap_server.password not in out + err
    assert cli.json("inbox")["messages"] == []


@RADICALE
def test_doctor_checks_the_inbox(account: Account, smtp: MailSink, imap_server: ImapServer, tmp_path: Path,
                                 data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    folder = imap_server.new_folder()
    cli = _cli(account, smtp, imap_server, folder, tmp_path, capsys, processed_folder="Done")
    code, out, err = cli("doctor", "--json")
    found = {f["topic"]: f for f in json.loads(out)["findings"]}
    assert code == 0, err
    assert found["inbox"]["level"] == "ok" and found["idle"]["level"] == "ok"
    assert "moved" in found["processed"]["text"]
    bad = Runner(write_config(tmp_path / "bad.toml", account,
                              inbox=imap_server.section(folder, password="wrong-" + imap_server.password)), capsys)
    code, out, err = bad("doctor", "--json")
    found = {f["topic"]: f for f in json.loads(out)["findings"]}
    assert code == 1 and found["inbox"]["level"] == "fail" and "refused the login" in found["inbox"]["text"]
    assert imap_server.password not in out + err
    missing = Runner(write_config(tmp_path / "m.toml", account, inbox=imap_server.section("NoSuchFolder")), capsys)
    _code, out, _ = missing("doctor", "--json")
    assert "NoSuchFolder" in {f["topic"]: f for f in json.loads(out)["findings"]}["inbox"]["text"]


@RADICALE
def test_handled_mail_moves_to_the_processed_folder_and_is_never_deleted(
        account: Account, smtp: MailSink, imap_server: ImapServer, tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = imap_server.new_folder()
    done = folder + "-done"
    cli = _cli(account, smtp, imap_server, folder, tmp_path, capsys, processed_folder=done)
    cli.json(*BOOK)
    imap_server.append(folder, (REPLIES / "gmail_accepted.eml").read_bytes())
    imap_server.append(folder, letter("news@shop.example", "sale", "buy"))
    assert len(cli.json("inbox")["messages"]) == 2
    m = imap_server.client()
    try:
        counts = {}
        for name in (folder, done):
            typ, data = m.select(name)
            assert typ == "OK"
            counts[name] = int(data[0] or 0)
    finally:
        m.logout()
    assert counts == {folder: 0, done: 2}


@RADICALE
def test_a_new_uidvalidity_reads_the_folder_again_without_doubling(
        account: Account, smtp: MailSink, imap_server: ImapServer, tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = imap_server.new_folder()
    cli = _cli(account, smtp, imap_server, folder, tmp_path, capsys)
    cli.json(*BOOK)
    imap_server.append(folder, (REPLIES / "gmail_accepted.eml").read_bytes())
    assert [m["action"] for m in cli.json("inbox")["messages"]] == ["reply"]
    m = imap_server.client()
    try:  # the folder is rebuilt (a server migration, a restore): new UIDVALIDITY, the same mail
        assert m.delete(folder)[0] == "OK" and m.create(folder)[0] == "OK"
    finally:
        m.logout()
    imap_server.append(folder, (REPLIES / "gmail_accepted.eml").read_bytes())
    imap_server.append(folder, letter("news@shop.example", "sale", "buy"))
    assert [m["action"] for m in cli.json("inbox")["messages"]] == ["ignored"]


@RADICALE
def test_a_pick_after_the_deadline_gets_a_fresh_offer(account: Account, smtp: MailSink, imap_server: ImapServer,
                                                      tmp_path: Path, data_dir: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from tests.mail.test_inbox import BOOK as ONE
    from tests.mail.test_inbox import CLIENT

    folder = imap_server.new_folder()
    cli = _cli(account, smtp, imap_server, folder, tmp_path, capsys)
    cli.json(*ONE)
    offer = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")["offer"]
    late = _subjects(smtp)[1]
    smtp.reset()
    imap_server.append(folder, letter(CLIENT, f"Re: {late}", "1"))
    (got,) = cli.json("inbox", now=offer["expires"][:16])["messages"]  # answered at the deadline: too late
    assert got["action"] == "ignored" and "expired" in got["reason"] and got["block"] is None
    mails = {str(m["Subject"]): m for m in smtp.to(CLIENT)}
    assert len(mails) == 2  # the courteous answer and the fresh offer
    fresh = cli.json("offers", now=offer["expires"][:16])["offers"]
    assert len(fresh) == 1 and fresh[0]["id"] != offer["id"]
    answer = next(m for s, m in mails.items() if "chose" in s)
    text = answer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "new times" in text and "time to answer ended" in text


def test_starttls_to_a_real_server_and_a_certificate_that_is_not_trusted(
        tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.mailserver import self_signed

    _ctx, cert = self_signed(tmp_path)
    server = ImapServer(tmp_path / "tls", tls=(cert, tmp_path / "key.pem"))
    try:
        monkeypatch.setattr(server, "tls", None)  # the fixture's own client: plain login is refused
        folder = "INBOX"
        section = server.section(folder, security="starttls")
        cli = Runner(write_config(tmp_path / "c.toml", None, inbox=section), capsys)
        code, _, err = cli("inbox")  # the test certificate is not trusted: no password goes out
        assert code == 1 and "TLS failed (CERTIFICATE_VERIFY_FAILED)" in err, err
        assert server.password not in err
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        assert cli.json("inbox")["messages"] == []
    finally:
        server.stop()


@RADICALE
def test_a_flood_is_worked_off_over_several_passes(account: Account, smtp: MailSink, imap_server: ImapServer,
                                                   tmp_path: Path, data_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from blocktime.config.loading import load
    from blocktime.usecases.session import Session

    folder = imap_server.new_folder()
    cli = _cli(account, smtp, imap_server, folder, tmp_path, capsys)
    for i in range(5):
        imap_server.append(folder, letter(f"n{i}@shop.example", f"sale {i}", "buy"))
    config = load(str(cli.config))
    counts = []
    for _ in range(6):
        with Session(config, datetime(2026, 3, 24, 14, tzinfo=ZoneInfo("Europe/Warsaw"))) as s:
            counts.append(len(answers.run(s, budget=0).messages))  # no time left: one message per pass
    assert counts == [1, 1, 1, 1, 1, 0]


@RADICALE
def test_a_pick_books_its_block_without_calling_it_left_pending(
        account: Account, smtp: MailSink, imap_server: ImapServer, tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 26, point 10: the block a pick books now is not one an earlier run left pending."""
    from tests.mail.test_inbox import BOOK as ONE
    from tests.mail.test_inbox import CLIENT

    folder = imap_server.new_folder()
    cli = _cli(account, smtp, imap_server, folder, tmp_path, capsys)
    cli.json(*ONE)
    cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")
    imap_server.append(folder, letter(CLIENT, f"Re: {_subjects(smtp)[1]}", "1"))
    code, out, err = cli("inbox", now="2026-03-24T14:00")
    assert code == 0 and "acme-" in out
    assert "left pending" not in err, err
