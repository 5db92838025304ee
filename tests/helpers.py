"""Test helpers that talk to real servers: load sample calendars, list what a calendar holds."""

from __future__ import annotations

from pathlib import Path

from blocktime.backends.caldav import CalDAVBackend
from blocktime.ics.objects import split_by_uid
from tests.servers import Account

SAMPLES = Path(__file__).resolve().parents[1] / "sample_ics"


def backend(account: Account) -> CalDAVBackend:
    return CalDAVBackend(account.url, account.username, account.password)


def load_samples(account: Account, layout: dict[str, list[str]] | None = None) -> None:
    """Put the sample busy week into other calendars of the account (not blocktime's)."""
    layout = layout or {
        "Work": ["google_work.ics"],
        "Outlook": ["outlook_export.ics", "recurring_overrides.ics"],
    }
    b = backend(account)
    for name, files in layout.items():
        cal = b.ensure_calendar(name)
        for f in files:
            for uid, text in split_by_uid((SAMPLES / f).read_text()):
                b.create(b.href_for(cal, uid), text)
    b.close()


def objects(account: Account, calendar: str = "blocktime") -> list[str]:
    """The raw objects of one calendar (all of them, any date)."""
    from datetime import UTC, datetime

    b = backend(account)
    try:
        for cal in b.calendars():
            if cal.name == calendar:
                return [o.data for o in b.list_range(cal, datetime(2000, 1, 1, tzinfo=UTC),
                                                     datetime(2100, 1, 1, tzinfo=UTC))]
        return []
    finally:
        b.close()
