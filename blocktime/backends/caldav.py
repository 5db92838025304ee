"""CalDAV backend (python `caldav` for discovery; conditional PUT/DELETE done directly).

Creation is a PUT to a UID-derived href with ``If-None-Match: *`` (RFC 7232 §3.2): one request,
never an overwrite. Updates and deletes carry ``If-Match`` with the stored ETag.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from blocktime.backends.base import AlreadyExists, CalendarInfo, StoredObject
from blocktime.errors import BadInput, ConflictError, ServerError

_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""

_TEXT_CALENDAR = "text/calendar; charset=utf-8"


def safe_url(url: str) -> str:
    """The URL without any user:password part, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class CalDAVBackend:
    """A CalDAV account: every calendar is read for busy time; blocks go to one of them."""

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        verify_tls: bool = True,
        timeout: int = 30,
    ) -> None:
        import caldav

        if not urlsplit(url).scheme.startswith("http"):
            raise BadInput(f"calendar url {safe_url(url)!r} is not an http(s) URL")
        self.url = url
        self.requests = 0
        client_class: Any = caldav.DAVClient
        self.client: Any = client_class(
            url=url,
            username=username,
            password=password,
            auth_type="basic" if username else None,
            timeout=timeout,
            ssl_verify_cert=verify_tls,
            enable_rfc6764=False,
            require_tls=False,
        )
        self.client.session.hooks.setdefault("response", []).append(self._count)
        self._principal: Any = None
        self._calendars: list[Any] | None = None

    def _count(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        return response

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        from caldav.lib import error as caldav_error

        try:
            yield
        except (ServerError, ConflictError, AlreadyExists, BadInput):
            raise
        except caldav_error.AuthorizationError:
            raise ServerError(
                f"the calendar server at {safe_url(self.url)} refused the username or password",
                "check [calendar] username and password",
            ) from None
        except caldav_error.DAVError as exc:
            reason = getattr(exc, "reason", "") or type(exc).__name__
            raise ServerError(f"{what} failed at {safe_url(self.url)}: {reason}") from None
        except OSError as exc:
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
            raise

    def _raw(self) -> list[Any]:
        if self._calendars is None:
            with self._guard("listing calendars"):
                if self._principal is None:
                    self._principal = self.client.get_principal()
                self._calendars = list(self._principal.get_calendars())
        return self._calendars

    def calendars(self) -> list[CalendarInfo]:
        out = []
        with self._guard("listing calendars"):
            for cal in self._raw():
                with warnings.catch_warnings():  # `name` is the displayname already fetched
                    warnings.simplefilter("ignore", DeprecationWarning)
                    name = cal.name or str(cal.url).rstrip("/").rsplit("/", 1)[-1]
                out.append(CalendarInfo(str(cal.url), str(name)))
        return out

    def ensure_calendar(self, name: str) -> CalendarInfo:
        for info in self.calendars():
            if info.name == name:
                return info
        with self._guard(f"creating calendar {name!r}"):
            cal = self._principal.make_calendar(name=name)
        self._calendars = None
        return CalendarInfo(str(cal.url), name)

    def href_for(self, calendar: CalendarInfo, uid: str) -> str:
        base = calendar.url if calendar.url.endswith("/") else calendar.url + "/"
        return urljoin(base, quote(uid.split("@", 1)[0], safe="") + ".ics")

    def _put(self, href: str, data: str, condition: dict[str, str]) -> Any:
        with self._guard("saving an event"):
            return self.client.request(
                href, "PUT", data, {"Content-Type": _TEXT_CALENDAR, **condition}
            )

    def create(self, href: str, data: str) -> str | None:
        r = self._put(href, data, {"If-None-Match": "*"})
        if r.status in (200, 201, 204):
            return _etag(r)
        if r.status == 412:
            raise AlreadyExists(href)
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
            r = self.client.request(href, "DELETE", "", headers)
        if r.status == 412:
            raise ConflictError(f"{href} was changed by someone else", "re-read and merge")
        if r.status not in (200, 204, 404):
            raise ServerError(f"the server refused to delete {href} (HTTP {r.status})")

    def get(self, href: str) -> StoredObject | None:
        with self._guard("reading an event"):
            r = self.client.request(href, "GET")
        if r.status == 404:
            return None
        if r.status != 200:
            raise ServerError(f"the server refused to read {href} (HTTP {r.status})")
        return StoredObject(href, _etag(r), _text(r))

    def list_range(self, calendar: CalendarInfo, start: datetime, end: datetime) -> list[StoredObject]:
        body = _QUERY.format(start=_utc(start), end=_utc(end))
        with self._guard(f"reading calendar {calendar.name!r}"):
            r = self.client.report(calendar.url, body, depth=1)
            results = r.parse_calendar_query()
        base = calendar.url
        return [
            StoredObject(urljoin(base, x.href), x.etag, x.calendar_data)
            for x in results
            if x.calendar_data and x.status == 200
        ]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()


def _utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _etag(response: Any) -> str | None:
    value = response.headers.get("ETag") or response.headers.get("etag")
    return str(value) if value else None


def _text(response: Any) -> str:
    raw = response.raw
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
