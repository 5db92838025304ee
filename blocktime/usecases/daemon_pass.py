"""One pass of the daemon, as the scheduler's jobs, `daemon --once` and a team's daemon run it:
what a stopped command left pending, sync, the inbox, advance confirmations, expiry of offers and
the outbox. Every step is idempotent, and a failed step waits for the next pass.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blocktime.config.schema import Config
from blocktime.errors import BlocktimeError, LoginRefused
from blocktime.usecases.session import Session

log = logging.getLogger("blocktime.daemon")  # the daemon's log lines, wherever the pass runs


@dataclass(slots=True)
class PassResult:
    kind: str
    at: datetime
    report: dict[str, Any]


def run_pass(config: Config, now: datetime, *, nightly: bool, stop: threading.Event | None = None,
             sleep: Callable[[float], None] | None = None, watch: Any = None) -> PassResult:
    """One pass: sync, advance confirmations that are due, expiry of offers, the outbox.
    The nightly pass also re-reads the account's calendar list. `watch` wraps the backend
    (the CLI's progress counter on a terminal)."""
    from blocktime.usecases.sync import sync_pass

    stopper = stop or threading.Event()
    report: dict[str, Any] = {}
    with Session(config, now) as s:
        try:
            unfinished = _finish_pending(s, report)
            s.wrap = watch
            kwargs: dict[str, Any] = {"should_stop": stopper.is_set, "refresh": nightly}
            if sleep is not None:
                kwargs["sleep"] = sleep
            sync = sync_pass(s, **kwargs)
            report.update(calendars=sync.calendars, unchanged=sync.unchanged, changed=sync.changed,
                          deleted=sync.deleted, actions=sync.actions, errors=[*unfinished, *sync.errors])
            for line in sync.actions:
                log.info("%s", line)
            for line in sync.errors:
                log.warning("%s (will retry on the next pass)", line)
            if sync.stranded:  # an empty store beside a calendar of blocks: no answer read, no mail sent
                log.warning("the inbox and the outbox wait until the store is back (store copy or repair)")
            go_on = not sync.stranded
            if go_on and not stopper.is_set() and config.inbox is not None:  # before the outbox: confirmations now
                report["inbox"] = inbox_work(s)
            if go_on and not stopper.is_set():  # cheap and store-only: every pass, so nothing waits for the night
                _nightly_work(s, stopper, report)
        except BlocktimeError as exc:  # the pass ends here: kept for `daemon --status`, said once by the caller
            if not any(exc.message in line for line in problems(report)):  # (the outbox's says it already)
                report["errors"] = [*report.get("errors", []), exc.message]
            _record(s, now, False, report)
            raise
        _record(s, now, nightly, report)
    return PassResult("nightly" if nightly else "sync", now, report)


def _record(s: Session, now: datetime, nightly: bool, report: dict[str, Any]) -> None:
    """The pass in the store: when it ran, its report, and since when passes fail (None once one
    passes cleanly), which `daemon --status` shows."""
    failing = problems(report)
    with s.store.transaction():
        s.store.set_meta("last_sync", now.isoformat())
        if nightly:
            s.store.set_meta("last_nightly", now.isoformat())
            count = int(s.store.get_meta("nightly_runs") or 0) + 1
            s.store.set_meta("nightly_runs", str(count))
        s.store.set_meta("last_report", json.dumps(report, default=str))
        s.store.set_meta("failing_since", (s.store.get_meta("failing_since") or now.isoformat()) if failing else "")
        s.store.set_meta("failing_passes", str(int(s.store.get_meta("failing_passes") or 0) + 1) if failing else "0")


def problems(report: dict[str, Any]) -> list[str]:
    """Everything that failed in a pass's report: sync and pending errors, the inbox, the outbox."""
    inbox, outbox = report.get("inbox") or {}, report.get("outbox") or {}
    return [*map(str, report.get("errors", [])), *([f"inbox: {inbox['error']}"] if inbox.get("error") else []),
            *([f"outbox: {outbox['error']}"] if outbox.get("error") else [])]


def _finish_pending(s: Session, report: dict[str, Any]) -> list[str]:
    """Blocks a stopped command left `pending`: written now, said in the log and the report."""
    if not s.has_pending():
        report["finished"] = 0  # what finish_pending does with nothing pending (without importing it)
        return []
    from blocktime.usecases.pending import finish_pending

    try:
        report["finished"] = finish_pending(s)
    except LoginRefused:
        raise
    except BlocktimeError as exc:
        log.warning("pending blocks not finished: %s (will retry on the next pass)", exc)
        return [f"pending blocks not finished: {exc}"]
    return []


#: `Delivery.json()` of a delivery with no unsent message (tests/cli/test_daemon.py checks it is)
NOTHING_UNSENT: dict[str, Any] = {"sent": [], "failed": [], "waiting": 0, "held": 0, "withdrawn": [], "error": None}


def _nightly_work(s: Session, stop: threading.Event, out: dict[str, Any]) -> None:
    """Confirmations, expiry of offers, the outbox, into `out`. A pass with none of them to do (the
    usual one) finds that out from the store alone and imports none of their modules."""
    from blocktime.store.mailqueue import MailQueue
    from blocktime.usecases.confirmations import prepare

    prepared, _skipped = prepare(s)
    out["confirmations"] = len(prepared)
    if stop.is_set():
        return
    expired = []
    if any(o.expires <= s.now for o in s.store.offers()):  # expire's own test, without importing offers
        from blocktime.usecases.offers import expire

        expired = expire(s)
    out["expired"] = [o.id for o in expired]
    for o in expired:
        log.info("offer %s expired: holds deleted, %d min stay open", o.id, o.minutes)
    if stop.is_set():
        return
    if not MailQueue(s.store).waiting():  # deliver would review, send and count nothing
        out["outbox"] = dict(NOTHING_UNSENT)
        return
    from blocktime.usecases.messages import deliver

    try:
        delivery = deliver(s)  # never the mail --no-send held back: that waits for `outbox send`
        out["outbox"] = delivery.json()
        if delivery.refused is not None:
            raise delivery.refused
        if delivery.kept:
            log.info("%d message(s) held by --no-send wait for `blocktime outbox send`", delivery.kept)
    except LoginRefused:
        raise
    except BlocktimeError as exc:
        log.warning("outbox not sent: %s (will retry on the next pass)", exc.message)


def inbox_work(s: Session) -> dict[str, Any]:
    """One inbox pass (see `answers`); a mailbox that cannot be reached waits for the next pass."""
    from blocktime.usecases.answers import run as read_inbox

    try:
        done = read_inbox(s)
    except LoginRefused:
        raise
    except BlocktimeError as exc:
        log.warning("inbox not read: %s (will retry on the next pass)", exc.message)
        return {"error": exc.message}
    counts: dict[str, int] = {}
    for h in done.messages:
        counts[h.action] = counts.get(h.action, 0) + 1
    return {"busy": done.busy, **counts}
