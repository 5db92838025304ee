"""Issue 25 (first part): the books of every engagement, on a real Radicale through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Runner, smtp_section, write_config
from tests.mailserver import MailSink
from tests.servers import Account

RADICALE = pytest.mark.parametrize("account", ["radicale"], indirect=True)
BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
        "--start", "2026-03-23 09:00", "--length", "90m", "--every", "mon,wed,fri", "--count", "6")


@RADICALE
def test_engagements_add_up_to_the_minute(account: Account, tmp_path: Path, data_dir: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    cli.json("book", "--client", "Initech", "--site", "Initech Park", "--attendee", "pm@initech.example",
             "--start", "2026-03-24 13:00", "--length", "1h", now="2026-03-20T09:00")
    cut = cli.json("cut-short", "acme-1", "--ended-at", "10:00", "--reason", "fire drill", now="2026-03-23T11:00")
    cli.json("accept", cut["offer"]["id"], "1", now="2026-03-23T11:05")
    got = {e["key"]: e for e in cli.json("engagements", now="2026-03-31T12:00")["engagements"]}
    acme = got["acme"]
    # six blocks of 90 min and a 30-min make-up; by Mar 31 four blocks and the make-up have ended
    assert acme["blocks"] == 7 and acme["planned_minutes"] == 6 * 90 + 30
    assert acme["lost_minutes"] == 30 and acme["made_up_minutes"] == 30
    assert acme["delivered_minutes"] == 60 + 3 * 90 + 30
    assert acme["remaining_minutes"] == 0 and acme["state"] == "active" and acme["contract_minutes"] is None
    assert got["initech"]["delivered_minutes"] == 60 and got["initech"]["planned_minutes"] == 60
    code, text, _ = cli("engagements", now="2026-03-31T12:00")
    assert code == 0 and "acme" in text and "6 h" in text.split("acme", 1)[1].splitlines()[0]


@RADICALE
def test_a_no_show_loses_the_whole_block_and_offers_it_again(account: Account, tmp_path: Path, data_dir: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    got = cli.json("no-show", "acme-1", "--reason", "office closed for a strike", now="2026-03-23T10:45")
    assert got["block"]["state"] == "no_show" and got["remaining"] == 90
    assert got["offer"] is not None and got["offer"]["minutes"] == 90 and got["offer"]["length"] == 90
    text = (data_dir / "outbox" / "offer-acme-o1.txt").read_text(encoding="utf-8")
    assert "The session planned for" in text and "did not take place" in text and "We stopped" not in text
    # the same command again records nothing twice
    again = cli.json("no-show", "acme-1", now="2026-03-23T10:50")
    assert again["offer"] is None
    books = cli.json("engagements", now="2026-03-23T11:00")["engagements"][0]
    assert (books["lost_minutes"], books["delivered_minutes"], books["remaining_minutes"]) == (90, 0, 90)
    # with --no-offer nothing is offered; a block not yet started cannot be a no-show
    code, _out, err = cli("no-show", "acme-3", now="2026-03-23T11:00")
    assert code == 2 and "has not started yet" in err
    quiet = cli.json("no-show", "acme-2", "--no-offer", now="2026-03-25T11:00")
    assert quiet["offer"] is None
    assert cli.json("engagements", now="2026-03-25T11:00")["engagements"][0]["remaining_minutes"] == 180


@RADICALE
def test_a_no_show_run_again_leaves_an_offer_that_covers_it(account: Account, tmp_path: Path, data_dir: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """no-show --no-offer, then a cut-short whose offer covers both remainders: running the no-show
    again replaced that offer and sent the client another one."""
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    cli.json("no-show", "acme-1", "--no-offer", now="2026-03-23T10:45")
    offer = cli.json("cut-short", "acme-2", "--ended-at", "10:00", now="2026-03-25T11:00")["offer"]
    assert offer["minutes"] == 90 + 30
    again = cli.json("no-show", "acme-1", now="2026-03-25T11:05")
    assert again["offer"] is None
    assert [o["id"] for o in cli.json("offers", now="2026-03-25T11:05")["offers"]] == [offer["id"]]


@RADICALE
def test_an_engagement_is_set_and_closed(account: Account, tmp_path: Path, data_dir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from tests.helpers import objects

    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    cli.json("engagement", "set", "acme", "--contract", "9h", "--language", "pl", "--attendee", "boss@acme.example",
             now="2026-03-20T09:05")
    code, _out, err = cli("engagement", "set", "acme", "--remove-attendee", "nobody@acme.example", now=None)
    assert code == 2 and "is not an attendee of acme" in err
    code, _out, err = cli("engagement", "set", "acme", "--contract", "soon", now=None)
    assert code == 2 and "soon" in err
    offer = cli.json("cut-short", "acme-1", "--ended-at", "10:00", now="2026-03-23T11:00")["offer"]
    assert len([t for t in objects(account) if "hold-" in t]) == 3
    done = cli.json("engagement", "close", "acme", now="2026-03-23T11:10")
    assert done["withdrawn"] == [offer["id"]] and done["cancelled"] == [] and len(done["kept"]) == 5
    assert not [t for t in objects(account) if "hold-" in t]  # holds released
    waiting = cli.json("outbox", now="2026-03-23T11:10")["waiting"]
    # the offer's own mail never went out (no SMTP here): nobody is told of times they never got
    assert not [q for q in waiting if q["kind"] == "withdrawn"]
    assert not [q for q in waiting if q["kind"] == "offer"]  # the offer's own mail is withdrawn before it goes
    listed = cli.json("engagements", now="2026-03-23T11:15")["engagements"]
    assert listed == []  # closed ones only with --all
    (acme,) = cli.json("engagements", "--all", now="2026-03-23T11:15")["engagements"]
    assert acme["state"] == "closed" and acme["contract_minutes"] == 540 and acme["language"] == "pl"
    assert acme["attendees"] == ["it@acme.example", "boss@acme.example"] and acme["open_offers"] == []
    code, _out, err = cli("offer", "acme", now="2026-03-23T11:20")
    assert code == 2 and "is closed" in err
    again = cli.json("engagement", "close", "acme", "--cancel-future", now="2026-03-23T11:30")
    assert len(again["cancelled"]) == 5 and again["withdrawn"] == []
    assert [b["state"] for b in cli.json("status", "acme", now="2026-03-23T11:30")["blocks"]] == ["cut_short"]


@RADICALE
def test_history_tells_what_happened_in_order_with_the_reason(account: Account, tmp_path: Path, data_dir: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    cut = cli.json("cut-short", "acme-1", "--ended-at", "10:00", "--reason", "fire drill", now="2026-03-23T11:00")
    cli.json("accept", cut["offer"]["id"], "2", now="2026-03-23T11:05")
    cli.json("no-show", "acme-2", "--no-offer", "--reason", "strike", now="2026-03-25T11:00")
    events = cli.json("history", "acme", now="2026-03-25T11:05")["events"]
    kinds = [(e["kind"], e["about"]) for e in events]
    assert kinds.index(("cut_short", "acme-1")) < kinds.index(("offer", "acme-1")) < kinds.index(
        ("makeup_booked", "acme-7")) < kinds.index(("no_show", "acme-2"))
    (cut_row,) = [e for e in events if e["kind"] == "cut_short"]
    assert cut_row["detail"]["reason"] == "fire drill" and cut_row["detail"]["remaining"] == 30
    assert any(e["kind"] == "mail request queued" for e in events)
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    one = cli.json("history", "acme-1", now="2026-03-25T11:05")
    assert one["about"] == "block acme-1"
    assert any(e["kind"] == "offer" and e["detail"]["offer"] == cut["offer"]["id"] for e in one["events"])
    assert not any(e["about"] == "acme-2" for e in one["events"])
    code, text, _ = cli("history", "acme-1", now="2026-03-25T11:05")
    assert code == 0 and "reason: fire drill" in text
    code, _out, err = cli("history", "nobody", now=None)
    assert code == 2 and "no block or engagement 'nobody'" in err


def _story(cli: Runner) -> dict[str, object]:
    """Issue 25's Done-when: 6 blocks, one cut short with a reason, a no-show, a make-up, closed."""
    cli.json(*BOOK, now="2026-03-20T09:00")
    cut = cli.json("cut-short", "acme-1", "--ended-at", "10:00", "--reason", "fire drill", now="2026-03-23T11:00")
    made = cli.json("accept", cut["offer"]["id"], "1", now="2026-03-23T11:05")["block"]
    cli.json("no-show", "acme-2", "--no-offer", "--reason", "strike", now="2026-03-25T11:00")
    cli.json("engagement", "close", "acme", now="2026-04-20T09:00")
    return {"makeup": made}


