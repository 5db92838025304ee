"""Microsoft Graph as its documentation says, against the adversarial stand-in: `@removed` rows for
events moved out of the delta window, delta states that are lost, rounds that cover their window
only, 429 without Retry-After, 409 `ErrorIrresolvableConflict`, transactionId per attempt."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from blocktime.backends import graph_http
from blocktime.backends.graph import GraphBackend
from blocktime.backends.graph_ics import UID_PROP
from blocktime.config.auth import BearerAuth
from blocktime.errors import ConflictError
from tests.backends.conftest import GRAPH_WINDOW, graph_token
from tests.backends.standin_graph import Graph
from tests.backends.standin_http import StandIn
from tests.backends.test_graph import BOOK, _ics
from tests.conftest import Runner
from tests.stores import StoreDB

pytestmark = pytest.mark.standin


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph_http, "BACKOFF_BASE", 0.001)


def _pass(cli: Runner, now: str) -> dict:  # type: ignore[type-arg]
    code, out, err = cli("daemon", "--once", "--json", now=now)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def _states(data_dir: Path) -> dict[str, str]:
    db = StoreDB(data_dir)
    return {f"{e}-{n}": s for e, n, s in db.execute("SELECT engagement, number, state FROM blocks")}


def _cancels(data_dir: Path) -> int:
    db = StoreDB(data_dir)
    return int(db.execute("SELECT count(*) FROM mail_outbox WHERE kind='cancel'").fetchone()[0])


def _event_of(app: Graph, uid: str) -> str:
    (event_id,) = [i for i, e in app.events.items() if e["_ext"].get(UID_PROP.lower(), ("", ""))[1] == uid]
    return event_id


def _uids(cli: Runner) -> dict[str, str]:
    return {b["id"]: b["uid"] for b in cli.json("agenda")["blocks"]}


def test_a_block_moved_out_of_outlooks_window_gets_no_cancel(
    graph_cli: Runner, graph_standin: tuple[Graph, StandIn], data_dir: Path
) -> None:
    app, _server = graph_standin
    assert app.removed_outside  # on by default
    graph_cli.json(*BOOK)
    assert _pass(graph_cli, "2026-03-20T09:00")["actions"] == []
    moved = _event_of(app, _uids(graph_cli)["acme-2"])
    far = {"dateTime": "2027-09-07T10:00:00.0000000", "timeZone": "UTC"}  # beyond now + 400 days
    app.outlook_edit(moved, start=far, end={"dateTime": "2027-09-07T11:00:00.0000000", "timeZone": "UTC"})
    report = _pass(graph_cli, "2026-03-21T09:00")
    assert report["errors"] == []
    assert not any("deleted" in a for a in report["actions"]), report
    assert any("acme-2 was moved to" in a and "2027-09-07" in a for a in report["actions"]), report
    assert _states(data_dir)["acme-2"] == "booked" and _cancels(data_dir) == 0


def test_a_token_reset_cancels_nothing(graph_cli: Runner, graph_standin: tuple[Graph, StandIn],
                                       data_dir: Path) -> None:
    app, _server = graph_standin
    graph_cli.json(*BOOK)
    assert _pass(graph_cli, "2026-03-20T09:00")["actions"] == []
    app.reset_sync_state()
    # two months later: the old blocks lie before the new round's window, which cannot see them
    report = _pass(graph_cli, "2026-05-25T09:00")
    assert report["errors"] == [] and report["actions"] == [], report
    assert set(_states(data_dir).values()) == {"booked"} and _cancels(data_dir) == 0


def test_lost_delta_states_on_every_fourth_round_change_nothing(
    graph_cli: Runner, graph_standin: tuple[Graph, StandIn], data_dir: Path
) -> None:
    app, _server = graph_standin
    assert app.state_rounds == 4  # on by default
    graph_cli.json(*BOOK)
    for hour in range(10, 19):
        report = _pass(graph_cli, f"2026-03-20T{hour}:00")
        assert report["errors"] == [] and report["actions"] == [], report
    assert any(r.path.endswith("/delta") and "startDateTime" in r.query for r in app.requests[10:])
    assert _cancels(data_dir) == 0
    app.outlook_delete(_event_of(app, _uids(graph_cli)["acme-4"]))  # a real deletion still counts
    report = _pass(graph_cli, "2026-03-20T20:00")
    assert any("acme-4 was deleted" in a for a in report["actions"]), report
    assert _cancels(data_dir) == 1


def _backend(app: Graph, server: StandIn, data_dir: Path, window: tuple[datetime, datetime] = GRAPH_WINDOW,
             waits: list[float] | None = None) -> GraphBackend:
    return GraphBackend(BearerAuth(graph_token(app, server, data_dir)), base=f"{server.root}/v1.0",
                        window=window, sleep=waits.append if waits is not None else (lambda s: None))


def test_the_delta_window_is_renewed_weekly_and_near_its_edge(
    graph_standin: tuple[Graph, StandIn], tmp_path: Path
) -> None:
    app, server = graph_standin
    start, end = GRAPH_WINDOW
    b = _backend(app, server, tmp_path)
    cal = b.ensure_calendar("blocktime")
    first = b.changes(cal, None)
    assert first.complete and first.window == GRAPH_WINDOW
    later = _backend(app, server, tmp_path, (start + timedelta(days=2), end + timedelta(days=2)))
    assert not later.changes(cal, first.token).complete  # two days on: the same round goes on
    week = _backend(app, server, tmp_path, (start + timedelta(days=7), end + timedelta(days=7)))
    renewed = week.changes(cal, first.token)
    assert renewed.complete and renewed.window == (start + timedelta(days=7), end + timedelta(days=7))
    # one of blocktime's events near the end of the window: renewed as soon as the window moves on
    text = _ics("bt-edge@blocktime").replace("20260324T11", "20270215T11").replace("20260324T12", "20270215T12")
    b.create(b.href_for(cal, "bt-edge@blocktime"), text)
    seen = b.changes(cal, first.token)
    assert not seen.complete and [o.href for o in seen.changed] == [b.href_for(cal, "bt-edge@blocktime")]
    day = _backend(app, server, tmp_path, (start + timedelta(days=1), end + timedelta(days=1)))
    assert day.changes(cal, seen.token).complete


def test_an_out_of_window_removal_is_only_a_candidate(graph_standin: tuple[Graph, StandIn], tmp_path: Path) -> None:
    app, server = graph_standin
    b = _backend(app, server, tmp_path)
    cal = b.ensure_calendar("blocktime")
    href = b.href_for(cal, "bt-away@blocktime")
    b.create(href, _ics("bt-away@blocktime"))
    token = b.changes(cal, None).token
    app.outlook_edit(_event_of(app, "bt-away@blocktime"),
                     start={"dateTime": "2028-01-04T10:00:00.0000000", "timeZone": "UTC"},
                     end={"dateTime": "2028-01-04T11:00:00.0000000", "timeZone": "UTC"})
    reported = b.changes(cal, token)
    assert reported.deleted == (href,)  # what Graph says ...
    got = b.get(href)  # ... and what is true
    assert got is not None and "20280104T100000Z" in got.data
    assert b.find_uid(cal, "bt-away@blocktime") is not None


def test_transaction_id_is_new_per_attempt_and_reused_for_its_retries(
    graph_standin: tuple[Graph, StandIn], tmp_path: Path
) -> None:
    app, server = graph_standin
    assert app.sticky_transactions  # on by default: a known id gets the old event back, nothing new
    b = _backend(app, server, tmp_path)
    cal = b.ensure_calendar("blocktime")
    href = b.href_for(cal, "bt-again@blocktime")
    app.throttle_every, app.writes = 100, 99  # the next write (the POST) is refused once
    b.create(href, _ics("bt-again@blocktime"))
    posts = [json.loads(r.body) for r in app.requests if r.method == "POST" and r.path.endswith("/events")]
    assert len(posts) == 2 and posts[0]["transactionId"] == posts[1]["transactionId"]
    app.outlook_delete(_event_of(app, "bt-again@blocktime"))
    b.create(href, _ics("bt-again@blocktime"))  # the slot booked again after the deletion
    assert _event_of(app, "bt-again@blocktime")  # a new event exists
    posts = [json.loads(r.body) for r in app.requests if r.method == "POST" and r.path.endswith("/events")]
    assert posts[-1]["transactionId"] != posts[0]["transactionId"]


def test_409_irresolvable_conflict_is_a_conflict_like_412(graph_standin: tuple[Graph, StandIn],
                                                          tmp_path: Path) -> None:
    app, server = graph_standin
    b = _backend(app, server, tmp_path)
    cal = b.ensure_calendar("blocktime")
    href = b.href_for(cal, "bt-409@blocktime")
    b.create(href, _ics("bt-409@blocktime"))
    stale = b.get(href)
    assert stale is not None and stale.etag
    b.update(href, _ics("bt-409@blocktime", "edited"), stale.etag)
    statuses = []
    for _ in range(2):  # the stand-in answers 409 ErrorIrresolvableConflict, then 412
        with pytest.raises(ConflictError):
            b.update(href, _ics("bt-409@blocktime", "stale"), stale.etag)
        statuses.append(app.conflicts)
    with pytest.raises(ConflictError):
        b.delete(href, stale.etag)
    assert app.conflicts == 3


def test_a_burst_of_50_bookings_finishes_through_429s_without_retry_after(
    graph_cli: Runner, graph_standin: tuple[Graph, StandIn], data_dir: Path
) -> None:
    app, _server = graph_standin
    assert app.throttle_every  # on by default: every 5th write answers 429 with no Retry-After
    doc = graph_cli.json("book", "--client", "Burst", "--site", "Acme HQ", "--attendee", "it@acme.example",
                         "--start", "2026-03-23 10:00", "--length", "30m", "--every", "mon,tue,wed,thu,fri",
                         "--count", "50", "--skip-conflicts")
    booked = [b for b in doc["booked"]]
    assert len(booked) + len(doc["refused"]) == 50 and len(booked) >= 45
    mine = [e for e in app.events.values() if e["_ext"]]
    assert len(mine) == len(booked)
    throttled = [r for r in app.requests if r.method == "POST"]
    assert len(throttled) > len(booked)  # some were refused and sent again
    assert set(_states(data_dir).values()) == {"booked"}


def test_an_old_bare_delta_link_starts_a_fresh_round(graph_standin: tuple[Graph, StandIn], tmp_path: Path) -> None:
    app, server = graph_standin
    b = _backend(app, server, tmp_path)
    cal = b.ensure_calendar("blocktime")
    now = datetime(2026, 3, 20, tzinfo=UTC)
    assert now < GRAPH_WINDOW[1]
    bare = f"{cal.url}/calendarView/delta?$deltatoken=v1-s0-e0-r1"  # a token written before windows were kept
    assert b.changes(cal, bare).complete


def test_with_the_delta_path_refused_passes_still_see_edits_and_deletions(
    graph_cli: Runner, graph_standin: tuple[Graph, StandIn], data_dir: Path
) -> None:
    """Issue 24, point 5: v1.0 documents calendarView/delta for the primary calendar only. With the
    stand-in refusing `calendars/{id}/calendarView/delta`, rounds compare calendarView reads by
    changeKey: a quiet pass changes nothing, an edit is adopted, a deletion is confirmed and cancelled."""
    app, _server = graph_standin
    app.refuse_calendar_delta = True
    graph_cli.json(*BOOK)
    assert _pass(graph_cli, "2026-03-20T09:00")["actions"] == []
    assert _pass(graph_cli, "2026-03-20T09:15")["actions"] == []  # nothing changed: nothing said
    assert not any(r.path.endswith("/delta") and r.query.get("$deltatoken") for r in app.requests)
    moved = _event_of(app, _uids(graph_cli)["acme-2"])
    app.outlook_edit(moved, start={"dateTime": "2026-03-26T14:00:00.0000000", "timeZone": "UTC"},
                     end={"dateTime": "2026-03-26T15:00:00.0000000", "timeZone": "UTC"})
    report = _pass(graph_cli, "2026-03-20T09:30")
    assert any("acme-2 was moved" in a for a in report["actions"]), report
    app.outlook_delete(_event_of(app, _uids(graph_cli)["acme-4"]))
    report = _pass(graph_cli, "2026-03-20T09:45")
    assert any("acme-4 was deleted" in a for a in report["actions"]), report
    assert _cancels(data_dir) == 1 and _states(data_dir)["acme-2"] == "booked"
    doctor = [f for f in graph_cli.json("doctor", now=None)["findings"] if f["topic"] == "changes"]
    assert doctor[0]["level"] == "info" and "calendarView/delta refused" in doctor[0]["text"]
    assert all(f["level"] != "fail" for f in doctor)


def _calendar_id(app: Graph, name: str) -> str:
    return next(cid for cid, c in app.calendars.items() if c["name"] == name)


def _updates(data_dir: Path) -> int:
    db = StoreDB(data_dir)
    return int(db.execute("SELECT count(*) FROM mail_outbox WHERE kind='update'").fetchone()[0])


def test_a_block_moved_to_another_outlook_calendar_is_followed_with_no_cancel(
    graph_cli: Runner, graph_standin: tuple[Graph, StandIn], data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 24, point 1 on Graph: "Move to calendar" in Outlook. Its REST id changes; blocktime asks
    for immutable ids, and confirms absence across every calendar before anything is cancelled."""
    app, _server = graph_standin
    graph_cli.json(*BOOK)
    assert _pass(graph_cli, "2026-03-20T09:00")["actions"] == []
    app.outlook_move(_event_of(app, _uids(graph_cli)["acme-3"]), _calendar_id(app, "Calendar"))
    code, out, err = graph_cli("daemon", "--once", "--json", now="2026-03-20T10:00")
    report = json.loads(out)
    assert code == 0 and report["errors"] == [] and not any("deleted" in a for a in report["actions"]), report
    assert "acme-3 was moved to calendar 'Calendar': still booked, followed there" in err
    assert _states(data_dir)["acme-3"] == "booked" and _cancels(data_dir) == 0
    href = StoreDB(data_dir).execute("SELECT href FROM blocks WHERE number=3").fetchone()[0]
    assert href.startswith(app.base + f"/me/calendars/{quote(_calendar_id(app, 'Calendar'), safe='')}")  # followed
    assert _pass(graph_cli, "2026-03-20T10:15")["actions"] == []
    # deleted there for real: cancelled
    app.outlook_delete(_event_of(app, _uids(graph_cli)["acme-3"]))
    report = _pass(graph_cli, "2026-03-20T10:30")
    assert any("acme-3 was deleted" in a for a in report["actions"]) and _cancels(data_dir) == 1, report


