"""`blocktime daemon` for a team: every trainer's passes, a few at a time, shared with other daemons.

One process, a small pool of worker threads. The main thread looks at the team table every tick and
hands each trainer that is due (see `core.spread`) to a worker; the worker claims the trainer
(`claims`), re-reads under the claim whether it is still due, and runs the ordinary pass
(`usecases.daemon_pass.run_pass`: sync, inbox, confirmations, expiry, outbox). Mail is sent and the inbox read
only inside a claimed pass, so exactly one daemon does it for a trainer at a time. Any number of
daemons may run, on any machines sharing the PostgreSQL store; a daemon that dies loses its claims
with its database connection, and the others pass its trainers at their next look.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from blocktime.config.schema import Config
from blocktime.core.spread import due, nightly_slot, sync_slot
from blocktime.errors import BlocktimeError
from blocktime.team.claims import Coordinator, TrainerRow
from blocktime.team.coordination import open_coordinator

log = logging.getLogger("blocktime.team")
Clock = Callable[[], datetime]
HEARTBEAT = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class Due:
    sync: bool
    nightly: bool

    @property
    def any(self) -> bool:
        return self.sync or self.nightly


def due_now(name: str, cfg: Config, row: TrainerRow, now: datetime, every: timedelta) -> Due:
    """What `name` is due for at `now`, from its row in the team table."""
    night = nightly_slot(name, now, cfg.daemon.nightly, cfg.organizer.timezone)
    return Due(due(row.last_start, sync_slot(name, now, every)), due(row.last_nightly, night))


@dataclass
class TeamDaemon:
    """The loop; `run()` until `stop` is set (SIGTERM, SIGINT, or a test)."""

    trainers: Sequence[tuple[str, Config]]
    coord: Coordinator
    clock: Clock
    every: timedelta | None = None  # None: each trainer's [daemon] sync_every
    workers: int = 4
    stop: threading.Event = field(default_factory=threading.Event)
    running: set[str] = field(default_factory=set)
    guard: threading.Lock = field(default_factory=threading.Lock)
    signalled: list[int] = field(default_factory=list)  # a signal handler only appends here

    def _pause(self, seconds: float) -> None:
        """Sleep in short steps, so that a signal is seen soon and never handled inside a lock."""
        end = time.monotonic() + seconds
        while not self.stop.is_set() and time.monotonic() < end:
            if self.signalled:
                log.info("signal %d: stopping after the passes under way", self.signalled[0])
                self.stop.set()
                return
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))

    def interval(self, cfg: Config) -> timedelta:
        return self.every or cfg.daemon.sync_every

    def tick(self) -> timedelta:
        shortest = min(self.interval(cfg) for _, cfg in self.trainers)
        return min(timedelta(seconds=2), shortest / 20)

    def run(self) -> None:
        names = [name for name, _ in self.trainers]
        self.coord.register(names, self.clock(), self.every.total_seconds() if self.every else None)
        log.info("team daemon %s started: %d trainer(s), %d worker(s)", self.coord.me.id, len(names), self.workers)
        beat = self.clock()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="pass") as pool:
            while not self.stop.is_set():
                try:
                    self._look(pool)
                    if self.clock() - beat >= HEARTBEAT:
                        beat = self.clock()
                        self.coord.heartbeat(beat)
                except BlocktimeError as exc:  # the team store away: try again at the next tick
                    log.error("team store: %s", exc.message)
                except Exception as exc:
                    log.exception("team loop: %s", type(exc).__name__)
                self._pause(self.tick().total_seconds())
            log.info("stopping: waiting for the passes under way")
        try:
            self.coord.heartbeat(self.clock(), stopped=True)
        finally:
            self.coord.close()
        log.info("team daemon stopped")

    def _look(self, pool: ThreadPoolExecutor) -> None:
        now = self.clock()
        rows = self.coord.trainers([n for n, _ in self.trainers], holders=False)
        for name, cfg in self.trainers:
            with self.guard:
                if name in self.running:
                    continue
            if not due_now(name, cfg, rows.get(name) or TrainerRow(name), now, self.interval(cfg)).any:
                continue
            with self.guard:
                self.running.add(name)
            pool.submit(self._work, name, cfg)

    def _work(self, name: str, cfg: Config) -> None:
        try:
            self.pass_once(name, cfg)
        except BlocktimeError as exc:
            log.error("%s: %s", name, exc.message)
        except Exception as exc:
            log.exception("%s: pass failed unexpectedly: %s", name, type(exc).__name__)
        finally:
            with self.guard:
                self.running.discard(name)

    def pass_once(self, name: str, cfg: Config, *, force: Due | None = None) -> bool:
        """Claim `name` and pass it if it is still due (or as `force` says); False when another
        daemon holds it or passed it already in this slot."""
        from blocktime.usecases.daemon_pass import run_pass

        claim = self.coord.claim(name)
        if claim is None:
            return False
        thread = threading.current_thread()
        before = thread.name
        try:
            start = self.clock()
            what = force or due_now(name, cfg, claim.row, start, self.interval(cfg))
            if not what.any or self.stop.is_set():
                return False
            kind = "nightly" if what.nightly else "sync"
            claim.begin(kind, start)
            thread.name = f"{name}"
            error: str | None = None
            try:
                result = run_pass(cfg, start, nightly=what.nightly, stop=self.stop, sleep=time.sleep)
                errors = result.report.get("errors") or []
                error = "; ".join(str(e) for e in errors)[:2000] or None
            except BlocktimeError as exc:
                error = exc.message
                log.error("pass failed: %s", exc.message)
            except Exception as exc:
                error = f"unexpected {type(exc).__name__}"
                log.exception("pass failed unexpectedly: %s", type(exc).__name__)
            stopped = self.stop.is_set()
            claim.finish(self.clock(), started=start, nightly=what.nightly, error=error or (
                "stopped half-way" if stopped else None), done=not stopped)
            log.info("%s pass done%s", kind, f" with errors: {error}" if error else "")
            return True
        finally:
            thread.name = before
            claim.release()


def setup_logging(configs: Sequence[Config], store_url: str | None, level: int = logging.INFO) -> None:
    """As the one-trainer daemon logs, with the trainer (the worker thread's name) on every line and
    every trainer's secrets, and the store's password, redacted."""
    from urllib.parse import urlsplit

    from blocktime.cli import daemon
    from blocktime.config.redaction import Redactor
    from blocktime.config.secrets import secrets_of

    daemon.setup_logging(configs[0], level=level)
    handler = logging.getLogger().handlers[0]
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s [%(threadName)s]: %(message)s"))
    secrets = [s for cfg in configs for s in secrets_of(cfg)]
    if store_url and urlsplit(store_url).password:
        secrets.append(urlsplit(store_url).password or "")
    for f in list(handler.filters):
        if isinstance(f, Redactor):
            handler.removeFilter(f)
    handler.addFilter(Redactor(secrets))


def run(trainers: Sequence[tuple[str, Config]], *, base_dir: Path, store_url: str | None,
        clock: Clock | None = None, every: timedelta | None = None, workers: int = 4,
        install_signals: bool = True) -> int:
    """The long-running team daemon (the CLI's `blocktime daemon` when the config names a team)."""
    if not trainers:
        raise BlocktimeError("the team has no trainers", "add one file per trainer to the trainers folder")
    coord = open_coordinator(store_url, base_dir)
    team = TeamDaemon(trainers, coord, clock or (lambda: datetime.now(UTC)), every=every,
                      workers=max(1, workers))
    if install_signals:
        def on_signal(signum: int, _frame: object) -> None:  # only takes note (see daemon.run)
            team.signalled.append(signum)
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    team.run()
    return 0


def run_once(trainers: Sequence[tuple[str, Config]], *, base_dir: Path, store_url: str | None,
             clock: Clock | None = None, workers: int = 4) -> dict[str, str]:
    """`daemon --once` for a team (cron): one full pass of every trainer no daemon holds now.
    Returns per trainer `passed`, `held elsewhere`, or the pass's error."""
    coord = open_coordinator(store_url, base_dir)
    team = TeamDaemon(trainers, coord, clock or (lambda: datetime.now(UTC)), workers=max(1, workers))
    out: dict[str, str] = {}

    def one(item: tuple[str, Config]) -> None:
        name, cfg = item
        try:
            out[name] = "passed" if team.pass_once(name, cfg, force=Due(sync=True, nightly=True)) else "held elsewhere"
        except BlocktimeError as exc:
            out[name] = exc.message
        last = coord.trainers([name]).get(name)
        if out[name] == "passed" and last is not None and last.last_error:
            out[name] = last.last_error

    try:
        coord.register([n for n, _ in trainers], team.clock())
        with ThreadPoolExecutor(team.workers, thread_name_prefix="pass") as pool:
            list(pool.map(one, trainers))
        coord.heartbeat(team.clock(), stopped=True)
    finally:
        coord.close()
    return {name: out[name] for name, _ in trainers}
