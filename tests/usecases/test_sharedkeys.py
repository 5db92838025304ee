"""The pick-link key: the data dir's file on SQLite; one row per trainer in a PostgreSQL store, so that
every machine signs and verifies the same links."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from blocktime.cli import main
from blocktime.config.loading import from_mapping
from blocktime.config.schema import Config
from blocktime.errors import BlocktimeError
from blocktime.mail.picks import KEY_FILE, token
from blocktime.usecases.session import Session
from blocktime.usecases.sharedkeys import pick_key, shared_secret
from tests.mailserver import MailSink
from tests.servers import Account, refused_port
from tests.stores import own_store

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


def config(data: Path, url: str | None, trainer: str | None = None) -> Config:
    cfg = from_mapping({"organizer": {"name": "A", "email": "a@example.com", "timezone": "Europe/Warsaw"}})
    return replace(cfg, data_dir=data, store_url=url, trainer=trainer)


def key_of(cfg: Config) -> bytes:
    """The pick key as a command run with `cfg` sees it (its own session, its own connection)."""
    with Session(cfg, NOW) as s:
        return pick_key(s)


def test_on_sqlite_the_key_is_the_data_dirs_file(tmp_path: Path) -> None:
    key = key_of(config(tmp_path / "a", None))
    assert len(key) == 32 and (tmp_path / "a" / KEY_FILE).read_bytes() == key
    assert key_of(config(tmp_path / "b", None)) != key  # two machines of SQLite: two keys, as before


def test_on_postgresql_every_data_dir_signs_with_the_same_key(tmp_path: Path, pg_url: str) -> None:
    on_a = key_of(config(tmp_path / "machine-a", pg_url, "anna"))
    on_b = key_of(config(tmp_path / "machine-b", pg_url, "anna"))
    assert len(on_a) == 32 and on_a == on_b
    assert token(on_a, "acme-o1", 2) == token(on_b, "acme-o1", 2)
    assert not (tmp_path / "machine-a" / KEY_FILE).exists() and not (tmp_path / "machine-b" / KEY_FILE).exists()
    assert key_of(config(tmp_path / "machine-a", pg_url, "bob")) != on_a  # each trainer their own
    assert key_of(config(tmp_path / "machine-a", pg_url, None)) != on_a


def test_the_key_is_read_inside_a_store_transaction(tmp_path: Path, pg_url: str) -> None:
    """An offer's mail is composed while its store transaction is open: reading (and the first time
    making) the key must neither fail nor end that transaction."""
    with Session(config(tmp_path, pg_url, "anna"), NOW) as s, s.store.transaction():
        first = pick_key(s)  # made now, on a connection of its own
        s.store.set_meta("probe", "1")
        assert pick_key(s) == first
    with Session(config(tmp_path, pg_url, "anna"), NOW) as s:
        assert s.store.get_meta("probe") == "1" and pick_key(s) == first


def test_first_callers_at_once_agree(tmp_path: Path, pg_url: str) -> None:
    keys: list[bytes] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def one(i: int) -> None:
        try:
            with Session(config(tmp_path / f"m{i}", pg_url, "anna"), NOW) as s:
                assert s.store is not None  # connected before the race
                start.wait()
                keys.append(pick_key(s))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(keys) == 6 and len(set(keys)) == 1


def test_an_unreachable_store_is_one_line_without_the_password(tmp_path: Path, pg_url: str) -> None:
    url = f"postgresql://ann:s3cret-pw@127.0.0.1:{refused_port()}/team"
    with Session(config(tmp_path, pg_url, "anna"), NOW) as s, pytest.raises(BlocktimeError) as exc:
        shared_secret(s.store.db, url, "anna", "pick")  # the store is up, the server to make it on is not
    assert "s3cret-pw" not in str(exc.value) and "s3cret-pw" not in repr(exc.value.__dict__)
    assert "\n" not in str(exc.value)


@own_store  # its [store] url, the suite's store set aside
def test_a_link_mailed_from_one_machine_resolves_on_another(tmp_path: Path, data_dir: Path, pg_url: str,
                                                            radicale: Account, smtp: MailSink,
                                                            capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Machine A books and cuts short on the shared PostgreSQL store and mails the offer; machine B
    (another data folder, same store) reads the store's offers and knows every option's token."""
    monkeypatch.delenv("BLOCKTIME_STORE_URL", raising=False)  # the store is the [store] url below
    from blocktime.mail.picks import found
    from blocktime.team.trainers import for_trainer, load_team
    from blocktime.usecases.answers import context
    from tests.team.test_team import toml

    main_file = toml(tmp_path / "config.toml", {
        "organizer": {"timezone": "Europe/Warsaw"}, "store": {"url": pg_url}, "team": {},
        "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none"}})
    toml(tmp_path / "trainers" / "anna.toml", {
        "organizer": {"name": "Anna", "email": "anna@example.com"},
        "calendar": {"url": radicale.url, "username": radicale.username, "password": radicale.password}})
    on = ["--config", str(main_file), "--as", "anna"]
    book = ["book", "--client", "Acme", "--site", "HQ", "--attendee", "it@acme.example", "--start",
            "2026-03-24 12:00", "--length", "1h", "--count", "1"]
    assert main([*on, "--now", "2026-03-20T09:00", *book]) == 0, capsys.readouterr().err
    smtp.reset()
    assert main([*on, "--now", "2026-03-24T13:05", "cut-short", "acme-1", "--ended-at", "12:35"]) == 0
    capsys.readouterr()
    mailed = {t for m in smtp.messages for p in m.message.walk() if p.get_content_type() == "text/plain"
              for t in found(p.get_content())}
    assert len(mailed) == 3  # one token per option
    assert not (data_dir / "trainers" / "anna" / KEY_FILE).exists()

    machine_b = replace(for_trainer(load_team(str(main_file)), "anna"), data_dir=tmp_path / "machine-b")
    with Session(machine_b, datetime(2026, 3, 24, 13, 10, tzinfo=UTC)) as s:
        tokens = context(s).tokens
    assert mailed <= set(tokens) and {n for _o, n in (tokens[t] for t in mailed)} == {1, 2, 3}


def test_the_key_outlives_a_repair_that_sets_the_schema_aside(tmp_path: Path, pg_url: str) -> None:
    """`repair` on PostgreSQL renames the trainer's schema and starts a new one: links already
    mailed keep resolving, because the key is not in that schema."""
    from blocktime.store.store import set_aside

    with Session(config(tmp_path, pg_url, "anna"), NOW) as s:
        before = pick_key(s)
        set_aside(s.store, "20260320T090000Z")
        s._store = None  # the next use opens the new, empty schema
        assert s.store.engagements() == [] and pick_key(s) == before
