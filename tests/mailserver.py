"""A real SMTP server for the tests: aiosmtpd on a free loopback port, keeping what it receives."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class MailSink:
    """One SMTP server. `refuse` holds recipients answered with 550; `down` makes DATA fail (451)."""

    login: tuple[str, str] | None = None
    starttls: ssl.SSLContext | None = None
    implicit_tls: ssl.SSLContext | None = None
    messages: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    down: bool = False
    delay: float = 0.0  # seconds before each DATA is answered (two senders then overlap)
    logins: list[str] = field(default_factory=list)
    #: (user, access token) that SASL XOAUTH2 takes (Google's and Microsoft's "XOAUTH2 protocol");
    #: with it, a login is required and only XOAUTH2 with that token gets in
    bearer: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if self.bearer is not None:
            kwargs.update(authenticator=lambda *a: AuthResult(success=False, handled=False),
                          auth_require_tls=False, auth_required=True)
        if self.login is not None:
            kwargs.update(authenticator=self._auth, auth_require_tls=self.starttls is not None,
                          auth_required=True)
        if self.starttls is not None:
            kwargs.update(tls_context=self.starttls, require_starttls=True)
        if self.implicit_tls is not None:
            kwargs.update(ssl_context=self.implicit_tls)
        for attempt in range(3):  # the port may be taken between free_port() and the bind (parallel workers)
            self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)
            try:
                self.controller.start()
                break
            except OSError:
                if attempt == 2:
                    raise
                self.port = free_port()

    def _auth(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (isinstance(data, LoginPassword) and self.login is not None
              and (data.login.decode(), data.password.decode()) == self.login)
        self.logins.append(data.login.decode() if isinstance(data, LoginPassword) else "?")
        return AuthResult(success=ok, handled=False)

    def reset(self) -> None:
        self.messages.clear()
        self.refuse.clear()
        self.down = False
        self.delay = 0.0

    def stop(self) -> None:
        self.controller.stop()

    def to(self, rcpt: str) -> list[EmailMessage]:
        return [m.message for m in self.messages if rcpt in m.rcpt_tos]


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:  # the name aiosmtpd calls
        """SASL XOAUTH2: base64 of `user=U^Aauth=Bearer T^A^A` as the initial response (args: the
        mechanism, then the response)."""
        import base64

        raw = args[1] if len(args) > 1 else await server.challenge_auth("", encode_to_b64=False)
        try:
            text = base64.b64decode(raw).decode()
        except ValueError:
            return AuthResult(success=False, handled=False)
        fields = dict(f.split("=", 1) for f in text.split("\x01") if "=" in f)
        self.sink.logins.append(fields.get("user", "?"))
        user, token = self.sink.bearer or ("", "")
        ok = fields.get("user") == user and fields.get("auth") == f"Bearer {token}"
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.sink.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        if self.sink.down:
            return "451 4.3.0 try again later"
        data = envelope.original_content or envelope.content
        self.sink.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(data)))
        return "250 2.0.0 accepted"


def self_signed(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a fresh certificate for 127.0.0.1, and the certificate file to trust."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx, cert_file


@contextlib.contextmanager
def login_sink(user: str, password: str) -> Iterator[MailSink]:
    """An SMTP server that wants a login, over plain SMTP on loopback (which aiosmtpd warns about)."""
    import logging
    import warnings

    logging.getLogger("mail.log").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
        sink = MailSink(login=(user, password))
        yield sink
    sink.stop()
