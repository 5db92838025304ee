"""`blocktime doctor`: can blocktime work with this calendar? Connects, signs in, lists calendars,
then probes what blocktime relies on with one throw-away event in the target calendar:

- create never overwrites (If-None-Match, RFC 7232 §3.2, or a look-up where the server has none);
- updates are conditional (If-Match on the ETag, RFC 7232 §3.1);
- changes since a token (RFC 6578 sync-collection, Graph delta, or full listings);
- the calendar's CTag changes with an edit (a quiet calendar is then checked with one small request);
and, for CalDAV, what is only worth knowing: free-busy-query (RFC 4791 §7.10) and scheduling
(RFC 6638). The verdict is `ok` only when nothing blocktime relies on failed.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from blocktime.backends.base import AlreadyExists, CalendarBackend, CalendarInfo
from blocktime.config.schema import CalendarConfig
from blocktime.errors import BlocktimeError, ConflictError

LEVELS = ("ok", "info", "warn", "fail")

_PROBE = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//blocktime//doctor//EN\r
BEGIN:VEVENT\r
UID:{uid}\r
DTSTAMP:{day}T000000Z\r
DTSTART:{day}T000000Z\r
DTEND:{day}T001500Z\r
SUMMARY:blocktime doctor probe ({n}); safe to delete\r
TRANSP:TRANSPARENT\r
END:VEVENT\r
END:VCALENDAR\r
"""

_FREEBUSY = """<?xml version="1.0" encoding="utf-8"?>
<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
  <C:time-range start="20000101T000000Z" end="20000102T000000Z"/>
</C:free-busy-query>"""


@dataclass(frozen=True, slots=True)
class Finding:
    level: str
    topic: str
    text: str
    advice: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    provider: str
    where: str
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not any(f.level == "fail" for f in self.findings)

    def as_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "url": self.where, "ok": self.ok,
                "findings": [{"level": f.level, "topic": f.topic, "text": f.text, "advice": f.advice}
                             for f in self.findings]}

    def text(self, label: str) -> str:
        lines = [f"blocktime doctor: {label} at {self.where}"]
        for f in self.findings:
            lines.append(f"  {f.level:<5} {f.topic:<12} {f.text}")
            if f.advice:
                lines.append(f"  {'':<5} {'':<12} -> {f.advice}")
        verdict = next((f for f in self.findings if f.level == "fail"), None)
        lines.append("blocktime can work here." if verdict is None
                     else f"blocktime cannot work here: {verdict.text}.")
        return "\n".join(lines)


def diagnose(cal: CalendarConfig, data_dir: Path, now: datetime) -> Report:
    """Run every probe; a connection or sign-in failure is raised (one line for the user)."""
    from blocktime.backends.davhttp import safe_url
    from blocktime.backends.factory import open_backend

    backend, server = open_backend(cal, data_dir, now)
    try:
        findings = _probe(backend, cal, now.astimezone(UTC).strftime("%Y%m%d"))
        return Report(cal.provider, safe_url(str(getattr(backend, "url", cal.url or ""))), tuple(findings))
    finally:
        backend.close()
        if server is not None:
            server.stop()


def _probe(backend: CalendarBackend, cal: CalendarConfig, day: str) -> list[Finding]:
    """`day` (YYYYMMDD) is when the probe event sits: inside every window the backend watches,
    transparent so it is never busy time, and deleted again at once."""
    out: list[Finding] = []
    calendars = backend.calendars()  # raises on connection and sign-in failures
    names = ", ".join(sorted(c.name for c in calendars)) or "none"
    count = f"{len(calendars)} calendar{'' if len(calendars) == 1 else 's'}"
    out.append(Finding("ok", "connect", f"connected and signed in; {count}: {names}"))
    known = {c.url for c in calendars}
    try:
        target = backend.ensure_calendar(cal.name)
    except BlocktimeError as exc:
        out.append(Finding("fail", "calendar", f"no usable calendar {cal.name!r}: {exc.message}", exc.hint or ""))
        return out
    created = "" if target.url in known else " (created now)"
    if cal.provider == "google" and target.url not in known:
        created = " (opened by its calendar id: Google does not list it)"
    out.append(Finding("ok", "calendar",
                       f"blocks go to {target.name!r}{created}; every calendar is read for busy time"))
    out.append(_busy_sources(calendars, cal.provider))
    out.extend(_writes(backend, cal, target, day))
    from blocktime.backends.caldav import CalDAVBackend

    if isinstance(backend, CalDAVBackend):
        out.extend(_caldav_features(backend, target, cal.provider))
    else:
        out.append(Finding("info", "invites", "Microsoft Graph events carry no attendees: blocktime sends the "
                                              "invites itself (iMIP), so Outlook sends no second one"))
    return out


