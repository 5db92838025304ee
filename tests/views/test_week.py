"""`blocktime week`: blocks with their hard end, cut-short blocks, holds awaiting answers and the
busy time around them, on a real Radicale with the sample calendars; terminal, JSON and HTML."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Runner, write_config
from tests.helpers import load_samples
from tests.servers import Account
from tests.views.pngread import pixels, share

BOOK = ["book", "--client", "Acme Logistics", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue,thu", "--count", "8", "--skip-conflicts"]
LATER = "2026-03-24T13:15"


@pytest.fixture
def week_cli(radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> Runner:
    """Sample busy week loaded, a series booked, its first block cut short at 12:35 (an open offer)."""
    load_samples(radicale)
    cli = Runner(write_config(tmp_path / "config.toml", radicale), capsys)
    assert cli(*BOOK)[0] == 0
    code, out, err = cli("cut-short", "acme-logistics-1", "--ended-at", "12:35", now="2026-03-24T13:10")
    assert code == 0 and "offer" in out, err
    assert "(held until 2026-03-25 13:30 (in 1 day)):" in out  # deadlines say how far away they are
    return cli


def items(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [i for d in doc["days"] for i in d["items"] if i["kind"] == kind]


def test_week_json_shows_blocks_cut_short_holds_and_busy(week_cli: Runner) -> None:
    doc = week_cli.json("week", "2026-03-26", now=LATER)
    assert doc["week"] == "2026-W13" and doc["start"] == "2026-03-23" and doc["timezone"] == "Europe/Warsaw"
    assert [d["date"] for d in doc["days"]] == [f"2026-03-{d}" for d in range(23, 30)]
    cut = items(doc, "cut")
    assert len(cut) == 1
    assert cut[0]["id"] == "acme-logistics-1" and cut[0]["delivered"] == 35 and cut[0]["lost"] == 25
    assert cut[0]["ended"] == "2026-03-24T12:35:00+01:00" and cut[0]["hard_end"] == "2026-03-24T13:00:00+01:00"
    # Thu 26th 12:00 was refused (client lunch): it is busy time, not a block
    busy = items(doc, "busy")
    assert any(b["start"].startswith("2026-03-26T12:30") for b in busy), busy
    assert all(b["title"] == "busy" for b in busy)  # titles only with --details
    assert not [b for b in items(doc, "block") if b["start"].startswith("2026-03-26")]
    # the offer's holds: wherever they fall, each week shows them with the offer and its deadline
    offers = week_cli.json("offers", now=LATER)["offers"]
    assert len(offers) == 1 and offers[0]["options"]
    for option in offers[0]["options"]:
        week = week_cli.json("week", option["start"][:10], now=LATER)
        holds = [h for h in items(week, "hold") if h["start"] == option["start"]]
        assert len(holds) == 1, week
        assert holds[0]["offer"] == offers[0]["id"] and holds[0]["deadline"] == offers[0]["expires"]
        assert "awaiting an answer until" in holds[0]["text"]


def test_week_details_show_titles_and_a_block_keeps_its_hard_end(week_cli: Runner) -> None:
    doc = week_cli.json("week", "2026-03-31", "--details", now=LATER)
    blocks = items(doc, "block")
    assert [b["id"] for b in blocks] == ["acme-logistics-2"]
    assert blocks[0]["hard_end"] == "2026-03-31T13:00:00+02:00"  # after the DST change: still 13:00 local
    titles = {b["title"] for b in items(doc, "busy")}
    assert "busy" not in titles and any("upplier" in t for t in titles), titles


def test_week_in_the_terminal(week_cli: Runner) -> None:
    code, out, err = week_cli("week", "2026-03-24", now=LATER)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Week 2026-W13: Mon 23 Mar – Sun 29 Mar 2026 (Europe/Warsaw)")
    rows = [line for line in lines if line[:3] in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
            and line[3:4] == " " and line[4:6].isdigit()]
    assert len(rows) == 7
    tuesday = next(r for r in rows if r.startswith("Tue 24 Mar"))
    assert "█" in tuesday and "╳" in tuesday  # delivered, then lost
    assert tuesday.index("█") < tuesday.index("╳")
    assert "▒" in next(r for r in rows if r.startswith("Thu 26 Mar"))  # the client lunch
    assert "cut short at 12:35: 35 min delivered, 25 min lost (planned end 13:00)" in out
    assert "acme-logistics-1" in out


def test_an_unknown_day_is_one_line_and_exit_2(week_cli: Runner) -> None:
    code, _out, err = week_cli("week", "someday")
    assert code == 2 and err.count("\n") == 1 and "cannot read day 'someday'" in err


class Page(HTMLParser):
    """What a reader of the page gets: its text, the elements and any outside resources."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_week_html_is_one_self_contained_accessible_page(week_cli: Runner, tmp_path: Path) -> None:
    target = tmp_path / "week.html"
    code, out, err = week_cli("week", "2026-03-24", "--html", str(target), now=LATER)
    assert code == 0 and "written to" in out, err
    html = target.read_text(encoding="utf-8")
    page = Page()
    page.feed(html)
    tags = [t for t, _ in page.tags]
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    assert not any(v and ("http:" in v or "https:" in v or "//" in v) for _, a in page.tags for v in a.values())
    html_tag = dict(page.tags)["html"]
    assert html_tag.get("lang") == "en"
    assert any(t == "meta" and a.get("name") == "viewport" for t, a in page.tags)
    assert any(t == "meta" and a.get("charset") == "utf-8" for t, a in page.tags) and "style" in tags
    assert tags[:3] == ["html", "head", "meta"] and "title" in tags
    assert "@media print" in html and "@media (max-width" in html
    sections = [a for t, a in page.tags if t == "section" and a.get("class") == "day"]
    assert len(sections) == 7 and all(a.get("aria-labelledby") for a in sections)
    text = " ".join(page.text)
    assert "cut short at 12:35: 35 min delivered, 25 min lost" in text
    assert "Legend" in html and "hold, awaiting the client's answer" in text
    # the drawn tracks are hidden from screen readers: the lists say the same in words
    assert all(a.get("aria-hidden") == "true" for t, a in page.tags if a.get("class") == "track")


