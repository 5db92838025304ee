"""Issue 23: the consultant's whole week. Two clients in two cities (Kraków and Wrocław, 3 h 30 min
apart), one on-site block a day, on a real Radicale, through the CLI as a user runs it; the picks by
mail through a real IMAP server and SMTP sink.

The week is judged by `week_breaks`, written here from the config's words and not with blocktime's
own checks: working hours, the day limit and travel by pair between the live blocks.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Runner, smtp_section
from tests.imapserver import ImapServer, letter
from tests.mailserver import MailSink
from tests.servers import Account

RADICALE = pytest.mark.parametrize("account", ["radicale"], indirect=True)
WARSAW = ZoneInfo("Europe/Warsaw")
KRK = "Nordwind HQ, ul. Długa 5, Kraków"
WRO = "Piekarnia, Rynek 1, Wrocław"
AREA = {KRK: "Kraków", WRO: "Wrocław"}
TRAVEL = timedelta(hours=3, minutes=30)
NORDWIND = "kasia@nordwind.example"
PIEKARNIA = "marek@piekarnia.example"


def config(path: Path, account: Account, *, hours: str = "Mon-Fri 08:00-18:00", extra: str = "",
           policy: str = "") -> Path:
    """The two clients' config: written by hand, since a travel pair's key needs TOML quotes."""
    cal = f'url = "{account.url}"\n'
    if account.username:
        cal += f'username = "{account.username}"\npassword = "{account.password}"\n'
    path.write_text(f"""
[organizer]
name = "Anna Nowak"
email = "anna@example.com"
timezone = "Europe/Warsaw"
[calendar]
{cal}
[policy]
working_hours = "{hours}"
max_blocks_per_day = 1
{policy}
[sites."{KRK}"]
area = "Kraków"
[sites."{WRO}"]
area = "Wrocław"
[travel]
default = "30m"
"Kraków / Wrocław" = "3h30m"
{extra}
""", encoding="utf-8")
    return path


def book(cli: Runner, client: str, site: str, who: str, start: str, length: str = "90m",
         now: str = "2026-02-27T09:00") -> Any:
    return cli.json("book", "--client", client, "--site", site, "--attendee", who, "--start", start,
                    "--length", length, now=now)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(WARSAW)


def gap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> timedelta:
    """The free time between two spans (negative: they overlap)."""
    first, second = sorted([a, b])
    return second[0] - first[1]


def week_breaks(spans: list[tuple[str, datetime, datetime]], *, hours: tuple[int, int] = (8, 18)) -> list[str]:
    """What breaks the week: a block outside Mon-Fri hours, two on one day, too little travel."""
    broken = []
    days: dict[date, int] = {}
    for site, s, e in spans:
        days[s.date()] = days.get(s.date(), 0) + 1
        if hours != (0, 24) and (s.weekday() > 4 or s.hour < hours[0] or (e.hour, e.minute) > (hours[1], 0)):
            broken.append(f"outside hours: {site} {s:%a %d %H:%M}")
    broken += [f"two blocks on {d}" for d, n in days.items() if n > 1]
    for (sa, a0, a1), (sb, b0, b1) in itertools.combinations(spans, 2):
        need = timedelta(0) if AREA.get(sa, sa) == AREA.get(sb, sb) else TRAVEL
        if gap((a0, a1), (b0, b1)) < need:
            broken.append(f"travel: {sa} {a0:%a %d %H:%M} and {sb} {b0:%a %d %H:%M}")
    return broken


def live(cli: Runner, *engagements: str, now: str) -> list[tuple[str, datetime, datetime]]:
    out = []
    for eng in engagements:
        for b in cli.json("status", eng, now=now)["blocks"]:
            if b["state"] in ("booked", "cut_short"):
                out.append((b["site"], local(b["start"]), local(b["end"])))
    return out


@RADICALE
def test_a_wroclaw_block_needs_the_pairs_travel_after_a_krakow_block(account: Account, tmp_path: Path,
                                                                    data_dir: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # One block a day: the two sit on two days, a late Kraków session and an early Wrocław one the
    # next morning (training for a night shift), so that only travel can stand between them.
    cli = Runner(config(tmp_path / "c.toml", account, hours="Mon-Sun 00:00-24:00"), capsys)
    assert book(cli, "Nordwind", KRK, NORDWIND, "2026-03-10 21:00", "90m")["booked"]
    code, out, _ = cli("book", "--client", "Piekarnia", "--site", WRO, "--attendee", PIEKARNIA,
                       "--start", "2026-03-11 00:30", "--length", "1h", "--json", now="2026-02-27T09:00")
    refused = json.loads(out)
    assert code == 1 and not refused["booked"]
    (r,) = refused["refused"]
    assert r["reasons"] == ["TRAVEL"] and r["details"] == ["travel 3 h 30 min from Kraków"]
    later = book(cli, "Piekarnia", WRO, PIEKARNIA, "2026-03-11 02:00", "1h")  # 3 h 30 min after 22:30
    assert [b["start"][:16] for b in later["booked"]] == ["2026-03-11T02:00"]
    # the same pair with no areas configured would be the default 30 minutes: the pair made the difference
    assert week_breaks(live(cli, "nordwind", "piekarnia", now="2026-02-27T09:00"), hours=(0, 24)) == []


def _two_cut_short(cli: Runner, nordwind: str = "nordwind-1") -> tuple[dict[str, Any], dict[str, Any]]:
    """Both clients' usual time is Monday 09:00; each session was cut short by 30 minutes."""
    book(cli, "Piekarnia", WRO, PIEKARNIA, "2026-03-02 09:00")
    book(cli, "Nordwind", KRK, NORDWIND, "2026-03-09 09:00")
    a = cli.json("cut-short", nordwind, "--ended-at", "10:00", now="2026-03-10T11:00")["offer"]
    b = cli.json("cut-short", "piekarnia-1", "--ended-at", "10:00", now="2026-03-10T11:05")["offer"]
    return a, b


