"""Progress on stderr: counted through the backend, shown only on a terminal, cleared at the end."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from blocktime.cli.progress import Counting, Progress
from blocktime.config.loading import load
from blocktime.usecases.daemon_pass import run_pass
from tests.conftest import write_config
from tests.helpers import backend
from tests.servers import Account

EVENT = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:{uid}\r
DTSTAMP:20260320T080000Z\r
DTSTART:2026032{n}T090000Z\r
DTEND:2026032{n}T100000Z\r
SUMMARY:Meeting {n}\r
END:VEVENT\r
END:VCALENDAR\r
"""


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_counts_what_passes_through_the_backend_and_clears_its_line(radicale: Account) -> None:
    stream = Tty()
    shown = Progress(stream, after=0, every=0)
    assert shown.enabled
    b = Counting(backend(radicale), shown)
    cal = b.ensure_calendar("Work")
    for n in range(1, 4):
        b.create(b.href_for(cal, f"m{n}@test"), EVENT.format(uid=f"m{n}@test", n=n))
    found = b.list_range(cal, datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC))
    b.close()
    assert len(found) == 3
    assert shown.line() == "calendars: 1 read, 3 objects; 3 events written"
    assert stream.getvalue().endswith("\rcalendars: 1 read, 3 objects; 3 events written")
    shown.done()
    assert stream.getvalue().endswith("\r" + " " * len(shown.line()) + "\r")


def test_quiet_when_not_a_terminal_or_quick() -> None:
    pipe = io.StringIO()
    shown = Progress(pipe, after=0, every=0)
    shown.add(calendars=2, objects=40, written=1)
    shown.done()
    assert not shown.enabled and pipe.getvalue() == ""
    quick = Tty()
    shown = Progress(quick)  # the default: nothing before a second of work
    shown.add(calendars=1)
    shown.done()
    assert quick.getvalue() == ""


def test_a_daemon_pass_reads_through_the_watch(radicale: Account, tmp_path: Path, data_dir: Path) -> None:
    b = backend(radicale)
    cal = b.ensure_calendar("Work")
    b.create(b.href_for(cal, "m1@test"), EVENT.format(uid="m1@test", n=1))
    b.close()
    cfg = load(str(write_config(tmp_path / "c.toml", radicale)))
    counted = Progress(io.StringIO())
    result = run_pass(cfg, datetime(2026, 3, 20, 9, tzinfo=UTC), nightly=True,
                      watch=lambda inner: Counting(inner, counted))
    assert not result.report["errors"]
    assert counted.calendars == result.report["calendars"] >= 1 and counted.objects >= 1
