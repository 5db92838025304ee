"""How many requests blocktime has in flight at one server, adapted to what the server says.

Additive increase, multiplicative decrease (AIMD, as TCP's congestion control): start with 4
requests at once; halve on a throttled answer (429, 503, Google's 403 rate-limit reasons) or when
the writes' latency climbs well above its running baseline. After each window of healthy answers
the writes' latency decides, as TCP Vegas does: n requests in flight answered in latency L against
the baseline B (the fastest answer seen) means about n x (1 - B/L) of them waited in the server's
queue. Hardly any queued: one more, up to the provider's cap; more than two: one fewer, since a
server that serves one request at a time (Radicale) only queues what is added, and a longer queue
costs both sides. A Retry-After holds every request back until it has passed.
Providers with a documented quota also keep a sliding window of requests (see docs/providers.md):

- Google Calendar (CalDAV shares the Calendar API's quota): 600 requests per minute per user
  ("Usage limits", https://developers.google.com/workspace/calendar/api/guides/quota);
- Microsoft Graph, Outlook resources: 4 concurrent requests and 10,000 requests per 10 minutes per
  app and mailbox ("Outlook service limits",
  https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits).

`Aimd` is the decision alone (no clock, no threads); `Gate` holds threads to it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["write", "read", "throttled", "failed"]


@dataclass(frozen=True, slots=True)
class Limits:
    """One provider's bounds: `cap` requests in flight at most, and where the provider documents a
    quota, at most `quota[0]` requests in any `quota[1]` seconds."""

    cap: int = 8
    start: int = 4
    quota: tuple[int, float] | None = None
    #: latency counts as "rising" above slow_factor x baseline and baseline + slow_margin seconds
    slow_factor: float = 3.0
    slow_margin: float = 0.25
    #: requests waiting in the server's queue (estimated per window): below `queue_low` one more is
    #: worth sending, above `queue_high` one fewer
    queue_low: float = 1.0
    queue_high: float = 2.0
    #: the queue rule takes it no lower (throttling may): where the provider documents its limit,
    #: its start; the latency of a server across the internet varies, and that reads as a queue
    queue_floor: int = 1


#: CalDAV servers without a documented limit (Radicale, Nextcloud, iCloud…)
CALDAV = Limits()
#: Google Calendar over CalDAV: the Calendar API's 600 requests per minute per user
GOOGLE = Limits(cap=4, quota=(600, 60.0), queue_floor=4)
#: Microsoft Graph, Outlook calendars: 4 concurrent requests, 10,000 per 10 minutes per mailbox
GRAPH = Limits(cap=4, quota=(10_000, 600.0), queue_floor=4)


@dataclass(slots=True)
class Aimd:
    """The number of requests allowed in flight. `epoch` grows on every decrease: answers to
    requests sent before a decrease (same burst) do not decrease it again."""

    limits: Limits = CALDAV
    limit: int = 0
    epoch: int = 0
    healthy: int = 0
    baseline: float | None = None  # the lowest write latency seen, creeping up slowly (for `slow`)
    fastest: float | None = None  # the lowest write latency seen (a gate lives for one command or pass)
    smoothed: float | None = None  # exponentially weighted write latency
    history: list[int] = field(default_factory=list)  # every limit taken, the first included
    why: list[str] = field(default_factory=list)  # what took it: start, throttled, slow, queue, free
    queued: float = 0.0  # this window's sum of queue estimates, over `timed` timed answers
    timed: int = 0

    def __post_init__(self) -> None:
        self.limit = self.limit or min(self.limits.start, self.limits.cap)
        self._take(self.limit, "start")

    def throttled(self, epoch: int) -> None:
        """A 429/503 (or a quota 403) to a request sent in `epoch`."""
        if epoch == self.epoch:
            self._decrease(max(1, self.limit // 2), "throttled")

    def answered(self, epoch: int, latency: float | None, in_flight: int = 1) -> None:
        """A healthy answer; `latency` in seconds for writes (None: not a write, not timed), with
        `in_flight` requests under way beside it (itself included)."""
        if latency is not None:
            self.smoothed = latency if self.smoothed is None else 0.7 * self.smoothed + 0.3 * latency
            if self.baseline is None or latency < self.baseline:
                self.baseline = latency
            else:
                self.baseline += (latency - self.baseline) * 0.01
            self.fastest = latency if self.fastest is None else min(self.fastest, latency)
            if epoch == self.epoch and self.slow():
                self._decrease(max(1, self.limit // 2), "slow")
                return
        if epoch != self.epoch:
            return  # sent before the last decrease: it says nothing about the new limit
        self.healthy += 1
        if latency is not None and latency > 0 and self.fastest is not None:
            self.queued += max(0.0, in_flight * (1 - self.fastest / latency))
            self.timed += 1
        if self.healthy < self.limit:
            return
        queue = self.queued / self.timed if self.timed else 0.0  # untimed answers: nothing queued
        self.healthy, self.queued, self.timed = 0, 0.0, 0
        if queue > self.limits.queue_high and self.limit > self.limits.queue_floor:
            self._decrease(self.limit - 1, "queue")
        elif queue < self.limits.queue_low and self.limit < self.limits.cap:
            self.limit += 1
            self._take(self.limit, "free")

    def slow(self) -> bool:
        """Writes answer well above their baseline: the server is struggling."""
        if self.smoothed is None or self.baseline is None:
            return False
        return self.smoothed > max(self.baseline * self.limits.slow_factor, self.baseline + self.limits.slow_margin)

    def _decrease(self, limit: int, why: str) -> None:
        self.limit = limit
        self.epoch += 1
        self.healthy, self.queued, self.timed = 0, 0.0, 0
        self.smoothed = self.baseline  # judge the new limit by its own answers
        self._take(limit, why)

    def _take(self, limit: int, why: str) -> None:
        self.history.append(limit)
        self.why.append(why)


@dataclass(frozen=True, slots=True)
class Ticket:
    """One admitted request: the epoch it was sent in, when, and how many were in flight with it."""

    epoch: int
    sent: float
    in_flight: int = 1


class Gate:
    """Threads wait here until `Aimd` allows one more request in flight, no Retry-After is
    pending, and the provider's quota window has room."""

    def __init__(self, limits: Limits = CALDAV, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.aimd = Aimd(limits)
        self.limits = limits
        self.clock = clock
        self.in_flight = 0
        self.most_in_flight = 0
        self.paused_until = 0.0
        self._sent: deque[float] = deque()
        self._cond = threading.Condition()

    def _wait_s(self, now: float) -> float | None:
        """Seconds until one more may go (0: now; None: when a request in flight ends)."""
        if self.paused_until > now:
            return self.paused_until - now
        if self.in_flight >= self.aimd.limit:
            return None
        if self.limits.quota is not None:
            most, span = self.limits.quota
            while self._sent and self._sent[0] <= now - span:
                self._sent.popleft()
            if len(self._sent) >= most:
                return self._sent[0] + span - now
        return 0.0

    def acquire(self) -> Ticket:
        with self._cond:
            while True:
                now = self.clock()
                wait = self._wait_s(now)
                if wait == 0.0:
                    break
                self._cond.wait(wait)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            if self.limits.quota is not None:
                self._sent.append(now)
            return Ticket(self.aimd.epoch, now, self.in_flight)

    def release(self, ticket: Ticket, outcome: Outcome, retry_after: float | None = None) -> None:
        """The request's answer: "write" or "read" (healthy; a write's latency feeds the baseline),
        "throttled" (with the server's Retry-After in seconds, if any), or "failed" (no answer, or
        an error that says nothing about load: it changes nothing)."""
        with self._cond:
            beside = max(ticket.in_flight, self.in_flight)  # the most under way during its life, itself included
            self.in_flight -= 1
            now = self.clock()
            if outcome == "throttled":
                self.aimd.throttled(ticket.epoch)
                if retry_after:
                    self.paused_until = max(self.paused_until, now + retry_after)
            elif outcome != "failed":
                self.aimd.answered(ticket.epoch, now - ticket.sent if outcome == "write" else None, beside)
            self._cond.notify_all()

    @property
    def cap(self) -> int:
        """The most requests this gate may ever let through at once (threads worth starting)."""
        return self.limits.cap
