"""iMIP (RFC 6047) over SMTP: one mail per attendee, laid out the way Gmail and Outlook accept it.

    multipart/mixed
      multipart/alternative
        text/plain; charset="utf-8"
        text/html; charset="utf-8"
        text/calendar; charset="UTF-8"; method=REQUEST    <- always the file's own METHOD (§2.4)
      application/ics; name="invite.ics"                  <- the same file, as an attachment

Composition is pure (same inputs, same bytes: the Message-ID and boundaries derive from the
message key). The transport never logs or raises anything that holds the password.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import encoders
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import format_datetime, formataddr
from functools import lru_cache
from types import TracebackType

from blocktime.config.schema import SmtpConfig
from blocktime.errors import BadInput, BlocktimeError, LoginRefused

log = logging.getLogger("blocktime")
_SUBJECT = re.compile(r"^(?:Subject|Temat):[ \t]*(.*)$")
_METHOD = re.compile(r"^METHOD:([A-Za-z-]+)\r?$", re.M)
_LINK = re.compile(r"(mailto:[^\s<>\"]+|https?://[^\s<>\"]+)")
_LABELLED = re.compile(r"^(\s*)(\S[^<>]*?):?[ \t]*<((?:mailto:|https?://)[^\s<>\"]+)>[ \t]*$")


class _Wire(type(compat32)):  # type: ignore[misc]
    """compat32 with CRLF line ends, 78 columns, and a memory of the headers it folded: most
    headers repeat from message to message (From, To, Date, the parts' Content-Type...), and the
    stdlib folds each through `email.header.Header`, the dearest part of composing a message."""

    def _fold(self, name: str, value: object, sanitize: bool) -> str:
        if type(value) is not str:
            return str(super()._fold(name, value, sanitize))
        return _folded(name, value, sanitize)


WIRE = _Wire(linesep="\r\n", max_line_length=78)
_PLAIN = compat32.clone(linesep="\r\n", max_line_length=78)


@lru_cache(maxsize=2048)
def _folded(name: str, value: str, sanitize: bool) -> str:
    return str(_PLAIN._fold(name, value, sanitize))  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Letter:
    """What one message says, in one language: its subject and plain text."""

    subject: str
    text: str
    language: str


def letter(rendered: str, language: str) -> Letter:
    """A rendered template whose first line is `Subject: …` (`Temat: …` in Polish) -> Letter."""
    head, _, body = rendered.lstrip("\n").partition("\n")
    m = _SUBJECT.match(head)
    if m is None:
        raise ValueError("a mail template starts with a Subject: line")
    return Letter(m.group(1).strip(), body.strip("\n") + "\n", language)


def html_of(text: str, language: str) -> str:
    """The plain text as simple HTML: paragraphs kept, line breaks kept, links clickable. A line
    `Label: <URL>` (RFC 3986 Appendix C's delimited form, as mail clients write a link in plain
    text) becomes a link that shows only its label, so an option's long prepared-reply URL reads
    "Reply with option 1"; a bare URL shows itself."""
    paragraphs = []
    for para in re.split(r"\n\s*\n", text.strip()):
        lines = [_html_line(line) for line in para.split("\n")]
        paragraphs.append("<p>" + "<br>\n".join(line.replace("  ", "&nbsp; ") for line in lines) + "</p>")
    return (f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8"></head>\n'
            f'<body style="font-family: sans-serif">\n' + "\n".join(paragraphs) + "\n</body></html>\n")


def _html_line(line: str) -> str:
    m = _LABELLED.match(line)
    if m is not None:
        indent, label, url = m.groups()
        return f'{indent}<a href="{html.escape(url)}">{html.escape(label, quote=False)}</a>'
    return _LINK.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', html.escape(line, quote=False))


@dataclass(frozen=True, slots=True)
class Addresses:
    """Who a message is from. From, Reply-To and ORGANIZER agree: the organizer's name on the
    From line, replies to the organizer's mailbox (`sender` differs only when [smtp] from says so)."""

    name: str
    sender: str
    organizer: str


def message_id(key: str, sender: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}.blocktime@{sender.rpartition('@')[2] or 'localhost'}>"


def method_of(calendar: str) -> str:
    m = _METHOD.search(calendar)
    if m is None:
        raise ValueError("an iMIP calendar part needs a METHOD (RFC 6047 §2.4)")
    return m.group(1).upper()


def compose(letter: Letter, *, who: Addresses, recipient: str, key: str, stamp: datetime,
            calendar: str | None = None) -> bytes:
    """The whole message (CRLF line ends). With `calendar`, the iMIP layout above; without, a
    multipart/alternative of text and HTML (offers and confirmations)."""
    alt = MIMEMultipart("alternative", boundary=_boundary(key, "alt"))
    alt.attach(_part("plain", letter.text, QP))
    alt.attach(_part("html", html_of(letter.text, letter.language), QP))
    if calendar is None:
        top: MIMEMultipart = alt
    else:
        method = method_of(calendar)
        part = _part("calendar", calendar, BASE64)  # base64 keeps the CRLFs and the folding exact
        del part["Content-Type"]
        part["Content-Type"] = f'text/calendar; charset="UTF-8"; method={method}'
        alt.attach(part)
        top = MIMEMultipart("mixed", boundary=_boundary(key, "mixed"))
        top.attach(alt)
        ics = MIMEBase("application", "ics", name="invite.ics")
        del ics["MIME-Version"]
        ics.set_payload(calendar.encode("utf-8"))
        encoders.encode_base64(ics)
        ics.add_header("Content-Disposition", "attachment", filename="invite.ics")
        top.attach(ics)
    if top is not alt:
        del alt["MIME-Version"]
    top["From"] = _address(who.name, who.sender)
    top["To"] = recipient
    top["Reply-To"] = _address(who.name, who.organizer)
    top["Subject"] = _subject(letter.subject)
    top["Date"] = format_datetime(stamp)
    top["Message-ID"] = message_id(key, who.sender)
    top["Content-Language"] = letter.language
    return top.as_bytes(policy=WIRE)


@lru_cache(maxsize=256)
def _subject(subject: str) -> str:
    """RFC 2047 encoded words for a subject that is not ASCII (many blocks share one subject)."""
    return subject if subject.isascii() else Header(subject, "utf-8", header_name="Subject").encode()


_DATE = re.compile(rb"^Date:[^\r\n]*\r\n", re.M | re.I)


def restamp(data: bytes, at: datetime) -> bytes:
    """The message with `at` as its Date (RFC 5322 §3.6.1: when it was ready to go), so the mail
    really sent carries the real time, not the clock of the command that queued it.

    >>> from datetime import UTC
    >>> restamp(b"To: a@x\\r\\nDate: Fri, 20 Mar 2026 09:00:00 +0100\\r\\n\\r\\nDate: body\\r\\n",
    ...         datetime(2026, 11, 29, 20, 30, tzinfo=UTC))
    b'To: a@x\\r\\nDate: Sun, 29 Nov 2026 20:30:00 +0000\\r\\n\\r\\nDate: body\\r\\n'
    """
    head, sep, body = data.partition(b"\r\n\r\n")
    line = f"Date: {format_datetime(at)}\r\n".encode("ascii")
    head, found = _DATE.subn(lambda _m: line, head + b"\r\n", count=1)
    if not found:
        head = line + head
    return head[:-2] + sep + body


def _part(subtype: str, text: str, encoding: int) -> MIMENonMultipart:
    cs = Charset("utf-8")
    cs.body_encoding = encoding
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part.set_payload(text, cs)
    del part["MIME-Version"]  # only the top part carries it
    return part


def _boundary(key: str, part: str) -> str:
    return f"=_blocktime_{part}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def _address(name: str, email: str) -> str:
    return formataddr((name, email), charset="utf-8")


# SMTP -------------------------------------------------------------------------------------------

class MailError(BlocktimeError):
    """The SMTP server could not be reached, or refused the login: nothing more can go out now."""


class MailRefused(MailError, LoginRefused):
    """The SMTP server refused the login: not tried again until the config changes."""


class Refused(Exception):
    """The server refused one message (a recipient, or the content); the others may still go."""


class Transport:
    """One SMTP connection for a batch of messages (STARTTLS, implicit TLS or plain, RFC 8314)."""

    def __init__(self, config: SmtpConfig, timeout: float = 30, bearer: Callable[[], str] | None = None) -> None:
        self.config = config
        self.timeout = timeout
        self.bearer = bearer  # [smtp] auth = google / outlook: the sign-in's access token
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def open(self) -> None:
        c = self.config
        try:  # before connecting; a password that is not there keeps the mail waiting, as a refused login does
            password = c.login_password() if self.bearer is None and c.username else None
        except BadInput as exc:
            raise MailError(exc.message, exc.hint) from None
        try:
            if c.security == "ssl":
                self._smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=self.timeout,
                                              context=ssl.create_default_context())
            else:
                self._smtp = smtplib.SMTP(c.host, c.port, timeout=self.timeout)
            self._smtp.ehlo()
            if c.security == "starttls":
                self._smtp.starttls(context=ssl.create_default_context())
                self._smtp.ehlo()
            if self.bearer is not None:  # SASL XOAUTH2 (Google's and Microsoft's "XOAUTH2 protocol")
                token = self._token()
                self._smtp.auth("XOAUTH2", lambda challenge=None: f"user={c.username}\x01auth=Bearer {token}\x01\x01",
                                initial_response_ok=True)
            elif c.username:
                if c.security == "none" and c.host not in ("localhost", "127.0.0.1", "::1"):
                    log.warning("sending the SMTP password to %s without TLS", c.host)
                self._smtp.login(c.username, password or "")
        except smtplib.SMTPNotSupportedError:
            self.close()
            raise MailError(f"the SMTP server {self.where} does not offer STARTTLS",
                            'set [smtp] security = "ssl" (port 465) or "none"') from None
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            if exc.smtp_code < 500:  # 454 "temporary authentication failure": try again, not a refusal
                raise MailError(f"the SMTP server {self.where} could not log in just now ({exc.smtp_code})",
                                "try again later; the messages wait in the outbox") from None
            raise MailRefused(f"the SMTP server {self.where} refused the login as {c.username} ({exc.smtp_code})",
                            "check [smtp] username and password" if self.bearer is None else
                            f"check [smtp] username; `blocktime auth {c.auth}` again adds the mail scope") from None
        except ssl.SSLError as exc:
            self.close()
            raise MailError(f"TLS with the SMTP server {self.where} failed ({exc.reason or type(exc).__name__})",
                            "check [smtp] security and port") from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise MailError(f"cannot talk to the SMTP server {self.where} ({_reason(exc)})",
                            "check [smtp] host and port; the messages wait in the outbox") from None
        except MailError:
            self.close()
            raise

    def _token(self) -> str:
        """The sign-in's access token; a sign-in that fails is a mail failure (the messages wait)."""
        assert self.bearer is not None
        try:
            return self.bearer()
        except MailError:
            raise
        except BlocktimeError as exc:
            raise MailError(exc.message, exc.hint) from None

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Hand one message over; Refused when the server turns this one down."""
        if self._smtp is None:
            raise MailError("the SMTP connection is not open")
        try:
            self._smtp.sendmail(sender, [recipient], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (0, b""))
            raise Refused(f"{recipient} refused ({code} {_text(text)})") from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise Refused(f"refused ({exc.smtp_code} {_text(exc.smtp_error)})") from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise MailError(f"the SMTP server {self.where} dropped the connection ({_reason(exc)})",
                            "run `blocktime outbox send` later") from None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def __enter__(self) -> Transport:
        self.open()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())[:200]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__
