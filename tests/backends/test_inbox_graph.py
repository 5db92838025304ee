"""Issue 13 on Outlook: the client's pick read through Graph mail (stand-in from Microsoft's docs,
tests/recorded/README.md), booked on the Graph calendar stand-in, handled once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.backends.conftest import graph_token
from tests.backends.standin_graph_mail import GraphMail
from tests.backends.standin_http import StandIn
from tests.conftest import Runner
from tests.imapserver import letter

pytestmark = pytest.mark.standin
CLIENT = "it@acme.example"


@pytest.fixture
def mail_standin() -> Iterator[tuple[GraphMail, StandIn]]:
    app = GraphMail()
    with StandIn(app) as server:
        app.root = server.root
        yield app, server


def _cli(app: GraphMail, server: StandIn, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str],
         inbox: str = "") -> Runner:
    graph_token(app, server, data_dir)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[organizer]\nname = "Anna Nowak"\nemail = "anna@example.com"\ntimezone = "Europe/Warsaw"\n'
                   f'[calendar]\nprofile = "outlook"\nurl = "{server.root}/v1.0"\nname = "blocktime"\n'
                   f'[inbox]\nauth = "outlook"\n{inbox}')
    return Runner(cfg, capsys)


def test_a_pick_read_through_graph_mail_books_the_option_once(
        mail_standin: tuple[GraphMail, StandIn], tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    app, server = mail_standin
    cli = _cli(app, server, tmp_path, data_dir, capsys)
    cli.json("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", CLIENT, "--start", "2026-03-24 12:00",
             "--length", "1h", "--every", "tue,thu", "--count", "4")
    cut = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")
    text = Path(cut["message"]).read_text(encoding="utf-8")
    subjects = [unquote(s) for s in re.findall(r"mailto:[^?\s]+\?subject=(\S+)", text)]
    for i in range(3):  # unrelated mail first: paging is exercised
        news = f"news{i}@shop.example"
        app.deliver(news, "sale", f"<n{i}@shop.example>", letter(news, "sale", "x"))
    pick = letter(CLIENT, f"RE: {subjects[1]}", "", message_id="<pick-1@acme.example>")
    app.deliver(CLIENT, f"RE: {subjects[1]}", "<pick-1@acme.example>", pick)
    got = cli.json("inbox", now="2026-03-24T14:00")["messages"]
    assert [m["action"] for m in got] == ["ignored"] * 3 + ["accepted"]
    assert (got[3]["offer"], got[3]["option"], got[3]["block"]) == (cut["offer"]["id"], 2, "acme-5")
    assert all(m["categories"] == ["blocktime"] for m in app.messages.values())
    assert cli.json("status", "acme", now="2026-03-24T14:01")["makeup_blocks"] == ["acme-5"]
    # the next pass starts from the delta link: only new mail is listed, nothing is handled twice
    assert cli.json("inbox", now="2026-03-24T14:02")["messages"] == []
    app.deliver(CLIENT, "Re: Acme", "<free@acme.example>", letter(CLIENT, "Re: Acme", "How about Monday?"))
    (free,) = cli.json("inbox", now="2026-03-24T14:03")["messages"]
    assert free["action"] == "kept"
    listed = [r for r in app.requests if "messages/delta" in r.path]
    assert "$deltatoken" in listed[-1].query and "$select" not in listed[-1].query


def test_processed_folder_and_doctor_on_graph_mail(mail_standin: tuple[GraphMail, StandIn], tmp_path: Path,
                                                  data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app, server = mail_standin
    cli = _cli(app, server, tmp_path, data_dir, capsys, inbox='processed_folder = "blocktime done"\n')
    app.deliver("news@shop.example", "sale", "<n@shop.example>", letter("news@shop.example", "sale", "x"))
    assert [m["action"] for m in cli.json("inbox")["messages"]] == ["ignored"]
    assert [m["folder"] for m in app.messages.values()] == ["blocktime done"]
    import json

    _code, out, _ = cli("doctor", "--json")
    found = {f["topic"]: f for f in json.loads(out)["findings"]}
    assert found["inbox"]["level"] == "ok" and found["idle"]["level"] == "info"


def test_auth_google_asks_for_mail_when_the_inbox_is_gmail(tmp_path: Path, data_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from typing import Any

    from blocktime.cli import main
    from tests.backends.test_auth import _fake_google
    from tests.conftest import write_config

    seen: dict[str, Any] = {}
    _fake_google(monkeypatch, seen)
    secrets = tmp_path / "client_secret.json"
    secrets.write_text("{}")
    cfg = write_config(tmp_path / "c.toml", None, inbox={"host": "imap.gmail.com", "username": "anna@gmail.com",
                                                         "auth": "google"})
    assert main(["--config", str(cfg), "auth", "google", "--client-secrets", str(secrets), "--no-browser"]) == 0
    assert seen["scopes"] == ["https://www.googleapis.com/auth/calendar", "https://mail.google.com/"]


def test_after_the_mail_delta_expires_the_next_pass_books_a_pick(
        mail_standin: tuple[GraphMail, StandIn], tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 24, point 3: Graph deletes older delta tokens (410 SyncStateNotFound). Before, every
    later `inbox` failed for good; now a new round starts from the high-water mark, and no message
    is handled twice."""
    app, server = mail_standin
    cli = _cli(app, server, tmp_path, data_dir, capsys)
    cli.json("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", CLIENT, "--start", "2026-03-24 12:00",
             "--length", "1h", "--every", "tue,thu", "--count", "4")
    for i in range(5):  # old mail, before the mark
        app.deliver(f"n{i}@shop.example", "sale", f"<old{i}@shop.example>", letter(CLIENT, "sale", "x"),
                    received=f"2026-03-20T0{i}:00:00Z")
    app.deliver(CLIENT, "Re: Acme", "<hello@acme.example>", letter(CLIENT, "Re: Acme", "Thanks!"),
                received="2026-03-24T12:50:00Z")
    first = cli.json("inbox", now="2026-03-24T13:00")["messages"]
    assert len(first) == 6
    cut = cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")
    text = Path(cut["message"]).read_text(encoding="utf-8")
    subjects = [unquote(s) for s in re.findall(r"mailto:[^?\s]+\?subject=(\S+)", text)]
    app.expire_mail_state()  # the daemon was off for a while: Graph dropped the delta state
    app.deliver(CLIENT, f"RE: {subjects[0]}", "<pick@acme.example>",
                letter(CLIENT, f"RE: {subjects[0]}", "", message_id="<pick@acme.example>"),
                received="2026-03-25T08:00:00Z")
    got = cli.json("inbox", now="2026-03-25T09:00")["messages"]
    assert [(m["action"], m["option"]) for m in got] == [("accepted", 1)]  # "hello" re-listed, not handled twice
    expired, restart = [r for r in app.requests if "messages/delta" in r.path][-2:]
    assert expired.query == {"$deltatoken": "6.0"}  # the stored link: 410
    assert restart.query.get("$filter") == "receivedDateTime ge 2026-03-23T12:50:00Z"  # the mark, a day before
    assert cli.json("status", "acme", now="2026-03-25T09:01")["makeup_blocks"] == ["acme-5"]
    assert cli.json("inbox", now="2026-03-25T09:02")["messages"] == []
