"""CalDAV backend: conditional PUT/DELETE, REPORTs and discovery on `davhttp`'s wire; python `caldav`
where its knowledge of servers is needed (discovery one PROPFIND cannot settle, creating a calendar).

Creation is a PUT to a UID-derived href with ``If-None-Match: *`` (RFC 7232 §3.2): one request,
never an overwrite. Updates and deletes carry ``If-Match`` with the stored ETag. Changes come from
the sync-collection REPORT (RFC 6578), or from a full listing where the server has no sync tokens.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from blocktime.backends.base import (
    SYNTHETIC_PREFIX,
    AlreadyExists,
    CalendarInfo,
    Changes,
    StoredObject,
    diff_listing,
    uid_of,
)
from blocktime.backends.davhttp import AuthorizationError, DavClient, ResponseError
from blocktime.backends.davhttp import path_of as _path
from blocktime.backends.limits import MAX_RESPONSE_BYTES, RESPONSE_DEADLINE, bounded_body
from blocktime.backends.throttle import Throttled, backoff, quota_reason
from blocktime.errors import BadInput, ConflictError, ServerError

_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">{range}
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""
_RANGE = '\n    <C:time-range start="{start}" end="{end}"/>'
_UID_FILTER = ('\n    <C:prop-filter name="UID"><C:text-match collation="i;octet">{uid}</C:text-match>'
               '</C:prop-filter>')

_SYNC = """<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:sync-token>{token}</D:sync-token>
  <D:sync-level>1</D:sync-level>
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
</D:sync-collection>"""

_TEXT_CALENDAR = "text/calendar; charset=utf-8"
_CUP = "{DAV:}current-user-principal"
_HOME_SET = "{urn:ietf:params:xml:ns:caldav}calendar-home-set"
_UID_CONFLICT = "{urn:ietf:params:xml:ns:caldav}no-uid-conflict"
_CALENDAR = "{urn:ietf:params:xml:ns:caldav}calendar"
#: CalendarServer's collection tag: changes whenever anything in the calendar does
_CTAG = "{http://calendarserver.org/ns/}getctag"
#: what listing the home asks of each collection
_LIST_PROPS = ["{DAV:}resourcetype", "{DAV:}displayname",
               "{urn:ietf:params:xml:ns:caldav}supported-calendar-component-set"]
_MAX_SYNC_PAGES = 100
#: answers worth a second try (RFC 9110 §15.6: the server may manage next time)
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
#: exception classes (by name, so niquests, requests and urllib3 all match) of a transient network failure
_TRANSIENT_ERRORS = frozenset({"ConnectionError", "Timeout", "TimeoutError", "ChunkedEncodingError",
                               "ProtocolError", "RemoteDisconnected"})
_PERMANENT_ERRORS = frozenset({"SSLError", "InvalidURL", "MissingSchema", "InvalidSchema"})
#: no connection could be made at all: before the server's first answer, a stopped server or a wrong URL
_NO_CONNECTION = frozenset({"NewConnectionError", "ConnectionRefusedError", "NameResolutionError", "gaierror"})

log = logging.getLogger("blocktime")


def safe_url(url: str) -> str:
    """The URL without any user:password part, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class _NoSync(Exception):
    """The server has no usable sync-collection REPORT."""