@pytest.mark.parametrize("where", ["blocktime", "Calendar"])
def test_a_copy_of_a_block_sends_no_update(graph_cli: Runner, graph_standin: tuple[Graph, StandIn],
                                           data_dir: Path, where: str) -> None:
    """Issue 24, point 2 on Graph: Outlook's copy keeps blocktime's extended property, so two events
    carry one UID. The copy is the organizer's own event, even after it is moved in time."""
    app, _server = graph_standin
    graph_cli.json(*BOOK)
    assert _pass(graph_cli, "2026-03-20T09:00")["actions"] == []
    original = _event_of(app, _uids(graph_cli)["acme-2"])
    copied = app.outlook_copy(original, _calendar_id(app, where))
    app.outlook_edit(copied, start={"dateTime": "2026-03-27T08:00:00.0000000", "timeZone": "UTC"},
                     end={"dateTime": "2026-03-27T09:00:00.0000000", "timeZone": "UTC"})
    code, out, err = graph_cli("daemon", "--once", "--json", now="2026-03-20T10:00")
    report = json.loads(out)
    assert code == 0 and report["errors"] == [] and report["actions"] == [], report
    assert "acme-2: the event at" in err and "is a copy" in err
    assert _updates(data_dir) == 0 and _cancels(data_dir) == 0
    (block,) = [b for b in graph_cli.json("agenda", now="2026-03-20T10:00")["blocks"] if b["id"] == "acme-2"]
    assert block["start"] == "2026-03-26T12:00:00+01:00"
    assert _pass(graph_cli, "2026-03-20T10:15")["actions"] == []


