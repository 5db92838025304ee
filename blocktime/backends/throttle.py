"""Quota throttling as Google documents it ("Handle API errors": 403 `rateLimitExceeded` /
`userRateLimitExceeded` and 429, retried with exponential back-off) and Microsoft too
("Throttling": Retry-After, else exponential back-off). Used by the CalDAV and Graph backends."""

from __future__ import annotations

import random
from typing import Any


class Throttled(Exception):
    """The server refused a request for quota reasons (429, or Google's 403 rate-limit reasons)."""

    def __init__(self, why: str, wait: float | None) -> None:
        super().__init__(why)
        self.why = why
        self.wait = wait


#: the `reason` values of Google's quota errors, sent with 403 (Calendar API "Handle API errors")
QUOTA_REASONS = ("userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded")


def quota_reason(exc: Any) -> str | None:
    """The quota reason inside a 403's body, or None for a real refusal."""
    if getattr(exc, "status", None) != 403:
        return None
    body = getattr(exc, "body", None) or b""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return next((r for r in QUOTA_REASONS if r in text), None)


def backoff(attempt: int, wait: float | None, *, base: float, cap: float) -> float:
    """Seconds before the next try: the server's Retry-After if given (capped), otherwise
    exponential back-off with jitter, `base * 2**attempt` scaled by a random 0.5-1 ("truncated
    exponential backoff", as Google's and Microsoft's throttling guidance asks)."""
    if wait is not None:
        return min(max(wait, 0.0), cap)
    return min(cap, base * 2.0**attempt) * random.uniform(0.5, 1.0)


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date, RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime

        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None
