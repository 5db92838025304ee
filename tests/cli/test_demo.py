"""`blocktime demo`: the main job end to end on the embedded calendar with the shipped samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from blocktime.cli import main
from tests.stores import sqlite_only


@sqlite_only  # the demo keeps its store in its own folder, always a file
def test_demo_runs_and_ends_with_the_week(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BLOCKTIME_DATA_DIR", str(tmp_path / "unused"))  # the demo sets its own; restored after
    folder = tmp_path / "demo"
    assert main(["demo", "--dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "acme-logistics-1 was cut short at 12:35" in out
    assert "Week 2026-W13: Mon 23 Mar – Sun 29 Mar 2026 (Europe/Warsaw)" in out
    assert "cut short at 12:35: 35 min delivered, 25 min lost" in out and "make-up for acme-logistics-1" in out
    assert (folder / ".blocktime-demo").is_file()
    assert main(["demo", "--dir", str(folder)]) == 0  # its own folder: recreated


def test_demo_never_empties_a_folder_it_did_not_make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BLOCKTIME_DATA_DIR", str(tmp_path / "unused"))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious")
    assert main(["demo", "--dir", str(mine)]) == 2
    assert "is not empty and was not made by `blocktime demo`" in capsys.readouterr().err
    assert (mine / "thesis.txt").read_text() == "precious"