def test_a_block_deleted_in_outlook_is_cancelled_though_its_id_still_answers(
    graph_cli: Runner, graph_standin: tuple[Graph, StandIn], data_dir: Path
) -> None:
    """Deleted in Outlook, an event goes to Deleted Items, where its immutable id still answers a GET:
    blocktime asks which calendar holds it, and Deleted Items is none of the account's calendars."""
    app, _server = graph_standin
    graph_cli.json(*BOOK)
    assert _pass(graph_cli, "2026-03-20T09:00")["actions"] == []
    app.outlook_trash(_event_of(app, _uids(graph_cli)["acme-4"]))
    report = _pass(graph_cli, "2026-03-20T09:30")
    assert any("acme-4 was deleted" in a for a in report["actions"]), report
    assert _cancels(data_dir) == 1


def test_in_one_process_a_trashed_event_is_gone_by_its_remembered_id(
    graph_standin: tuple[Graph, StandIn], data_dir: Path
) -> None:
    """The daemon keeps one backend for many passes: it remembers the event id it created, and that id
    still answers from Deleted Items."""
    app, server = graph_standin
    b = _backend(app, server, data_dir)
    cal = b.ensure_calendar("blocktime")
    href = b.href_for(cal, "bt-trash@blocktime")
    b.create(href, _ics("bt-trash@blocktime"))
    assert b.get(href) is not None
    app.outlook_trash(_event_of(app, "bt-trash@blocktime"))
    assert b.get(href) is None
    assert b.find_uid(cal, "bt-trash@blocktime") is None


def test_a_state_kept_before_immutable_ids_starts_a_fresh_round(graph_standin: tuple[Graph, StandIn],
                                                                tmp_path: Path) -> None:
    """A delta state from before IdType="ImmutableId" maps REST ids, which the rows of its link no
    longer name (a deletion would go unseen until the weekly renewal): it starts over."""
    import base64
    import zlib

    from blocktime.backends.graph_state import TOKEN_PREFIX, read_token

    app, server = graph_standin
    b = _backend(app, server, tmp_path)
    cal = b.ensure_calendar("blocktime")
    fresh = b.changes(cal, None)
    assert read_token(fresh.token or "").link is not None
    doc = json.loads(zlib.decompress(base64.urlsafe_b64decode((fresh.token or "")[len(TOKEN_PREFIX):].encode())))
    del doc["imm"]
    old = TOKEN_PREFIX + base64.urlsafe_b64encode(zlib.compress(json.dumps(doc).encode())).decode()
    assert read_token(old).link is None
    assert b.changes(cal, old).complete  # a new round
