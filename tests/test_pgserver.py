"""The PostgreSQL the tests start (tests/pgserver.py) is a real server: what the team features
rely on (advisory locks held per connection, SKIP LOCKED) behaves as PostgreSQL documents."""

from __future__ import annotations

import time

import psycopg


def test_advisory_lock_is_exclusive_and_lapses_with_its_connection(pg_url: str) -> None:
    first = psycopg.connect(pg_url, autocommit=True)
    with psycopg.connect(pg_url, autocommit=True) as second:
        assert first.execute("SELECT pg_try_advisory_lock(42)").fetchone() == (True,)
        assert second.execute("SELECT pg_try_advisory_lock(42)").fetchone() == (False,)
        first.close()  # a daemon that dies: its session ends, its lock with it
        # the server ends the backend (and frees its locks) asynchronously, a moment after the close
        deadline = time.monotonic() + 30
        while second.execute("SELECT pg_try_advisory_lock(42)").fetchone() != (True,):
            assert time.monotonic() < deadline, "the lock of a closed connection was never released"
            time.sleep(0.05)


def test_skip_locked_hands_each_row_to_one_claimant(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as setup:
        setup.execute("CREATE TABLE work (id int PRIMARY KEY)")
        setup.execute("INSERT INTO work SELECT generate_series(1, 3)")
    a, b = psycopg.connect(pg_url), psycopg.connect(pg_url)
    try:
        claim = "SELECT id FROM work ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED"
        got_a = [r[0] for r in a.execute(claim).fetchall()]
        got_b = [r[0] for r in b.execute(claim).fetchall()]
        assert got_a == [1, 2] and got_b == [3]
    finally:
        a.close()
        b.close()
