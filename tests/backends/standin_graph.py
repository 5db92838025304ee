"""A loopback stand-in for Microsoft Graph v1.0 calendars and the identity platform's token endpoint.

Shapes come from tests/recorded/graph/ (Graph's documentation examples); behaviour follows the
documented contract: Bearer tokens, `/me/calendars`, events with `@odata.etag` and If-Match (412),
`transactionId` de-duplication, extended properties with $filter/$expand, `calendarView` and
`calendarView/delta` with paging, `@removed` rows and `$deltatoken`, 410 for a lost sync state,
429 with Retry-After. Assumptions are listed in tests/recorded/README.md.

Adversarial switches, each on by default (the worst the documentation allows):
- `removed_outside`: an event changed or moved outside a delta round's window comes as an
  `@removed` row with reason `deleted`, like a real deletion;
- `state_rounds`: a delta state is lost (410 `SyncStateNotFound`) after this many rounds;
- `throttle_every`: every n-th write answers 429 without Retry-After (0: off);
- `conflict_409`: every other stale If-Match answers 409 `ErrorIrresolvableConflict`, not 412;
- `sticky_transactions`: a `transactionId` seen before is answered 201 with the event it first
  created, even after that event was deleted (no new event).
"""

from __future__ import annotations

import base64
import copy
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from tests.backends.standin_http import Reply, Request

RECORDED = Path(__file__).resolve().parents[1] / "recorded" / "graph"


