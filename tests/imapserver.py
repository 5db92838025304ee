"""A real IMAP server for the tests: pymap (PyPI, pure Python, no root) as a subprocess on a free
loopback port, its in-memory backend with one account. Each test gets a folder of its own."""

from __future__ import annotations

import imaplib
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from tests.servers import start_on_free_port, stop_process

USER = "anna@example.com"


class ImapServer:
    """One pymap process (`pymap dict`): plain IMAP on 127.0.0.1, IDLE, MOVE, UIDPLUS."""

    def __init__(self, workdir: Path, tls: tuple[Path, Path] | None = None) -> None:
        self.password = "pw" + secrets.token_hex(8)
        workdir.mkdir(parents=True, exist_ok=True)
        self.tls = tls
        self.log = (workdir / "pymap.log").open("wb")
        script = Path(sys.executable).with_name("pymap")
        security = ["--cert", str(tls[0]), "--key", str(tls[1])] if tls else ["--no-tls"]  # tls: STARTTLS
        self.port, self.proc = start_on_free_port(lambda port: subprocess.Popen(
            [str(script), "--host", "127.0.0.1", "--port", str(port), *security,
             "dict", "--demo-user", USER, "--demo-password", self.password],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir), timeout=60)

    def client(self) -> imaplib.IMAP4:
        m = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        if self.tls:
            m.starttls()
        m.login(USER, self.password)
        return m

    def new_folder(self) -> str:
        name = f"t{secrets.token_hex(4)}"
        m = self.client()
        try:
            m.create(name)
        finally:
            m.logout()
        return name

    def append(self, folder: str, data: bytes) -> None:
        m = self.client()
        try:
            typ, _ = m.append(folder, None, imaplib.Time2Internaldate(time.time()), data)
            assert typ == "OK"
        finally:
            m.logout()

    def section(self, folder: str, **extra: object) -> dict[str, object]:
        """The [inbox] config for this server and folder."""
        return {"host": "127.0.0.1", "port": self.port, "security": "none", "username": USER,
                "password": self.password, "folder": folder, **extra}

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


def letter(sender: str, subject: str, body: str, *, to: str = USER, reply_to_id: str | None = None,
           message_id: str | None = None) -> bytes:
    """A message as a mail program writes it (CRLF, Date, Message-ID, UTF-8 quoted-printable)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain=sender.rpartition("@")[2] or "example.com")
    if reply_to_id:
        msg["In-Reply-To"] = reply_to_id
        msg["References"] = reply_to_id
    msg.set_content(body, cte="quoted-printable")
    return bytes(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
