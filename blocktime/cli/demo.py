"""`blocktime demo`: the main job end to end on the embedded calendar, with sample data.

A throwaway data folder gets the embedded Radicale, two calendars filled from `sample_ics/`
(a Google export and an Outlook export plus a series with overrides), and then books a sample
engagement's series around that busy time, printing booked and refused blocks.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=ZoneInfo("Europe/Warsaw"))
MARK = ".blocktime-demo"  # a folder with this file is the demo's own: the next run may delete it
CALENDARS = {
    "Work (Google export)": ["google_work.ics"],
    "Outlook (export)": ["outlook_export.ics", "recurring_overrides.ics"],
}


def samples() -> Path:
    """The sample calendars: the package `blocktime.samples` (an installed wheel, or an editable
    install, where it maps to `sample_ics/`), else `sample_ics/` beside the source tree."""
    from importlib import resources

    try:
        found = Path(str(resources.files("blocktime.samples")))
    except ModuleNotFoundError:
        found = Path(__file__).resolve().parent.parent / "sample_ics"
    if not (found / "google_work.ics").is_file():
        from blocktime.errors import BlocktimeError

        raise BlocktimeError(f"the sample calendars are missing from {found}", "reinstall blocktime")
    return found


def run(folder: str, env: Mapping[str, str]) -> int:
    import os

    from blocktime.backends.base import AlreadyExists
    from blocktime.cli.booking import print_booking
    from blocktime.config.loading import from_mapping
    from blocktime.ics.objects import split_by_uid
    from blocktime.usecases.booking import BookRequest, book
    from blocktime.usecases.session import Session

    data = samples()
    root = Path(folder).resolve()
    if root.exists():
        if any(root.iterdir()) and not (root / MARK).exists() and root.name != ".demo":  # .demo: older runs
            from blocktime.errors import BadInput

            raise BadInput(f"{root} is not empty and was not made by `blocktime demo`",
                           "the demo recreates its folder: name a new or empty one with --dir")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARK).write_text("made by `blocktime demo`; recreated by the next run\n")
    os.environ["BLOCKTIME_DATA_DIR"] = str(root)
    os.environ.pop("BLOCKTIME_STORE_URL", None)  # the demo's store is a file in its folder, never a real one
    config = from_mapping(
        {
            "organizer": {"name": "Anna Nowak", "email": "anna.nowak@example.com",
                          "timezone": "Europe/Warsaw", "language": "en"},
            "outbox": {"dir": str(root / "outbox")},
        }
    )
    with Session(config, NOW) as s:
        s.backend.calendars()
        print(f"embedded calendar started on {getattr(s.backend, 'url', '?')} (data in {root})")
        for name, files in CALENDARS.items():
            cal = s.backend.ensure_calendar(name)
            count = 0
            for f in files:
                for uid, text in split_by_uid((data / f).read_text(encoding="utf-8")):
                    try:
                        s.backend.create(s.backend.href_for(cal, uid), text)
                        count += 1
                    except AlreadyExists:
                        pass
            print(f"loaded {count} events into calendar {name!r} from {', '.join(files)}")
        req = BookRequest(
            client="Acme Logistics",
            site="Acme HQ, ul. Prosta 1, Warszawa",
            attendees=("it-team@acme.example", "office@acme.example"),
            first=datetime(2026, 3, 24, 12, 0, tzinfo=ZoneInfo("Europe/Warsaw")),
            length=timedelta(hours=1),
            weekdays=frozenset({1, 3}),
            count=8,
            skip_conflicts=True,
        )
        print("\nbooking: Tue and Thu 12:00–13:00 from 2026-03-24, 8 times (--skip-conflicts)\n")
        result = book(s, req)
        print_booking(result, s, as_json=False)
    files = sorted(p.name for p in config.outbox.glob("*.ics"))
    print(f"\n{len(files)} invites (iTIP REQUEST) in {config.outbox}/")
    for name in files:
        print(f"  {name}")
    first = result.booked[0]
    _makeup(config, first.id, first.span.start)
    _week(config, first.span.start)
    return 0


def _week(config: object, start: datetime) -> None:
    """The first week as `blocktime week` draws it: the cut-short block, the make-up, busy time."""
    from blocktime.config.schema import Config
    from blocktime.usecases.session import Session
    from blocktime.views.text import render
    from blocktime.views.week import build_week

    assert isinstance(config, Config)
    with Session(config, start + timedelta(hours=2)) as s:
        print(f"\nthe week (`blocktime week {start:%Y-%m-%d}`; --html FILE draws it as a page):\n")
        print(render(build_week(s, start.date())))


def _makeup(config: object, block_id: str, start: datetime) -> None:
    """The client left the first block at 12:35: cut short, offer, accept option 1."""
    from blocktime.config.schema import Config
    from blocktime.usecases.offers import accept, cut_short
    from blocktime.usecases.session import Session

    assert isinstance(config, Config)
    tz = config.organizer.timezone
    ended = start + timedelta(minutes=35)
    print(f"\n{block_id} was cut short at {ended.astimezone(tz):%H:%M} (the client was called away):")
    with Session(config, ended + timedelta(minutes=30)) as s:
        block, result = cut_short(s, block_id, ended, "client called away")
        print(f"  delivered {block.delivered_min} min, {block.remaining_min} min remain")
        if result.offer is None:
            print("  no offer could be made")
            return
        print(f"  offer {result.offer.id}, options held on the calendar until "
              f"{result.offer.expires.astimezone(tz):%a %Y-%m-%d %H:%M}:")
        for h in result.options:
            print(f"    {h.number}. {h.span.start.astimezone(tz):%a %Y-%m-%d %H:%M}–{h.span.end.astimezone(tz):%H:%M}")
        print(f"  message for the client: {result.message}")
        made = accept(s, result.offer.id, 1)
        print(f"the client chose option 1: make-up block {made.block.id} booked "
              f"({made.block.span.start.astimezone(tz):%a %Y-%m-%d %H:%M}), the other holds released")
    mails = sorted((config.outbox / "mail").glob("*.eml"))
    print(f"\n{len(mails)} e-mails (iMIP, one per attendee) wait in {config.outbox / 'mail'}/ "
          "(configure [smtp] to send them)")