def _spans(offer: dict[str, Any]) -> list[tuple[datetime, datetime]]:
    return [(local(o["start"]), local(o["end"])) for o in offer["options"]]


@RADICALE
def test_no_option_of_either_offer_collides_with_the_other_offers_holds(account: Account, tmp_path: Path,
                                                                       data_dir: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(config(tmp_path / "c.toml", account), capsys)
    a, b = _two_cut_short(cli)
    assert len(a["options"]) == len(b["options"]) == 3
    for (a0, a1), (b0, b1) in itertools.product(_spans(a), _spans(b)):
        assert a0.date() != b0.date(), "the day limit (one a day) is kept between the two offers"
        assert gap((a0, a1), (b0, b1)) >= TRAVEL
    # Piekarnia's best times were Nordwind's too (both usually meet on Monday at 09:00): it says so
    status = cli.json("status", "piekarnia", now="2026-03-10T11:10")
    (o,) = status["open_offers"]
    assert o["competed"].startswith(f"offer {b['id']}: 3 of its 3 best times are held for {a['id']}")
    assert "competed" not in cli.json("status", "nordwind", now="2026-03-10T11:10")["open_offers"][0]
    # why names the held slot, and its offer and option
    monday = _spans(a)[0][0]
    got = cli.json("why", monday.strftime("%Y-%m-%d"), "--engagement", "piekarnia", now="2026-03-10T11:10")
    at_nine = next(c for c in got["candidates"] if c["start"].startswith(monday.strftime("%Y-%m-%dT%H:%M")))
    assert "HELD" in at_nine["reasons"] and "DAY_FULL" in at_nine["reasons"]
    assert any(d.startswith(f"held for Nordwind, offer {a['id']} option 1, until ") for d in at_nine["details"])
    later = next(c for c in got["candidates"] if local(c["start"]) == monday + timedelta(hours=2))
    assert "TRAVEL" in later["reasons"] and "HELD" not in later["reasons"]
    assert f"travel 3 h 30 min from Kraków (held for Nordwind, offer {a['id']} option 1, until" in "".join(
        later["details"])


@pytest.fixture
def week(account: Account, smtp: MailSink, imap_server: ImapServer, tmp_path: Path, data_dir: Path,
         capsys: pytest.CaptureFixture[str]) -> Week:
    folder = imap_server.new_folder()
    extra = "[smtp]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in smtp_section(smtp).items())
    extra += "[inbox]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in imap_server.section(folder).items())
    return Week(Runner(config(tmp_path / "c.toml", account, extra=extra), capsys), imap_server, folder, smtp,
                account, data_dir)


@dataclass
class Week:
    cli: Runner
    imap: ImapServer
    folder: str
    smtp: MailSink
    account: Account
    data_dir: Path

    def reply(self, who: str, option: int) -> bytes:
        """The client's answer to the newest offer mail: the reply its link for `option` prepares."""
        offer = [m for m in self.smtp.to(who) if "new times" in str(m["Subject"])][-1]
        text = offer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        subjects = [unquote(s) for s in re.findall(r"mailto:[^?\s]+\?subject=(\S+)", text)]
        return letter(who, subjects[option - 1], "", reply_to_id=str(offer["Message-ID"]))


@RADICALE
@pytest.mark.parametrize(("i", "j"), list(itertools.product([1, 2, 3], [1, 2, 3])))
def test_every_pair_of_options_is_accepted_and_the_week_holds(i: int, j: int, week: Week) -> None:
    """Nordwind accepts by command, Piekarnia by mail; in turn one and then the other goes first."""
    cli = week.cli
    a, b = _two_cut_short(cli)
    now = "2026-03-10T12:00"

    def nordwind() -> None:
        got = cli.json("accept", a["id"], str(i), now=now)
        assert got["block"]["start"] == a["options"][i - 1]["start"]

    def piekarnia() -> None:
        week.imap.append(week.folder, week.reply(PIEKARNIA, j))
        (m,) = cli.json("inbox", now=now)["messages"]
        assert m["action"] == "accepted", m["reason"]
        assert m["reason"] == f"booked option {j} of {b['id']}"

    for accept in (nordwind, piekarnia) if (i + j) % 2 else (piekarnia, nordwind):
        accept()
    week_now = live(cli, "nordwind", "piekarnia", now=now)
    assert len(week_now) == 4
    assert week_breaks(week_now) == []
    assert cli.json("offers", now=now)["offers"] == []


@RADICALE
def test_an_accept_that_no_longer_fits_books_nothing_and_says_why(week: Week) -> None:
    """In their calendar app the organizer drags Nordwind's next block onto the day of Piekarnia's
    first option, an hour after it: that option now breaks the day limit and the travel."""
    from tests.usecases.test_sync import OtherClient, _href

    cli = week.cli
    book(cli, "Nordwind", KRK, NORDWIND, "2026-03-12 09:00", now="2026-03-06T09:00")
    _a, b = _two_cut_short(cli, "nordwind-2")
    (start, end) = _spans(b)[0]
    moved = end + timedelta(hours=1)

    def drag(ev: Any) -> None:
        ev["DTSTART"].dt, ev["DTEND"].dt = moved, moved + timedelta(minutes=90)

    OtherClient(week.account).edit(_href(cli, week.data_dir, "nordwind-1"), drag)
    code, _out, err = cli("accept", b["id"], "1", now="2026-03-10T12:00")
    assert code == 1 and f"option 1 of {b['id']} no longer fits" in err
    assert "DAY_FULL" in err and "TRAVEL" in err and "travel 3 h 30 min from Kraków" in err
    states = [x["state"] for x in cli.json("status", "piekarnia", now="2026-03-10T12:00")["blocks"]]
    assert states == ["cut_short"]  # nothing booked
    # the client's own pick of it by mail: one courteous answer with the options that still fit
    pick = week.reply(PIEKARNIA, 1)
    week.smtp.reset()
    week.imap.append(week.folder, pick)
    (m,) = cli.json("inbox", now="2026-03-10T12:05")["messages"]
    assert m["action"] == "ignored" and "no longer fits" in m["reason"], m
    assert f"options 2, 3 of {b['id']} still fit" in m["reason"]
    (answer,) = week.smtp.to(PIEKARNIA)
    text = answer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "no longer available" in text
    assert "  2. " in text and "  3. " in text and "  1. " not in text
    assert start.strftime("%H:%M") in text  # the time they chose is named


@RADICALE
def test_doctor_names_sites_without_an_area_and_pairs_that_name_nothing(account: Account, tmp_path: Path,
                                                                      data_dir: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path / "c.toml", account)
    cli = Runner(path, capsys)
    doc = cli.json("doctor", now=None)
    (travel,) = [f for f in doc["findings"] if f["topic"] == "travel"]
    assert travel["level"] == "ok" and travel["text"].startswith("1 pair(s) over 2 area(s)")
    book(cli, "Depot", "Depot, Łódź", "szef@depot.example", "2026-03-02 09:00")
    path.write_text(path.read_text(encoding="utf-8") + '"Kraków / Poznań" = "2h"\n', encoding="utf-8")
    found = [f for f in cli.json("doctor", now=None)["findings"] if f["topic"] == "travel"]
    assert [f["level"] for f in found] == ["warn", "warn"]
    assert found[0]["text"] == "[travel] names no known site or area: Poznań"
    assert found[1]["text"].startswith("sites with blocks but no area: Depot, Łódź; travel to them is the default")


@RADICALE
def test_a_make_up_at_the_slot_a_block_was_dragged_away_from_is_booked(account: Account, tmp_path: Path,
                                                                      data_dir: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Found by the week's state machine: a block dragged elsewhere keeps its UID, which names its
    first start, and a make-up accepted at that start got the same UID: the store refused it
    (IntegrityError, an internal error). Re-running the booking itself still books nothing twice."""
    from tests.usecases.test_sync import OtherClient, _href

    cli = Runner(config(tmp_path / "c.toml", account, policy='min_notice = "2h"\nanswer_lead = "1h"'), capsys)
    book(cli, "Nordwind", KRK, NORDWIND, "2026-03-09 09:00")
    book(cli, "Nordwind", KRK, NORDWIND, "2026-03-11 09:00")

    def drag(ev: Any) -> None:
        ev["DTSTART"].dt += timedelta(days=2)
        ev["DTEND"].dt += timedelta(days=2)

    OtherClient(account).edit(_href(cli, data_dir, "nordwind-2"), drag)  # Wed 11 -> Fri 13
    cli.json("daemon", "--once", now="2026-03-02T09:00")
    again = book(cli, "Nordwind", KRK, NORDWIND, "2026-03-11 09:00", now="2026-03-02T09:05")
    assert [b["id"] for b in again["booked"]] == ["nordwind-2"]  # the same command: nothing new
    offer = cli.json("cut-short", "nordwind-1", "--ended-at", "10:00", now="2026-03-10T11:00")["offer"]
    wed = next(o["number"] for o in offer["options"] if o["start"].startswith("2026-03-11T09:00"))
    made = cli.json("accept", offer["id"], str(wed), now="2026-03-10T11:05")["block"]
    assert made["start"].startswith("2026-03-11T09:00") and made["id"] == "nordwind-3"
    uids = {b["uid"] for b in cli.json("status", "nordwind", now="2026-03-10T11:05")["blocks"]}
    assert len(uids) == 3


@RADICALE
def test_a_booking_and_a_move_count_other_offers_holds(account: Account, tmp_path: Path, data_dir: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(config(tmp_path / "c.toml", account), capsys)
    book(cli, "Nordwind", KRK, NORDWIND, "2026-03-27 09:00", now="2026-03-06T09:00")  # nordwind-1
    a, _b = _two_cut_short(cli, "nordwind-2")
    start, _end = _spans(a)[0]
    code, out, _ = cli("book", "--client", "Piekarnia", "--site", WRO, "--attendee", PIEKARNIA, "--start",
                       f"{start:%Y-%m-%d %H:%M}", "--length", "1h", "--json", now="2026-03-10T12:00")
    (r,) = json.loads(out)["refused"]
    assert code == 1 and r["reasons"] == ["HELD", "DAY_FULL"]
    assert r["details"][0] == f"held for Nordwind, offer {a['id']} option 1, until " + \
        local(a["expires"]).strftime("%a %Y-%m-%d %H:%M")
    code, _out, err = cli("move", "nordwind-1", "--to", f"{start + timedelta(hours=3):%Y-%m-%d %H:%M}",
                          now="2026-03-10T12:00")
    assert code == 1 and "DAY_FULL" in err and f"offer {a['id']} option 1" in err
