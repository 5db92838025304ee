"""Issue 23, point 5: a stateful property test of the consultant's whole week. Three engagements in
two areas (Nordwind and Bank in Kraków, Piekarnia in Wrocław, 3 h 30 min apart), on a real Radicale,
with a real SMTP sink and a real IMAP server, through the CLI as a user runs it (`--now` pins the
clock). Random steps: book, cut short, offer, accept by command and by mail, decline, expire,
cancel, and edits made in another calendar app (a private appointment, a block dragged elsewhere).

After every step, judged here from the config's words and not with blocktime's own checks:
- week_rules: the live blocks keep working hours, the site's hours, the day limit, travel by pair
  and the buffer;
- options_fit: every option of an open offer keeps those rules together with the live blocks and
  any one hold of every other open offer.

`make test` draws a fixed set of runs (the "ci" profile: derandomized); `make fuzz` more and longer
ones with fresh seeds (BLOCKTIME_WEEK_EXAMPLES / BLOCKTIME_WEEK_STEPS override the sizes).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import Runner, smtp_section
from tests.imapserver import ImapServer, letter
from tests.mailserver import MailSink
from tests.servers import RadicaleServer
from tests.stores import sqlite_only
from tests.usecases.test_sync import OtherClient

pytestmark = sqlite_only  # reads the SQLite file itself

FUZZ = os.environ.get("BLOCKTIME_HYPOTHESIS") == "fuzz"
EXAMPLES = int(os.environ.get("BLOCKTIME_WEEK_EXAMPLES", "40" if FUZZ else "20"))
STEPS = int(os.environ.get("BLOCKTIME_WEEK_STEPS", "40" if FUZZ else "30"))

WARSAW = ZoneInfo("Europe/Warsaw")
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Mon 08:00 in Warsaw; the clocks change on 29 March
CLIENTS = {  # name: (site, area, attendee)
    "Nordwind": ("Nordwind HQ, ul. Długa 5, Kraków", "Kraków", "kasia@nordwind.example"),
    "Bank": ("Bank Śląski, Rynek 3, Kraków", "Kraków", "jan@bank.example"),
    "Piekarnia": ("Piekarnia, Rynek 1, Wrocław", "Wrocław", "marek@piekarnia.example"),
}
AREA = {site: area for site, area, _ in CLIENTS.values()}
NORDWIND_HOURS = (range(0, 4), 8, 16)  # Mon-Thu 08:00-16:00
TRAVEL = timedelta(hours=3, minutes=30)  # Kraków / Wrocław
BUFFER = timedelta(minutes=15)
PER_DAY = 2


def _utc(value: Any) -> datetime:
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def need(a: str, b: str) -> timedelta:
    """The free time two blocks at sites `a` and `b` need between them."""
    return BUFFER if AREA[a] == AREA[b] else max(BUFFER, TRAVEL)


def gap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> timedelta:
    first, second = sorted([a, b])
    return second[0] - first[1]


def hours_broken(site: str, start: datetime, end: datetime) -> str | None:
    s, e = start.astimezone(WARSAW), end.astimezone(WARSAW)
    if s.weekday() > 4 or s.date() != e.date() or s.hour < 8 or (e.hour, e.minute) > (18, 0):
        return "outside working hours"
    days, opens, closes = NORDWIND_HOURS
    closed = s.weekday() not in days or s.hour < opens or (e.hour, e.minute) > (closes, 0)
    if site == CLIENTS["Nordwind"][0] and closed:
        return "the site is closed"
    return None


@dataclass(frozen=True)
class Span:
    what: str
    site: str
    start: datetime
    end: datetime

    @property
    def day(self) -> date:
        return self.start.astimezone(WARSAW).date()

    def __str__(self) -> str:
        return f"{self.what} {self.start.astimezone(WARSAW):%a %m-%d %H:%M}-{self.end.astimezone(WARSAW):%H:%M}"


def _config(path: Path, account: Any, sink: MailSink, imap: ImapServer, folder: str) -> Path:
    lines = ['[organizer]', 'name = "Anna Nowak"', 'email = "anna@example.com"', 'timezone = "Europe/Warsaw"',
             '[calendar]', f'url = "{account.url}"', f'username = "{account.username}"',
             f'password = "{account.password}"',
             '[policy]', 'working_hours = "Mon-Fri 08:00-18:00"', f"max_blocks_per_day = {PER_DAY}",
             'buffer = "15m"',
             f'[sites."{CLIENTS["Nordwind"][0]}"]', 'area = "Kraków"', 'hours = "Mon-Thu 08:00-16:00"',
             f'[sites."{CLIENTS["Bank"][0]}"]', 'area = "Kraków"',
             f'[sites."{CLIENTS["Piekarnia"][0]}"]', 'area = "Wrocław"',
             '[travel]', 'default = "30m"', '"Kraków / Wrocław" = "3h30m"', '[smtp]']
    lines += [f"{k} = {json.dumps(v)}" for k, v in smtp_section(sink).items()]
    lines += ["[inbox]"] + [f"{k} = {json.dumps(v)}" for k, v in imap.section(folder).items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class World:
    server: RadicaleServer
    sink: MailSink
    imap: ImapServer
    root: Path
    capsys: pytest.CaptureFixture[str]


class WeekMachine(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.account = w.server.new_account()
        self.dir = Path(tempfile.mkdtemp(prefix="week-", dir=w.root))
        self.data = self.dir / "data"
        os.environ["BLOCKTIME_DATA_DIR"] = str(self.data)  # restored by the test's monkeypatch
        w.sink.reset()
        self.folder = w.imap.new_folder()
        self.cli = Runner(_config(self.dir / "config.toml", self.account, w.sink, w.imap, self.folder), w.capsys)
        self.other = OtherClient(self.account)
        self.now = START
        self.private = 0
        self.steps: list[str] = []

    def teardown(self) -> None:
        self.other.http.close()
        if os.environ.get("BLOCKTIME_WEEK_LOG"):  # what each run did, to see that it did something
            competed = [json.loads(r["detail"]) for r in self.rows("SELECT detail FROM history WHERE kind='competed'")]
            offers = len(self.rows("SELECT id FROM offers"))
            lost = sum(c["lost"] for c in competed)
            with open(os.environ["BLOCKTIME_WEEK_LOG"], "a") as f:
                f.write("\n".join(["--- run", *self.steps, f"=== offers {offers} competed {len(competed)} "
                                    f"lost {lost}"]) + "\n")

    # ------------------------------------------------------------------ helpers
    def run(self, *args: str) -> tuple[int, str, str]:
        code, out, err = self.cli(*args, now=self.now.isoformat(timespec="minutes"))
        when = self.now.astimezone(WARSAW)
        self.steps.append(f"{when:%a %m-%d %H:%M} {' '.join(args)} -> {code} {err.strip()[:200]}")
        assert code in (0, 1, 2) and "internal error" not in err and "Traceback" not in err, self.steps
        return code, out, err

    def daemon(self) -> None:
        code, out, err = self.run("daemon", "--once", "--json")
        assert code == 0 and not json.loads(out).get("errors"), (out, err, self.steps)

    def rows(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        path = self.data / "blocktime.sqlite3"
        if not path.exists():
            return []
        con = sqlite3.connect(path, timeout=30)
        con.row_factory = sqlite3.Row
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def live(self) -> list[Span]:
        return [Span(f"block {b['engagement']}-{b['number']}", b["site"], _utc(b["start"]), _utc(b["end"]))
                for b in self.rows("SELECT * FROM blocks WHERE state IN ('booked','cut_short','pending')")]

    def booked(self, future: bool) -> list[sqlite3.Row]:
        rows = self.rows("SELECT * FROM blocks WHERE state='booked' ORDER BY start, uid")
        return [b for b in rows if (_utc(b["start"]) > self.now) == future]

    def open_offers(self) -> list[sqlite3.Row]:
        return [o for o in self.rows("SELECT * FROM offers WHERE state='open' ORDER BY created, id")
                if _utc(o["expires"]) > self.now]

    def holds(self, offer: str) -> list[Span]:
        site = self.rows("SELECT e.site FROM offers o JOIN engagements e ON e.key=o.engagement WHERE o.id=?",
                         offer)[0]["site"]
        return [Span(f"option {h['number']} of {offer}", site, _utc(h["start"]), _utc(h["end"]))
                for h in self.rows("SELECT * FROM holds WHERE offer=? AND state IN ('pending','held')"
                                   " ORDER BY number", offer)]

    @staticmethod
    def pick(items: list[Any], i: int) -> Any:
        return items[i % len(items)]

    def fits(self, span: Span, beside: list[Span]) -> list[str]:
        """What `span` breaks beside `beside` (hours, travel, buffer; the day limit is counted apart)."""
        broken = [f"{span}: {why}"] if (why := hours_broken(span.site, span.start, span.end)) else []
        for other in beside:
            if gap((span.start, span.end), (other.start, other.end)) < need(span.site, other.site):
                broken.append(f"{span} and {other} ({AREA[span.site]}, {AREA[other.site]}): too close")
        return broken

    # ------------------------------------------------------------------ rules: the consultant
    @initialize()
    def three_programmes(self) -> None:
        """Each client's programme starts this week, so that blocks can be cut short early on."""
        for client, (start, every) in {"Nordwind": ("2026-03-02 09:00", "mon,wed"),
                                       "Bank": ("2026-03-03 12:00", "tue,thu"),
                                       "Piekarnia": ("2026-03-02 14:00", "mon,thu")}.items():
            site, _area, who = CLIENTS[client]
            self.run("book", "--client", client, "--site", site, "--attendee", who, "--start", start,
                     "--length", "1h30m", "--every", every, "--count", "4", "--skip-conflicts", "--json")

    @rule(client=st.sampled_from(sorted(CLIENTS)), days=st.integers(0, 8), hour=st.sampled_from([8, 9, 12, 14, 15]),
          length=st.sampled_from(["45m", "1h", "1h30m"]), count=st.integers(1, 3),
          every=st.sampled_from([None, "mon,wed", "tue,thu"]))
    def book(self, client: str, days: int, hour: int, length: str, count: int, every: str | None) -> None:
        site, _area, who = CLIENTS[client]
        day = (self.now + timedelta(days=days)).astimezone(WARSAW)
        args = ["book", "--client", client, "--site", site, "--attendee", who, "--start",
                f"{day:%Y-%m-%d} {hour:02d}:00", "--length", length, "--count", str(count), "--skip-conflicts"]
        self.run(*args, *(("--every", every) if every else ()), "--json")

    @precondition(lambda self: bool(self.booked(future=False)))
    @rule(i=st.integers(0, 9), part=st.sampled_from([0.25, 0.5, 0.75]))
    def cut_short(self, i: int, part: float) -> None:
        b = self.pick(self.booked(future=False), i)
        minutes = int((_utc(b["planned_end"]) - _utc(b["start"])).total_seconds() // 60 * part) // 5 * 5
        self.run("cut-short", f"{b['engagement']}-{b['number']}", "--delivered", f"{max(minutes, 5)}m", "--json")

    @rule(client=st.sampled_from(sorted(CLIENTS)))
    def offer(self, client: str) -> None:
        self.run("offer", client.lower(), "--json")

    @precondition(lambda self: bool(self.open_offers()))
    @rule(i=st.integers(0, 9), option=st.integers(1, 3))
    def accept(self, i: int, option: int) -> None:
        self.run("accept", self.pick(self.open_offers(), i)["id"], str(option), "--json")

    @precondition(lambda self: bool(self.open_offers()))
    @rule(i=st.integers(0, 9), option=st.integers(1, 3))
    def accept_by_mail(self, i: int, option: int) -> None:
        """The client answers with the reply the offer mail's link for `option` prepared."""
        offer = self.pick(self.open_offers(), i)
        who = CLIENTS[next(c for c in CLIENTS if c.lower() == offer["engagement"])][2]
        subjects = []
        for m in self.world.sink.to(who):
            text = m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            subjects += [unquote(s) for s in re.findall(r"mailto:[^?\s]+\?subject=(\S+)", text)]
        mine = [s for s in subjects if f"[offer {offer['id']} " in s and f": option {option} (" in s]
        if not mine:
            return  # that option does not exist
        self.world.imap.append(self.folder, letter(who, mine[-1], ""))
        self.steps.append(f"{who} picks option {option} of {offer['id']} by mail")
        self.run("inbox", "--json")

    @precondition(lambda self: bool(self.open_offers()))
    @rule(i=st.integers(0, 9))
    def decline(self, i: int) -> None:
        self.run("decline", self.pick(self.open_offers(), i)["id"], "--json")

    @precondition(lambda self: bool(self.open_offers()))
    @rule(i=st.integers(0, 9))
    def expire(self, i: int) -> None:
        o = self.pick(self.open_offers(), i)
        self.now = max(self.now, _utc(o["expires"]) + timedelta(minutes=1))
        self.daemon()

    @precondition(lambda self: bool(self.booked(future=True)))
    @rule(i=st.integers(0, 9))
    def cancel(self, i: int) -> None:
        b = self.pick(self.booked(future=True), i)
        self.run("cancel", f"{b['engagement']}-{b['number']}", "--json")

    # ------------------------------------------------------------------ rules: another calendar app
    @precondition(lambda self: bool(self.booked(future=True) or self.open_offers()))
    @rule(i=st.integers(0, 9), shift=st.sampled_from([timedelta(0), timedelta(minutes=45)]))
    def private_appointment(self, i: int, shift: timedelta) -> None:
        """A dentist's appointment lands on a block or an option in another calendar; then a sync."""
        spans = [(_utc(b["start"]), _utc(b["end"])) for b in self.booked(future=True)]
        spans += [(h.start, h.end) for o in self.open_offers() for h in self.holds(o["id"])]
        start, end = self.pick(spans, i)
        self.private += 1
        self.steps.append(f"another app adds a private appointment at {start + shift:%m-%d %H:%M}Z")
        self.other.put_new("Private", f"private-{self.private}", f"{start + shift:%Y%m%dT%H%M%SZ}",
                           f"{end + shift:%Y%m%dT%H%M%SZ}", "Dentist")
        self.daemon()

    @precondition(lambda self: bool(self.booked(future=True)))
    @rule(i=st.integers(0, 9), hours=st.sampled_from([-3, 2, 24, 26, 72]))
    def drag_elsewhere(self, i: int, hours: int) -> None:
        """A block dragged in Google or Outlook, to a time that keeps the week's rules among the
        blocks (a user may break them; then it is theirs, not blocktime's); then a sync."""
        b = self.pick(self.booked(future=True), i)
        shift = timedelta(hours=hours)
        moved = Span("moved", b["site"], _utc(b["start"]) + shift, _utc(b["end"]) + shift)
        others = [s for s in self.live() if s.what != f"block {b['engagement']}-{b['number']}"]
        if moved.start <= self.now or self.fits(moved, others) or \
                sum(s.day == moved.day for s in others) >= PER_DAY:
            return

        def change(ev: Any) -> None:
            for name, value in (("DTSTART", moved.start), ("DTEND", moved.end)):
                ev.pop(name)
                ev.add(name, value)

        self.steps.append(f"another app drags {b['engagement']}-{b['number']} by {hours} h")
        self.other.edit(b["href"], change)
        self.daemon()

    # ------------------------------------------------------------------ rules: the clock
    @rule(step=st.sampled_from([timedelta(hours=2), timedelta(days=1), timedelta(days=2)]))
    def clock(self, step: timedelta) -> None:
        self.now += step

    @precondition(lambda self: bool(self.booked(future=True)))
    @rule(i=st.integers(0, 3))
    def clock_past_a_block(self, i: int) -> None:
        b = self.pick(self.booked(future=True)[:4], i)
        self.now = _utc(b["planned_end"]) + timedelta(minutes=10)

    # ------------------------------------------------------------------ invariants
    @invariant()
    def week_rules(self) -> None:
        blocks = self.live()
        broken = [f"{s}: {why}" for s in blocks if (why := hours_broken(s.site, s.start, s.end))]
        for a, b in itertools.combinations(blocks, 2):
            if gap((a.start, a.end), (b.start, b.end)) < need(a.site, b.site):
                broken.append(f"{a} and {b}: too close for {AREA[a.site]} / {AREA[b.site]}")
        for day, group in itertools.groupby(sorted(blocks, key=lambda s: s.day), key=lambda s: s.day):
            if len(spans := list(group)) > PER_DAY:
                broken.append(f"{day}: {len(spans)} blocks: {', '.join(map(str, spans))}")
        assert not broken, "\n".join([*broken, "steps:", *self.steps])

    @invariant()
    def options_fit(self) -> None:
        offers = {o["id"]: self.holds(o["id"]) for o in self.open_offers()}
        blocks = self.live()
        broken = []
        for offer, options in offers.items():
            rivals = {k: v for k, v in offers.items() if k != offer}
            for h in options:
                broken += self.fits(h, blocks + [g for holds in rivals.values() for g in holds])
                taken = sum(b.day == h.day for b in blocks) + sum(any(g.day == h.day for g in holds)
                                                                   for holds in rivals.values())
                if taken + 1 > PER_DAY:
                    broken.append(f"{h}: the day has {taken} blocks and other offers' options already")
        assert not broken, "\n".join([*broken, "steps:", *self.steps])


@pytest.fixture
def world(radicale_server: RadicaleServer, mail_sink: MailSink, imap_server: ImapServer, tmp_path: Path,
          capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("BLOCKTIME_DATA_DIR", str(tmp_path / "unused"))  # each run sets its own; restored after
    monkeypatch.delenv("BLOCKTIME_CONFIG", raising=False)
    return World(radicale_server, mail_sink, imap_server, tmp_path, capsys)


@pytest.mark.slow
def test_the_week_keeps_its_rules(world: World) -> None:
    machine = type("Week", (WeekMachine,), {"world": world})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]))
