"""The wire of the CalDAV backend: every request through retries for transient failures and quota
throttling, every failure as one `ServerError` in words, and python `caldav` on the same session
where its knowledge of servers is needed. Discovery, objects and sync build on it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from blocktime.backends.base import (
    AlreadyExists,
    CalendarInfo,
)
from blocktime.backends.davhttp import DavClient, ResponseError, safe_url
from blocktime.backends.davhttp import path_of as _path
from blocktime.backends.limits import MAX_RESPONSE_BYTES, RESPONSE_DEADLINE, bounded_body
from blocktime.backends.pacing import CALDAV, Gate, Limits
from blocktime.backends.throttle import Throttled, backoff, quota_reason
from blocktime.errors import BadInput, CalendarRefused, ConflictError, ServerError

_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
#: exception classes (by name, so niquests, requests and urllib3 all match) of a transient network failure
_TRANSIENT_ERRORS = frozenset({"ConnectionError", "Timeout", "TimeoutError", "ChunkedEncodingError",
                               "ProtocolError", "RemoteDisconnected"})
_PERMANENT_ERRORS = frozenset({"SSLError", "InvalidURL", "MissingSchema", "InvalidSchema"})
#: no connection could be made at all: before the server's first answer, a stopped server or a wrong URL
_NO_CONNECTION = frozenset({"NewConnectionError", "ConnectionRefusedError", "NameResolutionError", "gaierror"})

log = logging.getLogger("blocktime")


class NoSync(Exception):
    """The server has no usable sync-collection REPORT."""


class Connection:
    """One CalDAV account's wire: requests with retries and throttling, errors in words, the
    server paths blocktime keeps turned into URLs (the rest of the backend builds on this)."""

    #: what the credentials are called, and what to do when the server refuses them
    credentials = "the username or password"
    auth_hint = "check [calendar] username and password"
    #: waits before the 2nd, 3rd… attempt of a request that is safe to repeat (see `_request`)
    retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0)
    #: the longest wait a 429/503 Retry-After can ask for
    retry_after_cap = 10.0
    #: seconds to connect, and seconds of silence while an answer is awaited
    connect_timeout = 10.0
    read_timeout = 30.0
    #: an answer larger than this once decoded, or slower than this in all, is refused (`_bounded_body`)
    max_response_bytes = MAX_RESPONSE_BYTES
    response_deadline = RESPONSE_DEADLINE
    #: quota throttling (see `_request`): 0 leaves 429 to the transient retries below
    throttle_attempts = 0
    throttle_base = 1.0
    throttle_cap = 64.0
    #: requests in flight at once, adapted to the server's answers (`pacing`)
    limits: Limits = CALDAV

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        verify_tls: bool = True,
        timeout: float | None = None,
        auth: Callable[[Any], Any] | None = None,
    ) -> None:
        if not urlsplit(url).scheme.startswith("http"):
            raise BadInput(f"calendar url {safe_url(url)!r} is not an http(s) URL")
        self.url = url
        self._username = username
        self._password = password
        self._auth = auth
        self.verify_tls = verify_tls
        self.requests = 0
        self.gate = Gate(self.limits)
        self._count_lock = threading.Lock()
        self.schedule_tag_seen = False
        self.sleep: Callable[[float], None] = time.sleep
        self.uid_filter = True  # calendar-query with a UID prop-filter works here (see find_uid)
        self.moved: dict[str, str] = {}  # href blocktime chose -> href the server keeps the object at
        self.written: dict[str, str] = {}  # href -> UID of what blocktime wrote there (this run)
        self.client = DavClient(url, username, password, auth=auth,
                                timeout=(self.connect_timeout, timeout or self.read_timeout), verify=verify_tls)
        self.client.session.hooks.setdefault("response", []).append(self._count)
        self.client.session.hooks["response"].append(self._bounded_body)
        if not verify_tls:  # asked for (and warned about) once by the CLI, not on every request
            warnings.filterwarnings("ignore", message="Unverified HTTPS request", module="urllib3")
        self._send: Callable[..., Any] = self.client.request
        self.client.request = self._request  # type: ignore[method-assign,assignment]  # every request retries
        self._dav: Any = None  # python-caldav's client, built only where it is needed (`_caldav`)
        self._principal: str | None = None  # the principal's URL, once known
        self._home: str | None = None  # the calendar home's URL, where discovery learnt it
        #: where principal and home are kept between commands (set by the factory; None: not kept)
        self.discovery_file: Path | None = None
        self._calendars: list[CalendarInfo] | None = None

    def _count(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        with self._count_lock:  # writes run in a few threads at once
            self.requests += 1
        return response

    def _bounded_body(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        """Response hook: see `limits.bounded_body`."""
        return bounded_body(response, limit=self.max_response_bytes, deadline_s=self.response_deadline,
                            server=safe_url(self.url))

    def _caldav(self) -> Any:
        """python-caldav's client for this account, on the same session (so the same request
        count and answer bounds) and through the same retries: for what its knowledge of servers
        is needed for, discovery that one PROPFIND cannot settle and creating a calendar."""
        if self._dav is None:
            import caldav

            client_class: Any = caldav.DAVClient
            dav: Any = client_class(
                url=self.url, username=self._username, password=self._password, auth=self._auth,
                auth_type=None if self._auth is not None else ("basic" if self._username else None),
                timeout=self.client.timeout, ssl_verify_cert=self.verify_tls, enable_rfc6764=False,
                require_tls=False,
            )
            dav.session.close()
            dav.session = self.client.session
            send = dav._sync_request
            dav.request = lambda url, method="GET", body="", headers=None, *more: self._request(
                url, method, body, headers, send=send)
            self._dav = dav
        return self._dav

    def _request(self, url: str, method: str = "GET", body: str = "", headers: Any = None,
                 send: Callable[..., Any] | None = None) -> Any:
        """`_request_once`, and where the server throttles by quota (Google: `throttle_attempts`),
        the same request again after Retry-After or an exponential back-off with jitter. A
        throttled request was refused, not carried out, so repeating it is safe for any method."""
        if not self.throttle_attempts:
            return self._request_once(url, method, body, headers, send)
        for attempt in range(self.throttle_attempts):
            try:
                return self._request_once(url, method, body, headers, send,
                                          again=attempt + 1 < self.throttle_attempts)
            except Throttled as exc:
                if attempt + 1 == self.throttle_attempts:
                    raise ServerError(f"the calendar server at {safe_url(self.url)} kept throttling {method} "
                                      f"{_path(str(url))} ({exc.why}, {attempt + 1} attempts)",
                                      "try again in a few minutes; a re-run finishes what is left") from None
                pause = backoff(attempt, exc.wait, base=self.throttle_base, cap=self.throttle_cap)
                log.info("%s %s: throttled (%s); retrying in %.1f s", method, _path(str(url)), exc.why, pause)
                self.sleep(pause)
        raise AssertionError("unreachable")

    def _request_once(self, url: str, method: str, body: str, headers: Any, send: Callable[..., Any] | None,
                      again: bool = False) -> Any:
        """One request (`send`: this backend's wire, or python-caldav's), with retries for
        transient failures (connection reset or refused, timeouts, 500/502/503/504, 429), for the
        requests that are safe to repeat: reads, and PUT or DELETE with If-Match / If-None-Match,
        whose repeat after a lost answer gets 412 (the caller then finds the object, or re-reads
        and merges). Others go out once. No connection at all before the server's first answer is
        reported at once (a wrong URL, a server down). `again`: the caller sends it again when
        throttled (Google's quota): only a request that will be sent again holds the others back
        for its Retry-After."""
        send = send or self._send
        conditional = any(k.lower() in ("if-match", "if-none-match") for k in (headers or {}))
        delays = self.retry_delays if method in ("GET", "HEAD", "PROPFIND", "REPORT", "OPTIONS") or (
            method in ("PUT", "DELETE") and conditional) else ()
        timeouts = 0
        for attempt in range(len(delays) + 1):
            ticket = self.gate.acquire()
            try:
                r = send(url, method, body, headers)
            except Exception as exc:
                names = {c.__name__ for c in type(exc).__mro__}
                throttled = "RateLimitError" in names or (
                    "AuthorizationError" in names and self.throttle_attempts and quota_reason(exc) is not None)
                wait = getattr(exc, "retry_after_seconds", None)  # held back no longer than this wire would wait
                cap = self.throttle_cap if self.throttle_attempts else self.retry_after_cap
                retried = again if self.throttle_attempts else attempt < len(delays)
                self.gate.release(ticket, "throttled" if throttled else "failed",
                                  None if wait is None or not retried else min(wait, cap))
                if "RateLimitError" in names:  # this wire's or python-caldav's: 429, 503 with Retry-After
                    why = f"HTTP {getattr(exc, 'status', None) or 429}"
                    wait = getattr(exc, "retry_after_seconds", None)
                    if self.throttle_attempts:
                        raise Throttled(why, wait) from None
                elif "AuthorizationError" in names:
                    reason = quota_reason(exc) if self.throttle_attempts else None
                    if reason is None:
                        raise
                    raise Throttled(f"HTTP 403 {reason}", None) from None
                else:
                    if names & _PERMANENT_ERRORS or not names & _TRANSIENT_ERRORS or not delays:
                        raise
                    if not self.requests and _causes(exc) & _NO_CONNECTION:
                        raise
                    why, wait = type(exc).__name__, None
                    timeouts += bool(names & {"Timeout", "ReadTimeout", "TimeoutError"})
                    if attempt == len(delays) or timeouts == 2:  # silent twice: hung, not busy
                        raise ServerError(
                            f"cannot reach the calendar server at {safe_url(self.url)} ({why}, {attempt + 1} attempts)",
                            "is it running? check [calendar] url; a re-run finishes what is left",
                        ) from None
            else:
                self.gate.release(ticket, "throttled" if r.status == 503 else "failed" if r.status >= 500
                                  else "write" if method == "PUT" and 200 <= r.status < 300 else "read")
                if r.status not in _TRANSIENT_STATUS or not delays:
                    return r
                why, wait = f"HTTP {r.status}", None
            if attempt == len(delays):
                raise ServerError(f"the calendar server at {safe_url(self.url)} failed {method} {_path(str(url))} "
                                  f"({why}, {attempt + 1} attempts)", "try again later; a re-run finishes what is left")
            pause = delays[attempt] if wait is None else min(max(wait, delays[attempt]), self.retry_after_cap)
            log.info("%s %s: %s; retrying in %.1f s", method, _path(str(url)), why, pause)
            self.sleep(pause)
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except (ServerError, ConflictError, AlreadyExists, BadInput, NoSync):
            raise
        except Exception as exc:
            names = {c.__name__ for c in type(exc).__mro__}
            package = type(exc).__module__.split(".")[0]
            if "AuthorizationError" in names:  # this wire's or python-caldav's
                if getattr(exc, "status", 401) == 403:  # one object or calendar refused, not the login:
                    # a failure of this step (the pass goes on with the rest), never a refused login
                    raise ServerError(f"{what} was forbidden at {safe_url(self.url)} (HTTP 403)") from None
                raise CalendarRefused(
                    f"the calendar server at {safe_url(self.url)} refused {self.credentials}", self.auth_hint
                ) from None
            if isinstance(exc, ResponseError) or (package == "caldav" and "DAVError" in names):
                reason = getattr(exc, "reason", "") or type(exc).__name__
                raise ServerError(f"{what} failed at {safe_url(self.url)}: {reason}") from None
            if isinstance(exc, OSError):
                if "SSLError" in names:  # niquests' SSLError is an OSError
                    untrusted = "certificate verify failed" in str(exc)
                    raise ServerError(
                        f"TLS with the calendar server at {safe_url(self.url)} failed"
                        + (": its certificate is not trusted" if untrusted else f" ({type(exc).__name__})"),
                        "if you trust this server: --insecure for one run, or [calendar] verify_tls = false"
                        if untrusted else "check [calendar] url",
                    ) from None
                raise ServerError(
                    f"cannot reach the calendar server at {safe_url(self.url)} ({type(exc).__name__})",
                    "is it running? check [calendar] url",
                ) from None
            if package in {"niquests", "urllib3", "requests", "urllib3_future"}:
                raise ServerError(
                    f"cannot reach the calendar server at {safe_url(self.url)} ({type(exc).__name__})",
                    "is it running? check [calendar] url",
                ) from None
            if package == "lxml":  # not XML, or an entity bomb lxml refused
                raise ServerError(f"{what} failed at {safe_url(self.url)}: the answer is not valid XML "
                                  f"({type(exc).__name__})", "check [calendar] url: is it a CalDAV server?") from None
            raise

    def _url(self, href: str) -> str:
        """The full URL of an href: hrefs and calendar URLs are kept as server paths, so that
        what the store remembers survives a change of host or port (the embedded calendar
        listens on a new free port every run)."""
        parts = urlsplit(self.url)
        return urljoin(f"{parts.scheme}://{parts.netloc}/", href)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()


def _causes(exc: BaseException) -> set[str]:
    """The class names along an exception's chain (niquests wraps urllib3's, which wraps OSError's)."""
    names: set[str] = set()
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo and len(seen) < 20:
        e = todo.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        names.add(type(e).__name__)
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None), *e.args]
    return names


def quoted(href: str) -> str:
    """An href as a URL path: what is not allowed there percent-encoded, what is already kept."""
    return quote(href, safe="/@:+,;=!$&'()*~%")


def absolute(base: str, href: str) -> str:
    """An href from a multistatus (caldav hands them unquoted) as a quoted server path."""
    path = quoted(href)
    if path.startswith("/") and not path.startswith("//") and not any(c in path for c in ("/.", "?", "#")):
        return path  # a server path already (what urljoin would keep of it): 10,000 of them in a first sync
    return _path(urljoin(base, path))


def decoded(raw: bytes | str) -> str:
    """Calendar data as text: UTF-8, byte-order marks removed (a BOM in front of a calendar hid
    all of it)."""
    from blocktime.ics.rawtext import decode_text

    return decode_text(raw)


def body_text(response: Any) -> str:
    """A GET's body as text (`decoded`: UTF-8, else Latin-1), line ends LF as python-caldav gave them."""
    return decoded(response.content).replace("\r\n", "\n")


def xml_text(text: str) -> str:
    """Text for an XML element's content (or a double-quoted attribute holding no quote). Written out
    here: `html.escape` would add html.entities (~2.4 ms) to every daemon pass' start."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