@RADICALE
def test_engagements_history_and_the_csv_report_agree_to_the_minute(account: Account, tmp_path: Path,
                                                                   data_dir: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import csv
    import io

    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    _story(cli)
    now = "2026-04-20T09:05"
    (books,) = cli.json("engagements", "--all", now=now)["engagements"]
    # six 90-min blocks (all ended by Apr 20) and a 30-min make-up: 60 + 90*4 + 30 delivered,
    # 30 cut short + 90 nobody came lost, 30 made up, 90 remaining (the no-show's, not offered)
    assert (books["blocks"], books["planned_minutes"], books["delivered_minutes"]) == (7, 570, 450)
    assert (books["lost_minutes"], books["made_up_minutes"], books["remaining_minutes"]) == (120, 30, 90)
    assert books["state"] == "closed"
    code, out, err = cli("report", "--format", "csv", "--by", "month", now=now)
    assert code == 0 and "rounded to 2 decimals" in err
    reader = csv.DictReader(io.StringIO(out))
    assert reader.fieldnames == ["client", "engagement", "period", "blocks", "planned_min", "delivered_min", "lost_min",
                                 "made_up_min", "remaining_min", "planned_h", "delivered_h", "lost_h", "made_up_h",
                                 "remaining_h"]
    rows = list(reader)
    assert [r["period"] for r in rows] == ["2026-03", "2026-04"]  # Mon 23 … Mon 30 in March, Wed 1 in April
    total = {k: sum(int(r[k]) for r in rows) for k in ("planned_min", "delivered_min", "lost_min", "made_up_min")}
    assert total == {"planned_min": 570, "delivered_min": 450, "lost_min": 120, "made_up_min": 30}
    assert rows[-1]["remaining_min"] == "90" and rows[-1]["remaining_h"] == "1.50"
    events = cli.json("history", "acme", now=now)["events"]
    assert [e["detail"].get("reason") for e in events if e["kind"] in ("cut_short", "no_show")] == [
        "fire drill", "strike"]
    assert any(e["kind"] == "closed" for e in events)


@RADICALE
def test_the_statement_is_courteous_in_english_and_polish_and_waits_for_outbox_send(
        account: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    cut = cli.json("cut-short", "acme-1", "--ended-at", "10:00", "--reason", "fire drill", now="2026-03-23T11:00")
    cli.json("accept", cut["offer"]["id"], "1", now="2026-03-23T11:05")
    cli.json("no-show", "acme-2", "--no-offer", now="2026-03-25T11:00")
    en = cli.json("statement", "acme", "--to", "manager@acme.example", now="2026-03-26T09:00")
    text = en["text"]
    assert en["to"] == ["manager@acme.example"] and en["held"]
    assert "Here is a short summary" in text
    assert "Planned: 9 hours 30 minutes (sessions: 7). Delivered: 1 hour 30 minutes." in text
    assert "Sessions that ended early: Monday, March 23, 2026" in text and "30 minutes not delivered" in text
    assert "Sessions that did not take place: Wednesday, March 25, 2026" in text
    assert "Made up so far: 30 minutes." in text and "Next sessions: " in text
    for blame in ("fault", "late", "failed", "must", "penalt"):
        assert blame not in text.lower()
    pl = cli.json("statement", "acme", "--language", "pl", now="2026-03-26T09:05")["text"]
    assert pl.startswith("Temat: Szkolenie Acme — podsumowanie") and "Sesje zakończone przed czasem" in pl
    assert "Sesje, które się nie odbyły" in pl and "Dotychczas uzupełniono: 30 minut" in pl
    # kept back: the daemon never sends it; it is listed as held until `outbox send`
    held = [q for q in cli.json("outbox", now="2026-03-26T09:10")["waiting"] if q["kind"] == "statement"]
    assert {q["to"] for q in held} == {"manager@acme.example", "it@acme.example"}
    assert all(q["held"] for q in held)
    events = cli.json("history", "acme", now="2026-03-26T09:10")["events"]
    assert len([e for e in events if e["kind"] == "mail statement queued"]) == 2  # the manager, then it@
    # a statement written again (a second look, the other language) replaces the one not sent yet
    cli.json("statement", "acme", "--language", "en", now="2026-03-26T09:15")
    held = [q for q in cli.json("outbox", now="2026-03-26T09:15")["waiting"] if q["kind"] == "statement"]
    assert sorted(q["to"] for q in held) == ["it@acme.example", "manager@acme.example"]
    assert [q["subject"] for q in held if q["to"] == "it@acme.example"] == ["Acme training — where we stand"]
    # closed with minutes owed and nothing booked: not "still to come" next to "no further sessions"
    cli.json("engagement", "close", "acme", "--cancel-future", now="2026-03-26T09:20")
    last = cli.json("statement", "acme", now="2026-03-26T09:25")["text"]
    assert "Not yet made up: 1 hour 30 minutes." in last and "Still to come" not in last


@RADICALE
def test_block_states_follow_time(account: Account, tmp_path: Path, data_dir: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    cli.json("cut-short", "acme-1", "--ended-at", "10:00", now="2026-03-23T11:00")
    cli.json("no-show", "acme-2", "--no-offer", now="2026-03-25T11:00")
    cli.json("cancel", "acme-6", now="2026-03-25T11:00")
    states = {b["id"]: b["state"] for b in cli.json("status", "acme", now="2026-03-30T12:00")["blocks"]}
    assert states == {"acme-1": "cut_short", "acme-2": "no_show", "acme-3": "delivered", "acme-4": "delivered",
                      "acme-5": "booked"}
    code, text, _ = cli("status", "acme", now="2026-03-30T12:00")
    assert code == 0 and "delivered" in text.split("acme-3", 1)[1].splitlines()[0]
    assert cli.json("status", "acme", now="2026-03-30T12:00")["delivered_minutes"] == 60 + 0 + 90 + 90


@RADICALE
def test_a_new_attendee_is_invited_and_one_taken_off_gets_cancels(account: Account, tmp_path: Path,
                                                                  data_dir: Path, smtp: MailSink,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", account, smtp=smtp_section(smtp)), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")  # six invitations go out to it@
    got = cli.json("engagement", "set", "acme", "--attendee", "boss@acme.example", now="2026-03-24T09:00")
    assert len(got["mail"]["sent"]) == 5  # sent by the command itself, as every command does
    assert len([m for m in smtp.to("boss@acme.example") if "Invitation" in str(m["Subject"])]) == 5  # ahead
    cli.json("engagement", "set", "acme", "--remove-attendee", "IT@Acme.example", now="2026-03-24T09:05")
    cli.json("outbox", "send", now="2026-03-24T09:05")
    cancels = [m for m in smtp.to("it@acme.example") if "method=CANCEL" in str(m)]
    assert len(cancels) == 5 and not [m for m in smtp.to("boss@acme.example") if "method=CANCEL" in str(m)]
    (acme,) = cli.json("engagements", now="2026-03-24T09:05")["engagements"]
    assert acme["attendees"] == ["boss@acme.example"]
    # the calendar copies of the blocks ahead list whom they were sent to; the past ones are left as they were
    from tests.helpers import objects

    copies = {t.split("X-BLOCKTIME-BLOCK:")[1].split()[0]: t.replace("\r\n ", "") for t in objects(account)
              if "X-BLOCKTIME-BLOCK:" in t}
    for number, text in copies.items():
        ahead = number != "1"  # acme-1 (Mar 23) is past on Mar 24
        assert ("mailto:boss@acme.example" in text) == ahead
        assert ("mailto:it@acme.example" in text) != ahead
    assert "SCHEDULE-AGENT=CLIENT" in copies["2"] and "mailto:it@acme.example" in copies["1"]


@RADICALE
def test_a_late_pick_for_a_closed_engagement_is_answered_not_stuck(account: Account, tmp_path: Path,
                                                                   data_dir: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A client picks an option of a lapsed offer after the engagement was closed: one courteous
    answer, no fresh offer, no error that would stop every later inbox pass."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from blocktime.config.loading import load
    from blocktime.usecases.closedpick import answer_closed
    from blocktime.usecases.session import Session

    path = write_config(tmp_path / "c.toml", account)
    cli = Runner(path, capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    offer = cli.json("cut-short", "acme-1", "--ended-at", "10:00", now="2026-03-23T11:00")["offer"]
    cli.json("decline", offer["id"], now="2026-03-23T11:05")
    cli.json("engagement", "close", "acme", now="2026-03-23T11:10")
    with Session(load(str(path)), datetime(2026, 3, 23, 12, tzinfo=ZoneInfo("Europe/Warsaw"))) as s:
        stored = s.store.offer(offer["id"])
        assert stored is not None
        said = answer_closed(s, "<late@acme.example>", "it@acme.example", stored, 1)
        assert "declined" in said and s.store.offers("acme") == []  # no fresh offer
    # the answer is in the engagement's history (its ref names the offer)
    events = cli.json("history", "acme", now="2026-03-23T12:05")["events"]
    assert [e["about"] for e in events if e["kind"].startswith("mail pickclosed")] == ["it@acme.example"]
    assert [e["detail"]["offer"] for e in events if e["kind"] == "offer_declined"] == [offer["id"]]


@RADICALE
def test_a_lapsed_offer_is_in_the_history(account: Account, tmp_path: Path, data_dir: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    offer = cli.json("cut-short", "acme-1", "--ended-at", "10:00", now="2026-03-23T11:00")["offer"]
    cli.json("offers", "--expire", now="2026-04-20T09:00")
    events = cli.json("history", "acme-1", now="2026-04-20T09:00")["events"]
    assert [e["detail"]["offer"] for e in events if e["kind"] == "offer_expired"] == [offer["id"]]


@RADICALE
def test_history_keeps_each_engagements_own_notes(account: Account, tmp_path: Path, data_dir: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A statement of `acme-hq` begins like one of `acme` (`statement-acme-…`): each history shows its own."""
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    cli.json("book", "--client", "Acme", "--site", "Acme HQ Annex", "--attendee", "it@acme.example",
             "--start", "2026-03-24 13:00", "--length", "1h", now="2026-03-20T09:00")
    keys = [e["key"] for e in cli.json("engagements", now="2026-03-20T09:00")["engagements"]]
    other = next(k for k in keys if k != "acme")
    assert other.startswith("acme-")
    cli.json("statement", other, now="2026-03-20T09:10")
    mine = [e for e in cli.json("history", "acme", now="2026-03-20T09:10")["events"] if "statement" in e["kind"]]
    theirs = [e for e in cli.json("history", other, now="2026-03-20T09:10")["events"] if "statement" in e["kind"]]
    assert mine == [] and [e["kind"] for e in theirs] == ["statement", "mail statement queued"]


def test_a_csv_cell_that_looks_like_a_formula_stays_text() -> None:
    from blocktime.views.report import cell

    assert [cell(x) for x in ("=HYPERLINK(1)", "+48 Sp.", "-x", "@acme", "Acme")] == [
        "'=HYPERLINK(1)", "'+48 Sp.", "'-x", "'@acme", "Acme"]


@RADICALE
def test_an_attendee_taken_off_and_added_again_is_invited_again(account: Account, tmp_path: Path, data_dir: Path,
                                                                smtp: MailSink,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", account, smtp=smtp_section(smtp)), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    for step, flag in enumerate(("--attendee", "--remove-attendee", "--attendee")):
        cli.json("engagement", "set", "acme", flag, "boss@acme.example", now=f"2026-03-24T09:0{step}")
        cli.json("outbox", "send", now=f"2026-03-24T09:0{step}")
    got = smtp.to("boss@acme.example")
    invitations = [m for m in got if "method=REQUEST" in str(m)]
    assert len(invitations) == 10  # five ahead, twice
    assert len([m for m in got if "method=CANCEL" in str(m)]) == 5


@RADICALE
def test_a_no_show_with_no_free_time_asks_for_times_in_its_own_words(account: Account, tmp_path: Path,
                                                                     data_dir: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    policy = {"horizon": "3d", "working_hours": "Mon 08:00-09:00"}  # no free time within the horizon
    cli = Runner(write_config(tmp_path / "c.toml", account, policy=policy), capsys)
    cli.json("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
             "--start", "2026-03-23 08:00", "--length", "1h", now="2026-03-20T09:00")
    got = cli.json("no-show", "acme-1", now="2026-03-23T10:00")
    assert got["offer"] is None
    (note,) = (data_dir / "outbox").glob("noslot-*.txt")
    text = note.read_text(encoding="utf-8")
    assert "did not take place" in text and "We stopped" not in text


@RADICALE
def test_agenda_json_says_which_blocks_are_make_ups(account: Account, tmp_path: Path, data_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 26: `agenda --json` did not say which blocks make up for another."""
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    cut = cli.json("cut-short", "acme-1", "--ended-at", "10:00", now="2026-03-23T11:00")
    cli.json("accept", cut["offer"]["id"], "1", now="2026-03-23T11:05")
    blocks = {b["id"]: b for b in cli.json("agenda", now="2026-03-23T11:10")["blocks"]}
    assert blocks["acme-7"]["makeup_for"] == "acme-1" and blocks["acme-2"]["makeup_for"] is None
    assert list(blocks["acme-2"]).index("makeup_for") == list(blocks["acme-2"]).index("state") + 1


@RADICALE
def test_booking_more_blocks_keeps_the_terms_set_earlier(account: Account, tmp_path: Path, data_dir: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """`book` for a known engagement used to overwrite its language and attendees with the new
    command's (or the default): what `engagement set` had set was lost."""
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    cli.json("engagement", "set", "acme", "--language", "pl", "--attendee", "boss@acme.example",
             now="2026-03-20T09:05")
    cli.json("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "IT@acme.example",
             "--attendee", "hr@acme.example", "--start", "2026-04-06 09:00", "--length", "90m", now="2026-03-20T09:10")
    (acme,) = cli.json("engagements", now="2026-03-20T09:10")["engagements"]
    assert acme["language"] == "pl"
    assert acme["attendees"] == ["it@acme.example", "boss@acme.example", "hr@acme.example"]


@RADICALE
def test_a_short_no_show_carried_over_says_it_did_not_take_place(account: Account, tmp_path: Path,
                                                                 data_dir: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A no-show shorter than the shortest make-up is added to the next block; its note spoke of a
    session that "stopped" (the cut-short wording)."""
    cli = Runner(write_config(tmp_path / "c.toml", account, policy={"min_makeup": "45m"}), capsys)
    cli.json("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
             "--start", "2026-03-23 09:00", "--length", "30m", "--every", "mon,wed", "--count", "2",
             now="2026-03-20T09:00")
    cli.json("no-show", "acme-1", now="2026-03-23T10:00")
    (note,) = (data_dir / "outbox").glob("carried-*.txt")
    text = note.read_text(encoding="utf-8")
    assert "did not take place" in text and "We stopped" not in text and "next session" in text


@RADICALE
def test_the_report_and_the_engagements_agree_on_what_remains(account: Account, tmp_path: Path, data_dir: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A no-show recorded the day after the month it happened in: the report (by month and by
    week) said 0 minutes remain where `engagements` said 90; a month of cancelled blocks only had
    a row of zeros."""
    import csv
    import io
    import json

    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
             "--start", "2026-03-31 09:00", "--length", "90m", "--every", "tue", "--count", "3", now="2026-03-20T09:00")
    cli.json("no-show", "acme-1", "--no-offer", now="2026-04-01T09:00")
    cli.json("engagement", "close", "acme", "--cancel-future", now="2026-04-02T09:00")
    now = "2026-04-02T09:05"
    (books,) = cli.json("engagements", "--all", now=now)["engagements"]
    assert books["remaining_minutes"] == 90
    for by in ("month", "week", "engagement"):
        got = json.loads(cli("report", "--format", "json", "--by", by, now=now)[1])
        assert [r["remaining_min"] for r in got["rows"]] == [90], by
        assert got["total"]["remaining_min"] == 90
    rows = list(csv.DictReader(io.StringIO(cli("report", "--format", "csv", now=now)[1])))
    assert [(r["period"], r["blocks"], r["lost_min"], r["remaining_min"]) for r in rows] == [
        ("2026-03", "1", "90", "90")]


@RADICALE
def test_a_close_stopped_after_withdrawing_still_tells_the_client(account: Account, tmp_path: Path, data_dir: Path,
                                                                  smtp: MailSink,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`engagement close` stopped (a crash) after it withdrew the offers and before it queued the one
    message about them: the re-run saw no open offer and never told the client."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from blocktime.config.loading import load
    from blocktime.usecases.session import Session

    path = write_config(tmp_path / "c.toml", account, smtp=smtp_section(smtp))
    cli = Runner(path, capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    offer = cli.json("cut-short", "acme-1", "--ended-at", "10:00", now="2026-03-23T11:00")["offer"]
    assert smtp.to("it@acme.example")
    with Session(load(str(path)), datetime(2026, 3, 23, 11, 10, tzinfo=ZoneInfo("Europe/Warsaw"))) as s:
        stored = s.store.offer(offer["id"])
        assert stored is not None
        with s.store.transaction():  # what the stopped run had written
            s.store.set_terms("acme", closed=s.now)
            s.store.set_offer(stored.id, "withdrawn")
            s.store.log(stored.source_uid, s.now, "offer_withdrawn", offer=stored.id, why="engagement closed")
    cli.json("engagement", "close", "acme", now="2026-03-23T11:15")
    cli.json("engagement", "close", "acme", now="2026-03-23T11:20")  # and once only
    events = cli.json("history", "acme", now="2026-03-23T11:20")["events"]
    assert len([e for e in events if e["kind"] == "mail withdrawn queued"]) == 1


@RADICALE
def test_a_make_up_nobody_came_to_puts_back_what_it_covered(account: Account, tmp_path: Path, data_dir: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A 30-minute make-up booked for 25 owed minutes (the 15-minute grid rounds up): a no-show of it
    put 30 minutes back on the remainder, 5 more than were ever owed."""
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    cut = cli.json("cut-short", "acme-1", "--ended-at", "10:05", now="2026-03-23T11:00")
    assert cut["offer"]["minutes"] == 25 and cut["offer"]["length"] == 30
    made = cli.json("accept", cut["offer"]["id"], "1", now="2026-03-23T11:05")["block"]
    start = made["start"][:16]
    cli.json("no-show", made["id"], "--no-offer", now=start.replace(start[11:16], "23:00"))
    (books,) = cli.json("engagements", now=start.replace(start[11:16], "23:00"))["engagements"]
    assert books["remaining_minutes"] == 25


@RADICALE
def test_report_bad_input_is_one_line(account: Account, tmp_path: Path, data_dir: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", account), capsys)
    cli.json(*BOOK, now="2026-03-20T09:00")
    code, out, err = cli("report", "--client", "Nobody", now="2026-03-20T09:00")
    assert code == 2 and out == "" and "no client 'Nobody'" in err and len(err.strip().splitlines()) <= 2
    code, _out, err = cli("report", "--output", str(tmp_path), now="2026-03-20T09:00")
    assert code == 2 and "is a folder" in err and "internal error" not in err
    assert cli("report", "--client", "ACME", now="2026-03-20T09:00")[0] == 0  # a client's name without case
