"""The wire of a CalDAV account: requests on one niquests session, and what the answers say.

Everything blocktime sends on a command's path goes through `DavClient.request`: PUT and DELETE
with their conditions, GET, the REPORTs (calendar-query, sync-collection) and the PROPFINDs of
discovery and listing. Multistatus bodies are read with lxml as python-caldav reads them (no
network, no entity expansion, lxml's limits on depth and text size kept: `huge_tree` is off), and
hrefs are normalised the same way, so that what the store remembers does not depend on which
of the two read it. python-caldav itself is imported only where its knowledge of servers is
needed: discovery that one PROPFIND cannot settle, and creating a calendar (`backends.caldav`).
Importing it costs more than niquests' own import on a short command (issue 15).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from blocktime.backends import throttle

DAV, CALDAV = "{DAV:}", "{urn:ietf:params:xml:ns:caldav}"
#: statuses a <response> inside a multistatus may carry (SOGo says 201 in a sync report)
_GOOD = frozenset({200, 201, 207, 404})
HEADERS = {"User-Agent": "blocktime (python-niquests)", "Accept": "text/xml, text/calendar"}


class AuthorizationError(Exception):
    """401 or 403: refused credentials, a refused operation, or a failed precondition (the
    body's DAV:error names it, RFC 4918 §16)."""

    def __init__(self, status: int, url: str, body: bytes) -> None:
        super().__init__(f"HTTP {status} for {path_of(url)}")
        self.status = status
        self.body = body
        self.reason = f"HTTP {status}"

    @property
    def preconditions(self) -> frozenset[str]:
        """The element names inside the body's DAV:error (e.g. CalDAV's no-uid-conflict)."""
        tree = _xml(self.body, strict=False)
        if tree is None or tree.tag != DAV + "error":
            return frozenset()
        return frozenset(str(child.tag) for child in tree)


class RateLimitError(Exception):
    """429, or 503 with Retry-After (RFC 6585 §4, RFC 9110 §10.2.3): try again later."""

    def __init__(self, status: int, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status}, Retry-After {retry_after}")
        self.status = status
        self.retry_after_seconds = throttle.retry_after(retry_after, time.time())


class ResponseError(Exception):
    """An answer that is not the multistatus its request asks for."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Item:
    """One object of a calendar-query or sync-collection answer."""

    href: str
    etag: str | None
    calendar_data: str | None
    status: int


@dataclass(frozen=True, slots=True)
class Found:
    """One resource of a PROPFIND answer: a property is an href's text, a list of child tags
    (resourcetype, component sets) or plain text."""

    href: str
    status: int
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Synced:
    changed: list[Item]
    deleted: list[str]
    sync_token: str | None
    truncated: bool


class DavResponse:
    """An answer: status, headers and body; the body read as XML only when asked."""

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status = status
        self.headers = headers
        self.content = content

    def _responses(self) -> Iterator[Any]:
        if self.status not in (200, 207):
            raise ResponseError(f"HTTP {self.status}")
        tree = _xml(self.content, strict=True)
        if tree is None:
            return
        yield from (tree if tree.tag == DAV + "multistatus" else [tree])

    def propfind(self) -> list[Found]:
        if self.status == 404:
            return []
        out = []
        for elem in self._responses():
            if elem.tag == DAV + "response":
                href, status, propstats = _response(elem)
                out.append(Found(href, status, _properties(propstats)))
        return out

    def calendar_query(self) -> list[Item]:
        out = []
        for elem in self._responses():
            if elem.tag == DAV + "response":
                href, status, propstats = _response(elem)
                out.append(Item(href, *_etag_and_data(propstats), status))
        return out

    def sync_collection(self) -> Synced:
        changed: list[Item] = []
        deleted: list[str] = []
        token: str | None = None
        truncated = False
        elems = list(self._responses())
        has_token = any(e.tag == DAV + "sync-token" for e in elems)
        for elem in elems:
            if elem.tag == DAV + "sync-token":
                token = elem.text
            elif elem.tag == DAV + "response":
                status = elem.find(DAV + "status")
                if (has_token and status is not None and _code(status.text) == 507
                        and elem.find(DAV + "propstat") is None):  # RFC 6578 §3.6: more to come
                    truncated = True
                    continue
                href, code, propstats = _response(elem)
                if code == 404:
                    deleted.append(href)
                else:
                    changed.append(Item(href, *_etag_and_data(propstats), code))
        return Synced(changed, deleted, token, truncated)


class DavClient:
    """One niquests session with the account's credentials, timeouts and TLS setting."""

    #: lxml's limits on tree depth and text size stay on (never `huge_tree`)
    huge_tree = False

    def __init__(self, url: str, username: str | None, password: str | None, *, auth: Any = None,
                 timeout: tuple[float, float], verify: bool) -> None:
        import niquests

        self.url = url
        self.timeout = timeout
        self.verify = verify
        self.session = niquests.Session()
        self.session.headers.update(dict(HEADERS))  # type: ignore[arg-type]
        if auth is not None:
            self.session.auth = auth
        elif username is not None:
            self.session.auth = (username, password or "")  # HTTP Basic

    def request(self, url: str, method: str = "GET", body: str | bytes = "", headers: Mapping[str, str] | None = None,
                ) -> DavResponse:
        url = urljoin(self.url, url)  # a server path, or a whole URL
        sent = dict(headers or {})
        if body and not any(k.lower() == "content-type" for k in sent):
            sent["Content-Type"] = "application/xml; charset=utf-8"
        data = body.encode("utf-8") if isinstance(body, str) else body
        r = self.session.request(method, url, data=data or None, headers=sent, timeout=self.timeout,
                                 verify=self.verify)
        status = int(r.status_code or 0)
        if status == 429 or (status == 503 and r.headers.get("Retry-After") is not None):
            raise RateLimitError(status, r.headers.get("Retry-After"))
        content = r.content or b""
        if status in (401, 403):
            raise AuthorizationError(status, url, content)
        return DavResponse(status, r.headers, content)

    def close(self) -> None:
        self.session.close()


def _xml(body: bytes, *, strict: bool) -> Any:
    """The parsed body, None when empty; not XML raises lxml's error (`strict`) or gives None."""
    if not body.strip():
        return None
    from lxml import etree  # type: ignore[import-untyped]

    parser = etree.XMLParser(remove_blank_text=True, huge_tree=False, resolve_entities=False, no_network=True)
    try:
        return etree.XML(body, parser=parser)
    except etree.XMLSyntaxError:
        if strict:
            raise
        return None


def _response(elem: Any) -> tuple[str, int, list[Any]]:
    """(href, status, propstats) of one <response>; a status outside 200/201/207/404 fails."""
    href: str | None = None
    status = 200
    propstats = []
    for child in elem:
        if child.tag == DAV + "href":
            href = normalize_href(child.text or "")
        elif child.tag == DAV + "status":
            status = _code(child.text)
            if status not in _GOOD:
                raise ResponseError(f"the answer holds status {child.text!r}")
        elif child.tag == DAV + "propstat":
            propstats.append(child)
    if not href:
        raise ResponseError("an answer without an href")
    return href, status, propstats


def _good_props(propstats: list[Any]) -> Iterator[Any]:
    """The <prop> elements of the propstats that answered (a 404 propstat: the property is
    absent; any other failing status fails, not an empty value)."""
    for ps in propstats:
        status = ps.find(DAV + "status")
        code = _code(status.text if status is not None else None)
        if code not in _GOOD:
            raise ResponseError(f"the answer holds status {status.text if status is not None else ''!r}")
        prop = ps.find(DAV + "prop")
        if code != 404 and prop is not None:
            yield prop


def _etag_and_data(propstats: list[Any]) -> tuple[str | None, str | None]:
    etag = data = None
    for prop in _good_props(propstats):
        for child in prop:
            if child.tag == CALDAV + "calendar-data":
                data = child.text
            elif child.tag == DAV + "getetag":
                etag = child.text
    return etag, data


def _properties(propstats: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for prop in _good_props(propstats):
        for child in prop:
            kids = list(child)
            if kids and kids[0].tag == DAV + "href":
                out[str(child.tag)] = (kids[0].text or "").strip()
            elif kids:
                out[str(child.tag)] = [str(k.tag) for k in kids]
            else:
                out[str(child.tag)] = child.text
    return out


def normalize_href(text: str) -> str:
    """An href as python-caldav hands it: unquoted, a path (an absolute URL loses its host), and
    Confluence's double-encoded `%2540` read as `%40` first."""
    text = text.strip().replace("%2540", "%40")
    href = unquote(text)
    if ":" in href and urlsplit(href).scheme in ("http", "https"):
        href = unquote(urlsplit(text).path)
    return href


def _code(status: str | None) -> int:
    """200 from `HTTP/1.1 200 OK` (and 200 when there is none)."""
    parts = (status or "").split()
    try:
        return int(parts[1]) if len(parts) >= 2 else 200
    except ValueError:
        return 200


def path_of(url: str) -> str:
    """The path of a URL (an href as the server names it)."""
    return urlsplit(url).path or "/"


def safe_url(url: str) -> str:
    """The URL without any user:password part, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