def _screenshot(page: Path, png: Path, width: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--force-device-scale-factor=1", f"--window-size={width},800", f"--screenshot={png}",
                    page.as_uri()], capture_output=True, timeout=120, check=True)


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="no headless Chromium (Debian: apt-get install chromium): the page is checked by "
                           "parsing only (test_week_html_is_one_self_contained_accessible_page)")
def test_week_page_as_chromium_renders_it(week_cli: Runner, tmp_path: Path) -> None:
    """Every kind is visible in its own colour, on a desktop window and on a phone-wide one."""
    target = tmp_path / "week.html"
    # week 13 holds the cut-short block, busy time and two of the offer's three holds
    offers = week_cli.json("offers", now=LATER)["offers"]
    assert [o["start"][:10] for o in offers[0]["options"][:2]] == ["2026-03-26", "2026-03-27"]
    assert week_cli("week", "2026-03-24", "--html", str(target), now=LATER)[0] == 0
    wanted = {"#1550a8": "delivered part", "#fde8e6": "lost part", "#d5d9df": "busy time", "#fff4d6": "hold"}
    for width in (1100, 420):
        png = tmp_path / f"week-{width}.png"
        _screenshot(target, png, width)
        w, _h, found = pixels(png)
        assert w == width
        for colour, what in wanted.items():
            assert share(found, colour) > 0.0004, f"{what} ({colour}) not visible at width {width}"


def test_open_writes_the_page_and_hands_it_to_the_browser(tmp_path: Path, data_dir: Path) -> None:
    """`--open` with no --html: the page goes to the data dir and $BROWSER gets its file URL."""
    import os
    import sys

    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {tmp_path / "opened.txt"}\n')
    browser.chmod(0o755)
    cfg = write_config(tmp_path / "config.toml", None)
    env = {**os.environ, "BROWSER": str(browser), "BLOCKTIME_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-m", "blocktime.cli", "--config", str(cfg), "week", "--open"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    page = data_dir / "week.html"
    assert f"written to {page}" in done.stdout
    assert (tmp_path / "opened.txt").read_text().strip() == page.as_uri()


@pytest.mark.parametrize(("text", "day"), [
    (None, "2026-03-20"), ("today", "2026-03-20"), ("tomorrow", "2026-03-21"), ("next week", "2026-03-27"),
    ("last week", "2026-03-13"), ("next tue", "2026-03-24"), ("fri", "2026-03-27"), ("2026-04-07", "2026-04-07"),
])
def test_which_day(text: str | None, day: str) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from blocktime.cli.views import which_day

    tz = ZoneInfo("Europe/Warsaw")
    assert which_day(text, datetime(2026, 3, 20, 9, tzinfo=tz), tz).isoformat() == day
