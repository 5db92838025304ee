"""iMIP mail: the MIME layout Gmail and Outlook accept, and SMTP against a real server (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocktime.config.schema import SmtpConfig
from blocktime.ics import itip
from blocktime.mail.imip import Addresses, Letter, MailError, Refused, Transport, compose, html_of, letter
from blocktime.usecases.letters import block_letter
from tests.conftest import Runner, smtp_section, write_config
from tests.ics.test_event import facts
from tests.imipcheck import check_imip, parts
from tests.mailserver import MailSink, self_signed
from tests.servers import Account, refused_port
from tests.stores import StoreDB
from tests.usecases.test_changes import BOOK

STAMP = datetime(2026, 3, 20, 8, tzinfo=UTC)
WHO = Addresses("Anna Nowak", "anna@example.com", "anna@example.com")
TEXT = st.text(alphabet=st.sampled_from(list("abc XYZ,;:\\\"'=?.ąćęłńóśźżĄŁŻ😀☕—–")), min_size=1, max_size=90)


def _parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


@pytest.mark.parametrize("language", ["en", "pl"])
def test_request_mail_layout(language: str) -> None:
    f = facts(language)
    data = compose(block_letter("request", f), who=WHO, recipient="a@acme.example", key="request:x:2:a",
                   stamp=STAMP, calendar=itip.request(f))
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")  # CRLF only, on the wire
    msg = _parse(data)
    check_imip(msg, "REQUEST", language)
    plain = parts(msg)[0].get_content()
    assert ("13:00" in plain) and ("must" not in plain.lower())
    assert str(msg["To"]) == "a@acme.example" and str(msg["Reply-To"]) == "Anna Nowak <anna@example.com>"
    assert msg["Message-ID"] == compose.__globals__["message_id"]("request:x:2:a", "anna@example.com")


def test_cancel_mail_says_cancel_in_both_places() -> None:
    f = facts()
    data = compose(block_letter("cancel", f), who=WHO, recipient="a@acme.example", key="k", stamp=STAMP,
                   calendar=itip.cancel(f))
    msg = _parse(data)
    check_imip(msg, "CANCEL")
    assert 'method=CANCEL' in data.decode()


def test_a_separate_from_address_keeps_replies_with_the_organizer() -> None:
    f = facts()
    who = Addresses("Anna Nowak", "calendar@mailer.example", "anna@example.com")
    msg = _parse(compose(block_letter("request", f), who=who, recipient="a@acme.example", key="k", stamp=STAMP,
                         calendar=itip.request(f, sent_by=who.sender)))
    check_imip(msg, "REQUEST")  # From == SENT-BY, Reply-To == ORGANIZER
    assert str(msg["From"]) == "Anna Nowak <calendar@mailer.example>"


def test_plain_message_layout_and_determinism() -> None:
    text = Letter("Confirming our session", "Hello,\n\nmailto:anna@example.com?subject=a%20b\n", "en")
    one = compose(text, who=WHO, recipient="a@acme.example", key="confirm:x:0:a", stamp=STAMP)
    assert one == compose(text, who=WHO, recipient="a@acme.example", key="confirm:x:0:a", stamp=STAMP)
    msg = _parse(one)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    html = list(msg.iter_parts())[1].get_content()
    assert '<a href="mailto:anna@example.com?subject=a%20b">' in html


def test_html_is_escaped() -> None:
    html = html_of("Tom & Jerry <script>x</script>\n  When: now", "en")
    assert "<script>" not in html and "Tom &amp; Jerry &lt;script&gt;" in html and "&nbsp; When" in html


def test_letter_reads_the_subject_line() -> None:
    assert letter("Temat: Zaproszenie\n\nDzień dobry,\n", "pl") == Letter("Zaproszenie", "Dzień dobry,\n", "pl")
    with pytest.raises(ValueError):
        letter("Hello\n\nno subject", "en")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=TEXT, body=st.lists(TEXT, min_size=1, max_size=5), name=TEXT)
def test_text_survives_the_mail_round_trip(subject: str, body: list[str], name: str) -> None:
    subject = " ".join(subject.split()) or "x"
    text = "\n".join(body) + "\n"
    who = Addresses(name.replace("\\", "").replace('"', "") or "x", "anna@example.com", "anna@example.com")
    msg = _parse(compose(Letter(subject, text, "pl"), who=who, recipient="a@acme.example", key=subject,
                         stamp=STAMP, calendar=itip.request(facts("pl"))))
    assert str(msg["Subject"]) == subject
    assert parts(msg)[0].get_content().replace("\r\n", "\n") == text
    assert email.utils.parseaddr(str(msg["From"]))[1] == "anna@example.com"


# SMTP ----------------------------------------------------------------------------------------------

def _config(sink: MailSink | None, **kw: object) -> SmtpConfig:
    values: dict[str, object] = {"host": "127.0.0.1", "port": sink.port if sink else refused_port(),
                                 "security": "none", "sender": "anna@example.com"}
    values.update(kw)
    return SmtpConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, Path]]:
    pytest.importorskip("cryptography")
    ctx, cert = self_signed(tmp_path)
    yield ctx, cert


def test_plain_smtp_delivers_to_one_recipient(smtp: MailSink) -> None:
    with Transport(_config(smtp)) as t:
        t.send("anna@example.com", "a@acme.example", b"Subject: hi\r\n\r\nhello\r\n")
    (m,) = smtp.messages
    assert m.mail_from == "anna@example.com" and m.rcpt_tos == ["a@acme.example"]


def test_a_refused_recipient_does_not_stop_the_others(smtp: MailSink) -> None:
    smtp.refuse.add("gone@acme.example")
    with Transport(_config(smtp)) as t:
        with pytest.raises(Refused, match=r"gone@acme\.example refused \(550"):
            t.send("anna@example.com", "gone@acme.example", b"Subject: x\r\n\r\nx\r\n")
        t.send("anna@example.com", "a@acme.example", b"Subject: x\r\n\r\nx\r\n")
    assert [m.rcpt_tos for m in smtp.messages] == [["a@acme.example"]]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_and_a_wrong_password_never_shows_the_password() -> None:
    sink = MailSink(login=("anna", "right-pass-123"))
    try:
        with Transport(_config(sink, username="anna", password="right-pass-123")) as t:
            t.send("anna@example.com", "a@acme.example", b"Subject: x\r\n\r\nx\r\n")
        assert len(sink.messages) == 1
        with pytest.raises(MailError) as err, Transport(_config(sink, username="anna", password="Wr0ng-S3cret")):
            pass
        assert "refused the login as anna (535)" in str(err.value) and "Wr0ng-S3cret" not in str(err.value)
        assert "Wr0ng-S3cret" not in repr(_config(sink, username="anna", password="Wr0ng-S3cret"))
    finally:
        sink.stop()


def test_starttls_and_implicit_tls(tls: tuple[object, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    ctx, cert = tls
    assert isinstance(ctx, ssl.SSLContext)
    starttls = MailSink(starttls=ctx, login=("anna", "pw-over-tls"))
    implicit = MailSink(implicit_tls=ctx)
    try:
        with pytest.raises(MailError, match=r"TLS with the SMTP server .* failed"):  # not trusted yet
            Transport(_config(starttls, security="starttls")).open()
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        with Transport(_config(starttls, security="starttls", username="anna", password="pw-over-tls")) as t:
            t.send("anna@example.com", "a@acme.example", b"Subject: x\r\n\r\nx\r\n")
        with Transport(_config(implicit, security="ssl")) as t:
            t.send("anna@example.com", "a@acme.example", b"Subject: x\r\n\r\nx\r\n")
        assert len(starttls.messages) == len(implicit.messages) == 1
    finally:
        starttls.stop()
        implicit.stop()


def test_starttls_against_a_server_without_it(smtp: MailSink) -> None:
    with pytest.raises(MailError, match="does not offer STARTTLS") as err:
        Transport(_config(smtp, security="starttls")).open()
    assert err.value.hint and "ssl" in err.value.hint


def test_nobody_listening() -> None:
    with pytest.raises(MailError, match=r"cannot talk to the SMTP server 127\.0\.0\.1:"):
        Transport(_config(None)).open()


# Delivery through the commands ---------------------------------------------------------------------

@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_a_failed_send_waits_in_the_outbox_and_goes_once(mailcli: Runner, account: Account, smtp: MailSink) -> None:
    smtp.down = True
    code, out, err = mailcli(*BOOK, "--json")
    assert code == 0  # the booking is done; the mail waits
    import json

    doc = json.loads(out)
    assert len(doc["mail"]["failed"]) == 8 and doc["mail"]["waiting"] == 8
    assert "warning" in err and "451" in err and "outbox send" in err
    assert {w["last_error"] for w in mailcli.json("outbox")["waiting"]} == {"refused (451 4.3.0 try again later)"}
    smtp.down = False
    smtp.refuse.add("office@acme.example")
    code, out, _ = mailcli("outbox", "send")
    assert code == 1 and "sent 4 message(s); 4 wait" in out and "office@acme.example refused" in out
    smtp.refuse.clear()
    assert len(mailcli.json("outbox", "send")["sent"]) == 4
    assert len(mailcli.json("outbox", "send")["sent"]) == 0
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["it@acme.example"] * 4 + ["office@acme.example"] * 4


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_the_sent_log_wins_over_a_waiting_copy(mailcli: Runner, account: Account, smtp: MailSink,
                                               data_dir: Path) -> None:

    mailcli.json(*BOOK, "--no-send")
    db = StoreDB(data_dir)
    key = db.execute("SELECT key FROM mail_outbox ORDER BY seq LIMIT 1").fetchone()[0]
    db.execute("INSERT INTO mail_sent(key, message_id, recipient, at) VALUES (?, '<m>', 'x', 'now')", (key,))
    db.commit()
    db.close()  # as if a run had sent it and died before marking the outbox row
    assert len(mailcli.json("outbox", "send")["sent"]) == 7
    assert len(smtp.messages) == 7


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_an_unreachable_server_and_secrets(account: Account, tmp_path: Path, data_dir: Path,
                                           capsys: pytest.CaptureFixture[str], smtp: MailSink) -> None:
    secret = "S3cret-SMTP-pass-987"
    down = write_config(tmp_path / "down.toml", account, smtp={"host": "127.0.0.1", "port": refused_port(),
                                                               "security": "none", "username": "anna",
                                                               "password": secret})
    cli = Runner(down, capsys)
    code, out, err = cli("--debug", *BOOK)
    assert code == 0 and "cannot talk to the SMTP server" in err
    assert secret not in out + err
    code, out, err = cli("--debug", "outbox", "send")
    assert code == 1 and secret not in out + err and "Traceback" not in err
    assert len(cli.json("outbox")["waiting"]) == 8
    wrong = write_config(tmp_path / "wrong.toml", account, smtp=smtp_section(smtp, username="anna", password=secret))
    code, out, err = Runner(wrong, capsys)("--debug", "outbox", "send")
    assert code == 1 and secret not in out + err
    fixed = write_config(tmp_path / "ok.toml", account, smtp=smtp_section(smtp))
    assert len(Runner(fixed, capsys).json("outbox", "send")["sent"]) == 8
    assert not list((data_dir / "outbox" / "mail").glob("*.eml"))  # sent mail leaves the outbox folder


def test_smtp_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from blocktime.config.loading import from_mapping
    from blocktime.errors import BadInput

    org = {"organizer": {"name": "Anna", "email": "anna@example.com"}}
    assert from_mapping(org).smtp is None  # mail waits in the outbox
    cfg = from_mapping({**org, "smtp": {"host": "smtp.example.com"}}).smtp
    assert cfg == SmtpConfig("smtp.example.com", "anna@example.com", 587, "starttls")
    assert from_mapping({**org, "smtp": {"host": "h", "security": "ssl"}}).smtp.port == 465  # type: ignore[union-attr]
    assert from_mapping({**org, "smtp": {"host": "h", "security": "none"}}).smtp.port == 25  # type: ignore[union-attr]
    monkeypatch.setenv("BT_SMTP_PW", "from-the-env-123")
    cfg = from_mapping({**org, "smtp": {"host": "h", "port": 2525, "username": "anna", "password_env": "BT_SMTP_PW",
                                        "from": "calendar@mailer.example"}}).smtp
    assert cfg is not None and cfg.login_password() == "from-the-env-123" and cfg.sender == "calendar@mailer.example"
    assert "from-the-env-123" not in repr(cfg)
    with pytest.raises(BadInput) as err:
        from_mapping({**org, "smtp": {"security": "tls", "port": 70000, "password": "pw-123", "from": "nope",
                                      "password_env": "BT_NOT_SET", "sender": "x"}})
    text = str(err.value)
    for needle in ("security", "port", "from", "unknown key 'sender'", "needs a host"):
        assert needle in text, needle
    assert "pw-123" not in text and "BT_NOT_SET" not in text  # read when mail goes out, not on loading
    unset = from_mapping({**org, "smtp": {"host": "h", "username": "anna", "password_env": "BT_NOT_SET"}}).smtp
    assert unset is not None
    with pytest.raises(BadInput, match="environment variable BT_NOT_SET is not set"):
        unset.login_password()


@settings(max_examples=200)
@given(TEXT, st.sampled_from(["Subject", "To", "From", "X-Long-Header-Name-Here"]))
def test_headers_fold_as_compat32_folds_them(value: str, name: str) -> None:
    """The composing policy remembers folded headers; what it writes is still compat32's own."""
    from email.header import Header

    from blocktime.mail.imip import WIRE

    plain = email.policy.compat32.clone(linesep="\r\n", max_line_length=78)
    for v in (value, value * 3, Header(value, "utf-8", header_name=name).encode()):
        assert WIRE.fold_binary(name, v) == plain.fold_binary(name, v)
        assert WIRE.fold_binary(name, v) == plain.fold_binary(name, v)  # and from its memory
