"""Issue 13: the client answers by mail, blocktime acts. Real Radicale, real IMAP (pymap), real
SMTP sink, real SQLite; the client's mail APPENDed as a mail program sends it."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.conftest import Runner, smtp_section, write_config
from tests.helpers import objects
from tests.imapserver import ImapServer, letter
from tests.mailserver import MailSink
from tests.servers import Account

BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue,thu", "--count", "4")
CLIENT = "it@acme.example"
RADICALE = pytest.mark.parametrize("account", ["radicale"], indirect=True)


@pytest.fixture
def folder(imap_server: ImapServer) -> str:
    return imap_server.new_folder()


@pytest.fixture
def inboxcli(account: Account, smtp: MailSink, imap_server: ImapServer, folder: str, tmp_path: Path,
             data_dir: Path, capsys: pytest.CaptureFixture[str]) -> Runner:
    """The CLI with [smtp] -> the sink and [inbox] -> pymap (a folder of this test's own)."""
    cfg = write_config(tmp_path / "config.toml", account, smtp=smtp_section(smtp),
                       inbox=imap_server.section(folder))
    return Runner(cfg, capsys)


def _subjects(smtp: MailSink) -> dict[int, str]:
    """The prepared reply subjects of the offer mail the client received, by option number: the
    links of its HTML part, the ones a Gmail or Outlook reader clicks ("Reply with option 2")."""
    offer = [m for m in smtp.to(CLIENT) if "new times" in str(m["Subject"])][-1]
    page = offer.get_body(("html",)).get_content()  # type: ignore[union-attr]
    links = re.findall(r'<a href="mailto:[^?"]+\?subject=([^"]+)">Reply with option (\d+)</a>', page)
    assert [int(n) for _s, n in links] == list(range(1, len(links) + 1))
    return {int(n): unquote(html.unescape(s)) for s, n in links}


def _holds(account: Account) -> list[str]:
    return [t for t in objects(account) if "UID:hold-" in t]


def _offer(cli: Runner) -> dict[str, Any]:
    cli.json(*BOOK)
    cut = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")
    return dict(cut["offer"])


@RADICALE
def test_a_reply_picking_option_2_books_it_once(inboxcli: Runner, account: Account, smtp: MailSink,
                                                  imap_server: ImapServer, folder: str) -> None:
    offer = _offer(inboxcli)
    subjects = _subjects(smtp)
    assert len(subjects) == 3 and all(re.search(r"\bbt[a-z2-7]{16}\b", s) for s in subjects.values())
    smtp.reset()
    # a stranger who saw the subject, a guessed token, the client's pick, then free text
    imap_server.append(folder, letter("mallory@evil.example", f"Re: {subjects[1]}", "book it"))
    guessed = re.sub(r"bt[a-z2-7]{16}", "bt" + "a" * 16, subjects[3])
    imap_server.append(folder, letter(CLIENT, guessed, "3"))
    imap_server.append(folder, letter(f"IT Team <{CLIENT}>", f"Re: {subjects[2]}", "Thanks, see you then.\n"))
    imap_server.append(folder, letter(CLIENT, "Re: Acme training", "None of these, how about Monday?\n"))
    imap_server.append(folder, letter("news@shop.example", "50% off", "buy now"))
    dry = inboxcli.json("inbox", "--dry-run", now="2026-03-24T14:00")["messages"]
    assert [m["action"] for m in dry] == ["kept", "kept", "accepted", "kept", "ignored"]
    code, out, _ = inboxcli("inbox", "--dry-run", now="2026-03-24T14:00")
    assert code == 0 and f"would be accepted: {CLIENT}" in out and "5 new message(s); 1 unrelated" in out
    assert len(_holds(account)) == 3 and not smtp.messages  # the dry run changed nothing

    doc = inboxcli.json("inbox", now="2026-03-24T14:00")
    got = doc["messages"]
    assert [m["action"] for m in got] == ["kept", "kept", "accepted", "kept", "ignored"]
    stranger, forged, pick, free, _news = got
    assert "not an attendee" in stranger["reason"] and stranger["block"] is None
    assert "no valid token" in forged["reason"] and forged["block"] is None
    assert pick == {**pick, "from": CLIENT, "offer": offer["id"], "option": 2, "block": "acme-5"}
    assert set(pick) == {"message_id", "from", "subject", "action", "offer", "option", "block", "reason"}
    assert free["offer"] is None and free["reason"] == "a message from an attendee"
    # option 2 is on the calendar, every hold released, the client got the invitation
    status = inboxcli.json("status", "acme", now="2026-03-24T14:01")
    assert status["makeup_blocks"] == ["acme-5"] and status["remaining_minutes"] == 0
    makeup = next(b for b in status["blocks"] if b["id"] == "acme-5")
    assert makeup["start"] == next(o for o in offer["options"] if o["number"] == 2)["start"]
    assert _holds(account) == []
    assert [str(m["Subject"]) for m in smtp.to(CLIENT)] == [
        next(str(m["Subject"]) for m in smtp.to(CLIENT) if "Invitation" in str(m["Subject"]))]
    # what waits for the organizer is listed
    waiting = status["inbox_waiting"]
    assert [w["from"] for w in waiting] == ["mallory@evil.example", CLIENT, CLIENT]
    # a second pass does nothing
    assert inboxcli.json("inbox", now="2026-03-24T14:05")["messages"] == []
    assert inboxcli("inbox", now="2026-03-24T14:05")[1] == "no new mail\n"
    said = inboxcli("status", "acme", now="2026-03-24T14:05")[1]
    assert "waiting for you: mail from mallory@evil.example" in said
    # the text names each kept message's id, as `--dismiss` takes it (issue 26, point 11)
    bare = free["message_id"].strip("<>")
    assert f"dealt with it? blocktime inbox --dismiss {bare}" in said, said
    # the organizer deals with the free text: it no longer waits
    inboxcli.json("inbox", "--dismiss", bare, now="2026-03-24T14:05")
    waiting = inboxcli.json("offers", now="2026-03-24T14:05")["inbox_waiting"]
    assert [w["from"] for w in waiting] == ["mallory@evil.example", CLIENT]
    code, _, err = inboxcli("inbox", "--dismiss", free["message_id"], now="2026-03-24T14:05")
    assert code == 2 and "waits" in err
    assert inboxcli.json("status", "acme", now="2026-03-24T14:06")["makeup_blocks"] == ["acme-5"]


@RADICALE
def test_a_pick_for_a_replaced_offer_gets_what_is_open_now(inboxcli: Runner, smtp: MailSink,
                                                           imap_server: ImapServer, folder: str) -> None:
    inboxcli.json(*BOOK[:-4], "--every", "tue,wed", "--count", "4")
    inboxcli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")
    old = _subjects(smtp)
    second = inboxcli.json("cut-short", "acme-2", "--ended-at", "12:20", now="2026-03-25T12:30")["offer"]
    smtp.reset()
    imap_server.append(folder, letter(CLIENT, f"Re: {old[1]}", ""))
    got = inboxcli.json("inbox", now="2026-03-25T13:00")["messages"]
    assert len(got) == 1 and got[0]["action"] == "ignored" and got[0]["block"] is None
    assert f"replaced by {second['id']}" in got[0]["reason"]
    answer = smtp.to(CLIENT)
    assert len(answer) == 1
    text = answer[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "no longer held" in text and text.count("mailto:") == len(second["options"])
    assert inboxcli.json("status", "acme", now="2026-03-25T13:01")["open_offers"][0]["id"] == second["id"]
    assert inboxcli.json("inbox", now="2026-03-25T13:02")["messages"] == []  # answered once


@RADICALE
def test_body_first_line_names_the_option_of_the_offer_it_quotes(inboxcli: Runner, smtp: MailSink,
                                                                 imap_server: ImapServer, folder: str) -> None:
    offer = _offer(inboxcli)
    mail = [m for m in smtp.to(CLIENT) if "new times" in str(m["Subject"])][-1]
    quoted = "\n".join("> " + line for line in mail.get_body(("plain",)).get_content().splitlines())  # type: ignore[union-attr]
    imap_server.append(folder, letter(CLIENT, f"Re: {mail['Subject']}", f"Option 3 works for us.\n\n{quoted}\n",
                                      reply_to_id=str(mail["Message-ID"])))
    got = inboxcli.json("inbox", now="2026-03-24T14:00")["messages"]
    assert [(m["action"], m["offer"], m["option"]) for m in got] == [("accepted", offer["id"], 3)]


def test_config_reports_every_inbox_problem(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path / "c.toml", None, inbox={"security": "tls", "port": 0, "colour": "red",
                                                         "auth": "password"})
    code, _, err = Runner(cfg, capsys)("inbox")
    assert code == 2
    for part in ("security", "port", "unknown key 'colour'", "needs a host", "needs a username", "needs a password"):
        assert part in err


def test_inbox_without_an_inbox_section_and_oauth_with_a_password(tmp_path: Path, data_dir: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = Runner(write_config(tmp_path / "none.toml", None), capsys)("inbox")
    assert code == 2 and "no [inbox]" in err
    cfg = write_config(tmp_path / "g.toml", None, inbox={"host": "imap.gmail.com", "username": "anna@gmail.com",
                                                         "auth": "google", "password": "x" * 8})
    code, _, err = Runner(cfg, capsys)("inbox")
    assert code == 2 and "signs in with OAuth" in err and "x" * 8 not in err
    from blocktime.config.loading import from_mapping

    inbox = from_mapping({"inbox": {"host": "imap.example.com", "username": "a", "password": "s3cr3t-pw",
                                    "security": "starttls"}}).inbox
    assert inbox is not None and (inbox.port, inbox.folder, inbox.auth, inbox.auto_accept_counter) == (
        143, "INBOX", "password", False)
    assert "s3cr3t-pw" not in repr(inbox)
