"""Microsoft Graph over HTTP: Bearer auth with one refresh on 401, Retry-After on 429/503,
paging through @odata.nextLink, one-line errors. Used by GraphBackend."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from blocktime.backends.davhttp import safe_url
from blocktime.backends.limits import MAX_RESPONSE_BYTES, RESPONSE_DEADLINE, bounded_body
from blocktime.backends.pacing import GRAPH, Gate
from blocktime.backends.throttle import backoff, retry_after
from blocktime.errors import ServerError

#: UTC times, text bodies, and ids that survive a move to another calendar (`IdType="ImmutableId"`)
PREFER = 'outlook.timezone="UTC", outlook.body-content-type="text", IdType="ImmutableId"'
PREFER_PAGE = "odata.maxpagesize=100"
MAX_WAIT = 120.0  # never sleep longer than this on one Retry-After
BACKOFF_BASE = 1.0  # seconds before the 2nd try when Graph gives no Retry-After; doubles each time


class GraphClient:
    """One keep-alive session to Graph; `auth.token(force_refresh=)` supplies the Bearer token."""

    def __init__(self, auth: Any, base: str, *, verify_tls: bool = True, timeout: float = 30,
                 sleep: Callable[[float], None] = time.sleep, attempts: int = 5) -> None:
        import niquests

        self.auth = auth
        self.base = base
        self.session = niquests.Session()
        self.session.verify = verify_tls
        self.session.hooks.setdefault("response", []).append(
            lambda r, *a, **k: bounded_body(r, limit=MAX_RESPONSE_BYTES, deadline_s=RESPONSE_DEADLINE,
                                            server="Microsoft Graph"))
        self.timeout = timeout
        self.sleep = sleep
        self.attempts = attempts
        self.requests = 0
        self.gate = Gate(GRAPH)  # 4 in flight at most, 10,000 per 10 minutes (Outlook service limits)
        self._count = threading.Lock()  # writes run in a few threads at once

    def request(self, method: str, url: str, *, body: Any = None, params: dict[str, str] | None = None,
                headers: dict[str, str] | None = None, data: bytes | None = None, retry: bool = True) -> Any:
        """One Graph call (a JSON `body`, or raw `data`): a 401 refreshes the token once, 429/503
        wait for Retry-After (unless not `retry`: the answer is then returned as it is)."""
        refreshed = False
        r: Any = None
        for attempt in range(self.attempts):
            head = {"Authorization": f"Bearer {self.auth.token()}", "Prefer": PREFER,
                    "Accept": "application/json", **(headers or {})}
            ticket = self.gate.acquire()
            try:
                payload: dict[str, Any] = {"data": data} if data is not None else {"json": body}
                r = self.session.request(method, url, params=params, headers=head, timeout=self.timeout, **payload)
            except ServerError:  # refused by `bounded_body`: too large or too slow
                self.gate.release(ticket, "failed")
                raise
            except Exception as exc:
                self.gate.release(ticket, "failed")
                raise ServerError(f"cannot reach Microsoft Graph at {safe_url(self.base)} ({type(exc).__name__})",
                                  "check the network, or [calendar] url") from None
            throttled = r.status_code in (429, 503)
            again = r.status_code in (429, 503, 504) and retry and attempt + 1 < self.attempts
            said = retry_after(r.headers.get("Retry-After"), time.time()) if again else None
            # every request waits out a Retry-After only when this one waits for it too
            hold = said if throttled and said is not None and said <= MAX_WAIT else None
            self.gate.release(ticket, "throttled" if throttled else "failed" if r.status_code >= 500
                              else "write" if method in ("POST", "PATCH") and r.status_code < 300 else "read", hold)
            with self._count:
                self.requests += 1
            if r.status_code == 401 and not refreshed:
                refreshed = True
                self.auth.token(force_refresh=True)
                continue
            if again:
                wait = said
                if wait is None:  # exponential back-off with jitter (Graph's throttling guidance)
                    wait = backoff(attempt, None, base=BACKOFF_BASE, cap=30.0)
                if wait > MAX_WAIT:
                    break
                self.sleep(wait)
                continue
            return r
        self.fail(r, "the request")

    @staticmethod
    def code(r: Any) -> str:
        """The `error.code` of a Graph error body ("" if none)."""
        try:
            doc = r.json()
        except Exception:
            return ""
        error = doc.get("error") if isinstance(doc, dict) else None
        return str(error.get("code", "")) if isinstance(error, dict) else ""

    def conflict(self, r: Any) -> bool:
        """A stale If-Match: 412, or 409 `ErrorIrresolvableConflict` (Graph sends both)."""
        return bool(r.status_code == 412 or (r.status_code == 409 and self.code(r) == "ErrorIrresolvableConflict"))

    def fail(self, r: Any, what: str) -> NoReturn:
        try:
            code = r.json().get("error", {}).get("code", "")
        except Exception:
            code = ""
        status = f"HTTP {r.status_code}" + (f" {code}" if code else "")
        if r.status_code == 401:
            raise ServerError(f"Microsoft Graph refused the sign-in for {what} ({status})",
                              "run `blocktime auth outlook` again")
        if r.status_code == 403:
            raise ServerError(f"Microsoft Graph forbade {what} ({status})",
                              "the app registration needs delegated Calendars.ReadWrite")
        if r.status_code in (429, 503, 504):
            raise ServerError(f"Microsoft Graph is throttling {what} ({status})", "try again in a few minutes")
        raise ServerError(f"{what} failed at Microsoft Graph ({status})")

    def pages(self, url: str, params: dict[str, str] | None, what: str) -> Iterator[dict[str, Any]]:
        """Every page of a collection, following @odata.nextLink."""
        next_url: str | None = url
        while next_url:
            r = self.get_page(next_url, params)
            if r.status_code != 200:
                self.fail(r, what)
            page = r.json()
            yield page
            next_url, params = page.get("@odata.nextLink"), None

    def get_page(self, url: str, params: dict[str, str] | None = None) -> Any:
        return self.request("GET", url, params=params, headers={"Prefer": f"{PREFER}, {PREFER_PAGE}"})

    def close(self) -> None:
        self.session.close()
