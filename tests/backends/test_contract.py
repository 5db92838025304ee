"""The backend contract: every backend behaves the same for every use case.

Run for real against Radicale, Xandikos and the embedded calendar, and against the loopback
stand-ins for Google (CalDAV) and Microsoft Graph (marked `standin`).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from blocktime.backends.base import AlreadyExists
from blocktime.errors import ConflictError, ServerError
from tests.backends.conftest import Subject

WEEK = (datetime(2026, 3, 23, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC))


def event(uid: str, summary: str, start: str = "20260324T110000Z", end: str = "20260324T120000Z") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//blocktime//contract//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260320T090000Z\r\nSEQUENCE:0\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        f"SUMMARY:{summary}\r\nLOCATION:Acme HQ\r\nSTATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\n"
        "X-BLOCKTIME-SITE:Acme HQ\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def uids(objects: tuple[object, ...] | list[object]) -> set[str]:
    import icalendar

    out = set()
    for o in objects:
        cal = icalendar.Calendar.from_ical(o.data)  # type: ignore[attr-defined]
        out |= {str(ev["UID"]) for ev in cal.walk("VEVENT")}
    return out


def test_calendars_are_listed_and_the_target_is_found_again(subject: Subject) -> None:
    b = subject.backend
    first = subject.target()
    assert subject.target().url == first.url
    assert first.url in {c.url for c in b.calendars()}
    if subject.creates_calendars:
        other = b.ensure_calendar("Contract other")
        assert other.url != first.url and other.url in {c.url for c in b.calendars()}
    else:  # Google: no MKCALENDAR; the user must create the calendar
        with pytest.raises(ServerError, match="cannot create"):
            b.ensure_calendar("Contract other")


def test_create_never_overwrites(subject: Subject) -> None:
    b, cal = subject.backend, subject.target()
    href = b.href_for(cal, "ct-create@blocktime")
    assert b.href_for(cal, "ct-create@blocktime") == href  # deterministic
    b.create(href, event("ct-create@blocktime", "first"))
    with pytest.raises(AlreadyExists) as info:
        b.create(href, event("ct-create@blocktime", "second"))
    assert not info.value.elsewhere
    got = b.get(href)
    assert got is not None and "first" in got.data and "second" not in got.data and got.etag


def test_the_same_uid_at_another_href_is_refused(subject: Subject) -> None:
    b, cal = subject.backend, subject.target()
    b.create(b.href_for(cal, "ct-dup@blocktime"), event("ct-dup@blocktime", "one"))
    other = b.href_for(cal, "ct-other@blocktime")
    with pytest.raises(AlreadyExists) as info:
        b.create(other, event("ct-dup@blocktime", "two"))
    assert info.value.elsewhere
    assert b.get(other) is None


def test_update_needs_the_current_etag(subject: Subject) -> None:
    b, cal = subject.backend, subject.target()
    href = b.href_for(cal, "ct-update@blocktime")
    b.create(href, event("ct-update@blocktime", "first"))
    before = b.get(href)
    assert before is not None and before.etag
    b.update(href, event("ct-update@blocktime", "second"), before.etag)
    after = b.get(href)
    assert after is not None and "second" in after.data and after.etag != before.etag
    with pytest.raises(ConflictError):
        b.update(href, event("ct-update@blocktime", "third"), before.etag)
    final = b.get(href)
    assert final is not None and "second" in final.data and "third" not in final.data


def test_delete_needs_the_current_etag_and_tolerates_a_gone_object(subject: Subject) -> None:
    b, cal = subject.backend, subject.target()
    href = b.href_for(cal, "ct-delete@blocktime")
    b.create(href, event("ct-delete@blocktime", "first"))
    stale = b.get(href)
    assert stale is not None and stale.etag
    b.update(href, event("ct-delete@blocktime", "edited elsewhere"), stale.etag)
    with pytest.raises(ConflictError):
        b.delete(href, stale.etag)
    current = b.get(href)
    assert current is not None
    b.delete(href, current.etag)
    assert b.get(href) is None
    b.delete(href, None)  # already gone: fine


def test_list_range_returns_what_overlaps_with_times_intact(subject: Subject) -> None:
    from blocktime.ics.busy import busy_from_texts

    b, cal = subject.backend, subject.target()
    b.create(b.href_for(cal, "ct-in@blocktime"), event("ct-in@blocktime", "inside"))
    b.create(b.href_for(cal, "ct-out@blocktime"),
             event("ct-out@blocktime", "later", "20260615T110000Z", "20260615T120000Z"))
    found = b.list_range(cal, *WEEK)
    assert "ct-in@blocktime" in uids(found) and "ct-out@blocktime" not in uids(found)
    busy = busy_from_texts([(o.href, o.data) for o in found], *WEEK, UTC)  # type: ignore[arg-type]
    mine = [x for x in busy.busy if x.uid == "ct-in@blocktime"]
    assert [(x.span.start, x.span.end, x.site if subject.keeps_x_properties else "Acme HQ") for x in mine] == [
        (datetime(2026, 3, 24, 11, tzinfo=UTC), datetime(2026, 3, 24, 12, tzinfo=UTC), "Acme HQ")]
    for o in found:  # every href handed out can be read back
        if "ct-in" in o.data:
            again = b.get(o.href)
            assert again is not None and "inside" in again.data


def test_changes_report_creations_updates_and_deletions(subject: Subject) -> None:
    b, cal = subject.backend, subject.target()
    start = b.changes(cal, None)
    assert start.complete and start.token
    a, c = b.href_for(cal, "ct-a@blocktime"), b.href_for(cal, "ct-c@blocktime")
    b.create(a, event("ct-a@blocktime", "a"))
    b.create(c, event("ct-c@blocktime", "c", "20260325T110000Z", "20260325T120000Z"))
    first = b.changes(cal, start.token)
    assert not first.complete and not first.deleted
    assert uids(first.changed) >= {"ct-a@blocktime", "ct-c@blocktime"}
    href_of = {u: o.href for o in first.changed for u in uids([o])}
    assert b.changes(cal, first.token).changed == ()  # nothing new
    got = b.get(a)
    assert got is not None and got.etag
    b.update(a, event("ct-a@blocktime", "a edited"), got.etag)
    gone = b.get(c)
    assert gone is not None
    b.delete(c, gone.etag)
    second = b.changes(cal, first.token)
    assert uids(second.changed) == {"ct-a@blocktime"}
    assert "a edited" in second.changed[0].data
    assert second.deleted == (href_of["ct-c@blocktime"],)
    assert second.token != first.token
    third = b.changes(cal, second.token)
    assert third.changed == () and third.deleted == ()


def test_a_change_tag_is_stable_and_changes_with_every_change_or_is_none(subject: Subject) -> None:
    """What lets a sync pass skip a calendar (`sync.read_changes`): the same tag while nothing
    changes, a different one after a create, an update and a delete (Radicale's and Xandikos's
    tags hash the contents, so the contents of before give the tag of before: nothing to read
    there either); None where the server keeps none (Graph)."""
    b, cal = subject.backend, subject.target()
    tags = [b.change_tag(cal)]
    if subject.kind == "graph":
        assert tags == [None]
        return
    assert tags[0] and b.change_tag(cal) == tags[0]
    href = b.href_for(cal, "ct-t@blocktime")
    b.create(href, event("ct-t@blocktime", "t"))
    tags.append(b.change_tag(cal))
    got = b.find_uid(cal, "ct-t@blocktime")  # (Google keeps it under a name of its own)
    assert got is not None and got.etag and b.change_tag(cal) == tags[-1]
    b.update(got.href, event("ct-t@blocktime", "t edited"), got.etag)
    tags.append(b.change_tag(cal))
    b.delete(got.href, None)
    tags.append(b.change_tag(cal))
    assert None not in tags and all(a != b for a, b in itertools.pairwise(tags)), tags


def test_an_expired_token_starts_over_with_everything(subject: Subject) -> None:
    b, cal = subject.backend, subject.target()
    b.create(b.href_for(cal, "ct-x@blocktime"), event("ct-x@blocktime", "x"))
    fresh = b.changes(cal, subject.expired_token(cal))
    assert fresh.complete and "ct-x@blocktime" in uids(fresh.changed)
    assert b.changes(cal, fresh.token).changed == ()


def test_blocktime_properties_survive_where_the_server_keeps_them(subject: Subject) -> None:
    b, cal = subject.backend, subject.target()
    href = b.href_for(cal, "ct-x-props@blocktime")
    b.create(href, event("ct-x-props@blocktime", "facts"))
    got = b.get(href)
    assert got is not None
    assert ("X-BLOCKTIME-SITE:Acme HQ" in got.data) == subject.keeps_x_properties
    for needle in ("UID:ct-x-props@blocktime", "SUMMARY:facts", "LOCATION:Acme HQ", "DTSTART", "DTEND"):
        assert needle in got.data


