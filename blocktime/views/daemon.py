"""`daemon --once` and `daemon --status` in words: names of blocks instead of UIDs, times in the
organizer's zone without seconds, and how far away they are (Babel: English and Polish)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from blocktime.config.schema import Config


def when(value: Any, tz: ZoneInfo, now: datetime) -> str:
    """`Tue 01 Dec 13:10 (2 hours ago)`; `never` for nothing."""
    from blocktime.views.week import relative

    if not value:
        return "never"
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return f"{at.astimezone(tz):%a %Y-%m-%d %H:%M} ({relative(at, now)})"  # in the output's language, English


def summary(report: dict[str, Any]) -> str:
    """One line for the end of `daemon --once`."""
    actions = [str(a) for a in report.get("actions", [])]
    conflicts = sum(1 for a in actions if a.startswith("conflict:"))
    outbox = report.get("outbox") or {}
    sent, waiting, held = len(outbox.get("sent", [])), int(outbox.get("waiting", 0)), int(outbox.get("held", 0))
    withdrawn = len(outbox.get("withdrawn", []))
    unchanged = int(report.get("unchanged", 0))
    read = f"{report.get('calendars', 0)} calendar(s) read" + (f" ({unchanged} unchanged)" if unchanged else "")
    parts = [read, f"{len(actions) - conflicts} change(s) acted on",
             f"{conflicts} conflict(s)", f"{len(report.get('expired', []))} offer(s) expired",
             f"{report.get('confirmations', 0)} confirmation(s) prepared",
             f"mail: {sent} sent, {waiting} waiting ({held} held by --no-send), {withdrawn} withdrawn"]
    errors = report.get("errors", [])
    if errors:
        parts.append(f"{len(errors)} error(s), retried on the next pass")
    return "pass done: " + ", ".join(parts)


def status_text(doc: dict[str, Any], cfg: Config, now: datetime) -> str:
    """`daemon --status` for people; `--json` keeps the machine form."""
    from blocktime.usecases.session import Session

    tz = cfg.organizer.timezone
    lines = [f"{'times in':<14}{tz.key}",
             f"{'last sync':<14}{when(doc.get('last_sync'), tz, now)}"
             + (" failed" if doc.get("errors") else ""),
             f"{'next sync':<14}{when(doc.get('next_sync'), tz, now)}",
             f"{'last nightly':<14}{when(doc.get('last_nightly'), tz, now)}",
             f"{'next nightly':<14}{when(doc.get('next_nightly'), tz, now)}",
             f"{'outbox':<14}{doc.get('outbox_pending', 0)} waiting"
             + (f", {doc['outbox_held']} held until `blocktime outbox send`" if doc.get("outbox_held") else "")]
    if doc.get("failing_since"):
        passes = int(doc.get("failing_passes") or 1)
        lines.insert(3, f"{'failing since':<14}{when(doc['failing_since'], tz, now)}, "
                        f"{passes} pass{'es' if passes != 1 else ''} in a row")
    for k, error in enumerate(doc.get("errors", [])):
        lines.insert(4 + k if doc.get("failing_since") else 3 + k, f"{'error':<14}{error}")
    with Session(cfg, now) as s:
        offers = doc.get("open_offers", [])
        if not offers:
            lines.append(f"{'open offers':<14}none")
        for o in offers:
            stored = s.store.offer(o["id"])
            eng = s.store.engagement(stored.engagement) if stored else None
            client = f" for {eng.client}" if eng else ""
            lines.append(f"{'open offer':<14}{o['id']}{client}: answer by {when(o['expires'], tz, now)}")
        for c in doc.get("conflicts", []):
            sb = s.store.block(str(c.get("block_uid", "")))
            block = sb.block.id if sb else "a block no longer in the store"
            start = datetime.fromisoformat(str(c["start"])).astimezone(tz)
            end = datetime.fromisoformat(str(c["end"])).astimezone(tz) if c.get("end") else None
            span = f"{start:%a %Y-%m-%d %H:%M}" + (f"–{end:%H:%M}" if end else "")
            lines.append(f"{'conflict':<14}{c.get('summary', '')!r} {span} overlaps {block}")
        for w in doc.get("inbox_waiting", []):
            about = f" about {w['offer']}" if w["offer"] else ""
            lines.append(f"{'waiting mail':<14}{w['from']}{about}: {w['subject'][:60]!r} ({w['reason']})")
    return "\n".join(lines)
