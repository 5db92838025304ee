"""`daemon --once` ends with one summary line; `daemon --status` names blocks by id, in the
organizer's zone, without seconds; the libraries' own log lines stay out of the daemon's log."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest

from blocktime.cli.daemon import setup_logging
from blocktime.config.loading import from_mapping
from tests.conftest import Runner, write_config
from tests.helpers import backend
from tests.servers import Account

BOOK = ["book", "--client", "Acme", "--site", "HQ", "--attendee", "it@acme.example", "--start", "2026-03-24 12:00",
        "--length", "1h", "--every", "tue,thu", "--count", "4"]

MEETING = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:dentist-1@test\r
DTSTAMP:20260320T080000Z\r
DTSTART:20260326T113000Z\r
DTEND:20260326T123000Z\r
SUMMARY:Dentist\r
END:VEVENT\r
END:VCALENDAR\r
"""


@pytest.fixture
def booked(radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> Runner:
    cli = Runner(write_config(tmp_path / "config.toml", radicale), capsys)
    assert cli(*BOOK)[0] == 0
    return cli


def test_once_ends_with_a_summary_and_status_reads_like_a_sentence(booked: Runner, radicale: Account) -> None:
    code, out, err = booked("daemon", "--once", now="2026-03-20T10:00")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"pass done: \d+ calendar\(s\) read, 0 change\(s\) acted on, 0 conflict\(s\), "
                        r"0 offer\(s\) expired, \d+ confirmation\(s\) prepared, "
                        r"mail: 0 sent, \d+ waiting \(\d+ held by --no-send\), \d+ withdrawn", lines[0])
    b = backend(radicale)  # someone books the dentist over Thursday's block
    cal = b.ensure_calendar("Private")
    b.create(b.href_for(cal, "dentist-1@test"), MEETING)
    b.close()
    assert booked("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:10")[0] == 0
    code, out, err = booked("daemon", "--once", now="2026-03-24T13:20")
    assert code == 0, err
    assert "1 conflict(s)" in out
    code, out, err = booked("daemon", "--status", now="2026-03-24T15:20:30.123456")
    assert code == 0, err
    assert "times in      Europe/Warsaw" in out
    assert "last sync     Tue 2026-03-24 13:20 (2 hours ago)" in out
    assert "next nightly  Wed 2026-03-25 01:30 (in 10 hours)" in out
    assert re.search(r"open offer    acme-o1 for Acme: answer by \w{3} \d{4}-\d\d-\d\d \d\d:\d\d \(in \d+ (hours|day)",
                     out), out
    assert "conflict      'Dentist' Thu 2026-03-26 12:30–13:30 overlaps acme-2" in out
    assert "bt-" not in out and "@blocktime" not in out  # no UIDs
    assert not re.search(r"\d\d:\d\d:\d\d|\.\d{6}|\+00:00", out)  # no seconds, microseconds or UTC offsets
    doc = booked.json("daemon", "--status", now="2026-03-24T15:20")  # the machine form keeps its fields
    assert doc["conflicts"][0]["block_uid"].startswith("bt-acme-")


def test_status_speaks_one_language_whatever_the_notes_language(radicale: Account, tmp_path: Path,
                                                                data_dir: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 26, point 2: the output's words are English, so are its relative times (before: "last sync
    … (2 godziny temu)" beside English labels for a Polish organizer); a time just now is "now"."""
    cli = Runner(write_config(tmp_path / "config.toml", radicale, organizer={"language": "pl"}), capsys)
    assert cli("daemon", "--once", now="2026-03-20T10:00")[0] == 0
    code, out, _err = cli("daemon", "--status", now="2026-03-20T12:00")
    assert code == 0 and "last sync     Fri 2026-03-20 10:00 (2 hours ago)" in out
    code, out, _err = cli("daemon", "--status", now="2026-03-20T10:00")
    assert code == 0 and "last sync     Fri 2026-03-20 10:00 (now)" in out and "in 0 seconds" not in out


def test_library_log_lines_are_filtered_unless_debug() -> None:
    cfg = from_mapping({})
    stream = io.StringIO()
    setup_logging(cfg, stream=stream, level=logging.INFO)
    logging.getLogger("apscheduler.scheduler").info("Adding job tentatively")
    logging.getLogger("radicale").info("Request received")
    logging.getLogger("blocktime.daemon").info("daemon started")
    logging.getLogger("apscheduler.executors.default").warning("Run time of job was missed")
    text = stream.getvalue()
    assert "Adding job" not in text and "Request received" not in text
    assert "daemon started" in text and "was missed" in text
    stream = io.StringIO()
    setup_logging(cfg, stream=stream, level=logging.DEBUG)
    logging.getLogger("apscheduler.scheduler").info("Adding job tentatively")
    assert "Adding job" in stream.getvalue()
