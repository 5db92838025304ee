"""Events on a CalDAV server: creation as a PUT to a UID-derived href with ``If-None-Match: *``
(RFC 7232 §3.2: one request, never an overwrite), updates and deletes with ``If-Match``, reading one
object, and calendar-query REPORTs (RFC 4791 §7.8) by time range or by UID.

Some servers name the objects they store themselves (Google; others answer a PUT without a
Location header and keep the object elsewhere). So an href that answers 404 is looked up by UID
before it counts as gone (the UID written there this run, else the one blocktime's href names:
`<UID up to the @>.ics`, see `href_for`), and the object's real href is used from then on; a
DELETE answered 404 is checked the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urljoin

from blocktime.backends.base import AlreadyExists, CalendarInfo, StoredObject, uid_of
from blocktime.backends.caldav.connection import absolute, body_text, decoded, log, xml_text
from blocktime.backends.caldav.discovery import Discovery
from blocktime.backends.davhttp import AuthorizationError, path_of
from blocktime.errors import ConflictError, ServerError

_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">{range}
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""
_RANGE = '\n    <C:time-range start="{start}" end="{end}"/>'
_UID_FILTER = ('\n    <C:prop-filter name="UID"><C:text-match collation="i;octet">{uid}</C:text-match>'
               '</C:prop-filter>')
_TEXT_CALENDAR = "text/calendar; charset=utf-8"
_UID_CONFLICT = "{urn:ietf:params:xml:ns:caldav}no-uid-conflict"


class Objects(Discovery):
    """Conditional writes and reads of the events in the account's calendars."""

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
        self._wrote(href, data, r)
        return self._created(href, r)

    def _wrote(self, href: str, data: str, r: Any) -> None:
        """Remember what went to `href`, and where the server says it keeps it (Location)."""
        if r.status not in (200, 201, 204):
            return
        self.written[href] = uid_of(data) or ""
        location = r.headers.get("Location")
        if location and path_of(location) != href:
            self.moved[href] = path_of(location)

    def _created(self, href: str, r: Any) -> str | None:
        if r.status in (200, 201, 204):
            return _etag(r)
        if r.status == 412:  # the href exists, or (Xandikos) the UID lives at another href
            raise AlreadyExists(href, elsewhere=self.get(href) is None)
        if r.status in (403, 409):
            raise AlreadyExists(href, elsewhere=True)
        raise ServerError(f"the server refused to create {href} (HTTP {r.status})")

    def update(self, href: str, data: str, etag: str) -> str | None:
        r = self._put(self.moved.get(href, href), data, {"If-Match": etag})
        if r.status in (200, 201, 204):
            return _etag(r)
        if r.status == 412:
            raise ConflictError(f"{href} was changed by someone else", "re-read and merge")
        raise ServerError(f"the server refused to update {href} (HTTP {r.status})")

    def delete(self, href: str, etag: str | None) -> None:
        target = self.moved.get(href, href)
        r = self._delete(target, etag)
        # gone, or kept under another name? (If-Match on a name that holds nothing answers 412)
        if r.status in (404, 410, 412) and href not in self.moved:
            located = self._locate(href)
            if located is not None and located.href != target:
                self.moved[href] = located.href
                r = self._delete(located.href, etag)
        if r.status == 412:
            raise ConflictError(f"{href} was changed by someone else", "re-read and merge")
        if r.status not in (200, 204, 404, 410):
            raise ServerError(f"the server refused to delete {href} (HTTP {r.status})")

    def _delete(self, href: str, etag: str | None) -> Any:
        headers = {"If-Match": etag} if etag else {}
        with self._guard("deleting an event"):
            return self.client.request(self._url(href), "DELETE", "", headers)

    def get(self, href: str) -> StoredObject | None:
        """The object at `href`, or where the server has put it since (found by UID)."""
        found = self._get(self.moved.get(href, href))
        if found is not None:
            return found
        located = self._locate(href)
        if located is not None:
            self.moved[href] = located.href
        return located

    def _get(self, href: str) -> StoredObject | None:
        with self._guard("reading an event"):
            r = self.client.request(self._url(href), "GET")
        if r.status in (404, 410):
            return None
        if r.status != 200:
            raise ServerError(f"the server refused to read {href} (HTTP {r.status})")
        return StoredObject(href, _etag(r), body_text(r))

    def _locate(self, href: str) -> StoredObject | None:
        """The object blocktime wrote at `href`, searched by UID in its calendar: the UID written
        there this run, else the one blocktime's href names (`<UID up to the @>.ics`); None for
        any other href (blocktime looks only for its own objects)."""
        cal = CalendarInfo(href.rsplit("/", 1)[0] + "/", "")
        uid = self.written.get(href)
        if uid:
            return self.find_uid(cal, uid)
        stem = unquote(href.rsplit("/", 1)[-1]).removesuffix(".ics")
        if not stem or not href.endswith(".ics"):
            return None
        for obj in self.uid_search(cal, stem):
            got = uid_of(obj.data) or ""
            if got == stem or got.startswith(stem + "@"):
                return obj
        return None

    def _query(self, calendar: CalendarInfo, time_range: str) -> list[StoredObject]:
        with self._guard(f"reading calendar {calendar.name!r}"):
            r = self.client.request(self._url(calendar.url), "REPORT", _QUERY.format(range=time_range), {"Depth": "1"})
            results = r.calendar_query()
        return [
            StoredObject(absolute(calendar.url, x.href), x.etag, decoded(x.calendar_data))
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
        body = _QUERY.format(range=_UID_FILTER.format(uid=xml_text(uid)))
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
        return [StoredObject(absolute(calendar.url, x.href), x.etag, x.calendar_data)
                for x in results if x.calendar_data and x.status == 200]

    def list_range(self, calendar: CalendarInfo, start: datetime, end: datetime) -> list[StoredObject]:
        return self._query(calendar, _RANGE.format(start=_utc(start), end=_utc(end)))


def _utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _etag(response: Any) -> str | None:
    value = response.headers.get("ETag") or response.headers.get("etag")
    return str(value) if value else None
