"""`blocktime week`: a picture of the organizer's week, in the terminal or as an HTML page."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from blocktime.cli.common import iso, open_session
from blocktime.errors import BadInput

if TYPE_CHECKING:  # `--help` imports this module for its parser: no zoneinfo, no json
    from zoneinfo import ZoneInfo


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    w = sub.add_parser("week", help="a picture of the week: blocks, cut-short ones, holds and busy time")
    w.add_argument("date", nargs="*", metavar="DATE",
                   help="any day of the week: 2026-04-07, today (default), next week, last week, next tue")
    w.add_argument("--html", metavar="FILE", help="write one self-contained HTML page")
    w.add_argument("--open", action="store_true", help="open the page in the browser (with no --html: a file "
                                                       "in the data dir)")
    w.add_argument("--details", action="store_true", help="show the titles of other busy time")
    w.add_argument("--json", action="store_true")


def which_day(text: str | None, now: datetime, tz: ZoneInfo) -> date:
    """`today`, `this week`, `next week`, `last week`, an ISO date, or a friendly day (`next tue`)."""
    from blocktime.config import inputs
    today = now.astimezone(tz).date()
    word = "today" if text is None else text.strip().lower()
    shifts = {"today": 0, "tomorrow": 1, "this week": 0, "next week": 7, "last week": -7}
    if word in shifts:
        return today + timedelta(days=shifts[word])
    if word[:1].isdigit() and "-" in word:
        return inputs.day(word)
    try:
        return inputs.moment(f"{word} 12:00", tz, now).date()
    except BadInput:
        raise BadInput(f"cannot read day {text!r}", "use 2026-04-07, today, next week or next tue") from None


def cmd_week(args: argparse.Namespace) -> int:
    import json

    from blocktime.cli.progress import Counting, Progress
    from blocktime.views import html, text
    from blocktime.views.week import as_json, build_week

    shown = Progress()  # a big account takes a while to read: say so on a terminal
    with open_session(args) as s:
        if shown.enabled:
            s.wrap = lambda b: Counting(b, shown)
        tz = s.config.organizer.timezone
        try:
            week = build_week(s, which_day(" ".join(args.date) or None, s.now, tz), details=args.details)
        finally:
            shown.done()
        target = Path(args.html) if args.html else (s.config.data_dir / "week.html" if args.open else None)
        if target is not None:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(html.render(week), encoding="utf-8")
            except OSError as exc:
                raise BadInput(f"cannot write {target}: {exc.strerror or type(exc).__name__}") from None
        if args.json:
            doc = as_json(week, iso)
            if target is not None:
                doc["html"] = str(target)
            print(json.dumps(doc, indent=2, ensure_ascii=False))
        elif target is None:
            print(text.render(week, unicode=_can_draw()))
        else:
            print(f"week {week.label} written to {target}")
    if args.open and target is not None:
        import webbrowser

        if not webbrowser.open(target.resolve().as_uri()):
            print(f"blocktime: warning: no browser found; open {target} yourself", file=sys.stderr)
    return 0


def _can_draw() -> bool:
    """Block characters only where stdout can encode them (a C locale or a pipe to ASCII cannot)."""
    try:
        "█▓▒░╳·–".encode(sys.stdout.encoding or "ascii")
        return True
    except (UnicodeEncodeError, LookupError):
        return False
