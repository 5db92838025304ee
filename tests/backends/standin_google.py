"""A loopback stand-in for Google's CalDAV endpoint (apidata.googleusercontent.com/caldav/v2).

It answers in the shapes of tests/recorded/google/ and behaves as Google's CalDAV guide says:
OAuth2 Bearer only, no MKCALENDAR, no If-None-Match (the header is ignored: a PUT overwrites),
If-Match honoured, no free-busy-query, sync-collection supported, X- properties dropped.
Assumptions the guide does not settle are listed in tests/recorded/README.md.

Adversarial switches, each on by default (the worst the documentation allows):
- `rename`: "uid" stores a new object as `<UID>.ics` whatever name was PUT ("opaque": a name of
  its own; "": keeps the name);
- `quota_every`: every n-th write is refused for quota, alternating 403 `rateLimitExceeded` /
  `userRateLimitExceeded` and 429, none with Retry-After (0: off);
- `drop_x`: X- properties inside events are dropped;
- `html_description`: DESCRIPTION is HTML: a plain line break is whitespace and comes back as a
  space (what Google shows, and what an edit in the web UI saves); `<br>` survives;
- `hidden`: calendars of the account not enabled on the sync-select page: absent from the home
  listing, but reachable at their documented URL.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from urllib.parse import parse_qsl, quote
from xml.etree import ElementTree as ET

from tests.backends.standin_http import Reply, Request

RECORDED = Path(__file__).resolve().parents[1] / "recorded" / "google"
SAMPLES = Path(__file__).resolve().parents[2] / "sample_ics"
CALDAV = "{urn:ietf:params:xml:ns:caldav}"
ALLOW = "GET, PUT, HEAD, DELETE, POST, OPTIONS, PROPFIND, PROPPATCH, REPORT"


def _template(name: str) -> Template:
    return Template((RECORDED / name).read_text())


@dataclass
class Collection:
    name: str
    objects: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (etag, data)
    version: int = 1
    log: list[tuple[int, str]] = field(default_factory=list)  # (version, object name)
    #: objects a lenient client stored that the stand-in cannot time-filter quickly (a custom zone
    #: repeating daily since 1900): listed in every range, as Google's own index would place them
    unfiltered: set[str] = field(default_factory=set)

    def touch(self, obj: str) -> None:
        self.version += 1
        self.log.append((self.version, obj))


def _strip_x(text: str) -> str:
    """Google keeps only what its data model knows: X- properties inside events are dropped."""
    out, inside, skipping = [], False, False
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith((" ", "\t")):
            if not skipping:
                out.append(line)
            continue
        inside = {"BEGIN:VEVENT": True, "END:VEVENT": False}.get(line, inside)
        skipping = inside and line.upper().startswith("X-")
        if not skipping:
            out.append(line)
    return "\r\n".join(out)


class GoogleCalDAV:
    """The app behind StandIn; `account` is the primary calendar id (the user's address)."""

    def __init__(self, account: str = "anna@example.com") -> None:
        from blocktime.ics.objects import split_by_uid

        self.account = account
        self.root = ""  # set by the fixture once the port is known
        self.requests: list[Request] = []
        self.valid_tokens = {"ya29.standin-initial"}
        self.refresh_token = "1//standin-refresh"
        self.issued = 0
        self.throttle: list[tuple[int, str | None]] = []
        self.received: list[str] = []  # bodies of PUTs, as sent
        self.rename = "uid"
        self.quota_every = 3
        self.drop_x = True
        self.html_description = True
        self.writes = 0
        self.refused: list[int] = []  # statuses of quota refusals sent
        self.calendars = {
            account: Collection("Anna Nowak"),
            "c_8s1blocktime@group.calendar.google.com": Collection("blocktime"),
            "c_9team@group.calendar.google.com": Collection("Team (shared)"),
        }
        self.hidden = {"c_9team@group.calendar.google.com"}
        self.uid_search = True  # False: a calendar-query with a UID prop-filter answers 501
        primary = self.calendars[account]
        for uid, text in split_by_uid((SAMPLES / "google_work.ics").read_text()):
            name = quote(uid, safe="") + ".ics"
            primary.objects[name] = (self._etag(text), text)

    def web_delete(self, calid: str, uid: str) -> None:
        """The user deletes an event in Google Calendar's web UI."""
        cal = self.calendars[calid]
        (name,) = [n for n, (_e, data) in cal.objects.items() if f"UID:{uid}" in data]
        del cal.objects[name]
        cal.touch(name)

    @staticmethod
    def _etag(text: str) -> str:
        return '"' + hashlib.sha1(text.encode()).hexdigest()[:16] + '"'

    # -- dispatch --------------------------------------------------------------------------------

    def handle(self, req: Request) -> Reply:
        if req.path == "/token" and req.method == "POST":
            return self._token(req)
        if self.throttle:
            status, retry = self.throttle.pop(0)
            return self._quota(status, "rateLimitExceeded", retry)
        if req.method in ("PUT", "DELETE") and self.quota_every:
            self.writes += 1
            if self.writes % self.quota_every == 0:
                turn = len(self.refused) % 3
                return self._quota(*((403, "rateLimitExceeded"), (429, "rateLimitExceeded"),
                                     (403, "userRateLimitExceeded"))[turn], None)
        auth = req.header("Authorization")
        if not auth.startswith("Bearer ") or auth[7:] not in self.valid_tokens:
            challenge = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
            return Reply(401, b"", {"WWW-Authenticate": challenge})
        parts = [p for p in req.path.split("/") if p]
        if parts[:2] != ["caldav", "v2"] or len(parts) < 3:
            return Reply(404)
        calid, rest = parts[2], parts[3:]
        if rest == ["user"]:
            return self._principal(req) if req.method == "PROPFIND" else Reply(405)
        if rest == [] and calid == self.account:
            return self._home(req) if req.method == "PROPFIND" else Reply(405)
        cal = self.calendars.get(calid)
        if req.method == "MKCALENDAR":
            return Reply(405, b"MKCALENDAR is not supported", {"Allow": ALLOW})
        if cal is None or not rest or rest[0] != "events":
            return Reply(404)
        if len(rest) == 1:
            return self._collection(req, calid, cal)
        return self._object(req, calid, cal, rest[1])

    def _quota(self, status: int, reason: str, retry: str | None) -> Reply:
        self.refused.append(status)
        name = "error-403-rate.json" if status == 403 else "error-429.json"
        body = _template(name).substitute(reason=reason).encode()
        return Reply(status, body, {"Content-Type": "application/json; charset=UTF-8",
                                    **({"Retry-After": retry} if retry is not None else {})})

    def web_edit(self, calid: str, uid: str, old: str, new: str) -> None:
        """The user edits an event in Google Calendar's web UI (a text replacement)."""
        cal = self.calendars[calid]
        (name,) = [n for n, (_e, data) in cal.objects.items() if f"UID:{uid}" in data]
        text = cal.objects[name][1].replace(old, new)
        cal.objects[name] = (self._etag(text), text)
        cal.touch(name)

    def _token(self, req: Request) -> Reply:
        form = dict(parse_qsl(req.body.decode()))
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            return Reply(400, json.dumps({"error": "invalid_grant", "error_description": "Bad Request"}).encode())
        self.issued += 1
        token = f"ya29.standin-{self.issued}"
        self.valid_tokens = {token}
        body = _template("token.json").substitute(access_token=token)
        return Reply(200, body.encode(), {"Content-Type": "application/json; charset=utf-8"})

    # -- discovery -------------------------------------------------------------------------------

    def _xml(self, text: str, status: int = 207) -> Reply:
        return Reply(status, text.encode(), {"Content-Type": 'application/xml; charset="utf-8"'})

    def _principal(self, req: Request) -> Reply:
        return self._xml(_template("principal.xml").substitute(
            account=self.account, account_q=quote(self.account, safe="@"), display="Anna Nowak"))

    def _collection_xml(self, calid: str, cal: Collection) -> str:
        return _template("calendar-collection.xml").substitute(
            calid_q=quote(calid, safe="@"), name=cal.name, ctag=f'"{cal.version}"', sync_token=self._sync_token(cal))

    def _home(self, req: Request) -> Reply:
        listing = "".join(self._collection_xml(c, cal) for c, cal in self.calendars.items() if c not in self.hidden)
        if req.header("Depth", "0") == "0":
            listing = ""
        return self._xml(_template("calendar-home.xml").substitute(
            account_q=quote(self.account, safe="@"), display="Anna Nowak", calendars=listing))

    # -- collections -----------------------------------------------------------------------------

    def _sync_token(self, cal: Collection) -> str:
        return f"https://apidata.googleusercontent.com/caldav/v2/sync/{cal.version}"

    def _responses(self, calid: str, cal: Collection, names: list[str]) -> str:
        out = []
        for n in names:
            if n in cal.objects:
                etag, data = cal.objects[n]
                out.append(_template("object-response.xml").substitute(
                    calid_q=quote(calid, safe="@"), name=quote(n, safe=""), etag=etag, data=data))
            else:
                out.append(_template("removed-response.xml").substitute(calid_q=quote(calid, safe="@"),
                                                                         name=quote(n, safe="")))
        return "".join(out)

    def _collection(self, req: Request, calid: str, cal: Collection) -> Reply:
        if req.method == "PROPFIND":
            body = _template("multistatus.xml").substitute(responses=self._collection_xml(calid, cal), sync="")
            return self._xml(body)
        if req.method == "OPTIONS":
            return Reply(200, b"", {"DAV": "1, 2, 3, calendar-access, calendar-schedule",
                                    "Allow": ALLOW})
        if req.method != "REPORT":
            return Reply(405)
        root = ET.fromstring(req.body)
        if root.tag == "{DAV:}sync-collection":
            return self._sync(calid, cal, root.findtext("{DAV:}sync-token") or "")
        if root.tag == f"{CALDAV}calendar-query":
            rng = root.find(f".//{CALDAV}time-range")
            match = root.find(f".//{CALDAV}prop-filter[@name='UID']/{CALDAV}text-match")
            if match is not None and not self.uid_search:
                return Reply(501, b"prop-filter not supported")
            names = [n for n, (_e, d) in cal.objects.items()
                     if (rng is None or n in cal.unfiltered or _overlaps(d, rng.get("start"), rng.get("end")))
                     and (match is None or (match.text or "") in _uid(d))]
            return self._multistatus(calid, cal, names, "")
        return Reply(501, b"report not supported")  # free-busy-query: not implemented at Google

    def _sync(self, calid: str, cal: Collection, token: str) -> Reply:
        if token:
            m = re.fullmatch(r"https://apidata\.googleusercontent\.com/caldav/v2/sync/(\d+)", token)
            if not m or int(m.group(1)) > cal.version:
                return self._xml(_template("valid-sync-token.xml").substitute(), 403)
            since = int(m.group(1))
            names = sorted({n for v, n in cal.log if v > since})
        else:
            names = sorted(cal.objects)
        sync = f" <D:sync-token>{self._sync_token(cal)}</D:sync-token>"
        return self._multistatus(calid, cal, names, sync)

    def _multistatus(self, calid: str, cal: Collection, names: list[str], sync: str) -> Reply:
        responses = self._responses(calid, cal, names)
        return self._xml(_template("multistatus.xml").substitute(responses=responses, sync=sync))

    # -- objects ---------------------------------------------------------------------------------

    def _object(self, req: Request, calid: str, cal: Collection, name: str) -> Reply:
        found = cal.objects.get(name)
        if req.method in ("GET", "HEAD"):
            if found is None:
                return Reply(404)
            return Reply(200, found[1].encode(), {"ETag": found[0], "Content-Type": "text/calendar; charset=UTF-8"})
        match = req.header("If-Match")
        if match and (found is None or match != found[0]):
            return Reply(412)
        if req.method == "DELETE":
            if found is None:
                return Reply(404)
            del cal.objects[name]
            cal.touch(name)
            return Reply(204)
        if req.method != "PUT":
            return Reply(405)
        text = req.body.decode()
        self.received.append(text)
        uid = _uid(text)
        holder = next((n for n, (_e, d) in cal.objects.items() if uid and _uid(d) == uid), None)
        if found is None and self.rename:  # Google keeps one object per UID, under a name of its own
            name = holder or (quote(uid, safe="@") + ".ics" if self.rename == "uid"
                              else "g" + hashlib.sha1(uid.encode()).hexdigest()[:20] + ".ics")
            found = cal.objects.get(name)
        elif holder is not None and holder != name:
            return Reply(409, b"duplicate UID")
        stored = _strip_x(text) if self.drop_x else text  # If-None-Match is ignored: this overwrites
        if self.html_description:
            stored = _html_description(stored)
        etag = self._etag(stored)
        cal.objects[name] = (etag, stored)
        cal.touch(name)
        return Reply(204 if found else 201, b"", {"ETag": etag})


def _uid(text: str) -> str:
    m = re.search(r"^UID:(.*?)\r?$", re.sub(r"\r?\n[ \t]", "", text), re.M)
    return m.group(1).strip() if m else ""


def _html_description(text: str) -> str:
    """DESCRIPTION as Google treats it: HTML, where a bare line break is whitespace (shown, and
    saved back by the web UI, as one space); `<br>` is a line break."""
    def to_html(m: re.Match[str]) -> str:
        value = m.group(2)
        if "<br>" in value:  # HTML already
            return m.group(0)
        plain = value.replace("\\n", "\n").replace("\\N", "\n")
        return m.group(1) + re.sub(r"\s*\n\s*", " ", html.escape(plain, quote=False))

    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    return re.sub(r"^(DESCRIPTION[^:\r\n]*:)(.*?)(?=\r?$)", to_html, unfolded, flags=re.M)


def _overlaps(text: str, start: str | None, end: str | None) -> bool:
    import icalendar
    import recurring_ical_events

    def parse(v: str | None, default: str) -> datetime:
        return datetime.strptime(v or default, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)

    try:
        cal = icalendar.Calendar.from_ical(text)
        return bool(recurring_ical_events.of(cal, skip_bad_series=True).between(
            parse(start, "19700101T000000Z"), parse(end, "21000101T000000Z")))
    except Exception:  # Google stores what stricter servers refuse, and lists it
        return True
