"""`blocktime daemon`: APScheduler 3.11 jobs for the nightly pass and the regular sync.

- sync job (default every 15 min): one pass (`usecases.daemon_pass`, around a sync pass).
- nightly job (default 01:30 local, never 02:00-03:00): sync, advance confirmations, expiry of
  offers, and sending whatever waits in the outbox.
- At start, exactly one catch-up nightly pass runs when a nightly time passed while the daemon
  was not running (kept in the store, so it holds across restarts and reboots).
- One daemon per data dir (a lock file), logs on stderr with secrets redacted, SIGTERM stops it
  between steps. Every job is idempotent: running it twice sends and books nothing twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from blocktime.config.redaction import Redactor
from blocktime.config.schema import Config
from blocktime.config.secrets import secrets_of
from blocktime.core.schedule import catch_up_due
from blocktime.errors import BlocktimeError, LoginRefused
from blocktime.files import try_lock
from blocktime.usecases.daemon_pass import PassResult, inbox_work, run_pass
from blocktime.usecases.daemon_status import last_nightly_run
from blocktime.usecases.session import Session

log = logging.getLogger("blocktime.daemon")
Clock = Callable[[], datetime]


@dataclass(slots=True)
class Runtime:
    """What the scheduled jobs need; set once per daemon process."""

    config: Config
    clock: Clock
    stop: threading.Event = field(default_factory=threading.Event)
    sleep: Callable[[float], None] = lambda s: None
    scheduler: Any = None  # the running scheduler (for a clean stop from another thread)

    def shutdown(self) -> None:
        """Stop between steps: running passes see `stop`, the scheduler starts nothing new."""
        self.stop.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)


_RUNTIME: Runtime | None = None


def setup_logging(config: Config, stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """stderr, one line per record, no timestamps (journald adds them), secrets redacted."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redactor(secrets_of(config)))
    if level > logging.DEBUG:  # APScheduler's, Radicale's and HTTP libraries' own lines only with --debug
        handler.addFilter(lambda r: r.name.startswith("blocktime") or r.levelno >= logging.WARNING)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


