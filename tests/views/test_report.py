"""Issue 25: the report as one self-contained HTML page, rendered by real Chromium: a bar per period
in three colours (delivered, lost, made up), the figures in a table, the rounding stated."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import Runner, write_config
from tests.servers import Account
from tests.usecases.test_books import _story
from tests.views.pngread import pixels, share
from tests.views.test_week import _screenshot

RADICALE = pytest.mark.parametrize("account", ["radicale"], indirect=True)


@RADICALE
def test_the_html_report_is_self_contained_and_states_its_rounding(account: Account, tmp_path: Path,
                                                                   data_dir: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    _story(cli)
    target = tmp_path / "out" / "report.html"
    code, _out, err = cli("report", "--format", "html", "--output", str(target), now="2026-04-20T09:05")
    assert code == 0 and f"wrote {target}" in err
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page.split("<body>")[1]
    assert "rounded to 2 decimals" in page and "Acme, 2026-03: delivered 4.50 h, lost 2.00 h, made up 0.50 h" in page
    assert "Acme, 2026-04: delivered 3.00 h, lost 0.00 h, made up 0.00 h" in page


@RADICALE
@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="no headless Chromium (Debian: apt-get install chromium)")
def test_the_html_report_as_chromium_renders_it(account: Account, tmp_path: Path, data_dir: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    _story(cli)
    target = tmp_path / "report.html"
    assert cli("report", "--format", "html", "--output", str(target), now="2026-04-20T09:05")[0] == 0
    png = tmp_path / "report.png"
    _screenshot(target, png, 1000)
    width, _height, found = pixels(png)
    assert width == 1000
    for colour, what in {"#1550a8": "delivered", "#b42318": "lost", "#0b6b5d": "made up"}.items():
        assert share(found, colour) > 0.0004, f"{what} ({colour}) not visible"
