"""The SQLite store: engagements, blocks by id or UID, history, and a damaged file."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from blocktime.core.model import Block, Engagement, Interval
from blocktime.errors import BlocktimeError
from blocktime.store import Store

NOW = datetime(2026, 3, 20, 8, tzinfo=UTC)


def _block(n: int) -> Block:
    start = datetime(2026, 4, n, 10, tzinfo=UTC)
    return Block("acme", n, f"uid-{n}", Interval(start, start + timedelta(hours=1)), "HQ")


def test_blocks_round_trip(tmp_path: Path) -> None:
    s = Store(tmp_path / "s.sqlite3")
    assert stat.S_IMODE((tmp_path / "s.sqlite3").stat().st_mode) == 0o600
    with s.transaction():
        s.save_engagement(Engagement("acme", "Acme", "HQ", ("a@x.example",), "pl"), NOW)
        s.add_pending(_block(1), "http://h/1.ics")
        s.add_pending(_block(2), "http://h/2.ics")
        s.log("uid-1", NOW, "planned", start=_block(1).span.start)
    s.mark("uid-1", "booked", etag='"e1"')
    assert [b.state for b in s.blocks("acme")] == ["booked", "pending"]
    by_id = s.block("acme-2")
    assert by_id is not None and by_id.block.uid == "uid-2" and by_id.href == "http://h/2.ics"
    assert s.block("uid-1") is not None and s.block("uid-1").etag == '"e1"'  # type: ignore[union-attr]
    assert s.next_number("acme") == 3
    assert s.engagement("acme") == Engagement("acme", "Acme", "HQ", ("a@x.example",), "pl")
    assert s.history("uid-1")[0][1] == "planned"


def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    s = Store(tmp_path / "s.sqlite3")
    with pytest.raises(RuntimeError), s.transaction():
        s.save_engagement(Engagement("acme", "Acme", "HQ", (), "en"), NOW)
        s.add_pending(_block(1), "http://h/1.ics")
        raise RuntimeError("crash")
    assert s.engagements() == [] and s.blocks() == []


def test_a_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BlocktimeError) as err:
        Store(path)
    assert "damaged" in str(err.value) and "repair" in str(err.value)
