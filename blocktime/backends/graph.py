"""Outlook.com / Microsoft 365 through Microsoft Graph (they have no CalDAV).

Calendars are `/me/calendars`, events `/me/calendars/{id}/events`, busy time comes from
`calendarView` (recurring series arrive expanded) and changes from `calendarView/delta`.
Graph assigns event ids itself, so the href of an event blocktime writes is
`<calendar>/events#uid=<UID>`, found again through an extended property holding the UID; events
seen through `list_range` and `changes` have `<base>/me/events/<id>`. Both forms work everywhere.

Creation looks the UID up first (Graph has no If-None-Match) and posts with a `transactionId` that
is new for every creation attempt and sent again only when that same POST is retried, so a lost
answer does not create a second event and a slot booked again after a deletion is not taken for a
duplicate. Updates and deletes carry If-Match with `@odata.etag`; a stale one answers 412 or 409
`ErrorIrresolvableConflict`, both a ConflictError. 429 and 503 answers are retried after
Retry-After, or after an exponential back-off with jitter when there is none.

`calendarView/delta` covers its window only, the window the round started with: `@removed` rows
also stand for events moved or changed outside it, so what they report is a candidate for deletion,
never a fact (the sync confirms it). A round is renewed with the current window once its window has
fallen `RENEW` behind, and sooner when one of blocktime's events comes within `EDGE` of its end.
Invites: the Graph event carries no attendees (Outlook would mail its own invitations); blocktime
sends the invites itself as iMIP.

`calendars/{id}/calendarView/delta` is documented in v1.0 only for the primary calendar
(`/me/calendarView/delta`); for other calendars only the beta documents it. Should Graph refuse it,
a round compares windowed `calendarView` reads instead (each event's `changeKey` against the last
read's: new or changed ones are changes, ones no longer listed in the window are candidates for
deletion, confirmed as with delta), probed again when the round is renewed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from blocktime.backends.base import AlreadyExists, CalendarInfo, Changes, StoredObject
from blocktime.backends.graph_http import GraphClient
from blocktime.backends.graph_ics import ICS_PROP, UID_PROP, extended, from_graph, to_graph
from blocktime.backends.graph_state import VIEW, DeltaState, due, read_token, start_of, write_token
from blocktime.errors import ConflictError, ServerError

GRAPH = "https://graph.microsoft.com/v1.0"


def graph_base(provider: str, url: str | None) -> str:
    """Where Microsoft Graph is for an account: the calendar's own URL for an Outlook calendar that
    names one (a national cloud, a stand-in), else the public endpoint (mail of any account)."""
    return (url or GRAPH) if provider == "outlook" else GRAPH

_EXPAND = f"singleValueExtendedProperties($filter=id eq '{UID_PROP}' or id eq '{ICS_PROP}')"
_EXPAND_HOME = f"{_EXPAND},calendar($select=id)"  # and the calendar that holds it
BULK = 20  # more changed events than this are read through one calendarView pass


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GraphBackend:
    """The CalendarBackend protocol over Microsoft Graph v1.0; `auth.token()` gives a Bearer token."""

    def __init__(
        self,
        auth: Any,
        *,
        base: str = GRAPH,
        verify_tls: bool = True,
        timeout: float = 30,
        window: tuple[datetime, datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 5,
    ) -> None:
        self.base = base.rstrip("/")
        self.url = self.base
        self.http = GraphClient(auth, self.base, verify_tls=verify_tls, timeout=timeout, sleep=sleep,
                                attempts=attempts)
        self.window = window
        self._ids: dict[tuple[str, str], str] = {}  # (calendar url, UID) -> the event id blocktime's UID names
        self._calendars: list[CalendarInfo] | None = None
        self.delta_refused = False  # calendarView/delta refused: rounds compare calendarView reads

    # -- hrefs -----------------------------------------------------------------------------------

    def _event_url(self, event_id: str) -> str:
        return f"{self.base}/me/events/{quote(event_id, safe='')}"

    def href_for(self, calendar: CalendarInfo, uid: str) -> str:
        return f"{calendar.url}/events#uid={quote(uid, safe='@')}"

    def _split(self, href: str) -> tuple[str | None, str | None, str | None]:
        """(calendar url, uid, event id) of either href form."""
        if "/events#uid=" in href:
            cal, uid = href.split("/events#uid=", 1)
            uid = unquote(uid)
            return cal, uid, self._ids.get((cal, uid))
        return None, None, unquote(href.rstrip("/").rsplit("/", 1)[-1])

    def _find(self, calendar_url: str, uid: str) -> dict[str, Any] | None:
        """The event carrying blocktime's UID property `uid` in that calendar. A copy made in Outlook
        keeps the property, so two may carry it: the first created is blocktime's, never the copy."""
        value = uid.replace("'", "''")
        params = {"$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{UID_PROP}' and ep/value eq '{value}')",
                  "$expand": _EXPAND}
        r = self.http.request("GET", f"{calendar_url}/events", params=params)
        if r.status_code != 200:
            self.http.fail(r, f"looking up event {uid}")
        found = r.json().get("value") or []
        return min(found, key=lambda ev: (str(ev.get("createdDateTime") or ""), str(ev["id"]))) if found else None

    def _resolve(self, href: str) -> dict[str, Any] | None:
        cal, uid, event_id = self._split(href)
        if event_id is not None:
            r = self.http.request("GET", self._event_url(event_id), params={"$expand": _EXPAND_HOME})
            event: dict[str, Any] = r.json() if r.status_code == 200 else {}
            if event and self._in_account(event):  # (not in Deleted Items: see below; read by its own id it
                return self._remember(cal, event) if cal is not None else event  # may be a copy: not remembered)
            if r.status_code not in (200, 404, 410):
                self.http.fail(r, "reading an event")
            if uid is None:
                return None
            self._ids.pop((str(cal), uid), None)
        assert cal is not None and uid is not None
        found = self._find(cal, uid)
        return self._remember(cal, found) if found else None

    def _in_account(self, event: dict[str, Any]) -> bool:
        """Whether the event is in one of the account's calendars (an event deleted in Outlook sits in
        Deleted Items, where its immutable id still answers); unknown (no `calendar` given): yes."""
        where = (event.get("calendar") or {}).get("id")
        if not where:
            return True
        ids = {unquote(c.url.rstrip("/").rsplit("/", 1)[-1]) for c in self.calendars()}
        return str(where) in ids

    def _remember(self, cal: str, event: dict[str, Any]) -> dict[str, Any]:
        uid = extended(event).get(UID_PROP)
        if uid:
            self._ids[(cal, uid)] = str(event["id"])
        return event

    def _object(self, event: dict[str, Any], href: str | None = None) -> StoredObject:
        etag = event.get("@odata.etag")
        return StoredObject(href or self._event_url(str(event["id"])), str(etag) if etag else None, from_graph(event),
                            key=str(event["id"]))

    # -- the protocol ----------------------------------------------------------------------------

    def calendars(self) -> list[CalendarInfo]:
        if self._calendars is None:
            out = []
            for page in self.http.pages(f"{self.base}/me/calendars", {"$select": "id,name"}, "listing calendars"):
                for cal in page.get("value", []):
                    out.append(CalendarInfo(f"{self.base}/me/calendars/{quote(str(cal['id']), safe='')}",
                                            str(cal.get("name", ""))))
            self._calendars = out
        return list(self._calendars)

    def ensure_calendar(self, name: str) -> CalendarInfo:
        for info in self.calendars():
            if name in (info.name, unquote(info.url.rsplit("/", 1)[-1])):
                return info
        r = self.http.request("POST", f"{self.base}/me/calendars", body={"name": name})
        if r.status_code not in (200, 201):
            self.http.fail(r, f"creating calendar {name!r}")
        self._calendars = None
        return CalendarInfo(f"{self.base}/me/calendars/{quote(str(r.json()['id']), safe='')}", name)

    def create(self, href: str, data: str) -> str | None:
        cal, href_uid, _ = self._split(href)
        if cal is None or href_uid is None:
            raise ServerError(f"{href} is not a place to create an event", "use href_for()")
        uid, body = to_graph(data)
        if uid != href_uid:  # the href names another UID: refuse like a CalDAV server would
            if self._find(cal, uid) is not None:
                raise AlreadyExists(href, elsewhere=True)
            raise ServerError(f"{href} is not the place of event {uid}", "use href_for() with the event's UID")
        if self._resolve(href) is not None:  # Graph has no If-None-Match: look first
            raise AlreadyExists(href)
        body["transactionId"] = str(uuid.uuid4())  # this attempt's: GraphClient resends it on retries only
        r = self.http.request("POST", f"{cal}/events", body=body)
        if r.status_code not in (200, 201):
            self.http.fail(r, f"creating event {uid}")
        event = r.json()
        self._ids[(cal, uid)] = str(event["id"])
        etag = event.get("@odata.etag")
        return str(etag) if etag else None

    def _id_of(self, href: str) -> str | None:
        _cal, uid, event_id = self._split(href)
        if event_id is not None or uid is None:
            return event_id
        found = self._resolve(href)
        return str(found["id"]) if found else None

    def update(self, href: str, data: str, etag: str) -> str | None:
        event_id = self._id_of(href)
        if event_id is None:
            raise ServerError(f"{href} is no longer on the calendar", "was it deleted in Outlook?")
        _uid, body = to_graph(data)
        r = self.http.request("PATCH", self._event_url(event_id), body=body, headers={"If-Match": etag})
        if self.http.conflict(r):
            raise ConflictError(f"{href} was changed by someone else", "re-read and merge")
        if r.status_code != 200:
            self.http.fail(r, "updating an event")
        new = r.json().get("@odata.etag")
        return str(new) if new else None

    def delete(self, href: str, etag: str | None) -> None:
        event_id = self._id_of(href)
        if event_id is None:
            return
        r = self.http.request("DELETE", self._event_url(event_id), headers={"If-Match": etag} if etag else None)
        if self.http.conflict(r):
            raise ConflictError(f"{href} was changed by someone else", "re-read and merge")
        if r.status_code not in (200, 204, 404, 410):
            self.http.fail(r, "deleting an event")

    def get(self, href: str) -> StoredObject | None:
        event = self._resolve(href)
        return None if event is None else self._object(event, href)

    def _listed(self, calendar: CalendarInfo, event: dict[str, Any], *, check: bool = False) -> StoredObject:
        """An event seen in a listing: blocktime's own under the href it was created at; with
        `check` (a sync round), only when it is the one `_find` takes for its UID there, and a copy
        made in Outlook (the same UID property) under its own id."""
        uid = extended(event).get(UID_PROP)
        if uid and check:
            known = self._ids.get((calendar.url, uid))
            if known != str(event["id"]):
                first = self._find(calendar.url, uid)
                known = str(self._remember(calendar.url, first)["id"]) if first is not None else None
            if known != str(event["id"]):
                return self._object(event, self._event_url(str(event["id"])))
        return self._object(event, self.href_for(calendar, uid) if uid else None)

    def list_range(self, calendar: CalendarInfo, start: datetime, end: datetime) -> list[StoredObject]:
        params = {"startDateTime": _iso(start), "endDateTime": _iso(end), "$expand": _EXPAND}
        out: list[StoredObject] = []
        for page in self.http.pages(f"{calendar.url}/calendarView", params, f"reading calendar {calendar.name!r}"):
            out.extend(self._listed(calendar, ev) for ev in page.get("value", []))
        return out

    def find_uid(self, calendar: CalendarInfo, uid: str) -> StoredObject | None:
        found = self._find(calendar.url, uid)
        return None if found is None else self._listed(calendar, self._remember(calendar.url, found))

    def change_tag(self, calendar: CalendarInfo) -> str | None:
        """None: Graph has no collection tag, and a delta round with nothing new is one request too."""
        return None

    def change_tags(self, calendars: list[CalendarInfo]) -> dict[str, str | None]:
        return dict.fromkeys((c.url for c in calendars), None)

    def changes(self, calendar: CalendarInfo, token: str | None) -> Changes:
        """calendarView/delta over `window`; an expired delta state (410, syncStateNotFound) or
        one due for renewal (`_due`) starts a new round, complete within its window only."""
        state = read_token(token) if token else DeltaState(None)
        link = state.link
        if link == VIEW and not due(state, self.window):
            return self._view(calendar, state)
        if link is not None and link.startswith(self.base + "/") and "/delta" in link and not due(state, self.window):
            done = self._delta(calendar, link, state)
            if done is not None:
                return done
        if self.window is None:
            raise ServerError("Microsoft Graph changes need a time window", "construct GraphBackend with window=")
        start, end = self.window
        first = f"{calendar.url}/calendarView/delta?startDateTime={_iso(start)}&endDateTime={_iso(end)}"
        done = self._delta(calendar, first, DeltaState(None, {}, self.window), complete=True)
        if done is None:  # the delta path refused: compare calendarView reads (its first round lists all)
            self.delta_refused = True
            return self._view(calendar, DeltaState(VIEW, dict(state.ids), self.window, dict(state.starts),
                                                   dict(state.keys)))
        return done

    def _view(self, calendar: CalendarInfo, state: DeltaState) -> Changes:
        """A round without delta: the window's events read through calendarView, each compared by
        `changeKey` with the last read (complete within the window: absence is checked as usual)."""
        assert state.window is not None
        params = {"startDateTime": _iso(state.window[0]), "endDateTime": _iso(state.window[1]), "$expand": _EXPAND}
        seen: dict[str, dict[str, Any]] = {}
        for page in self.http.pages(f"{calendar.url}/calendarView", params, f"reading calendar {calendar.name!r}"):
            seen.update((str(ev["id"]), ev) for ev in page.get("value", []))  # an occurrence has an id of its own
        ids, starts = dict(state.ids), dict(state.starts)
        keys = {i: str(ev.get("changeKey") or ev.get("@odata.etag") or ev.get("lastModifiedDateTime") or "")
                for i, ev in seen.items()}
        objects = []
        for event_id, ev in seen.items():
            if state.keys.get(event_id) == keys[event_id]:
                continue
            uid = extended(ev).get(UID_PROP)
            if uid:
                ids[event_id] = uid
                if (start := start_of(ev)) is not None:
                    starts[event_id] = start
            objects.append(self._listed(calendar, ev, check=True))
        gone = []
        for event_id in set(state.keys) - set(seen):
            uid = ids.pop(event_id, None)
            starts.pop(event_id, None)
            gone.append(self.href_for(calendar, uid) if uid else self._event_url(event_id))
        new = DeltaState(VIEW, ids, state.window, starts, keys)
        # complete (absence implied) on the first read only; later, what left the window is in `gone`
        return Changes(tuple(objects), tuple(gone), write_token(new), complete=not state.keys, window=state.window)

    def _delta(self, calendar: CalendarInfo, url: str, state: DeltaState,
               complete: bool = False) -> Changes | None:
        ids, starts = dict(state.ids), dict(state.starts)
        changed: dict[str, None] = {}
        deleted: dict[str, None] = {}
        next_url: str | None = url
        token = url
        while next_url:
            r = self.http.get_page(next_url)
            if r.status_code in (400, 404, 410) and not complete:  # sync state gone: start a new round
                return None
            if complete and next_url == url and r.status_code in (400, 403, 404, 405, 501):
                return None  # the delta path itself refused (see the module docstring)
            if r.status_code != 200:
                self.http.fail(r, f"syncing calendar {calendar.name!r}")
            page = r.json()
            for row in page.get("value", []):
                row_id = str(row["id"])
                if "@removed" in row:  # deleted, or moved/changed outside the window: the caller checks
                    changed.pop(row_id, None)
                    deleted[row_id] = None
                else:
                    deleted.pop(row_id, None)
                    changed[row_id] = None
            next_url = page.get("@odata.nextLink")
            token = page.get("@odata.deltaLink") or token
        objects = []
        for event_id, event in self._fetch(calendar, list(changed)).items():
            if event is None:
                deleted[event_id] = None
                continue
            uid = extended(event).get(UID_PROP)
            if uid:
                ids[event_id] = uid
                start = start_of(event)
                if start:
                    starts[event_id] = start
            objects.append(self._listed(calendar, event, check=True))
        gone = []
        for event_id in deleted:
            uid = ids.pop(event_id, None)
            starts.pop(event_id, None)
            gone.append(self.href_for(calendar, uid) if uid else self._event_url(event_id))
        new = DeltaState(token, ids, state.window, starts)
        return Changes(tuple(objects), tuple(gone), write_token(new), complete=complete, window=state.window)

    def _fetch(self, calendar: CalendarInfo, ids: list[str]) -> dict[str, dict[str, Any] | None]:
        """The changed events with blocktime's extended properties (delta rows lack them): one
        calendarView pass for many, one GET each for a few; None for an event gone meanwhile."""
        found: dict[str, dict[str, Any] | None] = {}
        if len(ids) > BULK and self.window is not None:
            wanted = set(ids)
            params = {"startDateTime": _iso(self.window[0]), "endDateTime": _iso(self.window[1]), "$expand": _EXPAND}
            for page in self.http.pages(f"{calendar.url}/calendarView", params, f"reading calendar {calendar.name!r}"):
                found.update((str(ev["id"]), ev) for ev in page.get("value", []) if str(ev["id"]) in wanted)
        for event_id in ids:
            if event_id in found:
                continue
            got = self.http.request("GET", self._event_url(event_id), params={"$expand": _EXPAND})
            if got.status_code in (404, 410):
                found[event_id] = None
            elif got.status_code != 200:
                self.http.fail(got, "reading a changed event")
            else:
                found[event_id] = got.json()
        return {i: found[i] for i in ids}

    @property
    def requests(self) -> int:
        return self.http.requests

    def close(self) -> None:
        self.http.close()
