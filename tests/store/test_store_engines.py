"""The store on both engines: SQLite (a file) and PostgreSQL (a schema per namespace), one schema
and one migration path, SQL that means the same on both."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from blocktime.config.loading import from_mapping
from blocktime.config.store_url import redact
from blocktime.core.model import Block, Engagement, Interval
from blocktime.errors import BadInput, BlocktimeError
from blocktime.store.engines import PgConnection, connect, schema_name
from blocktime.store.mailqueue import MailQueue, Queued
from blocktime.store.migrations import SCHEMA_VERSION
from blocktime.store.store import Store, open_store
from tests.conftest import Runner, write_config
from tests.servers import Account
from tests.stores import own_store, sqlite_only

NOW = datetime(2026, 3, 20, 8, tzinfo=UTC)


def _block(n: int, engagement: str = "acme") -> Block:
    start = datetime(2026, 4, n, 10, tzinfo=UTC)
    return Block(engagement, n, f"{engagement}-uid-{n}", Interval(start, start + timedelta(hours=1)), "HQ")


def _exercise(s: Store) -> None:
    """The same calls and the same answers on either engine."""
    with s.transaction():
        s.save_engagement(Engagement("acme", "Acme", "HQ", ("a@x.example",), "pl"), NOW)
        s.add_pending(_block(1), "http://h/1.ics")
        s.add_pending(_block(2), "http://h/2.ics")
        s.log("acme-uid-1", NOW, "planned", start=_block(1).span.start)
    s.mark("acme-uid-1", "booked", etag='"e1"')
    assert [b.state for b in s.blocks("acme")] == ["booked", "pending"]
    by_id = s.block("acme-2")
    assert by_id is not None and by_id.block.uid == "acme-uid-2" and by_id.href == "http://h/2.ics"
    assert s.next_number("acme") == 3
    assert s.engagement("acme") == Engagement("acme", "Acme", "HQ", ("a@x.example",), "pl")
    assert s.history("acme-uid-1")[0][1] == "planned"
    s.record_cut("acme-uid-1", NOW + timedelta(days=12, hours=2, minutes=30), 30, 30, "fire drill")
    cut = s.block("acme-uid-1")
    assert cut is not None and cut.state == "cut_short" and cut.block.span.end.minute == 30
    s.add_minutes("acme", 30, "cut", "acme-1", NOW)
    s.add_minutes("acme", 15, "cut", "acme-2", NOW)
    assert s.remainder("acme") == 45 and isinstance(s.remainder("acme"), int)
    s.set_meta("k", "one")
    s.set_meta("k", "two")
    assert s.get_meta("k") == "two"
    span = Interval(NOW + timedelta(days=3), NOW + timedelta(days=3, hours=1))
    s.add_declined("acme", span, "acme-o1", NOW)
    s.add_declined("acme", span, "acme-o1", NOW)  # twice: kept once
    assert s.declined("acme") == [span]
    queue = MailQueue(s)
    for n, who in enumerate(("zed@x.example", "amy@x.example")):  # queue order, not name order
        assert queue.add(Queued(f"request:acme-1:{n}:{who}", "acme-1", "request", n, who, "s", b"\x00\xffmsg", NOW))
    assert [q.recipient for q in queue.waiting()] == ["zed@x.example", "amy@x.example"]
    assert queue.waiting()[0].message == b"\x00\xffmsg"
    queue.mark_sent("request:acme-1:1:amy@x.example", "<m@x>", "amy@x.example", NOW)
    assert queue.last_invite("acme-1", "amy@x.example") == (1, b"\x00\xffmsg")
    with pytest.raises(RuntimeError), s.transaction():
        s.add_pending(_block(3), "http://h/3.ics")
        raise RuntimeError("crash")
    assert s.block("acme-3") is None


@sqlite_only  # the SQLite file, or the default store
def test_sqlite_store(tmp_path: Path) -> None:
    store = open_store(None, tmp_path)
    assert store.engine == "sqlite" and store.path == tmp_path / "blocktime.sqlite3"
    _exercise(store)
    store.close()


def test_postgresql_store(pg_url: str, tmp_path: Path) -> None:
    store = open_store(pg_url, tmp_path, None)
    assert store.engine == "postgresql" and store.path is None and "schema blocktime" in store.where
    _exercise(store)
    store.close()
    assert list(tmp_path.iterdir()) == []  # nothing on disk for a PostgreSQL store
    again = open_store(pg_url, tmp_path, None)  # reopened: the same data, no second migration
    assert again.remainder("acme") == 45
    again.close()


def test_namespaces_do_not_see_each_other(pg_url: str, tmp_path: Path) -> None:
    ann, bob = open_store(pg_url, tmp_path, "ann"), open_store(pg_url, tmp_path, "bob")
    with ann.transaction():
        ann.save_engagement(Engagement("acme", "Acme", "HQ", (), "en"), NOW)
        ann.add_pending(_block(1), "http://h/1.ics")
    assert bob.engagements() == [] and bob.blocks() == [] and len(ann.blocks()) == 1
    raw = connect(pg_url)
    schemas = {r[0] for r in raw.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'blocktime%'")}
    assert schemas == {"blocktime_ann", "blocktime_bob"}
    raw.close()
    ann.close()
    bob.close()


def _shape_sqlite(path: Path) -> tuple[int, dict[str, list[str]]]:
    db = sqlite3.connect(path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'"
                                       " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    shape = {t: sorted(r[1] for r in db.execute(f"PRAGMA table_info({t})")) for t in tables}
    version = db.execute("PRAGMA user_version").fetchone()[0]
    db.close()
    return version, shape


def _shape_pg(url: str, schema: str) -> tuple[int, dict[str, list[str]]]:
    raw = connect(url)
    rows = raw.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema=%s",
                       (schema,)).fetchall()
    shape: dict[str, list[str]] = {}
    for table, column in rows:
        shape.setdefault(table, []).append(column)
    version = raw.execute(f'SELECT version FROM "{schema}".store_version').fetchone()[0]
    raw.close()
    shape.pop("store_version")
    return version, {t: sorted(c) for t, c in sorted(shape.items())}


V1 = Path(__file__).parent / "data" / "store-v1.sqlite3"  # written by the release before versioning


@own_store  # both engines, explicitly
def test_both_engines_end_at_the_same_schema(pg_url: str, tmp_path: Path) -> None:
    """A new SQLite file, an upgraded first-release file and a new PostgreSQL schema: the same
    version, the same tables with the same columns."""
    open_store(None, tmp_path / "new").close()
    old = tmp_path / "old"
    old.mkdir()
    (old / "blocktime.sqlite3").write_bytes(V1.read_bytes())
    open_store(None, old).close()
    open_store(pg_url, tmp_path, "ann").close()
    new_v, new_shape = _shape_sqlite(tmp_path / "new" / "blocktime.sqlite3")
    old_v, old_shape = _shape_sqlite(old / "blocktime.sqlite3")
    pg_v, pg_shape = _shape_pg(pg_url, "blocktime_ann")
    assert new_v == old_v == pg_v == SCHEMA_VERSION
    assert new_shape == old_shape == pg_shape
    assert {"sync_state", "conflicts", "inbox_messages", "inbox_marks", "mail_outbox"} <= set(pg_shape)


def test_a_newer_postgresql_schema_is_refused(pg_url: str, tmp_path: Path) -> None:
    open_store(pg_url, tmp_path).close()
    raw = connect(pg_url)
    raw.execute("UPDATE blocktime.store_version SET version = version + 1")
    raw.close()
    with pytest.raises(BlocktimeError, match="newer blocktime"):
        open_store(pg_url, tmp_path)


def test_a_password_in_the_url_is_never_shown(tmp_path: Path) -> None:
    url = "postgresql://ann:s3cret-pw@127.0.0.1:1/none?connect_timeout=2"
    assert "s3cret" not in redact(url) and "ann" in redact(url)
    with pytest.raises(BlocktimeError) as err:
        open_store(url, tmp_path)
    assert "s3cret" not in str(err.value) and "cannot reach the store" in str(err.value)
    with pytest.raises(BadInput) as bad:
        from_mapping({"store": {"url": "mysql://ann:s3cret-pw@host/db"}})
    assert "s3cret" not in str(bad.value) and "[store] url" in str(bad.value)


def test_store_url_from_the_config_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BLOCKTIME_STORE_URL", raising=False)
    assert from_mapping({}).store_url is None
    assert from_mapping({"store": {"url": "postgresql://db.example/team"}}).store_url == "postgresql://db.example/team"
    monkeypatch.setenv("BLOCKTIME_STORE_URL", "postgresql://other.example/x")
    assert from_mapping({"store": {"url": "postgresql://db.example/team"}}).store_url == "postgresql://other.example/x"
    monkeypatch.setenv("BLOCKTIME_STORE_URL", "ftp://nope")
    with pytest.raises(BadInput, match="BLOCKTIME_STORE_URL"):
        from_mapping({})


def test_schema_names_are_safe_and_distinct() -> None:
    assert schema_name(None) == "blocktime" and schema_name("ann") == "blocktime_ann"
    assert schema_name("a-b") != schema_name("a_b")
    assert schema_name('x"; DROP SCHEMA public; --').replace("_", "").isalnum()
    assert len(schema_name("n" * 200)) <= 63


@sqlite_only  # the SQLite file, or the default store
@pytest.mark.parametrize("argv", [["--help"], ["agenda"]])
def test_sqlite_commands_never_load_the_driver(argv: list[str], tmp_path: Path) -> None:
    """Cold start: psycopg is loaded only for a postgresql:// store."""
    code = (f"import sys\nfrom blocktime.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print('psycopg' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "BLOCKTIME_STORE_URL"}
    env.update(BLOCKTIME_DATA_DIR=str(tmp_path / "data"), BLOCKTIME_CONFIG=str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr


def test_an_older_postgresql_schema_is_upgraded_in_place(pg_url: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A schema written by the previous version (2) gets migration 2 -> 3 on open, its rows kept."""
    from blocktime.store import migrations as store_module
    with monkeypatch.context() as m:
        m.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
        m.setattr(store_module, "SCHEMA_VERSION", 2)
        old = open_store(pg_url, tmp_path, "ann")
        with old.transaction():
            old.save_engagement(Engagement("acme", "Acme", "HQ", (), "en"), NOW)
            old.add_pending(_block(1), "http://h/1.ics")
        old.close()
    assert _shape_pg(pg_url, "blocktime_ann")[0] == 2
    assert "inbox_marks" not in _shape_pg(pg_url, "blocktime_ann")[1]
    store = open_store(pg_url, tmp_path, "ann")
    assert [b.block.uid for b in store.blocks()] == ["acme-uid-1"]
    store.close()
    version, shape = _shape_pg(pg_url, "blocktime_ann")
    assert version == SCHEMA_VERSION and "inbox_marks" in shape and "seq" in shape["mail_outbox"]


def test_round_trips_per_operation(pg_url: str, tmp_path: Path) -> None:
    """One statement per query, BEGIN and COMMIT around a write step; opening a store that is
    up to date costs one query (the search_path travels in the connection's startup packet)."""
    open_store(pg_url, tmp_path).close()
    store = open_store(pg_url, tmp_path)
    db = store.db
    assert isinstance(db, PgConnection) and db.statements == 1  # the version check
    store.blocks()
    assert db.statements == 2
    with store.transaction():
        store.save_engagement(Engagement("acme", "Acme", "HQ", (), "en"), NOW)
        store.add_pending(_block(1), "http://h/1.ics")
    assert db.statements == 2 + 4
    assert db.raw.execute("SHOW search_path").fetchone()[0] == "blocktime"
    store.close()


def test_one_writer_at_a_time_per_store(pg_url: str, tmp_path: Path) -> None:
    """As with SQLite's BEGIN IMMEDIATE: a second write transaction on the same store waits for the
    first (a read does not), and another trainer's store is not held up."""
    first, second, other = (open_store(pg_url, tmp_path, "ann"), open_store(pg_url, tmp_path, "ann"),
                            open_store(pg_url, tmp_path, "bob"))
    assert isinstance(second.db, PgConnection)
    with first.transaction():
        first.set_meta("k", "first")
        assert second.get_meta("k") is None  # reads go on (and see only what is committed)
        with other.transaction():
            other.set_meta("k", "bob")
        second.db.raw.execute("SET lock_timeout = '200ms'")
        with pytest.raises(Exception, match="lock timeout"), second.transaction():
            pass
    with second.transaction():
        second.set_meta("k", "second")
    assert first.get_meta("k") == "second" and other.get_meta("k") == "bob"
    for s in (first, second, other):
        s.close()


@own_store  # its [store] url, the suite's store set aside
def test_doctor_checks_a_postgresql_store(pg_url: str, tmp_path: Path, data_dir: Path,
                                          capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from blocktime.cli import main

    config = tmp_path / "config.toml"
    config.write_text(f'[organizer]\nname = "A"\nemail = "a@x.example"\ntimezone = "Europe/Warsaw"\n'
                      f'[store]\nurl = "{pg_url}"\n')
    monkeypatch.delenv("BLOCKTIME_STORE_URL", raising=False)
    main(["--config", str(config), "doctor", "--json"])
    import json

    found = {f["topic"]: f for f in json.loads(capsys.readouterr().out)["findings"]}
    assert found["store"]["level"] == "ok" and f"schema version {SCHEMA_VERSION}" in found["store"]["text"]
    bad = pg_url.rsplit("/", 1)[0].replace("postgres@", "postgres:s3cret@") + "/no_such_database"
    config.write_text(config.read_text().replace(pg_url, bad))
    main(["--config", str(config), "doctor", "--json"])
    out = capsys.readouterr().out
    found = {f["topic"]: f for f in json.loads(out)["findings"]}
    assert found["store"]["level"] == "fail" and "no_such_database" in found["store"]["text"]
    assert "s3cret" not in out


@own_store  # its own BLOCKTIME_STORE_URL, with a password
@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_the_store_password_never_leaks(account: Account, pg_url: str, tmp_path: Path, data_dir: Path,
                                        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    """A password in the store URL (the test server trusts loopback, so any password connects): not
    in any output with --debug, not in the log, not in the store, not in the config's repr."""
    secret = "Pg-Secret-7d2c91"
    url = pg_url.replace("postgres@", f"postgres:{secret}@")
    monkeypatch.setenv("BLOCKTIME_STORE_URL", url)
    cli = Runner(write_config(tmp_path / "config.toml", account), capsys)
    texts = []
    for args, now in ((("book", "--client", "Acme", "--site", "HQ", "--attendee", "it@acme.example", "--start",
                        "2026-03-24 12:00", "--length", "1h", "--count", "2", "--every", "tue"), "2026-03-20T09:00"),
                      (("daemon", "--once"), "2026-03-20T10:00"), (("agenda", "--json"), "2026-03-20T10:00"),
                      (("doctor",), "2026-03-20T10:00")):
        code, out, err = cli("--debug", *args, now=now)
        texts.append(out + err)
    assert code in (0, 1) and "blocks go to" in texts[-1]
    texts.append(caplog.text)
    from blocktime.config.loading import load

    texts.append(repr(load(str(tmp_path / "config.toml"))))
    raw = connect(pg_url, "blocktime")
    for (table,) in raw.execute("SELECT table_name FROM information_schema.tables WHERE table_schema='blocktime'"):
        texts.append(repr(raw.execute(f'SELECT * FROM "{table}"').fetchall()))
    raw.close()
    assert len(texts) > 8 and not [t[:200] for t in texts if secret in t]


def test_options_in_the_url_are_kept_beside_the_search_path(pg_url: str, tmp_path: Path) -> None:
    url = pg_url + "?options=-c%20statement_timeout%3D12345"
    store = open_store(url, tmp_path, "ann")
    assert isinstance(store.db, PgConnection)
    assert store.db.raw.execute("SHOW statement_timeout").fetchone()[0] == "12345ms"
    assert store.db.raw.execute("SHOW search_path").fetchone()[0] == "blocktime_ann"
    store.close()
