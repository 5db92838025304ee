"""Issue 27, point 3, against a real Radicale behind a proxy that answers 429 and 503 with
Retry-After to some PUTs: blocktime halves the writes in flight, sends nothing while Retry-After
runs, and still writes every block exactly once."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from blocktime.backends.pacing import CALDAV
from blocktime.config.loading import from_mapping
from blocktime.usecases.booking import BookRequest, book
from blocktime.usecases.session import Session
from tests.faults import server_objects
from tests.proxy import FaultProxy
from tests.servers import Account, RadicaleServer

WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.fixture
def proxy(radicale_server: RadicaleServer) -> Iterator[FaultProxy]:
    with FaultProxy(radicale_server.port, lifetime=120) as p:
        yield p


def test_throttled_writes_back_off_wait_and_land_once(radicale: Account, proxy: FaultProxy,
                                                      data_dir: object) -> None:
    proxy.fail(429, retry_after="1", method="PUT").fail(503, retry_after="1", method="PUT")
    config = from_mapping({
        "organizer": {"name": "Anna Nowak", "email": "anna@example.com", "timezone": "Europe/Warsaw"},
        "calendar": {"url": proxy.url(radicale.url), "username": radicale.username, "password": radicale.password},
    })
    req = BookRequest(client="Acme", site="Acme HQ", attendees=("it@acme.example",),
                      first=datetime(2026, 3, 23, 12, 0, tzinfo=WARSAW), length=timedelta(hours=1),
                      weekdays=frozenset({0, 1, 2, 3, 4}), count=12)
    with Session(config, datetime(2026, 3, 20, 9, 0, tzinfo=WARSAW)) as session:
        result = book(session, req)
        gate = session.backend.gate  # type: ignore[attr-defined]
        history, why = list(gate.aimd.history), list(gate.aimd.why)
    assert result.written and len(result.plan.create) == 12

    # backed off: the first refusal halved the requests in flight, every decrease halves, and then they
    # grew again. How many decreases is up to the threads' timing (the 503 halves again only when its
    # PUT was sent after the 429 had halved the limit; a loaded host may slow the writes and halve it
    # too), so that one burst halves once is checked in tests/backends/test_pacing.py, without threads
    assert history[0] == 4
    steps = list(zip(itertools.pairwise(history), why[1:], strict=True))
    throttled = [(a, b) for (a, b), reason in steps if reason == "throttled"]
    assert throttled and all(b == max(1, a // 2) for a, b in throttled), (history, why)
    # every other decrease is one step of the queue rule, or a halving for latency far above its baseline
    assert all(b == a - 1 if reason == "queue" else b == max(1, a // 2)
               for (a, b), reason in steps if b < a), (history, why)
    assert gate.most_in_flight <= CALDAV.cap

    # Retry-After honoured: after the 429 went out, no request reached the server for a second
    # (requests already under way when it was sent arrive within a few milliseconds)
    seen = list(proxy.seen)
    refused = next(s for s in seen if s.action == "429")
    quiet = [s for s in seen if refused.at + 0.25 < s.at < refused.at + 0.95]
    assert quiet == [], quiet
    assert proxy.injected() == {"429": 1, "503": 1}

    # every block exactly once: each refused PUT was sent again, no block was written twice
    puts = Counter(s.path for s in seen if s.method == "PUT" and s.action == "forwarded")
    assert len(puts) == 12 and set(puts.values()) == {1}
    uids = Counter(u for o in server_objects(radicale).values() for u in o.uids)
    assert len(uids) == 12 and set(uids.values()) == {1}
