"""Outlook / Microsoft 365 through Microsoft Graph, against the loopback stand-in (tests/recorded/graph)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest

from blocktime.backends import graph_http
from blocktime.backends.graph import GraphBackend
from blocktime.backends.graph_ics import ICS_PROP, UID_PROP, from_graph, to_graph
from blocktime.backends.throttle import retry_after
from blocktime.config.auth import BearerAuth
from blocktime.errors import ServerError
from tests.backends.conftest import GRAPH_WINDOW, graph_token
from tests.backends.standin_graph import RECORDED, Graph
from tests.backends.standin_http import StandIn
from tests.conftest import Runner

pytestmark = pytest.mark.standin
WEEK = (datetime(2026, 3, 23, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC))
BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue,thu", "--count", "4")


def _backend(app: Graph, server: StandIn, data_dir: Path, waits: list[float] | None = None,
             **kw: bool) -> GraphBackend:
    sleep = (waits.append if waits is not None else (lambda s: None))
    return GraphBackend(BearerAuth(graph_token(app, server, data_dir, **kw)), base=f"{server.root}/v1.0",
                        window=GRAPH_WINDOW, sleep=sleep)


def _ics(uid: str, summary: str = "Acme: training") -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//blocktime//t//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20260320T090000Z\r\nSEQUENCE:2\r\nDTSTART:20260324T110000Z\r\n"
            f"DTEND:20260324T120000Z\r\nSUMMARY:{summary}\r\nLOCATION:Acme HQ\r\nSTATUS:CONFIRMED\r\n"
            "ORGANIZER:mailto:anna@example.com\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:it@acme.example\r\n"
            "X-BLOCKTIME-SITE:Acme HQ\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:10 min left\r\n"
            "TRIGGER;RELATED=END:-PT10M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


# -- the codec -----------------------------------------------------------------------------------


def test_to_graph_sends_times_in_utc_no_attendees_and_the_copy_in_extended_properties() -> None:
    uid, body = to_graph(_ics("bt-1@blocktime"))
    assert uid == "bt-1@blocktime"
    assert body["start"] == {"dateTime": "2026-03-24T11:00:00", "timeZone": "UTC"}
    assert body["end"] == {"dateTime": "2026-03-24T12:00:00", "timeZone": "UTC"}
    assert body["subject"] == "Acme: training" and body["location"] == {"displayName": "Acme HQ"}
    assert body["showAs"] == "busy" and body["isAllDay"] is False
    assert "attendees" not in body  # invites go by iMIP; Graph would mail its own
    # the alarm counts from the end; Graph's reminder counts from the start: as many minutes before it
    assert body["isReminderOn"] is True and body["reminderMinutesBeforeStart"] == 10
    props = {p["id"]: p["value"] for p in body["singleValueExtendedProperties"]}
    assert props[UID_PROP] == uid and "X-BLOCKTIME-SITE" in props[ICS_PROP]


def test_from_graph_keeps_blocktime_copy_and_takes_outlook_edits() -> None:
    uid, body = to_graph(_ics("bt-1@blocktime"))
    event = {**body, "id": "AAMk1=", "iCalUId": "0400000082", "@odata.etag": 'W/"x"',
             "start": {"dateTime": "2026-03-24T12:00:00.0000000", "timeZone": "UTC"},
             "end": {"dateTime": "2026-03-24T13:00:00.0000000", "timeZone": "UTC"},
             "showAs": "tentative", "subject": "moved in Outlook"}
    ev = icalendar.Calendar.from_ical(from_graph(event)).walk("VEVENT")[0]
    assert str(ev["UID"]) == uid and int(ev["SEQUENCE"]) == 2
    assert ev.decoded("DTSTART") == datetime(2026, 3, 24, 12, tzinfo=UTC)
    assert str(ev["SUMMARY"]) == "moved in Outlook" and str(ev["STATUS"]) == "TENTATIVE"
    assert str(ev["X-BLOCKTIME-SITE"]) == "Acme HQ" and ev.walk("VALARM")
    assert "it@acme.example" in str(ev["ATTENDEE"])


def test_a_foreign_event_maps_icaluid_to_uid() -> None:
    doc = json.loads((RECORDED / "event.json").read_text())
    ev = icalendar.Calendar.from_ical(from_graph(doc)).walk("VEVENT")[0]
    assert str(ev["UID"]) == doc["iCalUId"]
    assert ev.decoded("DTSTART") == datetime(2026, 3, 25, 9, tzinfo=UTC)
    assert str(ev["ORGANIZER"]) == "mailto:danas@contoso.com"
    partstats = sorted(a.params["PARTSTAT"] for a in ev["ATTENDEE"])
    assert partstats == ["ACCEPTED", "NEEDS-ACTION"]


def test_windows_zone_names_and_all_day_events() -> None:
    ev = {"id": "x", "iCalUId": "u", "subject": "s", "isAllDay": False,
          "start": {"dateTime": "2026-03-24T12:00:00.0000000", "timeZone": "Central European Standard Time"},
          "end": {"dateTime": "2026-03-24T13:00:00.0000000", "timeZone": "Central European Standard Time"}}
    got = icalendar.Calendar.from_ical(from_graph(ev)).walk("VEVENT")[0]
    assert got.decoded("DTSTART") == datetime(2026, 3, 24, 11, tzinfo=UTC)
    day = {**ev, "isAllDay": True, "showAs": "free",
           "start": {"dateTime": "2026-04-02T00:00:00.0000000", "timeZone": "UTC"},
           "end": {"dateTime": "2026-04-03T00:00:00.0000000", "timeZone": "UTC"}}
    got = icalendar.Calendar.from_ical(from_graph(day)).walk("VEVENT")[0]
    assert str(got["DTSTART"].to_ical().decode()) == "20260402" and str(got["TRANSP"]) == "TRANSPARENT"


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("7", 0) == 7.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC).timestamp()) == 30
    assert retry_after(None, 0) is None and retry_after("soon", 0) is None


# -- against the stand-in ------------------------------------------------------------------------


def test_429_and_503_wait_for_retry_after(graph_standin: tuple[Graph, StandIn], tmp_path: Path) -> None:
    app, server = graph_standin
    waits: list[float] = []
    b = _backend(app, server, tmp_path, waits)
    app.throttle = [(429, "3"), (503, "1"), (429, None)]
    assert {c.name for c in b.calendars()} == {"Calendar", "United States holidays"}
    assert waits[:2] == [3.0, 1.0]
    assert 2.0 <= waits[2] <= 4.0  # the third had no Retry-After: exponential back-off with jitter


def test_endless_throttling_ends_in_one_clear_error(graph_standin: tuple[Graph, StandIn], tmp_path: Path) -> None:
    app, server = graph_standin
    b = _backend(app, server, tmp_path, [])
    app.throttle = [(429, "1")] * 10
    with pytest.raises(ServerError, match="throttling"):
        b.calendars()
    app.throttle = [(429, "3600")]  # longer than blocktime is willing to wait
    with pytest.raises(ServerError, match="throttling"):
        b.calendars()


def test_a_401_refreshes_the_token_once_and_keeps_the_rotated_refresh_token(
    graph_standin: tuple[Graph, StandIn], tmp_path: Path
) -> None:
    app, server = graph_standin
    b = _backend(app, server, tmp_path)
    app.valid_tokens = {"revoked-by-server"}  # the access token stopped working early
    assert len(b.calendars()) == 2
    stored = json.loads((tmp_path / "tokens" / "outlook.json").read_text())
    assert stored["access_token"] == "eyJ0eXAi.standin-1" and stored["refresh_token"] == app.refresh_token
    assert stored["refresh_token"] != "0.AX0Astandin-refresh-1"


def test_transaction_id_makes_a_retried_post_harmless(graph_standin: tuple[Graph, StandIn], tmp_path: Path) -> None:
    app, server = graph_standin
    b = _backend(app, server, tmp_path)
    cal = b.ensure_calendar("blocktime")
    b.create(b.href_for(cal, "bt-tx@blocktime"), _ics("bt-tx@blocktime"))
    posted = [r for r in app.requests if r.method == "POST" and r.path.endswith("/events")]
    again = b.http.request("POST", f"{cal.url}/events", body=json.loads(posted[0].body))  # a client retry
    assert again.status_code == 201
    mine = [e for e in app.events.values() if e["_calendar"] != "AAMkAGI2TGuLAAA="]
    assert len(mine) == 1 and mine[0]["transactionId"]


def test_calendar_view_pages_and_expands_series_for_busy_time(
    graph_standin: tuple[Graph, StandIn], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blocktime.ics.busy import busy_from_texts

    app, server = graph_standin
    monkeypatch.setattr(graph_http, "PREFER_PAGE", "odata.maxpagesize=1")
    b = _backend(app, server, tmp_path)
    (default,) = [c for c in b.calendars() if c.name == "Calendar"]
    found = b.list_range(default, WEEK[0], datetime(2026, 4, 6, tzinfo=UTC))
    assert len([r for r in app.requests if "calendarView" in r.path]) == 3  # one event per page
    busy = busy_from_texts([(o.href, o.data) for o in found], WEEK[0], datetime(2026, 4, 6, tzinfo=UTC), UTC)
    assert [(x.summary, x.span.start.isoformat()) for x in busy.busy] == [
        ("Weekly 1:1", "2026-03-23T08:00:00+00:00"),
        ("Tailspin Toys Proposal", "2026-03-25T09:00:00+00:00"),
        ("Weekly 1:1", "2026-03-30T07:00:00+00:00"),
    ]
    assert all(o.href.startswith(f"{server.root}/v1.0/me/events/") for o in found)


def test_the_main_job_works_unchanged_on_outlook(
    graph_cli: Runner, graph_standin: tuple[Graph, StandIn], data_dir: Path
) -> None:
    app, _server = graph_standin
    code, out, _err = graph_cli("book", "--client", "Tailspin", "--site", "Redmond", "--start", "2026-03-25 10:00",
                                "--length", "1h")
    assert code == 1 and "Tailspin Toys Proposal" in out  # busy in Outlook
    booked = graph_cli.json(*BOOK)
    assert len(booked["booked"]) == 4 and not booked["refused"]
    (cal_id,) = [c for c, v in app.calendars.items() if v["name"] == "blocktime"]  # created through Graph
    mine = [e for e in app.events.values() if e["_calendar"] == cal_id]
    assert len(mine) == 4 and all(e["attendees"] == [] and e["transactionId"] for e in mine)
    assert len(list((data_dir / "outbox").glob("*-request.ics"))) == 4  # invites go by iMIP
    doc = graph_cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")
    (cut,) = [e for e in mine if "cut short" in e["subject"]]
    assert cut["end"]["dateTime"].startswith("2026-03-24T11:35")
    holds = [e for e in app.events.values() if e["_calendar"] == cal_id and e["showAs"] == "tentative"]
    assert len(holds) == 3
    made = graph_cli.json("accept", doc["offer"]["id"], "2", now="2026-03-24T13:05")["block"]
    assert made["makeup_for"] == "acme-1"
    assert not [e for e in app.events.values() if e["_calendar"] == cal_id and e["showAs"] == "tentative"]
    assert len([e for e in app.events.values() if e["_calendar"] == cal_id]) == 5
    again = graph_cli.json(*BOOK)
    assert not any(b.get("created") for b in again["booked"])


def test_doctor_on_the_graph_stand_in(graph_cli: Runner) -> None:
    code, out, _err = graph_cli("doctor")
    assert code == 0, out
    assert "delta queries" in out and "look-up before each create" in out and "iMIP" in out
    assert out.strip().endswith("blocktime can work here.")


def test_edits_made_in_outlook_come_back_through_the_daemon_pass(
    graph_cli: Runner, graph_standin: tuple[Graph, StandIn]
) -> None:
    app, _server = graph_standin
    graph_cli.json(*BOOK)
    first = json.loads(graph_cli("daemon", "--once", "--json")[1])
    assert first["errors"] == [] and first["actions"] == []  # a complete first round deletes nothing
    blocks = {b["id"]: b["uid"] for b in graph_cli.json("agenda")["blocks"]}
    ours = {e["_ext"][UID_PROP.lower()][1]: e["id"] for e in app.events.values() if e["_ext"]}
    app.outlook_delete(ours[blocks["acme-3"]])
    moved = ours[blocks["acme-2"]]
    app.outlook_edit(moved, start={"dateTime": "2026-03-26T13:00:00.0000000", "timeZone": "UTC"},
                     end={"dateTime": "2026-03-26T14:00:00.0000000", "timeZone": "UTC"})
    report = json.loads(graph_cli("daemon", "--once", "--json", now="2026-03-21T09:00")[1])
    assert report["errors"] == []
    assert any("acme-3 was deleted" in a for a in report["actions"]), report
    assert any("acme-2" in a and "moved" in a for a in report["actions"]), report
    agenda = {b["id"]: b for b in graph_cli.json("agenda", now="2026-03-21T09:00")["blocks"]}
    assert "acme-3" not in agenda and agenda["acme-2"]["start"] == "2026-03-26T14:00:00+01:00"
    quiet = json.loads(graph_cli("daemon", "--once", "--json", now="2026-03-21T09:30")[1])
    assert quiet["actions"] == []


def test_a_new_process_still_knows_which_deleted_event_was_ours(
    graph_standin: tuple[Graph, StandIn], tmp_path: Path
) -> None:
    app, server = graph_standin
    b = _backend(app, server, tmp_path)
    cal = b.ensure_calendar("blocktime")
    href = b.href_for(cal, "bt-gone@blocktime")
    b.create(href, _ics("bt-gone@blocktime"))
    start = b.changes(cal, None)
    assert [o.href for o in start.changed] == [href]  # listed under the href it was created at
    b.close()
    later = _backend(app, server, tmp_path)  # nothing cached: only the token remembers
    (event_id,) = [e["id"] for e in app.events.values() if e["_ext"]]
    app.outlook_delete(event_id)
    assert later.changes(cal, start.token).deleted == (href,)


def test_the_real_endpoints_are_never_reached_from_the_tests(tmp_path: Path) -> None:
    """The guard in conftest.py refuses every host but loopback (token refresh included)."""
    from blocktime.config.auth import Token, TokenStore

    store = TokenStore(tmp_path, "outlook")
    store.save(Token("x", "y", 0.0, "https://login.microsoftonline.com/common/oauth2/v2.0/token", "c"))
    b = GraphBackend(BearerAuth(store), window=GRAPH_WINDOW, sleep=lambda s: None)
    with pytest.raises(ServerError, match="cannot reach the Microsoft sign-in server"):
        b.calendars()


def test_an_oversized_graph_answer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same bound as CalDAV: a hostile or broken endpoint cannot fill the memory."""
    import http.server
    import threading

    import blocktime.backends.graph_http as gh
    from blocktime.errors import ServerError

    class Huge(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            for _ in range(64):  # 4 MB, no Content-Length
                self.wfile.write(b" " * 65536)

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Huge)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setattr(gh, "MAX_RESPONSE_BYTES", 1024 * 1024)

    class Token:
        def token(self, force_refresh: bool = False) -> str:
            return "t"

    base = f"http://127.0.0.1:{srv.server_address[1]}"
    client = gh.GraphClient(Token(), base)
    try:
        with pytest.raises(ServerError, match="larger than 1 MB"):
            client.request("GET", base + "/me/calendars")
    finally:
        client.close()
        srv.shutdown()


def test_an_invitation_the_signed_in_user_declined_is_free_a_tentative_one_busy() -> None:
    """Graph's responseStatus is the signed-in user's own answer (issue 24, point 6; see
    tests/recorded/README.md): declined takes no time, even when showAs still says busy."""
    doc = json.loads((RECORDED / "event.json").read_text())
    declined = {**doc, "responseStatus": {"response": "declined", "time": "2026-03-03T08:00:00Z"}}
    got = icalendar.Calendar.from_ical(from_graph(declined)).walk("VEVENT")[0]
    assert str(got["TRANSP"]) == "TRANSPARENT"
    maybe = {**doc, "showAs": "tentative", "responseStatus": {"response": "tentativelyAccepted"}}
    got = icalendar.Calendar.from_ical(from_graph(maybe)).walk("VEVENT")[0]
    assert str(got["TRANSP"]) == "OPAQUE" and str(got["STATUS"]) == "TENTATIVE"
