"""tests/stores.py: which tests run on which store engine, in one pytest session (make test)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.stores import ENGINES, POSTGRESQL, SQLITE, engines_for, unparametrized_store


def test_a_test_that_reaches_the_store_runs_on_each_engine(data_dir: Path, store_engine: str,
                                                           request: pytest.FixtureRequest) -> None:
    assert request.node.callspec.params["store_engine"] == store_engine and store_engine in ENGINES
    url = os.environ.get("BLOCKTIME_STORE_URL")
    assert (url or "").startswith("postgresql://") if store_engine == POSTGRESQL else url is None


def test_a_test_that_never_reaches_the_store_runs_once(store_engine: str, request: pytest.FixtureRequest) -> None:
    assert not hasattr(request.node, "callspec") and store_engine == SQLITE
    assert "BLOCKTIME_STORE_URL" not in os.environ


def test_which_tests_run_on_each_engine() -> None:
    assert engines_for(["data_dir", "tmp_path"], set()) == ENGINES
    assert engines_for(["tmp_path"], {"store"}) == ENGINES  # reaches it another way: marked
    assert engines_for(["tmp_path"], set()) == []  # pure: once
    assert engines_for(["data_dir"], {"sqlite_only"}) == []  # the SQLite file itself
    assert engines_for(["data_dir", "pg_url"], set()) == ENGINES  # a second database beside the store
    assert engines_for(["data_dir"], {"own_store"}) == []


def test_a_store_left_by_a_test_on_one_engine_is_found(tmp_path: Path) -> None:
    assert unparametrized_store(tmp_path) == []
    (tmp_path / "sub" / "data").mkdir(parents=True)
    (tmp_path / "sub" / "data" / "blocktime.sqlite3").write_bytes(b"")  # as a subprocess would leave it
    assert unparametrized_store(tmp_path) == [tmp_path / "sub" / "data" / "blocktime.sqlite3"]
    (tmp_path / "sub" / "data" / "blocktime.sqlite3").unlink()  # (else this test itself is told off)


def test_the_slowest_tests_are_started_first(request: pytest.FixtureRequest) -> None:
    items = request.session.items
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    assert items[:len(slow)] == slow  # (on xdist each worker collects the same order)
