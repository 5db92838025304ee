"""Discovery of a CalDAV account: its principal and calendar home (RFC 5397, RFC 4791 §6.2.1), kept
between commands in the discovery file, and the calendars in the home (one PROPFIND); creating
the calendar blocktime writes into.
"""

from __future__ import annotations

import json
import re
import uuid
import warnings
from typing import Any
from urllib.parse import unquote, urljoin

from blocktime.backends.base import CalendarInfo
from blocktime.backends.caldav.connection import Connection, absolute, log, quoted, xml_text
from blocktime.backends.davhttp import AuthorizationError, ResponseError, safe_url
from blocktime.backends.davhttp import path_of as _path
from blocktime.errors import ServerError

_CUP = "{DAV:}current-user-principal"
_HOME_SET = "{urn:ietf:params:xml:ns:caldav}calendar-home-set"
_CALENDAR = "{urn:ietf:params:xml:ns:caldav}calendar"
_MUST_BE_NULL = "{DAV:}resource-must-be-null"
_LIST_PROPS = ["{DAV:}resourcetype", "{DAV:}displayname",
               "{urn:ietf:params:xml:ns:caldav}supported-calendar-component-set"]
#: a calendar name that can be its own path segment: then the calendar is found by it even on a
#: server that ignores the display name MKCALENDAR sets (DAViCal, Zimbra)
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Discovery(Connection):
    """The account's principal, home and calendars, on top of the wire."""

    def _raw(self) -> list[CalendarInfo]:
        if self._calendars is None:
            with self._guard("listing calendars"):
                if self._principal is None and self._recalled():
                    try:
                        self._calendars = self._listed()
                        if self._calendars is None:
                            raise ServerError("the remembered calendar home did not answer")
                    except Exception as exc:  # the remembered home is gone or refused: discover again
                        if "AuthorizationError" in {c.__name__ for c in type(exc).__mro__} and getattr(
                                exc, "status", 401) != 403:  # 401: the login, which discovery would send again
                            raise
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
        remembered = self._remembered()
        if remembered is None:
            return False
        self._principal, self._home = remembered
        return True

    def _remembered(self) -> tuple[str, str] | None:
        """(principal, home) as `discovery_file` keeps them for this URL and user, or None."""
        if self.discovery_file is None:
            return None
        try:
            known = json.loads(self.discovery_file.read_text(encoding="utf-8")).get(self._account_key())
        except (OSError, ValueError, AttributeError):
            return None
        if not isinstance(known, dict) or not all(isinstance(known.get(k), str) for k in ("principal", "home")):
            return None
        return urljoin(self.url, known["principal"]), urljoin(self.url, known["home"])

    def known_home(self) -> str | None:
        """The calendar home, as discovered this run or remembered from an earlier one (no request)."""
        if self._home is not None:
            return self._home
        remembered = self._remembered()
        return remembered[1] if remembered else None

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
            from blocktime import files
            files.write(self.discovery_file.parent, self.discovery_file.name, json.dumps(kept, indent=1))
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
        principal = urljoin(self.url, quoted(cup))
        home = props.get(_HOME_SET) if _path(principal) == _path(self.url) else None
        if home is None:
            home = self._props(principal, [_HOME_SET]).get(_HOME_SET)
        if not isinstance(home, str) or not home:
            return principal, None
        return principal, urljoin(principal, quoted(home))  # (iCloud: another host)

    def _props(self, url: str, props: list[str]) -> dict[str, Any]:
        """The properties `url` has of `props` (PROPFIND, Depth 0); {} where it answers none."""
        r = self.client.request(url, "PROPFIND", propfind_body(props), {"Depth": "0"})
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
        r = self.client.request(self._home, "PROPFIND", propfind_body(_LIST_PROPS), {"Depth": "1"})
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
            url = absolute(self._home, x.href)
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
        with self._guard(f"creating calendar {name!r}"):
            if self._home is None:  # only python-caldav's discovery found the home: it creates there
                url = _path(str(self._caldav_principal().make_calendar(name=name).url))
            else:
                url = self._make_calendar(name)
        self._calendars = None
        return CalendarInfo(url, name, created=True)

    def _make_calendar(self, name: str) -> str:
        """One MKCALENDAR in the home that sets the display name (RFC 4791 §5.3.1), as python-caldav
        sends it. A plain name is the calendar's path segment too, so that it is found by that even
        where the server ignores the name; any other name gets a random segment and, as
        python-caldav does, a PROPPATCH of the name after it (best effort)."""
        assert self._home is not None
        taken = {unquote(c.url.rstrip("/").rsplit("/", 1)[-1]) for c in self.calendars()}
        plain = bool(_PLAIN_SEGMENT.fullmatch(name)) and name not in taken
        for segment in ([name] if plain else []) + [str(uuid.uuid4())]:
            url = urljoin(self._home.rstrip("/") + "/", quoted(segment) + "/")
            try:
                status = self.client.request(url, "MKCALENDAR", _naming("C:mkcalendar", name)).status
            except AuthorizationError as exc:  # 403 resource-must-be-null (Xandikos): the segment is taken
                if exc.status != 403 or _MUST_BE_NULL not in exc.preconditions or segment != name:
                    raise
                continue
            if status in (200, 201):
                break
            if status not in (405, 409) or segment != name:  # 405, 409 (Radicale): the segment is taken
                raise ResponseError(f"MKCALENDAR failed with status {status}")
        if segment != name:
            try:
                self.client.request(url, "PROPPATCH", _naming("D:propertyupdate", name))
            except Exception as exc:  # the name in MKCALENDAR may have been kept already
                log.info("setting the calendar's name %r failed (%s)", name, type(exc).__name__)
        return _path(url)


def propfind_body(props: list[str]) -> str:
    """A PROPFIND body asking for `props` (Clark notation) by name."""
    names = []
    for k, prop in enumerate(props):
        ns, local = prop[1:].split("}", 1)
        names.append(f'<p{k}:{local} xmlns:p{k}="{xml_text(ns)}"/>')
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<D:propfind xmlns:D="DAV:"><D:prop>{"".join(names)}</D:prop></D:propfind>')


def _naming(root: str, name: str) -> str:
    """A MKCALENDAR (`C:mkcalendar`) or PROPPATCH (`D:propertyupdate`) body that sets the display name."""
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<{root} xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:set><D:prop><D:displayname>{xml_text(name)}</D:displayname></D:prop></D:set></{root}>")


def _info(cal: Any) -> CalendarInfo:
    """A python-caldav calendar as blocktime names it."""
    with warnings.catch_warnings():  # `name` is the displayname already fetched
        warnings.simplefilter("ignore", DeprecationWarning)
        name = cal.name or str(cal.url).rstrip("/").rsplit("/", 1)[-1]
    return CalendarInfo(_path(str(cal.url)), str(name))
