"""Google Calendar over CalDAV with OAuth2 (https://developers.google.com/calendar/caldav/v2/guide).

Google's CalDAV differs from the standard in ways that matter to blocktime:
- no MKCALENDAR: the target calendar must already exist (found by display name or calendar id);
- no If-None-Match (only If-Match): a create first GETs the href and then PUTs without a
  condition. Between the two a concurrent writer could slip in; blocktime's hrefs are derived from
  its own UIDs, so only another blocktime run on the same account could race it;
- X- properties may be dropped: blocktime's facts live in its store by UID, never only on the server;
- attendees on events written over CalDAV may be mailed by Google itself, so the copy written here
  carries no ATTENDEE lines: invites go out by iMIP from blocktime only (one or the other);
- DESCRIPTION is HTML to Google and reminders count from the start: see `google_copy`;
- Google names the objects it stores itself (`<UID>.ics`, as CalDAV clients report; whether it keeps
  a name the client PUT is undocumented): an href that answers 404 is looked up by UID before it
  counts as gone, and the object's real href is used from then on (as for every CalDAV server,
  see `caldav.objects`);
- quotas: 403 `rateLimitExceeded`/`userRateLimitExceeded` and 429, often without Retry-After, are
  retried with exponential back-off and jitter; requests in flight adapt to the answers and stay
  within the Calendar API's 600 requests per minute per user (`pacing.GOOGLE`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urljoin

from blocktime.backends.base import AlreadyExists, CalendarInfo, uid_of
from blocktime.backends.caldav import CalDAVBackend
from blocktime.backends.davhttp import path_of as _path_of
from blocktime.backends.pacing import GOOGLE
from blocktime.errors import ServerError

GOOGLE_CALDAV = "https://apidata.googleusercontent.com/caldav/v2/"


def principal_url(base: str, account: str) -> str:
    """`<base>/<calendar-id>/user`: the principal of the account's primary calendar."""
    return urljoin(base if base.endswith("/") else base + "/", quote(account, safe="@") + "/user")


def calendar_id(url: str) -> str:
    """The calendar id inside `<base>/<calendar-id>/events/`."""
    parts = [p for p in url.split("/") if p]
    return unquote(parts[-2]) if len(parts) >= 2 and parts[-1] == "events" else unquote(parts[-1])


def without_attendees(text: str) -> str:
    """The object with no ATTENDEE properties, so that Google has no one to invite."""
    from icalendar import Calendar

    cal = Calendar.from_ical(text)
    changed = False
    for ev in cal.walk("VEVENT"):
        if "ATTENDEE" in ev:
            del ev["ATTENDEE"]
            changed = True
    return cal.to_ical().decode("utf-8") if changed else text


def google_copy(text: str) -> str:
    """The copy Google is given: no ATTENDEE (Google would mail invites of its own); DESCRIPTION
    as HTML (Google shows it as HTML, where a bare line break is only a space: lines become
    `<br>`); an alarm related to the END as the reminder Google has, counted from the start (the
    same minutes before the start; its text names the end)."""
    import html

    from icalendar import Calendar

    cal = Calendar.from_ical(without_attendees(text))
    for ev in cal.walk("VEVENT"):
        if "DESCRIPTION" in ev and "<br>" not in str(ev["DESCRIPTION"]):
            plain = str(ev["DESCRIPTION"])
            ev["DESCRIPTION"] = html.escape(plain, quote=False).replace("\r\n", "\n").replace("\n", "<br>")
        for alarm in ev.walk("VALARM"):
            trigger = alarm.get("TRIGGER")
            if trigger is not None and str(trigger.params.get("RELATED", "START")).upper() == "END":
                offset = trigger.dt
                del alarm["TRIGGER"]
                alarm.add("TRIGGER", offset)
    return str(cal.to_ical().decode("utf-8"))


def _parent(href: str) -> str:
    """The calendar collection an object href lives in."""
    return href.rsplit("/", 1)[0] + "/"


class GoogleBackend(CalDAVBackend):
    """CalDAVBackend with Google's limits handled; `auth` supplies a fresh Bearer token."""

    credentials = "the access token"
    auth_hint = "run `blocktime auth google --client-secrets client_secret.json` again"
    throttle_attempts = 8
    limits = GOOGLE

    def __init__(self, account: str, auth: Any, *, base: str = GOOGLE_CALDAV, verify_tls: bool = True) -> None:
        super().__init__(principal_url(base, account), auth=auth, verify_tls=verify_tls)
        self.account = account
        self.base = base if base.endswith("/") else base + "/"
        self._opened: list[CalendarInfo] = []  # opened by calendar id, not in the home's listing

    def calendars(self) -> list[CalendarInfo]:
        listed = super().calendars()
        return listed + [c for c in self._opened if c.url not in {x.url for x in listed}]

    def events_url(self, calid: str) -> str:
        """The documented collection URL of a calendar id, `<base>/<calendar-id>/events/`."""
        return _path_of(urljoin(self.base, quote(calid, safe="@") + "/events/"))

    def find_calendar(self, name: str) -> CalendarInfo | None:
        for info in super().calendars():
            if name in (info.name, calendar_id(info.url)):
                return info
        if "@" in name:  # a calendar id the home does not list (not enabled for sync): try its URL
            info = CalendarInfo(self.events_url(name), name)
            with self._guard(f"opening calendar {name!r}"):
                r = self.client.request(self._url(info.url), "PROPFIND", "", {"Depth": "0"})
            if r.status in (200, 207):
                self._opened.append(info)
                return info
        return None

    def ensure_calendar(self, name: str) -> CalendarInfo:
        found = self.find_calendar(name)
        if found is None:
            raise ServerError(
                f"Google has no calendar {name!r} for {self.account}, and Google cannot create one over CalDAV",
                "create it in Google Calendar (Other calendars > + > Create new calendar), "
                "or set [calendar] name to an existing calendar or its calendar id",
            )
        return found

    def create(self, href: str, data: str) -> str | None:
        uid = uid_of(data) or ""
        cal = CalendarInfo(_parent(href), "")
        existing = self.find_uid(cal, uid)  # no If-None-Match at Google: look first, by UID
        if existing is not None:
            elsewhere = self.href_for(cal, uid) != href
            if not elsewhere and existing.href != href:
                self.moved[href] = existing.href
            raise AlreadyExists(href, elsewhere=elsewhere)
        r = self._put(href, google_copy(data), {})
        self._wrote(href, data, r)
        return self._created(href, r)

    def update(self, href: str, data: str, etag: str) -> str | None:
        return super().update(href, google_copy(data), etag)