#: how to make a calendar visible to blocktime, per provider
EXPOSE = {
    "google": "Google shows CalDAV clients only the calendars enabled at "
              "https://calendar.google.com/calendar/syncselect (shared ones too): tick the others there",
    "outlook": "Microsoft Graph lists the calendars of your mailbox; a calendar shared with you appears "
               "once you accept the share in Outlook",
}


def _busy_sources(calendars: list[CalendarInfo], provider: str) -> Finding:
    """Which calendars busy time is read from, and how to add the ones missing."""
    names = "; ".join(sorted(c.name for c in calendars)) or "none"
    return Finding("info", "busy time", f"read from {len(calendars)} calendar(s): {names}",
                   EXPOSE.get(provider, "a calendar the server does not list is not read"))


def _writes(backend: CalendarBackend, cal: CalendarConfig, target: CalendarInfo, day: str) -> list[Finding]:
    out: list[Finding] = []
    uid = f"blocktime-doctor-{secrets.token_hex(6)}@blocktime"
    href = backend.href_for(target, uid)
    lookup = cal.provider in ("google", "outlook")
    try:
        before = backend.changes(target, None)
    except BlocktimeError as exc:
        before = None
        out.append(Finding("fail", "changes", f"cannot list changes: {exc.message}", exc.hint or ""))
    else:
        if cal.provider == "outlook":
            out.append(Finding("info", "changes", "calendarView/delta refused for this calendar: blocktime compares "
                                                  "calendarView reads by changeKey instead (one read per pass)")
                       if getattr(backend, "delta_refused", False) else
                       Finding("ok", "changes", "calendarView/delta answers for this calendar (v1.0 documents it "
                                                "for the primary calendar; if Microsoft refuses it, blocktime "
                                                "compares calendarView reads)"))
    tag = _tag(backend, target)
    try:
        etag = backend.create(href, _PROBE.format(uid=uid, n=1, day=day))
    except (BlocktimeError, AlreadyExists) as exc:
        out.append(Finding("fail", "write", f"cannot create an event in {target.name!r}: {exc}",
                           "is the calendar read-only for this account?"))
        return out
    try:
        note = "" if etag else "; the reply carried no ETag (blocktime fetches it)"
        out.append(Finding("ok", "write", f"created a probe event{note}"))
        try:
            backend.create(href, _PROBE.format(uid=uid, n=2, day=day))
            out.append(Finding("fail", "no-overwrite", "a second create overwrote the event: If-None-Match is ignored",
                               "blocktime cannot rule out duplicates or lost edits on this server"))
        except AlreadyExists:
            how = "a look-up before each create (the server has no If-None-Match)" if lookup else \
                "If-None-Match: * refused the second create"
            out.append(Finding("ok", "no-overwrite", f"creates never overwrite: {how}"))
        current = backend.get(href)
        if current is None or not current.etag:
            out.append(Finding("fail", "if-match", "the server gives no ETag for an event",
                               "blocktime will not write without If-Match"))
        else:
            try:
                backend.update(href, _PROBE.format(uid=uid, n=3, day=day), '"blocktime-doctor-stale"')
                out.append(Finding("fail", "if-match", "an update with a stale ETag went through: If-Match is ignored",
                                   "edits made elsewhere could be lost"))
            except ConflictError:
                out.append(Finding("ok", "if-match", "updates are conditional: a stale ETag is refused (412)"))
        if before is not None:
            out.append(_changes(backend, target, before.token, before.synthetic, uid, cal.provider))
        out.append(_tag_finding(tag, _tag(backend, target)))
    finally:
        with contextlib.suppress(Exception):
            got = backend.get(href)
            backend.delete(href, got.etag if got else None)
    return out


