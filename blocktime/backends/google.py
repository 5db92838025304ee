"""Google Calendar over CalDAV with OAuth2 (https://developers.google.com/calendar/caldav/v2/guide).

Google's CalDAV differs from the standard in ways that matter to blocktime:
- no MKCALENDAR: the target calendar must already exist (found by display name or calendar id);
- no If-None-Match (only If-Match): a create first GETs the href and then PUTs without a
  condition. Between the two a concurrent writer could slip in; blocktime's hrefs are derived from
  its own UIDs, so only another blocktime run on the same account could race it;
- X- properties may be dropped: blocktime's facts live in its store by UID, never only on the server;
- attendees on events written over CalDAV may be mailed by Google itself, so the copy written here
  carries no ATTENDEE lines: invites go out by iMIP from blocktime only (one or the other).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urljoin

from blocktime.backends.base import AlreadyExists, CalendarInfo
from blocktime.backends.caldav import CalDAVBackend
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


class GoogleBackend(CalDAVBackend):
    """CalDAVBackend with Google's limits handled; `auth` supplies a fresh Bearer token."""

    credentials = "the access token"
    auth_hint = "run `blocktime auth google --client-secrets client_secret.json` again"

    def __init__(self, account: str, auth: Any, *, base: str = GOOGLE_CALDAV, verify_tls: bool = True) -> None:
        super().__init__(principal_url(base, account), auth=auth, verify_tls=verify_tls, rate_limit=True)
        self.account = account

    def find_calendar(self, name: str) -> CalendarInfo | None:
        for info in self.calendars():
            if name in (info.name, calendar_id(info.url)):
                return info
        return None

    def ensure_calendar(self, name: str) -> CalendarInfo:
        found = self.find_calendar(name)
        if found is None:
            raise ServerError(
                f"Google has no calendar {name!r} for {self.account}, and Google cannot create one over CalDAV",
                "create it in Google Calendar (Other calendars > + > Create new calendar), "
                "or set [calendar] name to an existing calendar",
            )
        return found

    def create(self, href: str, data: str) -> str | None:
        if self.get(href) is not None:  # no If-None-Match at Google: look first
            raise AlreadyExists(href)
        return self._created(href, self._put(href, without_attendees(data), {}))

    def update(self, href: str, data: str, etag: str) -> str | None:
        return super().update(href, without_attendees(data), etag)
