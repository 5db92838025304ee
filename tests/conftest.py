"""Fixtures: real Radicale and Xandikos servers on free loopback ports, configs, a CLI runner."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from blocktime.cli import main
from tests.imapserver import ImapServer
from tests.mailserver import MailSink
from tests.pgserver import PostgresServer
from tests.servers import Account, RadicaleServer, XandikosServer
from tests.stores import POSTGRESQL, SQLITE, engines_for, picks_its_engine, reset, unparametrized_store

# `make test` (and CI) draws the same examples every run: a fresh clone passes or fails the same way.
# `make fuzz` selects the "fuzz" profile and passes a new --hypothesis-seed each round; whatever it
# finds becomes an @example in the test. Loaded here, before any test module builds its settings().
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("fuzz", derandomize=False, database=None, print_blob=True)
settings.load_profile(os.environ.get("BLOCKTIME_HYPOTHESIS", "ci"))


@pytest.fixture(scope="session")
def radicale_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    server = RadicaleServer(tmp_path_factory.mktemp("radicale"))
    yield server
    server.stop()


@pytest.fixture
def radicale(radicale_server: RadicaleServer) -> Account:
    """A fresh, empty account on the shared Radicale."""
    return radicale_server.new_account()


@pytest.fixture
def xandikos(tmp_path: Path) -> Iterator[Account]:
    """A fresh Xandikos server (one principal per process)."""
    server = XandikosServer(tmp_path / "xandikos")
    yield server.account()
    server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL cluster for the session (tests/pgserver.py)."""
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database."""
    return pg_server.create_database()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that reaches the store runs on each engine of the run (tests/stores.py)."""
    engines = engines_for(list(metafunc.fixturenames), {m.name for m in metafunc.definition.iter_markers()})
    if engines:
        metafunc.parametrize("store_engine", engines, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A case marked sqlite_only through its own parameter (pytest.param(..., marks=sqlite_only)) is
    not run on the other engines: its marks are only known here, after the parametrization. Tests
    marked slow go first."""
    def off_sqlite(item: pytest.Item) -> bool:
        callspec = getattr(item, "callspec", None)
        return (callspec is not None and callspec.params.get("store_engine", SQLITE) != SQLITE
                and item.get_closest_marker("sqlite_only") is not None)
    dropped = [item for item in items if off_sqlite(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not off_sqlite(item)]
    # the longest tests first: on xdist workers the run then ends with short ones spread over all
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def store_engine(request: pytest.FixtureRequest) -> str:
    """The engine this test's store is on: its parameter, else SQLite (the default store)."""
    return str(getattr(request, "param", SQLITE))


@pytest.fixture(scope="session")
def _suite_store_url(pg_server: PostgresServer) -> str:
    """One database of the worker's PostgreSQL for the tests on that engine (see tests/stores.py)."""
    return pg_server.create_database()


@pytest.fixture(autouse=True)
def _store_engine(store_engine: str, request: pytest.FixtureRequest,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test's store on its engine; on PostgreSQL an empty one per test. A test that writes a
    SQLite store while running on one engine only is told how to mark it."""
    if store_engine != POSTGRESQL:
        monkeypatch.delenv("BLOCKTIME_STORE_URL", raising=False)
        callspec = getattr(request.node, "callspec", None)
        watch = "tmp_path" in request.fixturenames and (callspec is None or "store_engine" not in callspec.params) \
            and not picks_its_engine(request.fixturenames, {m.name for m in request.node.iter_markers()})
        tmp_path: Path | None = request.getfixturevalue("tmp_path") if watch else None
        yield
        if tmp_path is not None and (left := unparametrized_store(tmp_path)):
            pytest.fail(f"writes a store ({left[0].name}) but runs on one engine: use the data_dir fixture or "
                        "mark it @pytest.mark.store (sqlite_only / own_store when it picks its engine itself)")
        return
    url: str = request.getfixturevalue("_suite_store_url")
    monkeypatch.setenv("BLOCKTIME_STORE_URL", url)
    yield
    reset(url)  # sharedkeys caches nothing: the next test's key is made in its own store


@pytest.fixture(params=["radicale", "xandikos"])
def account(request: pytest.FixtureRequest) -> Account:
    """The booking tests run on both servers."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def write_config(path: Path, account: Account | None, **sections: dict[str, Any]) -> Path:
    """A TOML config for `account` (None: the embedded calendar)."""
    body: dict[str, dict[str, Any]] = {
        "organizer": {"name": "Anna Nowak", "email": "anna@example.com", "timezone": "Europe/Warsaw"},
    }
    if account is not None:
        cal: dict[str, Any] = {"url": account.url}
        if account.username:
            cal.update(username=account.username, password=account.password)
        body["calendar"] = cal
    for name, values in sections.items():
        body.setdefault(name, {}).update(values)
    lines = []
    for name, values in body.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


class Runner:
    """Runs the CLI in-process with a config and a data dir; returns (code, stdout, stderr)."""

    def __init__(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.config = config
        self.capsys = capsys

    def __call__(self, *args: str, now: str | None = "2026-03-20T09:00") -> tuple[int, str, str]:
        argv = ["--config", str(self.config)]
        if now:
            argv += ["--now", now]
        self.capsys.readouterr()
        code = main([*argv, *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str, **kw: Any) -> Any:
        _code, out, err = self(*args, "--json", **kw)
        assert out, err
        return json.loads(out)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("BLOCKTIME_DATA_DIR", str(d))
    monkeypatch.delenv("BLOCKTIME_CONFIG", raising=False)
    return d


@pytest.fixture
def cli(account: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> Runner:
    return Runner(write_config(tmp_path / "config.toml", account), capsys)


@pytest.fixture(autouse=True)
def _root_log_level_restored() -> Iterator[None]:
    """`main(["--debug", …])` and the daemon's setup_logging leave the root logger at DEBUG: the next
    test gets the level back, or every library's debug line is formatted in it (a pure test that
    expands calendars runs several times slower, and its time bound fails)."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _no_user_templates(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Message templates come from the package, never from the developer's own config dir."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink()
    yield sink
    sink.stop()


@pytest.fixture
def smtp(mail_sink: MailSink) -> MailSink:
    """A real SMTP server (aiosmtpd) on a free loopback port, emptied for each test."""
    mail_sink.reset()
    return mail_sink


def smtp_section(sink: MailSink, **extra: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": sink.port, "security": "none", **extra}


@pytest.fixture
def mailcli(account: Account, smtp: MailSink, tmp_path: Path, data_dir: Path,
            capsys: pytest.CaptureFixture[str]) -> Runner:
    """The CLI on Radicale and Xandikos, sending its mail to the test SMTP server."""
    return Runner(write_config(tmp_path / "config.toml", account, smtp=smtp_section(smtp)), capsys)


@pytest.fixture(scope="session")
def imap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    """A real IMAP server (pymap) on a free loopback port, for the whole session."""
    server = ImapServer(tmp_path_factory.mktemp("pymap"))
    yield server
    server.stop()