def _load(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


def _moment(value: dict[str, Any]) -> datetime:
    head = str(value["dateTime"]).split(".")[0]
    return datetime.fromisoformat(head).replace(tzinfo=UTC)


def _param(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class Graph:
    """The app behind StandIn. `root` is set by the fixture; Graph lives under `<root>/v1.0`."""

    def __init__(self) -> None:
        self.root = ""
        self.requests: list[Request] = []
        self.valid_tokens = {"eyJ0eXAi.standin-initial"}
        self.refresh_token = "0.AX0Astandin-refresh-1"
        self.issued = 0
        self.throttle: list[tuple[int, str | None]] = []
        self.version = 1
        self.log: list[tuple[int, str]] = []  # (version, event id)
        self.calendars: dict[str, dict[str, Any]] = {c["id"]: c for c in _load("calendars.json")["value"]}
        self.events: dict[str, dict[str, Any]] = {}  # id -> event (with "_calendar" and "_ext")
        self.transactions: dict[str, dict[str, Any]] = {}
        self.sent_mail: list[bytes] = []  # MIME messages handed to /me/sendMail
        self.imm_of: dict[str, str] = {}  # every REST id ever issued -> the event's immutable id
        self.immutable = False  # this request prefers IdType="ImmutableId" (ids that survive a move)
        self.removed_outside = True
        self.state_rounds = 4
        self.throttle_every = 5
        self.conflict_409 = True
        self.sticky_transactions = True
        self.refuse_calendar_delta = False  # a mode: calendars/{id}/calendarView/delta refused (beta-only path)
        self.writes = 0
        self.conflicts = 0
        self.state_floor = 0
        default = next(iter(self.calendars))
        seeds = [_load("event.json"), *_load("occurrences.json")["value"]]
        for ev in seeds:
            ev = {k: v for k, v in ev.items() if k != "@odata.context"}
            ev["_calendar"], ev["_ext"], ev["_imm"] = default, {}, ev["id"]
            self.events[ev["id"]] = ev

    @property
    def base(self) -> str:
        return f"{self.root}/v1.0"

    # -- what a user does in Outlook -------------------------------------------------------------

    def outlook_delete(self, event_id: str) -> None:
        del self.events[event_id]
        self._touch(event_id)

    def reset_sync_state(self) -> None:
        """Every delta state is lost (what 410 `SyncStateNotFound` reports)."""
        self.version += 1
        self.state_floor = self.version

    def outlook_trash(self, event_id: str) -> None:
        """Delete in Outlook: the event goes to Deleted Items, where its immutable id still answers a
        GET ([Obtain immutable identifiers](https://learn.microsoft.com/graph/outlook-immutable-id));
        its calendar's delta sees it removed."""
        ev = self.events[self._rest(event_id)]
        ev["_from"], ev["_calendar"] = ev["_calendar"], "deleteditems"
        self._touch(ev["id"])

    def outlook_move(self, event_id: str, calendar_id: str) -> str:
        """"Move to calendar": the event's REST id changes (its immutable id does not); the source
        calendar's delta sees it removed, the target's sees it new. Returns the new REST id."""
        ev = self.events.pop(self._rest(event_id))
        self._touch(ev["id"])
        self.version += 1
        ev["id"], ev["_calendar"] = f"AAMkAGIAAAmoved{self.version:05d}=", calendar_id
        self.imm_of[ev["id"]] = ev["_imm"]
        self.events[ev["id"]] = ev
        self._touch(ev["id"])
        self._new_etag(ev)
        return str(ev["id"])

    def outlook_copy(self, event_id: str, calendar_id: str) -> str:
        """"Copy": a new event (new ids, created now) that keeps every extended property."""
        ev = copy.deepcopy(self.events[self._rest(event_id)])
        self.version += 1
        ev["id"] = ev["_imm"] = f"AAMkAGIAAAcopy{self.version:05d}="
        ev["_calendar"], ev["createdDateTime"] = calendar_id, self._stamp()
        self.imm_of[ev["id"]] = ev["_imm"]
        self.events[ev["id"]] = ev
        self._touch(ev["id"])
        self._new_etag(ev)
        return str(ev["id"])

    def _rest(self, event_id: str) -> str:
        """The REST id of an event named by either of its ids."""
        if event_id in self.events:
            return event_id
        return next((i for i, e in self.events.items() if e.get("_imm") == event_id), event_id)

    def outlook_edit(self, event_id: str, **fields: Any) -> None:
        event_id = self._rest(event_id)
        self.events[event_id].update(fields)
        self._touch(event_id)
        self._new_etag(self.events[event_id])

    # -- plumbing --------------------------------------------------------------------------------

    def _json(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> Reply:
        return Reply(status, json.dumps(doc).encode(), {"Content-Type": "application/json; odata.metadata=minimal",
                                                        **(headers or {})})

    def _error(self, status: int, name: str, headers: dict[str, str] | None = None) -> Reply:
        return self._json(status, _load(name), headers)

    def _touch(self, event_id: str) -> None:
        self.version += 1
        self.log.append((self.version, event_id))

    def _stamp(self) -> str:
        return (datetime(2026, 3, 1, 10, tzinfo=UTC) + timedelta(seconds=self.version)).strftime(
            "%Y-%m-%dT%H:%M:%S.0000000Z")

    def _new_etag(self, ev: dict[str, Any]) -> None:
        key = f"standin{self.version:08d}{ev['id'][-6:]}=="
        ev["changeKey"], ev["@odata.etag"] = key, f'W/"{key}"'
        ev["lastModifiedDateTime"] = self._stamp()

    def _render(self, ev: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in ev.items() if not k.startswith("_")}
        if self.immutable:
            out["id"] = ev.get("_imm", ev["id"])  # (an event a test put in directly: one id)
        expand = query.get("$expand", "")
        if "calendar(" in expand or expand.split(",")[-1].strip() == "calendar":
            out["calendar"] = {"id": ev["_calendar"]}
        if "singleValueExtendedProperties" in expand:
            wanted = {m.lower() for m in re.findall(r"id eq '([^']*)'", expand)}
            props = [{"id": i, "value": v} for k, (i, v) in ev["_ext"].items() if not wanted or k in wanted]
            if props:
                out["singleValueExtendedProperties"] = props
        return out

    @staticmethod
    def _page_size(req: Request, default: int) -> int:
        m = re.search(r"odata\.maxpagesize=(\d+)", req.header("Prefer"))
        return int(m.group(1)) if m else default

    def _in_window(self, ev: dict[str, Any], start: datetime, end: datetime) -> bool:
        return _moment(ev["start"]) < end and _moment(ev["end"]) > start

    # -- dispatch --------------------------------------------------------------------------------

    def handle(self, req: Request) -> Reply:
        if req.path.endswith("/oauth2/v2.0/token") and req.method == "POST":
            return self._token(req)
        if self.throttle:
            status, retry = self.throttle.pop(0)
            return self._error(status, "error-429.json", {"Retry-After": retry} if retry is not None else {})
        if req.method in ("POST", "PATCH", "DELETE") and self.throttle_every:
            self.writes += 1
            if self.writes % self.throttle_every == 0:
                return self._error(429, "error-429.json")
        auth = req.header("Authorization")
        if not auth.startswith("Bearer ") or auth[7:] not in self.valid_tokens:
            return self._error(401, "error-401.json", {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'})
        self.immutable = 'idtype="immutableid"' in req.header("Prefer").lower()
        parts = [p for p in req.path.split("/") if p]
        if parts[:2] != ["v1.0", "me"]:
            return self._error(404, "error-404.json")
        rest = parts[2:]
        if rest == [] and req.method == "GET":
            return self._json(200, {"mail": "samanthab@contoso.com", "userPrincipalName": "samanthab@contoso.com"})
        if rest == ["sendMail"] and req.method == "POST":
            return self._send_mail(req)
        if rest == ["calendars"]:
            return self._calendars(req)
        if len(rest) >= 3 and rest[0] == "calendars" and rest[1] in self.calendars:
            cid, what = rest[1], rest[2:]
            if what == ["events"]:
                return self._events(req, cid)
            if what == ["calendarView"]:
                return self._view(req, cid)
            if what == ["calendarView", "delta"]:
                if self.refuse_calendar_delta:  # v1.0 documents delta for the primary calendar only
                    return self._json(400, {"error": {"code": "BadRequest",
                                                      "message": "Resource not found for the segment 'delta'."}})
                return self._delta(req, cid)
        if len(rest) == 2 and rest[0] == "events":
            return self._event(req, rest[1])
        return self._error(404, "error-404.json")

    def _send_mail(self, req: Request) -> Reply:
        """user: sendMail with MIME content: the base64 of the message, `Content-Type: text/plain`;
        202 Accepted and no body. Anything else is 400 (as Graph answers a MIME body it cannot read)."""
        if not req.header("Content-Type").startswith("text/plain"):
            return self._json(400, {"error": {"code": "ErrorMimeContentInvalidBase64String",
                                              "message": "Invalid base64 string for MIME content."}})
        try:
            mime = base64.b64decode(req.body, validate=True)
        except ValueError:
            return self._json(400, {"error": {"code": "ErrorMimeContentInvalidBase64String",
                                              "message": "Invalid base64 string for MIME content."}})
        self.sent_mail.append(mime)
        return Reply(202)

    def _token(self, req: Request) -> Reply:
        form = dict(parse_qsl(req.body.decode()))
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            doc = {"error": "invalid_grant", "error_description": "AADSTS70000: The provided grant is invalid."}
            return self._json(400, doc)
        self.issued += 1
        token, self.refresh_token = f"eyJ0eXAi.standin-{self.issued}", f"0.AX0Astandin-refresh-{self.issued + 1}"
        self.valid_tokens = {token}
        text = Template((RECORDED / "token.json").read_text()).substitute(access_token=token,
                                                                          refresh_token=self.refresh_token)
        return Reply(200, text.encode(), {"Content-Type": "application/json; charset=utf-8"})

    # -- calendars -------------------------------------------------------------------------------

    def _calendars(self, req: Request) -> Reply:
        if req.method == "GET":
            return self._json(200, {"@odata.context": f"{self.base}/$metadata#me/calendars",
                                    "value": list(self.calendars.values())})
        if req.method == "POST":
            name = json.loads(req.body)["name"]
            if any(c["name"] == name for c in self.calendars.values()):
                message = "A folder with the specified name already exists."
                return self._json(409, {"error": {"code": "ErrorFolderExists", "message": message}})
            cal = copy.deepcopy(next(iter(self.calendars.values())))
            cal.update(id=f"AAMkAGI2TGuL{len(self.calendars):03d}=", name=name, isDefaultCalendar=False,
                       isRemovable=True)
            self.calendars[cal["id"]] = cal
            return self._json(201, cal)
        return self._json(405, {"error": {"code": "BadRequest", "message": "Method not allowed"}})

    # -- events ----------------------------------------------------------------------------------

    def _events(self, req: Request, cid: str) -> Reply:
        if req.method == "POST":
            return self._create(req, cid)
        found = [e for e in self.events.values() if e["_calendar"] == cid]
        flt = req.query.get("$filter", "")
        if flt:
            m = re.search(r"ep/id eq '((?:[^']|'')*)' and ep/value eq '((?:[^']|'')*)'", flt)
            if not m:
                return self._json(400, {"error": {"code": "BadRequest", "message": "Invalid filter clause"}})
            key, value = m.group(1).replace("''", "'").lower(), m.group(2).replace("''", "'")
            found = [e for e in found if e["_ext"].get(key, ("", None))[1] == value]
        return self._json(200, {"value": [self._render(e, req.query) for e in found]})

    def _create(self, req: Request, cid: str) -> Reply:
        body = json.loads(req.body)
        tx = body.get("transactionId")
        if tx and tx in self.transactions:
            first = self.transactions[tx]
            if first["id"] in self.events:
                return self._json(201, self._render(self.events[first["id"]], {}))
            if self.sticky_transactions:  # a duplicate of an attempt whose event is gone: nothing new
                return self._json(201, self._render(first, {}))
        for key in ("start", "end"):
            if "dateTime" not in body.get(key, {}) or "timeZone" not in body.get(key, {}):
                return self._json(400, {"error": {"code": "ErrorInvalidRequest", "message": f"{key} is required"}})
        template = {k: v for k, v in _load("event.json").items() if k != "@odata.context"}
        ev = copy.deepcopy(template)
        self.version += 1
        ev.update(id=f"AAMkAGIAAAstandin{self.version:05d}=", createdDateTime=self._stamp(),
                  iCalUId=f"040000008200E00074C5B7101A82E008000000000000000000000000000000001000000{self.version:016X}",
                  attendees=[],
                  organizer={"emailAddress": {"name": "Samantha Booth", "address": "samanthab@contoso.com"}},
                  isOrganizer=True, responseStatus={"response": "organizer", "time": "0001-01-01T00:00:00Z"})
        ext = body.pop("singleValueExtendedProperties", [])
        ev.update({k: v for k, v in body.items()})
        ev["_calendar"], ev["_ext"] = cid, {p["id"].lower(): (p["id"], p["value"]) for p in ext}
        ev["_imm"] = ev["id"]
        self.imm_of[ev["id"]] = ev["id"]
        self._new_etag(ev)
        self.events[ev["id"]] = ev
        if tx:
            self.transactions[tx] = ev
        self._touch(ev["id"])
        return self._json(201, self._render(ev, {}))

    def _event(self, req: Request, event_id: str) -> Reply:
        if self.immutable:
            event_id = self._rest(event_id)
        ev = self.events.get(event_id)
        if ev is None:
            return self._error(404, "error-404.json")
        if req.method == "GET":
            return self._json(200, self._render(ev, req.query))
        match = req.header("If-Match")
        if match and match != ev["@odata.etag"]:
            self.conflicts += 1
            return self._error(409 if self.conflict_409 and self.conflicts % 2 else 412, "error-412.json")
        if req.method == "DELETE":
            del self.events[event_id]
            self._touch(event_id)
            return Reply(204)
        if req.method == "PATCH":
            body = json.loads(req.body)
            for p in body.pop("singleValueExtendedProperties", []):
                ev["_ext"][p["id"].lower()] = (p["id"], p["value"])
            ev.update(body)
            self._touch(event_id)
            self._new_etag(ev)
            return self._json(200, self._render(ev, {}))
        return self._json(405, {"error": {"code": "BadRequest", "message": "Method not allowed"}})

    # -- views -----------------------------------------------------------------------------------

    def _view(self, req: Request, cid: str) -> Reply:
        start, end = _param(req.query["startDateTime"]), _param(req.query["endDateTime"])
        found = sorted((e for e in self.events.values() if e["_calendar"] == cid and self._in_window(e, start, end)),
                       key=lambda e: (_moment(e["start"]), e["id"]))
        skip, size = int(req.query.get("$skip", "0")), self._page_size(req, 10)
        doc: dict[str, Any] = {"value": [self._render(e, req.query) for e in found[skip:skip + size]]}
        if skip + size < len(found):
            query = {k: v for k, v in req.query.items() if k != "$skip"}
            doc["@odata.nextLink"] = f"{self.base}/me/calendars/{quote(cid, safe='')}/calendarView?" + urlencode(
                {**query, "$skip": str(skip + size)})
        return self._json(200, doc)

    def _delta(self, req: Request, cid: str) -> Reply:
        link = f"{self.base}/me/calendars/{quote(cid, safe='')}/calendarView/delta"
        if "$deltatoken" in req.query or "$skiptoken" in req.query:
            state = req.query.get("$deltatoken") or req.query["$skiptoken"]
            m = re.fullmatch(r"v(\d+)-s(\d+)-e(\d+)-r(\d+)(?:-o(\d+)-t(\d+))?", state)
            if not m or not self.state_floor <= int(m.group(1)) <= self.version or (
                    self.state_rounds and "$deltatoken" in req.query and int(m.group(4)) >= self.state_rounds):
                return self._error(410, "error-410.json")
            since, start, end, rounds = int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))
            offset, top = int(m.group(5) or 0), int(m.group(6) or self.version)
        else:
            since, start, rounds = 0, int(_param(req.query["startDateTime"]).timestamp()), 0
            end, offset, top = int(_param(req.query["endDateTime"]).timestamp()), 0, self.version
        window = (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
        if since == 0:
            ordered = sorted(self.events.values(), key=lambda e: e["id"])
            rows: list[dict[str, Any]] = [self._render(e, {}) for e in ordered
                                          if e["_calendar"] == cid and self._in_window(e, *window)]
        else:
            rows = []
            for event_id in sorted({i for v, i in self.log if since < v <= top}):
                ev = self.events.get(event_id)
                shown = self.imm_of.get(event_id, event_id) if self.immutable else event_id
                removed = json.loads(Template((RECORDED / "delta-removed.json").read_text()).substitute(id=shown))
                alive = self.events.get(self._rest(shown)) if self.immutable and ev is None else None
                if alive is not None and alive["_calendar"] == cid:
                    continue  # its REST id changed (a move), its immutable id lives here: listed as itself
                if ev is None or (ev["_calendar"] != cid and ev.get("_from") == cid):  # gone, or trashed
                    rows.append(removed)
                elif ev["_calendar"] == cid and self._in_window(ev, *window):
                    rows.append(self._render(ev, {}))
                elif ev["_calendar"] == cid and self.removed_outside:  # moved out of the window
                    rows.append(removed)
        size = self._page_size(req, 10)
        doc: dict[str, Any] = {"@odata.context": f"{self.base}/$metadata#Collection(event)",
                               "value": rows[offset:offset + size]}
        if offset + size < len(rows):
            doc["@odata.nextLink"] = f"{link}?$skiptoken=v{since}-s{start}-e{end}-r{rounds}-o{offset + size}-t{top}"
        else:
            doc["@odata.deltaLink"] = f"{link}?$deltatoken=v{top}-s{start}-e{end}-r{rounds + 1}"
        return self._json(200, doc)
