"""The organizer's mailbox over IMAP (RFC 3501), read-only in spirit: nothing is ever deleted.

Messages are read with BODY.PEEK (the organizer's \\Seen flags stay as they were), new mail is
found by UID above the last one handled (RFC 3501 §2.3.1.1; a new UIDVALIDITY starts over and the
Message-IDs in the store keep that from doubling anything), and handled mail is flagged
`$BlocktimeHandled` where the server keeps keywords, or moved to `processed_folder` (MOVE,
RFC 6851; COPY where MOVE is missing). IDLE (RFC 2177) is spoken on imaplib's socket: the stdlib
has it only from Python 3.14. Errors never carry the password: imaplib's own texts are dropped.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import select
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from blocktime.config.schema import InboxConfig
from blocktime.errors import BlocktimeError, LoginRefused
from blocktime.mail.incoming import MAX_BYTES

log = logging.getLogger("blocktime.inbox")
FLAG = "$BlocktimeHandled"
FIELDS = "FROM SUBJECT MESSAGE-ID IN-REPLY-TO REFERENCES AUTO-SUBMITTED"
BATCH = 500  # UIDs per FETCH: a flood is read in bounded steps
HEADER_BYTES = 16384  # of the few header lines fetched per message (a hostile header is cut there)
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class InboxError(BlocktimeError):
    """The mailbox could not be reached or read; the next pass tries again."""


class InboxRefused(InboxError, LoginRefused):
    """The IMAP server refused the login: not tried again until the config changes."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message as first seen: its UID, size and a few header lines (enough to triage it)."""

    uid: int
    size: int
    headers: bytes


