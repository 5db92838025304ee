"""CalDAVBackend details beyond the contract: the listing fallback where a server has no sync tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from blocktime.backends.base import SYNTHETIC_PREFIX, StoredObject, diff_listing, listing_state
from blocktime.backends.caldav import CalDAVBackend
from blocktime.backends.caldav.connection import NoSync
from tests.backends.test_contract import event
from tests.helpers import backend
from tests.servers import Account


def test_diff_listing_reports_changes_and_deletions() -> None:
    a, b = StoredObject("/c/a.ics", '"1"', "A"), StoredObject("/c/b.ics", '"1"', "B")
    first = diff_listing([a, b], None)
    assert first.complete and first.synthetic and first.token.startswith(SYNTHETIC_PREFIX)
    assert listing_state(first.token) is not None and set(listing_state(first.token) or {}) == {"/c/a.ics", "/c/b.ics"}
    a2, c = StoredObject("/c/a.ics", '"2"', "A2"), StoredObject("/c/c.ics", '"1"', "C")
    second = diff_listing([a2, c], first.token)
    assert not second.complete and [o.href for o in second.changed] == ["/c/a.ics", "/c/c.ics"]
    assert second.deleted == ("/c/b.ics",)
    assert listing_state("not-a-token") is None and listing_state(SYNTHETIC_PREFIX + "!!!") is None


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_without_sync_tokens_a_full_listing_stands_in(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_sync(self: CalDAVBackend, calendar: object, token: object) -> object:
        raise NoSync()

    monkeypatch.setattr(CalDAVBackend, "_sync", no_sync)
    b = backend(account)
    cal = b.ensure_calendar("blocktime")
    start = b.changes(cal, None)
    assert start.synthetic and start.complete and start.changed == ()
    a, c = b.href_for(cal, "fa@blocktime"), b.href_for(cal, "fc@blocktime")
    b.create(a, event("fa@blocktime", "a"))
    b.create(c, event("fc@blocktime", "c"))
    first = b.changes(cal, start.token)
    assert first.synthetic and sorted(o.href for o in first.changed) == sorted([a, c])
    got = b.get(c)
    assert got is not None
    b.delete(c, got.etag)
    second = b.changes(cal, first.token)
    assert second.changed == () and second.deleted == (c,)
    b.close()


@pytest.mark.parametrize("href", [
    "/u/cal/a.ics", "/u/cal/with space.ics", "/u/cal/ü@x.ics", "/u/cal/../other/a.ics", "/u/./cal/a.ics",
    "//host/u/a.ics", "a.ics", "../b/a.ics", "/u/cal/a.ics?x=1", "/u/cal/a.ics#f", "/u/cal/a;b.ics", "",
    "http://127.0.0.1:1/u/cal/a.ics", "/u/cal/%2E%2E/a.ics",
])
def test_hrefs_read_quickly_are_the_server_paths_urljoin_gives(href: str) -> None:
    from urllib.parse import quote, urljoin, urlsplit

    from blocktime.backends.caldav.connection import absolute

    base = "http://127.0.0.1:8000/u/cal/"
    joined = urljoin(base, quote(href, safe="/@:+,;=!$&'()*~%"))
    assert absolute(base, href) == (urlsplit(joined).path or "/")


ADDRESS_BOOK = ('<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" '
                'xmlns:A="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/>'
                '<A:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>')


def _propfinds(b: CalDAVBackend) -> list[str]:
    """Record the method of every request `b` sends from now on."""
    seen: list[str] = []

    def counting(response: Any, *args: object, **kwargs: object) -> Any:
        seen.append(str(response.request.method))  # on the session: blocktime's wire and python-caldav's
        return response

    b.client.session.hooks["response"].append(counting)
    return seen


def test_discovery_is_remembered_and_the_calendars_are_listed_every_time(account: Account, tmp_path: Path) -> None:
    """A command with a `discovery_file` remembers principal and home; the next one lists the
    home at once (one PROPFIND), and still sees a calendar made in between."""
    first = backend(account)
    first.discovery_file = tmp_path / "discovery.json"
    first.ensure_calendar("blocktime")
    first.close()
    assert (tmp_path / "discovery.json").exists()
    other = backend(account)  # no file: another client makes a calendar
    other.ensure_calendar("Elsewhere")
    other.close()
    again = backend(account)
    again.discovery_file = tmp_path / "discovery.json"
    sent = _propfinds(again)
    names = {c.name for c in again.calendars()}
    assert {"blocktime", "Elsewhere"} <= names
    assert sent == ["PROPFIND"]
    again.close()


def test_a_remembered_home_that_fails_is_discovered_again(account: Account, tmp_path: Path) -> None:
    b = backend(account)
    b.discovery_file = tmp_path / "discovery.json"
    b.ensure_calendar("blocktime")
    b.close()
    kept = json.loads((tmp_path / "discovery.json").read_text())
    good = json.loads(json.dumps(kept))
    for value in kept.values():
        value["home"] = value["home"].rstrip("/") + "-gone/"
        value["principal"] = value["principal"].rstrip("/") + "-gone/"
    (tmp_path / "discovery.json").write_text(json.dumps(kept))
    again = backend(account)
    again.discovery_file = tmp_path / "discovery.json"
    assert "blocktime" in {c.name for c in again.calendars()}
    again.close()
    assert json.loads((tmp_path / "discovery.json").read_text()) == good


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_discovery_where_the_url_is_the_principal_takes_two_requests(account: Account) -> None:
    """current-user-principal and calendar-home-set in one PROPFIND, then the listing; creating
    the calendar needs no further lookup (Radicale: the principal is the home)."""
    b = backend(account)
    sent = _propfinds(b)
    b.ensure_calendar("blocktime")
    assert sent == ["PROPFIND", "PROPFIND", "MKCALENDAR"]
    assert b.find_calendar("blocktime") is not None
    b.close()


def test_a_calendar_is_made_with_one_request_that_names_it(account: Account) -> None:
    """MKCALENDAR sets the display name itself (RFC 4791 §5.3.1); a plain name is the path segment
    too, so the calendar is found by it on a server that ignored the name."""
    b = backend(account)
    b.calendars()
    sent = _propfinds(b)
    cal = b.ensure_calendar("blocktime")
    assert sent == ["MKCALENDAR"]
    assert cal.url.rstrip("/").endswith("/blocktime")
    b.close()
    again = backend(account)
    assert {c.name for c in again.calendars() if c.url == cal.url} == {"blocktime"}  # the display name
    again.close()


def test_a_name_that_is_no_path_segment_gets_a_random_one_and_its_name_set(account: Account) -> None:
    b = backend(account)
    b.calendars()
    sent = _propfinds(b)
    cal = b.ensure_calendar("Szkolenia & Kursy / 2027")
    assert sent == ["MKCALENDAR", "PROPPATCH"]
    assert "Szkolenia" not in cal.url
    b.close()
    again = backend(account)
    assert again.find_calendar("Szkolenia & Kursy / 2027") == cal
    assert again.ensure_calendar("Szkolenia & Kursy / 2027") == cal  # found: not made twice
    again.close()


def test_a_segment_taken_by_something_else_falls_back_to_a_random_one(account: Account) -> None:
    """An address book (not a calendar) already holds the name's segment: MKCALENDAR there is
    refused (Radicale 409, Xandikos 403, both resource-must-be-null), and the calendar is made at a
    random segment with its name set."""
    import niquests

    b = backend(account)
    b.calendars()
    home = b._home
    assert home is not None
    with niquests.Session() as s:
        s.auth = (account.username, account.password or "") if account.username else None
        made = s.request("MKCOL", home.rstrip("/") + "/blocktime/", data=ADDRESS_BOOK,
                         headers={"Content-Type": "application/xml; charset=utf-8"})
        assert made.status_code == 201, made.status_code
    sent = _propfinds(b)
    cal = b.ensure_calendar("blocktime")
    assert sent == ["MKCALENDAR", "MKCALENDAR", "PROPPATCH"]
    assert not cal.url.rstrip("/").endswith("/blocktime")
    b.close()
    again = backend(account)
    assert again.find_calendar("blocktime") == cal
    again.close()