def _changes(backend: CalendarBackend, target: CalendarInfo, token: str, synthetic: bool, uid: str,
             provider: str) -> Finding:
    try:
        after = backend.changes(target, token)
    except BlocktimeError as exc:
        return Finding("fail", "changes", f"cannot list changes since a token: {exc.message}", exc.hint or "")
    seen = any(uid in o.data for o in after.changed)
    if not seen:
        return Finding("warn", "changes", "the change token did not report a fresh event",
                       "edits made elsewhere may come back late")
    if synthetic or after.synthetic:
        return Finding("info", "changes", "no sync tokens (RFC 6578): blocktime compares full listings",
                       "fine for small calendars; slower on big ones")
    kind = "delta queries (calendarView/delta)" if provider == "outlook" else "sync tokens (RFC 6578)"
    return Finding("ok", "changes", f"{kind}: edits made elsewhere come back incrementally")


def _tag(backend: CalendarBackend, target: CalendarInfo) -> str | None:
    try:
        return backend.change_tag(target)
    except BlocktimeError:
        return None


def _tag_finding(before: str | None, after: str | None) -> Finding:
    """Does the calendar's CTag change with an edit? (`sync` skips calendars whose tag held.)"""
    if before is None or after is None:
        return Finding("info", "ctag", "no calendar CTag: every pass syncs every calendar (fine, a little more "
                       "traffic)")
    if before == after:
        return Finding("warn", "ctag", "the calendar's CTag did not change when an event was created",
                       "edits made elsewhere in your other calendars may come back only with the daily full sync")
    return Finding("ok", "ctag", "the calendar's CTag changes with every edit: quiet calendars cost one small "
                   "request a pass")


def _caldav_features(backend: Any, target: CalendarInfo, provider: str) -> list[Finding]:
    out: list[Finding] = []
    try:
        r = backend.client.request(target.url, "REPORT", _FREEBUSY,
                                   {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
        fb = r.status == 200
    except Exception:
        fb = False
    out.append(Finding("info", "free-busy",
                       f"free-busy-query {'supported' if fb else 'not supported'}; not needed: blocktime "
                       "expands events itself (server free-busy is wrong across DST on some servers)"))
    try:
        dav = str(backend.client.request(target.url, "OPTIONS").headers.get("DAV", ""))
    except Exception:
        dav = ""
    auto = "calendar-auto-schedule" in dav
    if provider == "google":
        text = "Google may mail attendees itself: blocktime writes its copy without attendees and sends iMIP"
    elif auto:
        text = ("the server schedules (RFC 6638): blocktime marks attendees SCHEDULE-AGENT=CLIENT, so only "
                "its own iMIP invites go out")
    else:
        text = "no server-side scheduling: invites go out by iMIP from blocktime (outbox or [smtp])"
    if backend.schedule_tag_seen:
        text += "; answers Schedule-Tag (blocktime still updates with If-Match on the ETag)"
    out.append(Finding("info", "scheduling", text))
    return out


def inbox_findings(inbox: Any, data_dir: Path, token_store: str = "file", graph_base: str = "") -> list[Finding]:
    """The [inbox] mailbox: sign-in, folder, IDLE (RFC 2177), and how handled mail is marked."""
    from blocktime.mail.graph import open_graph
    from blocktime.mail.imap import open_mailbox

    try:
        box: Any = (open_graph(inbox, data_dir, token_store, graph_base, (lambda: None, lambda _link: None))
                    if inbox.auth == "outlook" else open_mailbox(inbox, data_dir, token_store))
    except BlocktimeError as exc:
        return [Finding("fail", "inbox", exc.message, exc.hint or "")]
    try:
        who = f" as {inbox.username}" if inbox.username else ""
        out = [Finding("ok", "inbox", f"signed in to {box.where}{who}; folder {inbox.folder!r} opened")]
        out.append(Finding("ok", "idle", "IDLE: the daemon acts on a reply as soon as it arrives") if box.idle_supported
                   else Finding("info", "idle", "no IDLE: replies are read by the daemon's regular pass",
                                "lower [daemon] sync_every for quicker answers"))
        if inbox.processed_folder:
            how = "moved" if "MOVE" in box.capabilities else "copied (no MOVE; the original stays)"
            out.append(Finding("ok", "processed", f"handled mail is {how} to {inbox.processed_folder!r}"))
        elif not box.keywords:
            out.append(Finding("info", "processed", "the server keeps no custom flags: handled mail is remembered"
                               " in the local store only", "set [inbox] processed_folder to see it"))
        return out
    finally:
        box.close()
