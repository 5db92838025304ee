"""Words for the user: times in the organizer's zone in the one human form the tables use
(`Tue 2026-03-24 12:00`), and what to do about each refusal reason.

Every error, hint, table and log line that shows a time goes through `moment_text` or
`span_text`, so a Warsaw organizer never reads `11:00+00:00`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo

from blocktime.core.model import Reason


def moment_text(dt: datetime, tz: tzinfo) -> str:
    """`Tue 2026-03-24 12:00`: `dt` on the organizer's wall clock.

    >>> from zoneinfo import ZoneInfo
    >>> from datetime import UTC
    >>> moment_text(datetime(2026, 3, 24, 11, 0, tzinfo=UTC), ZoneInfo("Europe/Warsaw"))
    'Tue 2026-03-24 12:00'
    """
    return f"{dt.astimezone(tz):%a %Y-%m-%d %H:%M}"


def lag_text(seconds: float) -> str:
    """How late something is, in the two largest units that matter: `-` (not late), `40s`,
    `5m`, `11h 0m`, `2d 3h`.

    >>> [lag_text(s) for s in (0, 40, 300, 39641, 183600)]
    ['-', '40s', '5m', '11h 0m', '2d 3h']
    """
    s = int(seconds)
    if s <= 0:
        return "-"
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def span_text(start: datetime, end: datetime, tz: tzinfo) -> str:
    """`Tue 2026-03-24 12:00–13:00` (the end's date is shown when it falls on another day).

    >>> from zoneinfo import ZoneInfo
    >>> waw = ZoneInfo("Europe/Warsaw")
    >>> span_text(datetime(2026, 3, 24, 12, tzinfo=waw), datetime(2026, 3, 25, 9, tzinfo=waw), waw)
    'Tue 2026-03-24 12:00–Wed 2026-03-25 09:00'
    """
    s, e = start.astimezone(tz), end.astimezone(tz)
    if e.date() != s.date() and not (e.time().hour == e.time().minute == 0 and (e.date() - s.date()).days == 1):
        return f"{s:%a %Y-%m-%d %H:%M}–{e:%a %Y-%m-%d %H:%M}"
    return f"{s:%a %Y-%m-%d %H:%M}–{e:%H:%M}"


#: what the organizer can do about each refusal reason
HINTS: dict[Reason, str] = {
    Reason.BUSY: "free the time in your calendar, or pick another time",
    Reason.TOO_SOON: "pick a later start ([policy] booking_notice; for make-up slots min_notice and answer_lead)",
    Reason.OUTSIDE_HOURS: "pick a time within your working hours ([policy] working_hours)",
    Reason.SITE_CLOSED: "pick a time when the site is open ([sites] hours)",
    Reason.TRAVEL: "leave the travel time to or from the other site ([travel] default and pairs)",
    Reason.DAY_FULL: "pick a day with fewer on-site blocks ([policy] max_blocks_per_day)",
    Reason.NONEXISTENT_TIME: "the clocks skip that hour: pick another start time",
    Reason.BEYOND_HORIZON: "pick a nearer date ([policy] horizon)",
    Reason.DECLINED: "the client turned this time down; `blocktime offer ENGAGEMENT --again` offers it anyway",
    Reason.HELD: "another open offer holds this time until its client answers (`blocktime offers`)",
}

#: what each reason means, for a "why" that would otherwise be empty
MEANING: dict[Reason, str] = {
    Reason.BUSY: "busy in your calendar",
    Reason.TOO_SOON: "starts too soon",
    Reason.OUTSIDE_HOURS: "outside your working hours",
    Reason.SITE_CLOSED: "the site is closed then",
    Reason.TRAVEL: "no time to travel from another site",
    Reason.DAY_FULL: "the day has its most on-site blocks",
    Reason.NONEXISTENT_TIME: "that time does not exist (clocks change)",
    Reason.BEYOND_HORIZON: "beyond the search horizon",
    Reason.DECLINED: "the client declined this time in an earlier offer",
    Reason.HELD: "held for another client's open offer",
}


def hint(reasons: Iterable[Reason]) -> str:
    """One hint for each distinct reason, in the order first seen.

    >>> print(hint([Reason.DAY_FULL, Reason.BUSY, Reason.DAY_FULL]))
    DAY_FULL: pick a day with fewer on-site blocks ([policy] max_blocks_per_day); BUSY: free the time in ...
    """
    seen = list(dict.fromkeys(reasons))
    return "; ".join(f"{r}: {HINTS[r]}" for r in seen)


def why(reasons: Iterable[Reason], details: Iterable[str]) -> str:
    """The details of a refusal, or what its reasons mean when the core gave no details."""
    given = list(details)
    return "; ".join(given) if given else "; ".join(MEANING[r] for r in reasons)
