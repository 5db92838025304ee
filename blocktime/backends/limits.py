"""Bounds on what a server may send: a broken or hostile server cannot fill the memory or hold a
command forever. Shared by every HTTP backend (CalDAV, Microsoft Graph)."""

from __future__ import annotations

import time
from typing import Any

from blocktime.errors import ServerError

#: an answer larger than this once decoded, or slower than this in all, is refused
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
RESPONSE_DEADLINE = 120.0


def bounded_body(response: Any, *, limit: int, deadline_s: float, server: str) -> Any:
    """Read a response body (from a response hook, before anything else reads it) and refuse one
    larger than `limit` bytes (counted decoded: a gzip bomb counts at its real size) or slower than
    `deadline_s` in all (a server trickling bytes defeats the per-read timeout)."""
    if getattr(response, "raw", None) is None or getattr(response, "_content", None) is not False:
        return response  # no body, or read already
    deadline = time.monotonic() + deadline_s
    declared = str(response.headers.get("Content-Length") or "")
    why = f"larger than {limit // 2**20} MB" if declared.isdecimal() and int(declared) > limit else ""
    size, chunks = 0, []
    for chunk in () if why else response.iter_content(-1):  # -1: each piece as it arrives
        size += len(chunk)
        chunks.append(chunk)
        if size > limit:
            why = f"larger than {limit // 2**20} MB"
        elif time.monotonic() > deadline:
            why = f"slower than {deadline_s:g} s"
        if why:
            break
    if why:
        response.close()
        raise ServerError(f"the calendar server at {server} sent an answer {why}; refused",
                          "check [calendar] url: is it the right server?")
    response._content = b"".join(chunks)
    response._content_consumed = True
    return response
