"""One received message, read defensively: every part bounded, never an exception.

Mail in the organizer's inbox is written by anyone. `parse` reads at most `MAX_BYTES` of it,
walks at most `MAX_PARTS` parts without descending into attached messages (message/rfc822), keeps
headers on one printable line (no CR/LF survives: nothing read here can inject a header into what
blocktime sends), and reports what it skipped in `problems` instead of raising.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses

MAX_BYTES = 2 * 1024 * 1024  # a reply with a calendar is a few KiB; anything larger is read only in part
MAX_PARTS = 50
MAX_TEXT = 64 * 1024
MAX_CALENDAR = 256 * 1024
MAX_HEADER = 998 * 4  # RFC 5322 §2.1.1 line limit, a few folded lines
_MSGID = re.compile(r"<[^<>\s]{1,250}>")


@dataclass(frozen=True, slots=True)
class Incoming:
    """What blocktime looks at in a message."""

    message_id: str
    sender: str
    subject: str
    refs: tuple[str, ...] = ()
    first_line: str = ""
    text: str = ""
    calendar: str | None = None
    automatic: bool = False
    problems: tuple[str, ...] = ()


def one_line(text: str, limit: int = 300) -> str:
    """Printable, single-line, at most `limit` characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in text[: limit * 4]).split())[:limit]


def _header(msg: Message, name: str) -> str:
    raw = msg.get(name)
    if raw is None:
        return ""
    text = str(raw)[:MAX_HEADER]
    if "=?" not in text:  # no encoded-words (RFC 2047): nothing to decode
        return text
    try:
        return str(make_header(decode_header(text)))
    except (ValueError, LookupError, UnicodeError, AssertionError):  # broken encoded-words: keep the raw text
        return text


def sender_of(value: str) -> str:
    """The one address in a From line, lowercased ('' when there is none or several)."""
    found = [a for _n, a in getaddresses([value[:MAX_HEADER]]) if "@" in a]
    return found[0].strip().lower() if len(found) == 1 else ""


def _decoded(part: Message, limit: int) -> str:
    try:
        raw = part.get_payload(decode=True)
    except Exception:  # a hostile transfer encoding: nothing to read
        return ""
    if not isinstance(raw, bytes):
        return ""
    try:
        return raw[:limit].decode(part.get_content_charset() or "utf-8", "replace")
    except (LookupError, ValueError):
        return raw[:limit].decode("utf-8", "replace")


def _parts(msg: Message, problems: list[str]) -> list[Message]:
    """Leaf parts, depth first, bounded; attached messages are not opened."""
    out: list[Message] = []
    stack = [msg]
    while stack and len(out) < MAX_PARTS:
        part = stack.pop()
        if part.get_content_maintype() == "message":
            continue
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            stack.extend(reversed([p for p in payload[:MAX_PARTS] if isinstance(p, Message)]))
        else:
            out.append(part)
    if stack:
        problems.append(f"more than {MAX_PARTS} parts: the rest not read")
    return out


def first_line(text: str) -> str:
    """The first line the sender wrote: quoted lines ('>') and blank lines skipped."""
    for line in text.splitlines()[:200]:
        stripped = line.strip()
        if stripped and not stripped.startswith(">"):
            return one_line(stripped, 200)
    return ""


def parse(data: bytes, *, truncated: bool = False) -> Incoming:
    """Read one message (RFC 5322 bytes). Never raises; what it could not read is in `problems`."""
    problems = ["larger than the limit: only its beginning was read"] if truncated else []
    if len(data) > MAX_BYTES:
        data, problems = data[:MAX_BYTES], [*problems, "larger than the limit: only its beginning was read"]
    try:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception as exc:  # the parser is lenient; this is the last line of defence
        return Incoming(_fallback_id(data), "", "", problems=(f"unreadable ({type(exc).__name__})",))
    found = _MSGID.search(_header(msg, "Message-ID"))
    message_id = found.group(0) if found else _fallback_id(data)
    refs = tuple(_MSGID.findall(_header(msg, "In-Reply-To") + " " + _header(msg, "References")))[-20:]
    auto = (_header(msg, "Auto-Submitted").strip().lower() not in ("", "no")
            or msg.get_content_type() == "multipart/report")
    text, calendar = "", None
    try:
        for part in _parts(msg, problems):
            kind = part.get_content_type()
            name = (part.get_filename() or "").lower() if kind != "text/plain" else ""
            if calendar is None and (kind in ("text/calendar", "application/ics") or name.endswith(".ics")):
                calendar = _decoded(part, MAX_CALENDAR)
            elif kind == "text/plain" and not text and part.get("Content-Disposition", "").find("attachment") < 0:
                text = _decoded(part, MAX_TEXT)
            elif kind == "text/html" and not text:
                text = re.sub(r"<[^>]*>", " ", _decoded(part, MAX_TEXT))
    except Exception as exc:  # malformed MIME deep inside: keep what was read
        problems.append(f"malformed MIME ({type(exc).__name__})")
    return Incoming(message_id, sender_of(_header(msg, "From")), one_line(_header(msg, "Subject")), refs,
                    first_line(text), text, calendar, auto, tuple(problems))


def _fallback_id(data: bytes) -> str:
    """A stable id for a message without a Message-ID: the digest of its first bytes."""
    return f"<sha256-{hashlib.sha256(data[:65536]).hexdigest()[:32]}@blocktime.invalid>"
