"""The SQLite store: engagements, blocks by id or UID, history, and a damaged file."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from blocktime.core.model import Block, Engagement, Interval
from blocktime.errors import BlocktimeError
from blocktime.store import migrations as store_module
from blocktime.store.migrations import SCHEMA_VERSION
from blocktime.store.store import Store
from tests.stores import sqlite_only

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


# schema versions -------------------------------------------------------------------------
V1 = Path(__file__).parent / "data" / "store-v1.sqlite3"  # written by the release before versioning


def _v1_copy(tmp_path: Path) -> Path:
    path = tmp_path / "blocktime.sqlite3"
    shutil.copyfile(V1, path)
    return path


@sqlite_only  # an old SQLite file
def test_a_store_from_the_first_release_is_migrated_in_place(tmp_path: Path) -> None:
    path = _v1_copy(tmp_path)
    before = sqlite3.connect(path)
    assert before.execute("PRAGMA user_version").fetchone()[0] == 0
    counts = {t: before.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("engagements", "blocks", "offers", "holds", "ledger", "mail_outbox")}
    before.close()
    store = Store(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    for table, n in counts.items():
        assert store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == n
    assert store.remainder("acme") == 0 and len(store.blocks("acme")) == 5
    assert {o.id: o.state for o in store.offers("acme", ("declined", "accepted"))} == {
        "acme-o1": "declined", "acme-o2": "accepted"}
    assert store.offer("acme-o1").replaced_by is None  # type: ignore[union-attr]
    assert store.declined("acme") == []
    store.close()
    backup = tmp_path / "blocktime.sqlite3.v1.bak"
    assert backup.exists() and oct(backup.stat().st_mode & 0o777) == "0o600"
    old = sqlite3.connect(backup)
    assert old.execute("PRAGMA user_version").fetchone()[0] == 0
    assert old.execute("SELECT COUNT(*) FROM blocks").fetchone()[0] == counts["blocks"]
    # opening again changes nothing and makes no second backup
    Store(path).close()
    assert sorted(p.name for p in tmp_path.glob("*.bak")) == ["blocktime.sqlite3.v1.bak"]


@sqlite_only  # an old SQLite file
def test_a_failed_migration_leaves_the_old_store_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _v1_copy(tmp_path)
    monkeypatch.setattr(store_module, "MIGRATIONS", (
        ("CREATE TABLE declined (engagement TEXT)", "ALTER TABLE no_such_table ADD COLUMN x TEXT"),))
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 2)
    with pytest.raises(BlocktimeError, match=r"could not upgrade .* it is unchanged"):
        Store(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    assert db.execute("SELECT 1 FROM sqlite_master WHERE name='declined'").fetchone() is None


def test_a_new_store_starts_at_the_current_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.sqlite3")
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert list(tmp_path.glob("*.bak")) == []


@sqlite_only
def test_a_store_from_a_newer_blocktime_is_refused_in_one_line(
        tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir.mkdir(parents=True)
    path = data_dir / "blocktime.sqlite3"
    shutil.copyfile(V1, path)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    from blocktime.cli import main
    code = main(["agenda"])
    err = capsys.readouterr().err
    assert code == 1 and "newer blocktime" in err and len(err.strip().splitlines()) == 1
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
