"""blocktime's CalDAV wire: how multistatus answers, hrefs and refusals are read (no server needed:
these are the bytes servers send; the same paths run against Radicale and Xandikos in test_caldav)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from blocktime.backends.davhttp import (
    AuthorizationError,
    DavResponse,
    RateLimitError,
    ResponseError,
    normalize_href,
)

MS = '<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">{}</D:multistatus>'


def ok(href: str, etag: str = '"e"', data: str | None = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n") -> str:
    cal = f"<C:calendar-data>{data}</C:calendar-data>" if data is not None else ""
    return (f"<D:response><D:href>{href}</D:href><D:propstat><D:prop><D:getetag>{etag}</D:getetag>{cal}"
            "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>")


def answer(*parts: str, status: int = 207) -> DavResponse:
    return DavResponse(status, {}, MS.format("".join(parts)).encode())


def test_a_calendar_query_gives_href_etag_and_data() -> None:
    (item,) = answer(ok("/u/cal/a%20b.ics")).calendar_query()
    assert (item.href, item.etag, item.status) == ("/u/cal/a b.ics", '"e"', 200)
    assert item.calendar_data is not None and item.calendar_data.startswith("BEGIN:VCALENDAR")


def test_a_sync_answer_splits_changed_deleted_and_a_truncation() -> None:
    gone = "<D:response><D:href>/u/cal/gone.ics</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>"
    more = "<D:response><D:href>/u/cal/</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status></D:response>"
    synced = answer(ok("/u/cal/x.ics"), gone, more, "<D:sync-token>tok-2</D:sync-token>").sync_collection()
    assert [i.href for i in synced.changed] == ["/u/cal/x.ics"]
    assert synced.deleted == ["/u/cal/gone.ics"]
    assert (synced.sync_token, synced.truncated) == ("tok-2", True)
    # without the marker the same answer is complete
    assert not answer(ok("/u/cal/x.ics"), "<D:sync-token>t</D:sync-token>").sync_collection().truncated


def test_a_507_without_a_sync_token_is_a_failure_not_a_truncation() -> None:
    more = "<D:response><D:href>/u/cal/</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status></D:response>"
    with pytest.raises(ResponseError, match="507"):
        answer(more).sync_collection()


def test_a_failing_propstat_fails_and_a_404_propstat_means_absent() -> None:
    absent = ("<D:response><D:href>/u/</D:href><D:propstat><D:prop><D:displayname/></D:prop>"
              "<D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response>")
    (found,) = answer(absent).propfind()
    assert found.properties == {}
    broken = absent.replace("404 Not Found", "500 Internal Server Error")
    with pytest.raises(ResponseError, match="500"):
        answer(broken).propfind()


def test_propfind_properties_are_hrefs_tag_lists_or_text() -> None:
    body = ('<D:response><D:href>/u/</D:href><D:propstat><D:prop>'
            '<D:current-user-principal><D:href>/principals/u/</D:href></D:current-user-principal>'
            '<D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>Work</D:displayname>'
            '</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>')
    (found,) = answer(body).propfind()
    assert found.properties["{DAV:}current-user-principal"] == "/principals/u/"
    assert found.properties["{DAV:}resourcetype"] == ["{DAV:}collection", "{urn:ietf:params:xml:ns:caldav}calendar"]
    assert found.properties["{DAV:}displayname"] == "Work"


def test_an_answer_that_is_not_a_multistatus_fails() -> None:
    with pytest.raises(ResponseError, match="HTTP 500"):
        DavResponse(500, {}, b"oops").calendar_query()
    from lxml import etree  # type: ignore[import-untyped]

    with pytest.raises(etree.XMLSyntaxError):
        DavResponse(207, {}, b"<html><body>login</body>").calendar_query()


def test_entities_are_not_expanded() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            '<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:response><D:href>/x.ics</D:href>'
            '<D:propstat><D:prop><C:calendar-data>&b;</C:calendar-data></D:prop>'
            '<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>')
    (item,) = DavResponse(207, {}, bomb.encode()).calendar_query()
    assert "aaaaaaaaaa" not in (item.calendar_data or "")


@pytest.mark.parametrize(("raw", "read"), [
    ("/u/cal/a%20b.ics", "/u/cal/a b.ics"),
    ("http://host:8080/u/cal/x.ics", "/u/cal/x.ics"),
    ("https://host/u/cal/a%40b.ics", "/u/cal/a@b.ics"),
    ("/u/cal/a%2540b.ics", "/u/cal/a@b.ics"),  # Confluence's double encoding
    ("/u/cal/a:b.ics", "/u/cal/a:b.ics"),
])
def test_hrefs_are_read_as_python_caldav_reads_them(raw: str, read: str) -> None:
    assert normalize_href(raw) == read


def test_a_403_names_its_precondition() -> None:
    body = (b'<?xml version="1.0"?><D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            b"<C:no-uid-conflict/></D:error>")
    refused = AuthorizationError(403, "http://h/u/cal/x.ics", body)
    assert refused.preconditions == {"{urn:ietf:params:xml:ns:caldav}no-uid-conflict"}
    assert AuthorizationError(403, "http://h/x", b"<html>no</html>").preconditions == frozenset()
    assert AuthorizationError(401, "http://h/x", b"").preconditions == frozenset()


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert RateLimitError(429, "7").retry_after_seconds == 7.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    wait = RateLimitError(503, later).retry_after_seconds
    assert wait is not None and 100 < wait <= 120
    assert RateLimitError(429, None).retry_after_seconds is None
    assert RateLimitError(429, "soon").retry_after_seconds is None


def test_a_get_body_is_read_as_utf8_else_latin1_with_lf_line_ends() -> None:
    from blocktime.backends.caldav.connection import body_text

    utf8 = "BEGIN:VCALENDAR\r\nSUMMARY:Spotkanie — Łódź\r\nEND:VCALENDAR\r\n"
    assert body_text(DavResponse(200, {}, ("\ufeff" + utf8).encode("utf-8"))) == utf8.replace("\r\n", "\n")
    latin1 = "BEGIN:VCALENDAR\r\nSUMMARY:Café\r\nEND:VCALENDAR\r\n"
    assert body_text(DavResponse(200, {}, latin1.encode("latin-1"))) == latin1.replace("\r\n", "\n")
