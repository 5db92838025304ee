"""Where the daemon stands, from the store only: its last and next runs, what waits in the outbox,
open offers, conflicts and kept mail (`daemon --status`, `team status`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from blocktime.config.schema import Config
from blocktime.core.schedule import next_nightly
from blocktime.usecases.session import Session


def last_nightly_run(config: Config, now: datetime) -> datetime | None:
    """When the last nightly pass ran, as the store remembers it (None: never)."""
    with Session(config, now) as s:
        value = s.store.get_meta("last_nightly")
    return datetime.fromisoformat(value) if value else None


def status(config: Config, now: datetime) -> dict[str, Any]:
    """Last and next runs, pending outbox (what would go out now; `outbox_held` of it kept back by
    --no-send), open offers and conflicts (from the store only)."""
    from blocktime.store.mailqueue import HELD
    from blocktime.usecases.daemon_pass import problems
    from blocktime.usecases.review import outgoing
    from blocktime.usecases.sync import conflicts

    tz = config.organizer.timezone
    with Session(config, now) as s:
        last_sync = s.store.get_meta("last_sync")
        last_nightly = s.store.get_meta("last_nightly")
        report = json.loads(s.store.get_meta("last_report") or "{}")
        failing_since = s.store.get_meta("failing_since") or None
        failing_passes = int(s.store.get_meta("failing_passes") or 0)
        waiting = outgoing(s)
        offers = s.store.offers()
        found = conflicts(s)
        inbox = None
        if config.inbox is not None:
            from blocktime.usecases.waiting import waiting_for

            inbox = waiting_for(s)
    next_sync = (datetime.fromisoformat(last_sync) + config.daemon.sync_every) if last_sync else now
    return {
        "last_sync": last_sync,
        "last_nightly": last_nightly,
        "next_nightly": next_nightly(now, config.daemon.nightly, tz).isoformat(),
        "next_sync": max(next_sync, now).isoformat(),
        "outbox_pending": len(waiting),
        "outbox_held": sum(q.state == HELD for q in waiting),
        "open_offers": [{"id": o.id, "expires": o.expires.isoformat()} for o in offers],
        "conflicts": found,
        "last_report": report,
        "errors": problems(report),  # of the last pass
        "failing_since": failing_since,  # the first of the passes that failed since the last clean one
        "failing_passes": failing_passes if failing_since else 0,
        **({"inbox_waiting": inbox} if inbox is not None else {}),
    }
