"""CalDAV backend (python `caldav` for discovery; conditional PUT/DELETE and REPORTs done directly).

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
from xml.sax.saxutils import escape

from blocktime.backends.base import (
    SYNTHETIC_PREFIX,
    AlreadyExists,
    CalendarInfo,
    Changes,
    StoredObject,
    diff_listing,
    uid_of,
)
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
        rate_limit: bool = False,
    ) -> None:
        import caldav

        if not urlsplit(url).scheme.startswith("http"):
            raise BadInput(f"calendar url {safe_url(url)!r} is not an http(s) URL")
        self.url = url
        self._username = username
        self.requests = 0
        self._count_lock = threading.Lock()
        self.schedule_tag_seen = False
        self.sleep: Callable[[float], None] = time.sleep
        self.uid_filter = True  # calendar-query with a UID prop-filter works here (see find_uid)
        client_class: Any = caldav.DAVClient
        self.client: Any = client_class(
            url=url,
            username=username,
            password=password,
            auth=auth,
            auth_type=None if auth is not None else ("basic" if username else None),
            timeout=(self.connect_timeout, timeout or self.read_timeout),
            ssl_verify_cert=verify_tls,
            enable_rfc6764=False,
            require_tls=False,
            rate_limit_handle=rate_limit,
            rate_limit_max_sleep=120 if rate_limit else None,
        )
        self.client.session.hooks.setdefault("response", []).append(self._count)
        self.client.session.hooks["response"].append(self._bounded_body)
        if not verify_tls:  # asked for (and warned about) once by the CLI, not on every request
            warnings.filterwarnings("ignore", message="Unverified HTTPS request", module="urllib3")
        self._send = self.client.request
        self.client.request = self._request  # every request, caldav's discovery included, retries here
        self._principal: Any = None
        self._home: str | None = None  # the calendar home's URL, where discovery learnt it
        #: where principal and home are kept between commands (set by the factory; None: not kept)
        self.discovery_file: Path | None = None
        self._calendars: list[Any] | None = None

    def _count(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        with self._count_lock:  # writes run in a few threads at once
            self.requests += 1
        return response

    def _bounded_body(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        """Response hook: see `limits.bounded_body`."""
        return bounded_body(response, limit=self.max_response_bytes, deadline_s=self.response_deadline,
                            server=safe_url(self.url))

    def _request(self, url: str, method: str = "GET", body: str = "", headers: Any = None, *more: Any) -> Any:
        """`_request_once`, and where the server throttles by quota (Google: `throttle_attempts`),
        the same request again after Retry-After or an exponential back-off with jitter. A
        throttled request was refused, not carried out, so repeating it is safe for any method."""
        if more or not self.throttle_attempts:
            return self._request_once(url, method, body, headers, *more)
        for attempt in range(self.throttle_attempts):
            try:
                return self._request_once(url, method, body, headers)
            except Throttled as exc:
                if attempt + 1 == self.throttle_attempts:
                    raise ServerError(f"the calendar server at {safe_url(self.url)} kept throttling {method} "
                                      f"{_path(str(url))} ({exc.why}, {attempt + 1} attempts)",
                                      "try again in a few minutes; a re-run finishes what is left") from None
                pause = backoff(attempt, exc.wait, base=self.throttle_base, cap=self.throttle_cap)
                log.info("%s %s: throttled (%s); retrying in %.1f s", method, _path(str(url)), exc.why, pause)
                self.sleep(pause)
        raise AssertionError("unreachable")

    def _request_once(self, url: str, method: str = "GET", body: str = "", headers: Any = None, *more: Any) -> Any:
        """`DAVClient.request` with retries for transient failures (connection reset or refused,
        timeouts, 500/502/503/504, 429), for the requests that are safe to repeat: reads, and PUT
        or DELETE with If-Match / If-None-Match, whose repeat after a lost answer gets 412 (the
        caller then finds the object, or re-reads and merges). Others go out once. No connection
        at all before the server's first answer is reported at once (a wrong URL, a server down)."""
        from caldav.lib import error as caldav_error

        if more:  # caldav's own rate-limit loop calling back in (rate_limit=True): no second layer
            return self._send(url, method, body, headers, *more)
        conditional = any(k.lower() in ("if-match", "if-none-match") for k in (headers or {}))
        delays = self.retry_delays if method in ("GET", "HEAD", "PROPFIND", "REPORT", "OPTIONS") or (
            method in ("PUT", "DELETE") and conditional) else ()
        timeouts = 0
        for attempt in range(len(delays) + 1):
            try:
                r = self._send(url, method, body, headers)
            except caldav_error.RateLimitError as exc:
                if self.client.rate_limit_handle:  # caldav waited already, as long as it was allowed to
                    raise
                why = f"HTTP {exc.status or 429}"
                wait = exc.retry_after_seconds
                if self.throttle_attempts:
                    raise Throttled(why, wait) from None
            except caldav_error.AuthorizationError as exc:
                reason = quota_reason(exc) if self.throttle_attempts else None
                if reason is None:
                    raise
                raise Throttled(f"HTTP 403 {reason}", None) from None
            except Exception as exc:
                names = {c.__name__ for c in type(exc).__mro__}
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
        from caldav.lib import error as caldav_error

        try:
            yield
        except (ServerError, ConflictError, AlreadyExists, BadInput, _NoSync):
            raise
        except caldav_error.AuthorizationError as exc:
            if getattr(exc, "status", 401) == 403:
                raise ServerError(f"{what} was forbidden at {safe_url(self.url)} (HTTP 403)") from None
            raise ServerError(
                f"the calendar server at {safe_url(self.url)} refused {self.credentials}", self.auth_hint
            ) from None
        except caldav_error.DAVError as exc:
            reason = getattr(exc, "reason", "") or type(exc).__name__
            raise ServerError(f"{what} failed at {safe_url(self.url)}: {reason}") from None
        except OSError as exc:
            if "SSLError" in {c.__name__ for c in type(exc).__mro__}:  # niquests' SSLError is an OSError
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
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in {"niquests", "urllib3", "requests", "urllib3_future"}:
                raise ServerError(
                    f"cannot reach the calendar server at {safe_url(self.url)} ({type(exc).__name__})",
                    "is it running? check [calendar] url",
                ) from None
            if type(exc).__module__.split(".")[0] == "lxml":  # not XML, or an entity bomb lxml refused
                raise ServerError(f"{what} failed at {safe_url(self.url)}: the answer is not valid XML "
                                  f"({type(exc).__name__})", "check [calendar] url: is it a CalDAV server?") from None
            raise

    def _raw(self) -> list[Any]:
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
                if self._calendars is None:
                    self._calendars = list(self._principal.get_calendars())
        return self._calendars

    def _recalled(self) -> bool:
        """Principal and home from `discovery_file` (a previous command's discovery), if it holds
        them for this URL and user: then listing the calendars is the only discovery request.
        The listing itself is never remembered: busy time must come from every calendar there is."""
        from caldav.collection import Principal
        from caldav.lib.url import URL

        if self.discovery_file is None:
            return False
        try:
            known = json.loads(self.discovery_file.read_text(encoding="utf-8")).get(self._account_key())
        except (OSError, ValueError, AttributeError):
            return False
        if not isinstance(known, dict) or not all(isinstance(known.get(k), str) for k in ("principal", "home")):
            return False
        principal = Principal(client=self.client, url=self.client.url.join(URL.objectify(known["principal"])))
        self.client._principal = principal
        principal.calendar_home_set = known["home"]
        self._principal, self._home = principal, str(principal.calendar_home_set.url)
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
            if home is None:
                if self._account_key() not in kept:
                    return
                kept.pop(self._account_key(), None)
            else:
                kept[self._account_key()] = {"principal": _path(str(self._principal.url)), "home": home}
            from blocktime import outbox

            outbox.write(self.discovery_file.parent, self.discovery_file.name, json.dumps(kept, indent=1))
        except OSError as exc:  # a cache: never a reason to fail
            log.info("cannot keep the discovered calendar home: %s", exc)

    def _account_key(self) -> str:
        return f"{safe_url(self.url)} {self._username or ''}"

    def _discover(self) -> tuple[Any, str | None]:
        """(principal, calendar home URL or None): current-user-principal (RFC 5397) and
        calendar-home-set (RFC 4791 §6.2.1) asked in one PROPFIND of the configured URL. Where
        that URL is the principal, its home comes in the same answer, and listing (and creating) a
        calendar needs no further lookup: 2 requests instead of caldav's 3, and none before
        MKCALENDAR. Otherwise the principal the server named, and caldav's own way from there."""
        from caldav.collection import Principal
        from caldav.lib.url import URL

        client = self.client
        r = client.propfind(str(client.url), props=[_CUP, _HOME_SET], depth=0)
        found = [x for x in (r.results or []) if x.properties] if r.status in (200, 207) else []
        if not found:
            return client.get_principal(), None  # caldav's discovery, with its own fallbacks
        props = found[0].properties
        cup, home = props.get(_CUP), props.get(_HOME_SET)
        if not isinstance(cup, str) or not cup:
            return client.get_principal(), None
        principal_url = client.url.join(URL.objectify(cup))
        principal = Principal(client=client, url=principal_url)
        client._principal = principal
        if not isinstance(home, str) or not home or _path(str(principal_url)) != _path(str(client.url)):
            return principal, None  # the home set is the principal's property: caldav asks for it
        principal.calendar_home_set = home  # follows a home on another host (iCloud), as caldav does
        return principal, str(principal.calendar_home_set.url)

    def _listed(self) -> list[Any] | None:
        """The calendars in the known home (one PROPFIND, Depth 1, caldav's properties), or None
        when this caldav cannot build them from an answer (then caldav lists them its own way)."""
        client = self.client
        build: Any = getattr(client, "_build_calendars_from_propfind", None)
        props = getattr(client, "CALENDAR_LIST_PROPS", None)
        if build is None or props is None or self._home is None:
            return None
        r = client.propfind(self._home, props=props, depth=1)
        home = unquote(_path(self._home)).rstrip("/")
        if not any(unquote(_path(str(x.href))).rstrip("/") == home and 200 <= (getattr(x, "status", None) or 200) < 300
                   for x in (r.results or [])):
            return None  # no answer about the home itself (Xandikos: 207 with a 404 inside): not listed
        return list(build(r))

    def calendars(self) -> list[CalendarInfo]:
        out = []
        with self._guard("listing calendars"):
            for cal in self._raw():
                with warnings.catch_warnings():  # `name` is the displayname already fetched
                    warnings.simplefilter("ignore", DeprecationWarning)
                    name = cal.name or str(cal.url).rstrip("/").rsplit("/", 1)[-1]
                out.append(CalendarInfo(_path(str(cal.url)), str(name)))
        return out

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
        with self._guard(f"creating calendar {name!r}"):
            cal = self._principal.make_calendar(name=name)
        self._calendars = None
        return CalendarInfo(_path(str(cal.url)), name)

    def href_for(self, calendar: CalendarInfo, uid: str) -> str:
        base = calendar.url if calendar.url.endswith("/") else calendar.url + "/"
        return urljoin(base, quote(uid.split("@", 1)[0], safe="") + ".ics")

    def _put(self, href: str, data: str, condition: dict[str, str]) -> Any:
        from caldav.lib import error as caldav_error

        with self._guard("saving an event"):
            try:
                r = self.client.request(self._url(href), "PUT", data, {"Content-Type": _TEXT_CALENDAR, **condition})
            except caldav_error.AuthorizationError as exc:  # 403 may be a precondition, not a refusal
                if getattr(exc, "status", None) == 403 and _UID_CONFLICT in getattr(exc, "preconditions", ()):
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
            r = self.client.report(self._url(calendar.url), _QUERY.format(range=time_range), depth=1)
            results = r.parse_calendar_query()
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
        from caldav.lib import error as caldav_error

        body = _QUERY.format(range=_UID_FILTER.format(uid=escape(uid)))
        with self._guard(f"searching calendar {calendar.name!r}"):
            try:
                r = self.client.report(self._url(calendar.url), body, depth=1)
            except caldav_error.AuthorizationError as exc:
                if getattr(exc, "status", None) == 403:
                    log.info("the server refused a search by UID (HTTP 403): listing the calendar instead")
                    return None
                raise
            if r.status in (400, 403, 405, 415, 422, 501):
                log.info("the server refused a search by UID (HTTP %s): listing the calendar instead", r.status)
                return None
            results = r.parse_calendar_query()
        return [StoredObject(_absolute(calendar.url, x.href), x.etag, x.calendar_data)
                for x in results if x.calendar_data and x.status == 200]

    def list_range(self, calendar: CalendarInfo, start: datetime, end: datetime) -> list[StoredObject]:
        return self._query(calendar, _RANGE.format(start=_utc(start), end=_utc(end)))

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
        from caldav.lib import error as caldav_error

        changed: dict[str, tuple[str | None, str | None]] = {}
        deleted: set[str] = set()
        current = token
        for _page in range(_MAX_SYNC_PAGES):
            body = _SYNC.format(token=escape(current or ""))
            with self._guard(f"syncing calendar {calendar.name!r}"):
                try:
                    r = self.client.report(self._url(calendar.url), body, depth=0)
                except caldav_error.AuthorizationError as exc:
                    if getattr(exc, "status", 401) == 403:  # DAV:valid-sync-token or not supported
                        raise _NoSync() from None
                    raise
                if r.status not in (200, 207):
                    raise _NoSync()
                result = r.parse_sync_collection()
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


def _path(url: str) -> str:
    """The path of a URL (an href as the server names it)."""
    return urlsplit(url).path or "/"


def _absolute(base: str, href: str) -> str:
    """An href from a multistatus (caldav hands them unquoted) as a quoted server path."""
    quoted = quote(href, safe="/@:+,;=!$&'()*~%")
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
    raw = response.raw
    return _decoded(raw if isinstance(raw, bytes) else str(raw))
