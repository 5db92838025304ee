"""Option-pick tokens: the unguessable word in an option's prepared reply subject.

A token names one option of one offer: `bt` + 16 base32 characters (80 bits) of an HMAC-SHA256
keyed with a secret kept in the data dir (created once, 0600). Without the secret nobody can make
a token that resolves, so a guessed or forged subject books nothing (RFC 2104 for the HMAC).

>>> t = token(b"k" * 32, "acme-o1", 2)
>>> t.startswith("bt") and len(t) == 18
True
>>> found(f"Re: Acme: option 2 [offer acme-o1 {t.upper()}]") == [t]
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from pathlib import Path

_WORD = re.compile(r"(?<![A-Za-z0-9])bt[a-z2-7]{16}(?![A-Za-z0-9])", re.I)
KEY_FILE = "pick.key"


def secret(data_dir: Path) -> bytes:
    """The data dir's pick secret, made on first use (atomic: two processes end up with one)."""
    path = data_dir / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = data_dir / f".{KEY_FILE}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, os.urandom(32))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails when another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


def token(key: bytes, offer_id: str, number: int) -> str:
    """The token of option `number` of offer `offer_id`."""
    mac = hmac.new(key, f"pick\0{offer_id}\0{number}".encode(), hashlib.sha256).digest()
    return "bt" + base64.b32encode(mac[:10]).decode().lower()


def found(text: str) -> list[str]:
    """Every token-shaped word in `text` (also inside a quoted mailto: link), lowercased, in order,
    without repeats (at most 50)."""
    from urllib.parse import unquote

    out: list[str] = []
    for m in _WORD.finditer(unquote(text) if "%" in text else text):
        word = m.group(0).lower()
        if word not in out:
            out.append(word)
        if len(out) >= 50:
            break
    return out
