"""The embedded calendar: no config at all, a real Radicale on a free port, stopped at the end."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

import pytest

from blocktime.backends.local import LocalServer
from blocktime.cli import main
from tests.stores import sqlite_only


@sqlite_only
def test_no_config_books_on_the_embedded_calendar(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TZ", "Europe/Warsaw")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    argv = ["--now", "2026-03-20 09:00", "book", "--client", "Solo", "--site", "Here",
            "--attendee", "x@solo.example", "--start", "2026-03-24 12:00", "--length", "1h", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["booked"][0]["start"] == "2026-03-24T12:00:00+01:00"
    assert (data_dir / "radicale" / "collections").is_dir()
    assert stat.S_IMODE((data_dir / "radicale" / "password").stat().st_mode) == 0o600
    assert stat.S_IMODE((data_dir / "blocktime.sqlite3").stat().st_mode) == 0o600
    # the block really is on the embedded server's disk
    stored = list((data_dir / "radicale" / "collections").rglob("*.ics"))
    assert any(doc["booked"][0]["uid"] in p.read_text() for p in stored)
    # and a second run finds it there instead of writing it again
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["booked"][0]["created"] is False


def test_server_stops_and_frees_its_port(tmp_path: Path) -> None:
    with LocalServer(tmp_path) as srv:
        port = srv.port
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        pass


def test_password_survives_restarts(tmp_path: Path) -> None:
    with LocalServer(tmp_path) as a:
        first = a.password
    with LocalServer(tmp_path) as b:
        assert b.password == first


def test_the_embedded_calendar_keeps_working_across_commands(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each command starts the server on a new free port; stored hrefs are server paths."""
    monkeypatch.setenv("TZ", "Europe/Warsaw")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    assert main(["--now", "2026-03-20 09:00", "book", "--client", "Solo", "--site", "Here", "--attendee",
                 "x@solo.example", "--start", "2026-03-24 12:00", "--length", "1h", "--count", "2",
                 "--every", "tue", "--json"]) == 0
    capsys.readouterr()
    assert main(["--now", "2026-03-24 13:05", "cut-short", "solo-1", "--ended-at", "12:40", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["block"]["remaining"] == 20 and doc["offer"] is not None
    assert main(["--now", "2026-03-24 13:10", "accept", doc["offer"]["id"], "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["block"]["makeup_for"] == "solo-1"
    assert main(["--now", "2026-03-24 13:15", "daemon", "--once", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["errors"] == []
