"""The pick-link key: the data dir's file on SQLite; one row per trainer in a PostgreSQL store, so that
every machine signs and verifies the same links."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from blocktime.cli import main
from blocktime.config import Config, from_mapping
from blocktime.errors import BlocktimeError
from blocktime.picks import KEY_FILE, token
from blocktime.sharedkeys import pick_key, shared_secret
from tests.mailserver import MailSink
from tests.servers import Account, free_port


def config(data: Path, url: str | None, trainer: str | None = None) -> Config:
    cfg = from_mapping({"organizer": {"name": "A", "email": "a@example.com", "timezone": "Europe/Warsaw"}})
    return replace(cfg, data_dir=data, store_url=url, trainer=trainer)


@pytest.fixture(autouse=True)
def _fresh() -> None:
    shared_secret.cache_clear()  # each test reads the store, not this process's memory


def test_on_sqlite_the_key_is_the_data_dirs_file(tmp_path: Path) -> None:
    key = pick_key(config(tmp_path / "a", None))
    assert len(key) == 32 and (tmp_path / "a" / KEY_FILE).read_bytes() == key
    assert pick_key(config(tmp_path / "b", None)) != key  # two machines of SQLite: two keys, as before


def test_on_postgresql_every_data_dir_signs_with_the_same_key(tmp_path: Path, pg_url: str) -> None:
    on_a = pick_key(config(tmp_path / "machine-a", pg_url, "anna"))
    shared_secret.cache_clear()
    on_b = pick_key(config(tmp_path / "machine-b", pg_url, "anna"))
    assert len(on_a) == 32 and on_a == on_b
    assert token(on_a, "acme-o1", 2) == token(on_b, "acme-o1", 2)
    assert not (tmp_path / "machine-a" / KEY_FILE).exists() and not (tmp_path / "machine-b").exists()
    assert pick_key(config(tmp_path / "machine-a", pg_url, "bob")) != on_a  # each trainer their own
    assert pick_key(config(tmp_path / "machine-a", pg_url, None)) not in (on_a,)


def test_first_callers_at_once_agree(tmp_path: Path, pg_url: str) -> None:
    keys: list[bytes] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def one(i: int) -> None:
        try:
            start.wait()
            keys.append(shared_secret.__wrapped__(pg_url, "anna", "pick"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(keys) == 6 and len(set(keys)) == 1


def test_an_unreachable_store_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://ann:s3cret-pw@127.0.0.1:{free_port()}/team"
    with pytest.raises(BlocktimeError) as exc:
        pick_key(config(tmp_path, url, "anna"))
    assert "s3cret-pw" not in str(exc.value) and "s3cret-pw" not in repr(exc.value.__dict__)
    assert "\n" not in str(exc.value)


def test_a_link_mailed_from_one_machine_resolves_on_another(tmp_path: Path, data_dir: Path, pg_url: str,
                                                            radicale: Account, smtp: MailSink,
                                                            capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Machine A books and cuts short on the shared PostgreSQL store and mails the offer; machine B
    (another data folder, same store) reads the store's offers and knows every option's token."""
    monkeypatch.delenv("BLOCKTIME_STORE_URL", raising=False)  # the store is the [store] url below
    from blocktime.answers import context
    from blocktime.picks import found
    from blocktime.service import Session
    from blocktime.team import for_trainer, load_team
    from tests.test_team import toml

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

    shared_secret.cache_clear()  # machine B: its own process memory, its own (empty) data folder
    machine_b = replace(for_trainer(load_team(str(main_file)), "anna"), data_dir=tmp_path / "machine-b")
    with Session(machine_b, datetime(2026, 3, 24, 13, 10, tzinfo=UTC)) as s:
        tokens = context(s).tokens
    assert mailed <= set(tokens) and {n for _o, n in (tokens[t] for t in mailed)} == {1, 2, 3}
