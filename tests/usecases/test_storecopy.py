"""Issue 26, point 8: `store copy --to URL` moves a store to the other engine (SQLite to PostgreSQL,
or back when the test runs on PostgreSQL), checked table by table; the copy works as the original did."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Runner
from tests.servers import Account
from tests.stores import POSTGRESQL

BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-23 09:00", "--length", "90m", "--every", "mon,wed,fri", "--count", "4")
NOW = "2026-03-23T11:00"


def _picture(cli: Runner) -> list[Any]:
    return [cli.json("engagements", "--all", now=NOW), cli.json("status", "acme", now=NOW),
            cli.json("offers", now=NOW), cli.json("history", "acme", now=NOW), cli.json("outbox", now=NOW)]


def test_a_store_is_copied_to_the_other_engine_and_works_there(
        cli: Runner, account: Account, data_dir: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch,
        store_engine: str) -> None:
    from blocktime.usecases.storecopy import TABLES

    cli.json(*BOOK, now="2026-03-20T09:00")
    cli.json("engagement", "set", "acme", "--contract", "6h", now="2026-03-20T09:05")
    cli.json("cut-short", "acme-1", "--ended-at", "10:00", "--reason", "fire drill", now=NOW)
    before = _picture(cli)
    target = "sqlite:" if store_engine == POSTGRESQL else pg_url
    done = cli.json("store", "copy", "--to", target, now=NOW)
    assert set(done["tables"]) == set(TABLES) and done["tables"]["blocks"] == 4
    assert done["tables"]["ledger"] >= 1 and done["tables"]["history"] > 4 and done["tables"]["holds"] == 3
    assert "password" not in str(done).lower()
    # the config now points at the copy: everything reads the same
    if store_engine == POSTGRESQL:
        monkeypatch.delenv("BLOCKTIME_STORE_URL")
    else:
        monkeypatch.setenv("BLOCKTIME_STORE_URL", pg_url)
    assert _picture(cli) == before
    # and it takes new writes: the engine's id counters went on after the copied rows
    offer = cli.json("offers", now=NOW)["offers"][0]["id"]
    assert cli.json("accept", offer, "1", now=NOW)["block"]["makeup_for"] == "acme-1"
    history = cli.json("history", "acme", now=NOW)["events"]
    assert [e["kind"] for e in history].count("makeup_booked") == 1


def test_a_copy_into_a_store_that_is_not_empty_or_into_itself_is_refused(
        cli: Runner, account: Account, data_dir: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch,
        store_engine: str) -> None:
    cli.json(*BOOK, now="2026-03-20T09:00")
    here = os.environ.get("BLOCKTIME_STORE_URL") or "sqlite:"
    code, _out, err = cli("store", "copy", "--to", here, now=NOW)
    assert code == 2 and "is the store in use" in err
    code, _out, err = cli("store", "copy", "--to", "mysql://x", now=NOW)
    assert code == 2 and "neither sqlite: nor postgresql://" in err
    other = "sqlite:" if store_engine == POSTGRESQL else pg_url
    assert cli("store", "copy", "--to", other, now=NOW)[0] == 0
    code, _out, err = cli("store", "copy", "--to", other, now=NOW)
    assert code == 2 and "is not empty" in err and "a copy never mixes two stores" in err


def test_every_table_of_the_schema_is_copied(tmp_path: Path) -> None:
    """A table added by a later migration must be added to the copy too."""
    from blocktime.store.store import Store
    from blocktime.usecases.storecopy import TABLES

    store = Store(tmp_path / "s.sqlite3")
    names = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    store.close()
    assert names - {"sqlite_sequence"} == set(TABLES)


def test_an_empty_store_beside_a_calendar_of_blocks_says_how_to_get_them_back(
        cli: Runner, account: Account, data_dir: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch,
        store_engine: str) -> None:
    """[store] url switched to an empty store: `agenda` said only "no blocks booked"."""
    cli.json(*BOOK, now="2026-03-20T09:00")
    old = os.environ.get("BLOCKTIME_STORE_URL")
    if store_engine == POSTGRESQL:
        monkeypatch.delenv("BLOCKTIME_STORE_URL")
    else:
        monkeypatch.setenv("BLOCKTIME_STORE_URL", pg_url)
    code, out, _err = cli("agenda", now="2026-03-20T09:05")
    assert code == 0 and "no blocks booked" in out and "is empty" in out
    assert "blocktime store copy --to URL" in out and "blocktime repair" in out
    code, out, err = cli("daemon", "--once", now="2026-03-20T09:05")
    said = out + err
    assert "holds no block, but calendar 'blocktime' holds 4 of blocktime's" in said
    assert "blocktime store copy --to URL" in said and "blocktime repair" in said
    assert cli.json("agenda", "--all", now="2026-03-20T09:05")["blocks"] == []  # nothing adopted on that ground
    # the way back: copy the old store into this one, which the pass above wrote its bookkeeping into
    new = os.environ.get("BLOCKTIME_STORE_URL") or "sqlite:"
    if old:
        monkeypatch.setenv("BLOCKTIME_STORE_URL", old)
    else:
        monkeypatch.delenv("BLOCKTIME_STORE_URL")
    assert cli.json("store", "copy", "--to", new, now="2026-03-20T09:10")["tables"]["blocks"] == 4
    if new == "sqlite:":
        monkeypatch.delenv("BLOCKTIME_STORE_URL")
    else:
        monkeypatch.setenv("BLOCKTIME_STORE_URL", new)
    assert len(cli.json("agenda", "--all", now="2026-03-20T09:10")["blocks"]) == 4
    code, out, err = cli("daemon", "--once", now="2026-03-20T09:15")
    assert code == 0 and "holds no block" not in out + err


def test_a_pass_on_an_empty_store_leaves_the_inbox_alone(
        radicale: Account, imap_server: Any, tmp_path: Path, data_dir: Path, pg_url: str,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store_engine: str) -> None:
    """The daemon on a switched (empty) store read the whole inbox, recorded every client's answer
    as ignored (and moved it away): they were lost to the store copied back afterwards."""
    from tests.conftest import write_config
    from tests.imapserver import letter

    folder = imap_server.new_folder()
    cli = Runner(write_config(tmp_path / "c.toml", radicale, inbox=imap_server.section(folder)), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    imap_server.append(folder, letter("it@acme.example", "Re: Acme training", "Thank you, see you on Monday."))
    old = os.environ.get("BLOCKTIME_STORE_URL")
    if store_engine == POSTGRESQL:
        monkeypatch.delenv("BLOCKTIME_STORE_URL")
    else:
        monkeypatch.setenv("BLOCKTIME_STORE_URL", pg_url)
    _code, out, err = cli("daemon", "--once", now="2026-03-20T09:05")
    assert "holds no block" in out + err
    status = cli.json("daemon", "--status", now="2026-03-20T09:06")
    assert any("holds no block" in e for e in status["errors"]) and status["failing_passes"] == 1
    new = os.environ.get("BLOCKTIME_STORE_URL") or "sqlite:"
    if old:
        monkeypatch.setenv("BLOCKTIME_STORE_URL", old)
    else:
        monkeypatch.delenv("BLOCKTIME_STORE_URL")
    assert cli("store", "copy", "--to", new, now="2026-03-20T09:10")[0] == 0  # no answer was recorded there
