"""`blocktime team status`: per trainer the last and next pass, lag, mail waiting, open offers,
conflicts and the daemon holding the trainer now; and the daemons with their heartbeat.

From the team tables (`claims`) and each trainer's own store; it talks to no calendar server.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from blocktime.config.schema import Config
from blocktime.core.spread import due, nightly_slot, sync_slot
from blocktime.team.claims import Coordinator, DaemonRow, TrainerRow
from blocktime.team.coordination import open_coordinator


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def alive(d: DaemonRow, now: datetime) -> bool:
    """Holding its presence lock (the lock goes with the process or its connection)."""
    return d.alive and d.stopped is None


def interval(cfg: Config, daemons: Sequence[DaemonRow], now: datetime) -> timedelta:
    """The interval the running daemons pass at (a daemon started with --interval), else the config's."""
    running = [d.every for d in daemons if alive(d, now) and d.every]
    return timedelta(seconds=min(running)) if running else cfg.daemon.sync_every


def trainer_doc(name: str, cfg: Config, row: TrainerRow, daemons: dict[str, DaemonRow], every: timedelta,
                now: datetime) -> dict[str, Any]:
    """One trainer's line: the team tables plus what its own store says is waiting."""
    from blocktime.usecases.daemon_status import status

    slot = sync_slot(name, now, every)
    night = nightly_slot(name, now, cfg.daemon.nightly, cfg.organizer.timezone)
    late = [s for s, last in ((slot, row.last_start), (night, row.last_nightly)) if due(last, s)]
    next_pass = now if late and row.holder is None else min(slot + every, night + timedelta(days=1))
    lag = (now - min(late)).total_seconds() if late else 0.0
    holder = daemons.get(row.holder) if row.holder else None
    own: dict[str, Any] = {}
    try:
        own = status(cfg, now)
        store = {"mail_waiting": own["outbox_pending"], "mail_held": own["outbox_held"],
                 "open_offers": len(own["open_offers"]), "conflicts": len(own["conflicts"])}
    except Exception as exc:  # one unreadable store does not hide the others
        store = {"store_error": getattr(exc, "message", type(exc).__name__)}
    return {
        "trainer": name,
        "holder": None if row.holder is None else {
            "daemon": row.holder, "host": holder.host if holder else None, "pid": holder.pid if holder else None,
            "since": _iso(row.claimed_at)},
        "last_pass": _iso(row.last_start),
        "last_pass_end": _iso(row.last_end),
        "last_nightly": _iso(row.last_nightly),
        "next_pass": _iso(next_pass),
        "lag_seconds": round(lag, 1),
        "passes": row.passes,
        "last_error": row.last_error,
        **store,
    }


def team_status(trainers: Sequence[tuple[str, Config]], *, base_dir: Path, store_url: str | None,
                now: datetime | None = None, coord: Coordinator | None = None) -> dict[str, Any]:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    own = coord is None
    coord = coord or open_coordinator(store_url, base_dir)
    try:
        rows = coord.trainers([n for n, _ in trainers])
        daemons = coord.daemons()
    finally:
        if own:
            coord.close()
    by_id = {d.id: d for d in daemons}
    out = []
    for name, cfg in trainers:
        out.append(trainer_doc(name, cfg, rows.get(name) or TrainerRow(name), by_id,
                               interval(cfg, daemons, now), now))
    return {
        "now": now.isoformat(),
        "trainers": out,
        "daemons": [{"id": d.id, "host": d.host, "pid": d.pid, "started": _iso(d.started),
                     "heartbeat": _iso(d.heartbeat), "alive": alive(d, now),
                     "holding": sorted(t["trainer"] for t in out if (t["holder"] or {}).get("daemon") == d.id)}
                    for d in daemons if alive(d, now) or (d.stopped is None and now - d.heartbeat < timedelta(days=1))],
    }


def status_text(doc: dict[str, Any], tz: Any) -> str:
    """The table `team status` prints: one line per trainer, then the daemons."""
    from blocktime.notes.wording import lag_text

    def hm(v: str | None) -> str:
        return "never" if not v else f"{datetime.fromisoformat(v).astimezone(tz):%m-%d %H:%M:%S}"

    head = ("trainer", "held by", "last pass", "next pass", "lag", "mail", "offers", "conflicts", "error")
    lines = [head]
    for t in doc["trainers"]:
        h = t["holder"]
        lines.append((t["trainer"], f"{h['host']}:{h['pid']}" if h else "-", hm(t["last_pass"]), hm(t["next_pass"]),
                      lag_text(t["lag_seconds"]), str(t.get("mail_waiting", "?")), str(t.get("open_offers", "?")),
                      str(t.get("conflicts", "?")), (t["last_error"] or t.get("store_error") or "")[:60]))
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    text = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in lines]
    daemons = doc["daemons"]
    text.append("")
    if not daemons:
        text.append("no daemon is running")
    for d in daemons:
        state = "running" if d["alive"] else "gone (last heard of " + hm(d["heartbeat"]) + ")"
        text.append(f"daemon {d['host']}:{d['pid']} {state}, holding {len(d['holding'])} trainer(s) now")
    return "\n".join(text)
