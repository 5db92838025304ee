"""Travel by pair of areas (issue 23, point 3): the most exact pair wins, one area needs none, and
the check and the slot search use the pair's time and say it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from blocktime.core.intervals import Timeline
from blocktime.core.model import Busy, Engagement, Held, Interval, Policy, Reason
from blocktime.core.series import check, onsite_per_day
from blocktime.core.slots import SlotQuery, all_slots
from blocktime.core.travel import Routes

TZ = ZoneInfo("Europe/Warsaw")
H = timedelta(hours=1)
KRK_A, KRK_B, WRO, LODZ = "Nordwind, Kraków", "Bank, Kraków", "Piekarnia, Wrocław", "Depot, Łódź"
ROUTES = Routes.of({KRK_A: "Kraków", KRK_B: "Kraków", WRO: "Wrocław"},
                   {("Kraków", "Wrocław"): 3.5 * H, (KRK_B, WRO): 3 * H, (LODZ, "Kraków"): 2 * H})
POLICY = Policy(travel=timedelta(minutes=30), routes=ROUTES, max_blocks_per_day=3)


def test_the_most_exact_pair_wins_and_one_area_needs_no_travel() -> None:
    assert POLICY.travel_between(KRK_A, WRO) == 3.5 * H  # two areas
    assert POLICY.travel_between(WRO, KRK_B) == 3 * H  # two sites: more exact than their areas
    assert POLICY.travel_between(KRK_A, LODZ) == 2 * H  # a site without an area is an area of its own
    assert POLICY.travel_between(KRK_A, KRK_B) == timedelta(0)  # one area: only the buffer
    assert POLICY.travel_between(WRO, LODZ) == timedelta(minutes=30)  # not listed: the default
    assert POLICY.travel_between(WRO, WRO) == timedelta(0)
    assert POLICY.longest_travel == 3.5 * H and POLICY.reach == 3.5 * H + timedelta(days=1)
    assert ROUTES.unknown([KRK_A, WRO]) == [LODZ]


def _at(h: float, length: float = 1) -> Interval:
    start = datetime(2026, 3, 24, 0, tzinfo=TZ) + h * H
    return Interval(start, start + length * H)


def _check(span: Interval, site: str, busy: list[Busy]) -> tuple[list[Reason], list[str]]:
    return check(span, site=site, uid="", tz=TZ, policy=POLICY, site_hours=None,
                 busy=Timeline(busy, lambda b: b.span), onsite_per_day=onsite_per_day(busy, TZ),
                 notice=timedelta(0), now=datetime(2026, 3, 1, tzinfo=UTC))


def test_check_uses_the_pairs_time_and_says_it() -> None:
    krk = [Busy(_at(8), "k", "Nordwind", KRK_A)]
    assert _check(_at(11), WRO, krk) == ([Reason.TRAVEL], ["travel 3 h 30 min from Kraków"])
    assert _check(_at(12.5), WRO, krk) == ([], [])
    assert _check(_at(9), KRK_B, krk) == ([], [])  # the same city: back to back is fine
    assert _check(_at(10), LODZ, krk) == ([Reason.TRAVEL], ["travel 2 h from Kraków"])


def test_a_hold_counts_like_a_block_and_is_named() -> None:
    until = datetime(2026, 3, 21, 12, tzinfo=UTC)
    hold = Busy(_at(8), "hold-p-o1-2@blocktime", "held", WRO, Held("piekarnia-o1", 2, "Piekarnia", until))
    reasons, details = _check(_at(8.5), WRO, [hold])
    assert reasons == [Reason.HELD]
    assert details == ["held for Piekarnia, offer piekarnia-o1 option 2, until Sat 2026-03-21 13:00"]
    reasons, details = _check(_at(10), KRK_A, [hold])
    assert reasons == [Reason.TRAVEL] and details[0].startswith("travel 3 h 30 min from Wrocław (held for Piekarnia")
    one_a_day = Policy(routes=ROUTES, max_blocks_per_day=1)
    r, d = check(_at(16), site=WRO, uid="", tz=TZ, policy=one_a_day, site_hours=None,
                 busy=Timeline([hold], lambda b: b.span), onsite_per_day=onsite_per_day([hold], TZ),
                 notice=timedelta(0), now=datetime(2026, 3, 1, tzinfo=UTC))
    assert r == [Reason.DAY_FULL]
    assert d == ["already 1 on-site block that day (held for Piekarnia, offer piekarnia-o1 option 2, until "
                 "Sat 2026-03-21 13:00)"]


def test_the_slot_search_keeps_the_pairs_travel() -> None:
    eng = Engagement("p", "Piekarnia", WRO, ("p@example.com",), length=H)
    krk = Busy(_at(12), "k", "Nordwind", KRK_A)
    q = SlotQuery(eng, H, datetime(2026, 3, 20, 9, tzinfo=TZ), TZ, POLICY, [krk])
    that_day = [s.span for s in all_slots(q) if s.span.start.astimezone(TZ).date() == krk.span.start.date()]
    assert that_day, "the day still has slots"
    for span in that_day:
        gap = max(krk.span.start - span.end, span.start - krk.span.end)
        assert gap >= 3.5 * H, span
