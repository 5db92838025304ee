"""Issue 24, point 4: invitations from Microsoft 365 / Outlook.com and Gmail accounts, which refuse
basic SMTP AUTH. `[mail] transport = "graph"` sends through Graph sendMail (the Graph stand-in,
tests/recorded/README.md) with the iMIP layout kept; `[smtp] auth = "google"` signs in to a real
SMTP server (aiosmtpd) with SASL XOAUTH2 and the Google sign-in's token."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from blocktime.config.auth import Token, TokenStore
from blocktime.config.loading import from_mapping
from blocktime.errors import BadInput
from tests.backends.conftest import graph_token
from tests.backends.standin_graph import Graph
from tests.backends.standin_http import StandIn
from tests.conftest import Runner, write_config
from tests.mailserver import MailSink
from tests.servers import Account

CLIENT = "it@acme.example"
BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", CLIENT, "--start", "2026-03-24 12:00",
        "--length", "1h")


@pytest.fixture
def graph() -> Iterator[tuple[Graph, StandIn]]:
    app = Graph()
    app.throttle_every = 0
    with StandIn(app) as server:
        app.root = server.root
        yield app, server


def _layout(mime: bytes) -> list[str]:
    msg = email.message_from_bytes(mime, policy=email.policy.default)
    return [f"{p.get_content_type()}{'; method=' + p.get_param('method') if p.get_param('method') else ''}"
            for p in msg.walk()]


def test_an_outlook_account_sends_a_request_through_graph(graph: tuple[Graph, StandIn], tmp_path: Path,
                                                          data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app, server = graph
    store = graph_token(app, server, data_dir)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[organizer]\nname = "Anna Nowak"\nemail = "anna@example.com"\ntimezone = "Europe/Warsaw"\n'
                   f'[calendar]\nprofile = "outlook"\nurl = "{server.root}/v1.0"\nname = "blocktime"\n'
                   '[mail]\ntransport = "graph"\n')
    cli = Runner(cfg, capsys)
    # signed in before the config asked for sending: no Mail.Send, so nothing goes and the mail waits
    first = cli.json(*BOOK)
    assert first["mail"]["sent"] == [] and "Mail.Send" in first["mail"]["error"] and app.sent_mail == []
    token = store.load()
    assert token is not None
    store.save(replace(token, scopes=(*token.scopes, "https://graph.microsoft.com/Mail.Send")))  # auth again
    booked = cli.json("outbox", "send", now="2026-03-20T09:05")
    assert [m["kind"] for m in booked["sent"]] == ["request"], booked
    (sent,) = app.sent_mail
    msg = email.message_from_bytes(sent, policy=email.policy.default)
    assert msg["To"] == CLIENT and "Acme" in str(msg["Subject"])
    layout = _layout(sent)
    assert "text/calendar; method=REQUEST" in layout and "application/ics" in layout, layout
    doctor = [f for f in cli.json("doctor", now=None)["findings"] if f["topic"] == "smtp"]
    assert doctor[0]["level"] == "ok" and "Microsoft Graph sendMail" in doctor[0]["text"]
    assert len(app.sent_mail) == 1  # doctor sends nothing


def test_graph_sending_needs_the_outlook_sign_in() -> None:
    with pytest.raises(BadInput, match=r"\[mail\] transport = graph sends with the Outlook sign-in"):
        from_mapping({"mail": {"transport": "graph"}})


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_gmail_account_sends_with_xoauth2(account: Account, tmp_path: Path, data_dir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    sink = MailSink(bearer=("anna@gmail.example", "ya29.fresh-token"))
    try:
        TokenStore(data_dir, "google").save(Token(
            "ya29.fresh-token", "1//refresh", time.time() + 3600, "https://127.0.0.1:1/token",
            "standin.apps.googleusercontent.com", "secret", ("https://www.googleapis.com/auth/calendar",
                                                            "https://mail.google.com/")))
        cli = Runner(write_config(tmp_path / "c.toml", account, smtp={
            "host": "127.0.0.1", "port": sink.port, "security": "none", "username": "anna@gmail.example",
            "auth": "google", "from": "anna@gmail.example"}), capsys)
        booked = cli.json(*BOOK)
        assert [m["kind"] for m in booked["mail"]["sent"]] == ["request"], booked["mail"].get("error")
        (got,) = sink.to(CLIENT)
        assert "text/calendar; method=REQUEST" in _layout(bytes(got))
        assert sink.logins == ["anna@gmail.example"]
        # a wrong token is a login refused, said in one line, and the mail waits
        TokenStore(data_dir, "google").save(Token(
            "ya29.stale", "1//refresh", time.time() + 3600, "https://127.0.0.1:1/token",
            "standin.apps.googleusercontent.com", "secret", ("https://mail.google.com/",)))
        code, _out, err = cli(*BOOK[:-4], "--start", "2026-03-26 12:00", "--length", "1h")
        assert code == 0  # booked; the mail waits in the outbox
        assert "refused the login as anna@gmail.example" in err and "blocktime auth google" in err
    finally:
        sink.stop()


def test_oauth_smtp_takes_no_password_and_needs_the_address() -> None:
    with pytest.raises(BadInput, match="auth = google signs in with OAuth: remove the password"):
        from_mapping({"smtp": {"host": "smtp.gmail.com", "username": "a@gmail.com", "password": "x",
                               "auth": "google"}})
    with pytest.raises(BadInput, match="auth = outlook needs username"):
        from_mapping({"smtp": {"host": "smtp.office365.com", "auth": "outlook"}})
