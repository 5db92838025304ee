"""usecases.calendar.read_busy: calendars read one after the other by a reader thread while the answers are
expanded here — the same busy list as reading everything first, and no REPORT after a failure."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from blocktime.config.loading import from_mapping
from blocktime.errors import ServerError
from blocktime.ics.busy import busy_from_texts
from blocktime.usecases.calendar import read_busy
from blocktime.usecases.session import Session
from tests.helpers import load_samples
from tests.servers import Account

WAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 3, 20, 9, tzinfo=WAW)
SPAN = (datetime(2026, 3, 16, tzinfo=WAW), datetime(2026, 4, 13, tzinfo=WAW))
LAYOUT = {"Work": ["google_work.ics"], "Outlook": ["outlook_export.ics"], "Series": ["recurring_overrides.ics"]}


def _session(account: Account, data_dir: Path) -> Session:
    cfg = from_mapping({"organizer": {"name": "Anna Nowak", "email": "anna@example.com", "timezone": "Europe/Warsaw"},
                        "calendar": {"url": account.url, "username": account.username,
                                     "password": account.password}})
    return Session(cfg, NOW)


def test_busy_read_calendar_by_calendar_is_busy_read_all_at_once(radicale: Account, data_dir: Path) -> None:
    load_samples(radicale, LAYOUT)
    with _session(radicale, data_dir) as s:
        got = read_busy(s, *SPAN)
        texts = [(f"{cal.name}: {o.href.rsplit('/', 1)[-1]}", o.data)
                 for cal in s.backend.calendars() for o in s.backend.list_range(cal, *SPAN)]
    whole = busy_from_texts(texts, *SPAN, WAW)
    assert len({b.uid for b in got}) >= 3 and not whole.warnings
    assert got == whole.busy


def test_a_failed_read_raises_and_no_further_calendar_is_read(radicale: Account, data_dir: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    load_samples(radicale, LAYOUT)
    with _session(radicale, data_dir) as s:
        calendars = s.backend.calendars()
        assert len(calendars) >= 3
        read: list[str] = []
        real = s.backend.list_range

        def failing_second(cal: Any, start: datetime, end: datetime) -> Any:
            read.append(cal.url)
            if len(read) == 2:
                raise ServerError(f"reading calendar {cal.name!r} failed")
            return real(cal, start, end)

        monkeypatch.setattr(s.backend, "list_range", failing_second)
        with pytest.raises(ServerError, match="failed"):
            read_busy(s, *SPAN)
    assert read == [c.url for c in calendars[:2]]


def test_the_modules_named_then_are_imported_while_reading(radicale: Account, data_dir: Path) -> None:
    load_samples(radicale, LAYOUT)
    sys.modules.pop("colorsys", None)  # (a small module nothing else here holds)
    with _session(radicale, data_dir) as s:
        read_busy(s, *SPAN, then=("colorsys",))
    assert "colorsys" in sys.modules