class CalDAVBackend:
    """A CalDAV account: every calendar is read for busy time; blocks go to one of them."""

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
        self._count_lock = threading.Lock()
        self.schedule_tag_seen = False
        self.sleep: Callable[[float], None] = time.sleep
        self.uid_filter = True  # calendar-query with a UID prop-filter works here (see find_uid)
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
                return self._request_once(url, method, body, headers, send)
            except Throttled as exc:
                if attempt + 1 == self.throttle_attempts:
                    raise ServerError(f"the calendar server at {safe_url(self.url)} kept throttling {method} "
                                      f"{_path(str(url))} ({exc.why}, {attempt + 1} attempts)",
                                      "try again in a few minutes; a re-run finishes what is left") from None
                pause = backoff(attempt, exc.wait, base=self.throttle_base, cap=self.throttle_cap)
                log.info("%s %s: throttled (%s); retrying in %.1f s", method, _path(str(url)), exc.why, pause)
                self.sleep(pause)
        raise AssertionError("unreachable")

    def _request_once(self, url: str, method: str, body: str, headers: Any, send: Callable[..., Any] | None) -> Any:
        """One request (`send`: this backend's wire, or python-caldav's), with retries for
        transient failures (connection reset or refused, timeouts, 500/502/503/504, 429), for the
        requests that are safe to repeat: reads, and PUT or DELETE with If-Match / If-None-Match,
        whose repeat after a lost answer gets 412 (the caller then finds the object, or re-reads
        and merges). Others go out once. No connection at all before the server's first answer is
        reported at once (a wrong URL, a server down)."""
        send = send or self._send
        conditional = any(k.lower() in ("if-match", "if-none-match") for k in (headers or {}))
        delays = self.retry_delays if method in ("GET", "HEAD", "PROPFIND", "REPORT", "OPTIONS") or (
            method in ("PUT", "DELETE") and conditional) else ()
        timeouts = 0
        for attempt in range(len(delays) + 1):
            try:
                r = send(url, method, body, headers)
            except Exception as exc:
                names = {c.__name__ for c in type(exc).__mro__}
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
        except (ServerError, ConflictError, AlreadyExists, BadInput, _NoSync):
            raise
        except Exception as exc:
            names = {c.__name__ for c in type(exc).__mro__}
            package = type(exc).__module__.split(".")[0]
            if "AuthorizationError" in names:  # this wire's or python-caldav's
                if getattr(exc, "status", 401) == 403:
                    raise ServerError(f"{what} was forbidden at {safe_url(self.url)} (HTTP 403)") from None
                raise ServerError(
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

    def _raw(self) -> list[CalendarInfo]:
        if self._calendars is None:
            with self._guard("listing calendars"):
                if self._principal is None and self._recalled():
                    try:
                        self._calendars = self._listed()
                        if self._calendars is None:
                            raise ServerError("the remembered calendar home did not answer")
                    except Exception:  # the remembered home is gone or refused: discover again
                        log.info("the remembered calendar home failed; discovering the account again")
                        self._principal = self._home = None
                        self._calendars = None
                        self._remember(None)
                if self._principal is None:
                    self._principal, self._home = self._discover()
                    self._remember(self._home)
                if self._calendars is None:
                    self._calendars = self._listed() if self._home is not None else None
                if self._calendars is None:  # python-caldav's own ways (home set, guesses)
                    principal = self._caldav_principal()
                    self._calendars = [_info(c) for c in principal.get_calendars()]
        return self._calendars

    def _recalled(self) -> bool:
        """Principal and home from `discovery_file` (a previous command's discovery), if it holds
        them for this URL and user: then listing the calendars is the only discovery request.
        The listing itself is never remembered: busy time must come from every calendar there is."""
        if self.discovery_file is None:
            return False
        try:
            known = json.loads(self.discovery_file.read_text(encoding="utf-8")).get(self._account_key())
        except (OSError, ValueError, AttributeError):
            return False
        if not isinstance(known, dict) or not all(isinstance(known.get(k), str) for k in ("principal", "home")):
            return False
        self._principal, self._home = urljoin(self.url, known["principal"]), urljoin(self.url, known["home"])
        return True

    def _remember(self, home: str | None) -> None:
        """Keep (or with None forget) this account's principal and home in `discovery_file`."""
        if self.discovery_file is None:
            return
        try:
            try:
                kept = json.loads(self.discovery_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                kept = {}
            kept = kept if isinstance(kept, dict) else {}
            if home is None or self._principal is None:
                if self._account_key() not in kept:
                    return
                kept.pop(self._account_key(), None)
            else:
                kept[self._account_key()] = {"principal": _path(self._principal), "home": home}
            from blocktime.mail import outbox
            outbox.write(self.discovery_file.parent, self.discovery_file.name, json.dumps(kept, indent=1))
        except OSError as exc:  # a cache: never a reason to fail
            log.info("cannot keep the discovered calendar home: %s", exc)

    def _account_key(self) -> str:
        return f"{safe_url(self.url)} {self._username or ''}"

    def _discover(self) -> tuple[str | None, str | None]:
        """(principal URL, calendar home URL), either None where not learnt: current-user-principal
        (RFC 5397) and calendar-home-set (RFC 4791 §6.2.1) asked in one PROPFIND of the configured
        URL. Where that URL is the principal, its home comes in the same answer, and listing (and
        creating) a calendar needs no further lookup: 2 requests instead of caldav's 3, and none
        before MKCALENDAR. Otherwise the home set of the principal the server named (one more
        PROPFIND), and python-caldav's own ways where neither answers."""
        props = self._props(self.url, [_CUP, _HOME_SET])
        cup = props.get(_CUP)
        if not isinstance(cup, str) or not cup:
            return None, None  # python-caldav's discovery, with its own fallbacks (`_raw`)
        principal = urljoin(self.url, _quoted(cup))
        home = props.get(_HOME_SET) if _path(principal) == _path(self.url) else None
        if home is None:
            home = self._props(principal, [_HOME_SET]).get(_HOME_SET)
        if not isinstance(home, str) or not home:
            return principal, None
        return principal, urljoin(principal, _quoted(home))  # (iCloud: another host)

    def _props(self, url: str, props: list[str]) -> dict[str, Any]:
        """The properties `url` has of `props` (PROPFIND, Depth 0); {} where it answers none."""
        r = self.client.request(url, "PROPFIND", _propfind_body(props), {"Depth": "0"})
        found = [x for x in r.propfind() if x.properties] if r.status in (200, 207) else []
        return found[0].properties if found else {}

    def _caldav_principal(self) -> Any:
        """python-caldav's principal of this account, with the home where it is known."""
        from caldav.collection import Principal

        dav = self._caldav()
        if self._principal is None:
            principal = dav.principal()
            self._principal = str(principal.url)
        else:
            principal = Principal(client=dav, url=self._principal)
            dav._principal = principal
        if self._home is not None:
            principal.calendar_home_set = self._home
        return principal

    def _listed(self) -> list[CalendarInfo] | None:
        """The calendars in the known home (one PROPFIND, Depth 1), or None when the home gave
        no answer about itself (Xandikos: 207 with a 404 inside): then it is not listed here."""
        if self._home is None:
            return None
        r = self.client.request(self._home, "PROPFIND", _propfind_body(_LIST_PROPS), {"Depth": "1"})
        if r.status not in (200, 207):
            raise ResponseError(f"PROPFIND failed with status {r.status}")
        found = r.propfind()
        home = unquote(_path(self._home)).rstrip("/")
        if not any(unquote(_path(x.href)).rstrip("/") == home and 200 <= x.status < 300 for x in found):
            return None
        out = []
        for x in found:
            kinds = x.properties.get("{DAV:}resourcetype") or []
            if _CALENDAR not in kinds:
                continue
            url = _absolute(self._home, x.href)
            segment = unquote(url.rstrip("/").rsplit("/", 1)[-1])
            if not segment:
                continue
            name = x.properties.get("{DAV:}displayname")
            out.append(CalendarInfo(url, str(name) if name else url.rstrip("/").rsplit("/", 1)[-1]))
        return out

    def calendars(self) -> list[CalendarInfo]:
        return list(self._raw())

    def find_calendar(self, name: str) -> CalendarInfo | None:
        """The calendar whose display name (or last path segment) is `name`."""
        for info in self.calendars():
            if name in (info.name, info.url.rstrip("/").rsplit("/", 1)[-1]):
                return info
        return None

    def ensure_calendar(self, name: str) -> CalendarInfo:
        found = self.find_calendar(name)
        if found is not None:
            return found
        with self._guard(f"creating calendar {name!r}"):  # python-caldav knows the servers' quirks here
            cal = self._caldav_principal().make_calendar(name=name)
        self._calendars = None
        return CalendarInfo(_path(str(cal.url)), name)

    def href_for(self, calendar: CalendarInfo, uid: str) -> str:
        base = calendar.url if calendar.url.endswith("/") else calendar.url + "/"
        return urljoin(base, quote(uid.split("@", 1)[0], safe="") + ".ics")

    def _put(self, href: str, data: str, condition: dict[str, str]) -> Any:
        with self._guard("saving an event"):
            try:
                r = self.client.request(self._url(href), "PUT", data, {"Content-Type": _TEXT_CALENDAR, **condition})
            except AuthorizationError as exc:  # 403 may be a precondition, not a refusal
                if exc.status == 403 and _UID_CONFLICT in exc.preconditions:
                    raise AlreadyExists(href, elsewhere=True) from None
                raise
        if r.headers.get("Schedule-Tag"):
            self.schedule_tag_seen = True
        return r

    def create(self, href: str, data: str) -> str | None:
        r = self._put(href, data, {"If-None-Match": "*"})
        return self._created(href, r)

    def _created(self, href: str, r: Any) -> str | None:
        if r.status in (200, 201, 204):
            return _etag(r)
        if r.status == 412:  # the href exists, or (Xandikos) the UID lives at another href
            raise AlreadyExists(href, elsewhere=self.get(href) is None)
        if r.status in (403, 409):
            raise AlreadyExists(href, elsewhere=True)
        raise ServerError(f"the server refused to create {href} (HTTP {r.status})")

    def update(self, href: str, data: str, etag: str) -> str | None:
        r = self._put(href, data, {"If-Match": etag})
        if r.status in (200, 201, 204):
            return _etag(r)
        if r.status == 412:
            raise ConflictError(f"{href} was changed by someone else", "re-read and merge")
        raise ServerError(f"the server refused to update {href} (HTTP {r.status})")

    def delete(self, href: str, etag: str | None) -> None:
        headers = {"If-Match": etag} if etag else {}
        with self._guard("deleting an event"):
            r = self.client.request(self._url(href), "DELETE", "", headers)
        if r.status == 412:
            raise ConflictError(f"{href} was changed by someone else", "re-read and merge")
        if r.status not in (200, 204, 404):
            raise ServerError(f"the server refused to delete {href} (HTTP {r.status})")

    def get(self, href: str) -> StoredObject | None:
        with self._guard("reading an event"):
            r = self.client.request(self._url(href), "GET")
        if r.status in (404, 410):
            return None
        if r.status != 200:
            raise ServerError(f"the server refused to read {href} (HTTP {r.status})")
        return StoredObject(href, _etag(r), _text(r))

    def _query(self, calendar: CalendarInfo, time_range: str) -> list[StoredObject]:
        with self._guard(f"reading calendar {calendar.name!r}"):
            r = self.client.request(self._url(calendar.url), "REPORT", _QUERY.format(range=time_range), {"Depth": "1"})
            results = r.calendar_query()
        return [
            StoredObject(_absolute(calendar.url, x.href), x.etag, _decoded(x.calendar_data))
            for x in results
            if x.calendar_data and x.status == 200
        ]

    def find_uid(self, calendar: CalendarInfo, uid: str) -> StoredObject | None:
        """calendar-query with a UID text-match (RFC 4791 §9.7.5; a substring match, so checked).
        A server that refuses the filter gets a full listing instead, from then on (slower, as sure)."""
        return next((o for o in self.uid_search(calendar, uid) if uid_of(o.data) == uid), None)

    def uid_search(self, calendar: CalendarInfo, text: str) -> list[StoredObject]:
        """Objects whose UID contains `text` — or more: the whole calendar where the server
        refuses the filter. The caller checks the UIDs."""
        found = self._uid_query(calendar, text) if self.uid_filter else None
        if found is None:
            self.uid_filter = False
            found = self._query(calendar, "")
        return found

    def _uid_query(self, calendar: CalendarInfo, uid: str) -> list[StoredObject] | None:
        """The objects a UID text-match finds, or None when the server refuses the filter."""
        body = _QUERY.format(range=_UID_FILTER.format(uid=_escape(uid)))
        with self._guard(f"searching calendar {calendar.name!r}"):
            try:
                r = self.client.request(self._url(calendar.url), "REPORT", body, {"Depth": "1"})
            except AuthorizationError as exc:
                if exc.status == 403:
                    log.info("the server refused a search by UID (HTTP 403): listing the calendar instead")
                    return None
                raise
            if r.status in (400, 403, 405, 415, 422, 501):
                log.info("the server refused a search by UID (HTTP %s): listing the calendar instead", r.status)
                return None
            results = r.calendar_query()
        return [StoredObject(_absolute(calendar.url, x.href), x.etag, x.calendar_data)
                for x in results if x.calendar_data and x.status == 200]

    def list_range(self, calendar: CalendarInfo, start: datetime, end: datetime) -> list[StoredObject]:
        return self._query(calendar, _RANGE.format(start=_utc(start), end=_utc(end)))

    def change_tag(self, calendar: CalendarInfo) -> str | None:
        """The calendar's CTag (CalendarServer's `getctag`, which Radicale, Xandikos, SabreDAV,
        iCloud and Google keep): one small PROPFIND, None where the server keeps none."""
        with self._guard(f"checking calendar {calendar.name!r}"):
            try:
                tag = self._props(self._url(calendar.url), [_CTAG]).get(_CTAG)
            except AuthorizationError as exc:
                if exc.status == 403:  # refused for this property: read the calendar instead
                    return None
                raise
        return tag.strip() if isinstance(tag, str) and tag.strip() else None

    def changes(self, calendar: CalendarInfo, token: str | None) -> Changes:
        """RFC 6578 sync-collection; an expired token restarts with a full sync (§3.2), and a
        server without the report gets a full listing and a synthetic token."""
        if token is None or not token.startswith(SYNTHETIC_PREFIX):
            try:
                return self._sync(calendar, token)
            except _NoSync:
                if token is not None:  # a real token the server no longer knows: start over
                    with contextlib.suppress(_NoSync):
                        return self._sync(calendar, None)
                token = None
        return diff_listing(self._query(calendar, ""), token)

    def _sync(self, calendar: CalendarInfo, token: str | None) -> Changes:
        changed: dict[str, tuple[str | None, str | None]] = {}
        deleted: set[str] = set()
        current = token
        for _page in range(_MAX_SYNC_PAGES):
            body = _SYNC.format(token=_escape(current or ""))
            with self._guard(f"syncing calendar {calendar.name!r}"):
                try:
                    r = self.client.request(self._url(calendar.url), "REPORT", body, {"Depth": "0"})
                except AuthorizationError as exc:
                    if exc.status == 403:  # DAV:valid-sync-token or not supported
                        raise _NoSync() from None
                    raise
                if r.status not in (200, 207):
                    raise _NoSync()
                result = r.sync_collection()
            if not result.sync_token:
                raise _NoSync()
            for item in result.changed:
                href = _absolute(calendar.url, item.href)
                if href.rstrip("/") != calendar.url.rstrip("/"):
                    changed[href] = (item.etag, item.calendar_data)
                    deleted.discard(href)
            for h in result.deleted:
                href = _absolute(calendar.url, h)
                changed.pop(href, None)
                deleted.add(href)
            again = result.truncated and result.sync_token != current
            current = result.sync_token
            if not again:
                break
        objects = []
        for href, (etag, data) in sorted(changed.items()):
            if data is None or etag is None:  # some servers send no calendar-data in the report
                got = self.get(href)
                if got is None:
                    continue
                etag, data = got.etag, got.data
            objects.append(StoredObject(href, etag, _decoded(data)))
        assert current is not None
        return Changes(tuple(objects), tuple(sorted(deleted)), current, complete=token is None)

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


def _quoted(href: str) -> str:
    """An href as a URL path: what is not allowed there percent-encoded, what is already kept."""
    return quote(href, safe="/@:+,;=!$&'()*~%")


def _absolute(base: str, href: str) -> str:
    """An href from a multistatus (caldav hands them unquoted) as a quoted server path."""
    quoted = _quoted(href)
    if quoted.startswith("/") and not quoted.startswith("//") and not any(c in quoted for c in ("/.", "?", "#")):
        return quoted  # a server path already (what urljoin would keep of it): 10,000 of them in a first sync
    return _path(urljoin(base, quoted))


def _utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _etag(response: Any) -> str | None:
    value = response.headers.get("ETag") or response.headers.get("etag")
    return str(value) if value else None


def _decoded(raw: bytes | str) -> str:
    """Calendar data as text: UTF-8, byte-order marks removed (a BOM in front of a calendar hid
    all of it)."""
    from blocktime.ics.rawtext import decode_text

    return decode_text(raw)


def _text(response: Any) -> str:
    """A GET's body as text (`_decoded`: UTF-8, else Latin-1), line ends LF as python-caldav gave them."""
    return _decoded(response.content).replace("\r\n", "\n")


def _escape(text: str) -> str:
    """Text for an XML element's content."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _propfind_body(props: list[str]) -> str:
    """A PROPFIND body asking for `props` (Clark notation) by name."""
    names = []
    for k, prop in enumerate(props):
        ns, local = prop[1:].split("}", 1)
        names.append(f'<p{k}:{local} xmlns:p{k}="{_escape(ns)}"/>')
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<D:propfind xmlns:D="DAV:"><D:prop>{"".join(names)}</D:prop></D:propfind>')


def _info(cal: Any) -> CalendarInfo:
    """A python-caldav calendar as blocktime names it."""
    with warnings.catch_warnings():  # `name` is the displayname already fetched
        warnings.simplefilter("ignore", DeprecationWarning)
        name = cal.name or str(cal.url).rstrip("/").rsplit("/", 1)[-1]
    return CalendarInfo(_path(str(cal.url)), str(name))