@contextlib.contextmanager
def single_instance(data_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<data dir>/daemon.lock` for the daemon's lifetime."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = try_lock(data_dir / "daemon.lock")
    if fd is None:
        raise BlocktimeError(f"another blocktime daemon is running for {data_dir}",
                             "stop it first, or use another BLOCKTIME_DATA_DIR")
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)


def watch_inbox(rt: Runtime, *, idle_for: float = 600, retry: float = 30) -> None:
    """The long-running daemon's IMAP IDLE loop (RFC 2177, re-issued well within 29 minutes): new
    mail runs an inbox pass at once, so an answer is acted on within seconds, not at the next sync."""
    from blocktime.mail.imap import open_mailbox

    cfg = rt.config.inbox
    if cfg is None or cfg.auth == "outlook":
        return
    while not rt.stop.is_set():
        try:
            box = open_mailbox(cfg, rt.config.data_dir, rt.config.calendar.token_store)
        except LoginRefused as exc:  # refused again every 30 s otherwise: the regular pass says it
            log.error("inbox watch stopped: %s", exc)
            return
        except BlocktimeError as exc:
            log.warning("inbox watch: %s; retrying in %ds", exc.message, retry)
            rt.stop.wait(retry)
            continue
        try:
            if not box.idle_supported:
                log.info("the IMAP server has no IDLE: replies are read by the regular pass")
                return
            _inbox_now(rt)  # what came while the watch was not connected
            log.info("inbox: waiting for new mail in %s (IDLE)", cfg.folder)
            while not rt.stop.is_set():
                if box.idle(min(idle_for, 600)):
                    _inbox_now(rt)
        except BlocktimeError as exc:
            log.warning("inbox watch: %s", exc.message)
            rt.stop.wait(1)
        finally:
            box.close()


def _inbox_now(rt: Runtime) -> None:
    """An inbox pass of its own; when a scheduled pass holds the inbox lock, wait and try again."""
    for _ in range(120):
        if rt.stop.is_set():
            return
        try:
            with Session(rt.config, rt.clock()) as s:
                result = inbox_work(s)
                if not result.get("busy"):
                    from blocktime.usecases.messages import deliver

                    try:
                        deliver(s, s.queued)
                    except BlocktimeError as exc:
                        log.warning("outbox not sent: %s (will retry on the next pass)", exc.message)
                    return
        except BlocktimeError as exc:
            log.error("inbox pass failed: %s", exc)
            return
        rt.stop.wait(1)


def _runtime() -> Runtime:
    if _RUNTIME is None:
        raise RuntimeError("the daemon runtime is not set")
    return _RUNTIME


def scheduled_sync() -> None:
    """Job function (referenced as "blocktime.cli.daemon:scheduled_sync")."""
    rt = _runtime()
    _guarded(lambda: run_pass(rt.config, rt.clock(), nightly=False, stop=rt.stop, sleep=rt.sleep))


def scheduled_nightly() -> None:
    """Job function (referenced as "blocktime.cli.daemon:scheduled_nightly")."""
    rt = _runtime()
    _guarded(lambda: run_pass(rt.config, rt.clock(), nightly=True, stop=rt.stop, sleep=rt.sleep))


def _guarded(job: Callable[[], PassResult]) -> None:
    try:
        job()
    except BlocktimeError as exc:  # a job never kills the daemon; the next run finishes the work
        log.error("pass failed: %s", exc)
    except Exception as exc:
        log.exception("pass failed unexpectedly: %s", type(exc).__name__)


def build_scheduler(rt: Runtime, *, sync_every: timedelta | None = None) -> Any:
    """A BackgroundScheduler with the two jobs, in the organizer's zone (cron at local wall time)."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    global _RUNTIME
    _RUNTIME = rt
    tz = rt.config.organizer.timezone
    at = rt.config.daemon.nightly
    every = sync_every or rt.config.daemon.sync_every
    sched = BackgroundScheduler(timezone=tz, job_defaults={"coalesce": True, "max_instances": 1,
                                                         "misfire_grace_time": 3600})
    sched.add_job("blocktime.cli.daemon:scheduled_nightly", CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
                  id="nightly", name="nightly pass")
    sched.add_job("blocktime.cli.daemon:scheduled_sync",
                  IntervalTrigger(seconds=int(every.total_seconds()), timezone=tz), id="sync", name="sync")
    return sched


def run(config: Config, clock: Clock, *, sync_every: timedelta | None = None,
        install_signals: bool = True) -> int:
    """The long-running daemon: lock, one catch-up pass if a night was missed, then the jobs."""
    with single_instance(config.data_dir):
        global _RUNTIME
        rt = Runtime(config, clock, sleep=time.sleep)
        _RUNTIME = rt
        now = clock()
        if catch_up_due(last_nightly_run(config, now), now, config.daemon.nightly, config.organizer.timezone):
            log.info("a nightly pass was missed while the daemon was not running: catching up once")
            scheduled_nightly()
        sched = build_scheduler(rt, sync_every=sync_every)
        rt.scheduler = sched
        from apscheduler.events import EVENT_SCHEDULER_STARTED

        def started(_event: object) -> None:
            log.info("daemon started: nightly at %s, sync every %s", config.daemon.nightly.strftime("%H:%M"),
                     sync_every or config.daemon.sync_every)

        sched.add_listener(started, EVENT_SCHEDULER_STARTED)
        if config.inbox is not None:
            threading.Thread(target=watch_inbox, args=(rt,), name="inbox-idle", daemon=True).start()
        signalled: list[int] = []
        if install_signals:
            # The handler only takes note: it may run in the middle of a lock held by this thread
            # (Event.wait), and a signal the kernel hands to another thread wakes no one. The main
            # thread polls instead, and stops the scheduler outside the handler.
            def stop(signum: int, _frame: object) -> None:
                signalled.append(signum)
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        try:
            sched.start()
            while not signalled and not rt.stop.is_set():
                time.sleep(0.25)
        finally:
            if signalled:
                log.info("signal %d: stopping after the current step", signalled[0])
            rt.stop.set()  # running passes stop between steps; the scheduler waits for them
            with contextlib.suppress(Exception):
                sched.shutdown(wait=True)
    log.info("daemon stopped")
    return 0