class ImapMailbox:
    """One IMAP connection to one folder."""

    def __init__(self, config: InboxConfig, *, bearer: Callable[[], str] | None = None, timeout: float = 30) -> None:
        self.config = config
        self.bearer = bearer
        self.timeout = timeout
        self._m: imaplib.IMAP4 | None = None
        self.uidvalidity = 0
        self.keywords = False
        self.capabilities: frozenset[str] = frozenset()

    @property
    def where(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def _fail(self, what: str, hint: str, exc: BaseException | None = None,
              kind: type[InboxError] = InboxError) -> InboxError:
        self.close()
        reason = "timed out" if isinstance(exc, socket.timeout | TimeoutError) else (
            exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__ if exc else "")
        return kind(f"{what} {self.where}" + (f" ({reason})" if reason else ""), hint)

    def open(self) -> None:
        """Connect, sign in and select the folder (read-write: flags and moves need it)."""
        c = self.config
        host = c.host or ""
        password = c.login_password() if self.bearer is None else None  # before connecting: unset is one line
        try:
            if c.security == "ssl":
                self._m = imaplib.IMAP4_SSL(host, c.port, ssl_context=ssl.create_default_context(),
                                            timeout=self.timeout)
            else:
                self._m = imaplib.IMAP4(host, c.port, timeout=self.timeout)
                if c.security == "starttls":
                    self._m.starttls(ssl_context=ssl.create_default_context())
        except ssl.SSLError as exc:
            raise self._fail(f"TLS failed ({exc.reason or type(exc).__name__}) with the IMAP server",
                             "check [inbox] security and port; the server's certificate must be trusted") from None
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self._fail("cannot talk to the IMAP server", "check [inbox] host, port and security", exc) from None
        m = self._m
        try:
            if self.bearer is not None:  # Gmail: SASL XOAUTH2 with the calendar sign-in's access token
                m.authenticate("XOAUTH2", xoauth2(c.username or "", self.bearer()))
            else:
                if c.security == "none" and host not in ("localhost", "127.0.0.1", "::1"):
                    log.warning("sending the IMAP password to %s without TLS", host)
                m.login(c.username or "", password or "")
        except imaplib.IMAP4.abort as exc:  # the connection closed during the login: not a refusal
            raise self._fail("the IMAP server dropped the connection during the login at", "try again later",
                             exc) from None
        except imaplib.IMAP4.error as exc:  # NO or BAD to LOGIN / AUTHENTICATE
            if _temporary(exc):
                raise self._fail("the IMAP server could not log in just now at", "it said so itself: try again later",
                                 exc) from None
            raise self._fail(f"the IMAP server refused the login as {c.username} at",
                             "check [inbox] username and password (or the sign-in)", kind=InboxRefused) from None
        except OSError as exc:
            raise self._fail("the IMAP server dropped the connection during the login at", "try again later",
                             exc) from None
        try:
            typ, caps = m.capability()
            self.capabilities = frozenset((caps[0] or b"").decode("ascii", "replace").upper().split())
            typ, _ = m.select(_quote(c.folder))
            if typ != "OK":
                raise imaplib.IMAP4.error("select")
        except (imaplib.IMAP4.error, OSError):
            raise self._fail(f"cannot open the folder {c.folder!r} on",
                             "check [inbox] folder (the name as the server lists it)") from None
        uv = [x for x in m.untagged_responses.get("UIDVALIDITY", []) if isinstance(x, bytes)]
        self.uidvalidity = int(uv[-1]) if uv and uv[-1].isdigit() else 0
        flags = b" ".join(x for x in m.untagged_responses.get("PERMANENTFLAGS", []) if isinstance(x, bytes))
        self.keywords = b"\\*" in flags

    @property
    def idle_supported(self) -> bool:
        return "IDLE" in self.capabilities

    def _imap(self) -> imaplib.IMAP4:
        if self._m is None:
            raise InboxError("the mailbox is not open")
        return self._m

    def envelopes(self, after: int, limit: int = 5000) -> list[Envelope]:
        """Messages with a UID above `after` (at most `limit`, oldest first), with their headers."""
        m = self._imap()
        try:
            _typ, data = m.uid("SEARCH", f"UID {after + 1}:*")
            uids = sorted(u for u in (int(x) for x in (data[0] or b"").split()) if u > after)[:limit]
            out: list[Envelope] = []
            for i in range(0, len(uids), BATCH):
                chunk = ",".join(str(u) for u in uids[i:i + BATCH])
                what = f"(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS ({FIELDS})]<0.{HEADER_BYTES}>)"
                _typ, rows = m.uid("FETCH", chunk, what)
                for row in rows:
                    if isinstance(row, tuple) and len(row) == 2:
                        head, body = row
                        u, s = _UID.search(head), _SIZE.search(head)
                        if u and int(u.group(1)) > after:
                            out.append(Envelope(int(u.group(1)), int(s.group(1)) if s else 0, body[:HEADER_BYTES]))
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._fail("cannot list the mail on", "the next pass tries again", exc) from None
        return sorted(out, key=lambda e: e.uid)

    def body(self, uid: int) -> tuple[bytes, bool]:
        """The whole message, or its first `MAX_BYTES` (True when cut)."""
        m = self._imap()
        try:
            _typ, rows = m.uid("FETCH", str(uid), f"(RFC822.SIZE BODY.PEEK[]<0.{MAX_BYTES}>)")
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._fail("cannot read a message on", "the next pass tries again", exc) from None
        for row in rows:
            if isinstance(row, tuple) and len(row) == 2:
                s = _SIZE.search(row[0])
                return row[1], bool(s and int(s.group(1)) > MAX_BYTES)
        return b"", False

    def mark(self, uids: list[int]) -> None:
        """Show that blocktime handled these: keyword flag, or a move to `processed_folder`."""
        if not uids:
            return
        m = self._imap()
        which = ",".join(str(u) for u in uids)
        try:
            if self.keywords:
                m.uid("STORE", which, "+FLAGS.SILENT", f"({FLAG})")
            target = self.config.processed_folder
            if target:
                m.create(_quote(target))  # NO when it exists: fine
                if "MOVE" in self.capabilities:
                    m.uid("MOVE", which, _quote(target))
                else:
                    m.uid("COPY", which, _quote(target))
        except (imaplib.IMAP4.error, OSError) as exc:
            log.warning("could not mark handled mail on %s (%s); the store remembers it", self.where,
                        type(exc).__name__)

    def idle(self, seconds: float) -> bool:
        """Wait up to `seconds` for new mail with IDLE (RFC 2177); True when some arrived."""
        m = self._imap()
        tag = b"BTIDLE"
        got = False
        try:
            m.send(tag + b" IDLE\r\n")
            line = m.readline()
            while line.startswith(b"* "):  # updates queued before the server started idling
                got = got or b"EXISTS" in line
                line = m.readline()
            if not line.startswith(b"+"):
                raise InboxError(f"the IMAP server {self.where} refused IDLE")
            pending = isinstance(m.sock, ssl.SSLSocket) and m.sock.pending() > 0
            if pending or select.select([m.sock], [], [], seconds)[0]:
                got = got or b"EXISTS" in m.readline()
            m.send(b"DONE\r\n")
            while True:
                line = m.readline()
                if not line:
                    raise OSError("connection closed")
                if line.startswith(tag):
                    break
                got = got or b"EXISTS" in line
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._fail("lost the IDLE connection to", "the daemon reconnects", exc) from None
        return got

    def close(self) -> None:
        m, self._m = self._m, None
        if m is not None:
            try:
                m.logout()
            except (imaplib.IMAP4.error, OSError):
                with contextlib.suppress(OSError):
                    m.shutdown()

    def __enter__(self) -> ImapMailbox:
        self.open()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def xoauth2(user: str, token: str) -> Callable[[bytes], bytes]:
    """imaplib's authobject for SASL XOAUTH2 (Google's "XOAUTH2 protocol"): the initial response,
    then an empty answer to the error challenge so that the server can say NO."""
    initial = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
    return lambda challenge: b"" if challenge else initial


def _quote(name: str) -> str:
    """A mailbox name as an IMAP quoted string (RFC 3501 §4.3)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def open_mailbox(config: InboxConfig, data_dir: object, token_store: str = "file") -> ImapMailbox:
    """The configured IMAP mailbox, opened (google: XOAUTH2 on the stored Google sign-in; outlook
    is Graph mail, see `mail.graph`)."""
    bearer = None
    if config.auth == "google":
        from pathlib import Path

        from blocktime.config.auth import BearerAuth, TokenStore

        bearer = BearerAuth(TokenStore(Path(str(data_dir)), "google", token_store)).token
    box = ImapMailbox(config, bearer=bearer)
    box.open()
    return box


def _temporary(exc: imaplib.IMAP4.error) -> bool:
    """A NO to LOGIN that says the failure is temporary (RFC 5530: UNAVAILABLE, INUSE, or a server
    error), not that the credentials are wrong (AUTHENTICATIONFAILED and the rest, or no code)."""
    text = str(exc).upper()
    return any(f"[{code}]" in text for code in ("UNAVAILABLE", "INUSE", "SERVERBUG", "LIMIT"))
