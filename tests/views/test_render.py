"""Drawing a week built by hand: ASCII where the terminal cannot show block characters, and a
hostile event title that stays text in the HTML page."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from blocktime.core.model import Interval, WeeklyHours, wall
from blocktime.views import html, text
from blocktime.views.week import Day, Item, Week

TZ = ZoneInfo("Europe/Warsaw")
MONDAY = date(2026, 3, 23)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return wall(date(2026, 3, day), time(hh, mm), TZ)


def week() -> Week:
    hours = WeeklyHours.parse("Mon-Fri 08:00-18:00")
    items = {
        24: (Item("cut", Interval(at(24, 12), at(24, 13)), "Acme", "acme-1", ended=at(24, 12, 30), delivered_min=30,
                  lost_min=30),
             Item("busy", Interval(at(24, 9), at(24, 10)), '<script>alert("x")</script> & co', "u1")),
        26: (Item("makeup", Interval(at(26, 14), at(26, 14, 30)), "Acme", "acme-5", makeup_for="acme-1"),
             Item("hold", Interval(at(26, 16), at(26, 16, 30)), "Acme", "acme-o1#1", offer="acme-o1",
                  deadline=at(25, 16), option=1)),
    }
    days = tuple(Day(MONDAY.replace(day=23 + i), tuple(hours.on(MONDAY.replace(day=23 + i), TZ)),
                     items.get(23 + i, ())) for i in range(7))
    return Week(MONDAY, TZ, at(24, 14), "en", days, (8, 18), details=True)


def test_ascii_picture() -> None:
    out = text.render(week(), unicode=False)
    assert out.isascii() and "Mon 23 Mar - Sun 29 Mar 2026" in out
    row = next(line for line in out.splitlines() if line.startswith("Tue 24 Mar"))
    cells = row[11:]
    assert cells[4:8] == "::::"  # 09:00-10:00 busy, a quarter hour per character
    assert cells[16:18] == "##" and cells[18:20] == "xx"  # 12:00-12:30 delivered, 12:30-13:00 lost
    thursday = next(line for line in out.splitlines() if line.startswith("Thu 26 Mar"))[11:]
    assert thursday[24:26] == "MM" and thursday[32:34] == "??"
    assert "make-up for acme-1: Acme (acme-5), hard end 14:30" in out
    assert "awaiting an answer until Wed 25 Mar 16:00 (in 1 day)" in out


def test_titles_stay_text_in_the_page() -> None:
    page = html.render(week())
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    assert page.count('class="day"') == 7
