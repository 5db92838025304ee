"""The outbox folder: invites and messages waiting to be sent or imported by hand."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write(folder: Path, name: str, text: str) -> Path:
    """Write atomically (temp file + rename), so a crash never leaves half a file. The file is
    0600 (mkstemp), and the folders blocktime creates are 0700: invites and mail hold client data."""
    if not folder.is_dir():  # one stat in the common case; create the missing chain once
        for missing in reversed([p for p in (folder, *folder.parents) if not p.exists()]):
            missing.mkdir(mode=0o700, exist_ok=True)
    target = folder / name
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".ics")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, target)
    return target


def invite_name(uid: str, sequence: int, method: str) -> str:
    return f"{uid.split('@', 1)[0]}-seq{sequence}-{method.lower()}.ics"
