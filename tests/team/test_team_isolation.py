"""Two trainers on two calendar accounts, one installation: neither sees nor sends the other's things."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from blocktime.cli import main
from tests.mailserver import MailSink
from tests.servers import Account, RadicaleServer
from tests.team.test_team import SHARED, team_config

pytestmark = pytest.mark.own_store  # each case its own engine: `store_url` below

NOW = "2026-03-20T09:00"
AFTER = "2026-03-24T13:05"


class TeamRunner:
    """The CLI in-process as one trainer of a team config: (code, stdout, stderr)."""

    def __init__(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.config, self.capsys = config, capsys

    def __call__(self, trainer: str, *args: str, now: str = NOW) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--config", str(self.config), "--as", trainer, "--now", now, *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, trainer: str, *args: str, now: str = NOW) -> Any:
        code, out, err = self(trainer, *args, "--json", now=now)
        assert code == 0 and out, err
        return json.loads(out)


def trainer(name: str, account: Account) -> dict[str, dict[str, Any]]:
    return {"organizer": {"name": name.title(), "email": f"{name}@example.com"},
            "calendar": {"url": account.url, "username": account.username, "password": account.password}}


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Each trainer's own SQLite file in their data folder, or their own schema in one PostgreSQL
    (this test's own database: the store the suite runs on, BLOCKTIME_STORE_URL, is set aside)."""
    monkeypatch.delenv("BLOCKTIME_STORE_URL", raising=False)
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def team(tmp_path: Path, data_dir: Path, radicale_server: RadicaleServer, smtp: MailSink, store_url: str | None,
         capsys: pytest.CaptureFixture[str]) -> TeamRunner:
    shared: dict[str, dict[str, Any]] = {
        "organizer": SHARED["organizer"], "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none"}}
    if store_url:
        shared["store"] = {"url": store_url}
    config = team_config(tmp_path, shared, anna=trainer("anna", radicale_server.new_account()),
                         bob=trainer("bob", radicale_server.new_account()))
    return TeamRunner(config, capsys)


def book(team: TeamRunner, who: str, client: str, *extra: str) -> Any:
    return team.json(who, "book", "--client", client, "--site", f"{client} HQ", "--attendee",
                     f"it@{client.lower()}.example", "--start", "2026-03-24 12:00", "--length", "1h",
                     "--every", "tue,thu", "--count", "2", *extra)


def test_engagements_blocks_offers_and_mail_belong_to_one_trainer(team: TeamRunner, smtp: MailSink,
                                                                  data_dir: Path, store_url: str | None) -> None:
    book(team, "anna", "Acme")
    book(team, "bob", "Beta", "--no-send")  # the same hours: each trainer's own calendar, no conflict
    sent = [(m.mail_from, m.rcpt_tos) for m in smtp.messages]
    assert sent == [("anna@example.com", ["it@acme.example"])] * 2  # bob's wait in his outbox
    assert [b["client"] for b in team.json("anna", "agenda")["blocks"]] == ["Acme", "Acme"]
    assert [b["client"] for b in team.json("bob", "agenda")["blocks"]] == ["Beta", "Beta"]
    code, _, err = team("bob", "status", "acme")
    assert code == 2 and "acme" in err
    anna_dir, bob_dir = data_dir / "trainers" / "anna", data_dir / "trainers" / "bob"
    on_sqlite = (anna_dir / "blocktime.sqlite3").exists(), (bob_dir / "blocktime.sqlite3").exists()
    assert on_sqlite == ((True, True) if store_url is None else (False, False))

    # bob's outbox is bob's: sending it sends only his two invitations, from him
    assert [w["to"] for w in team.json("bob", "outbox")["waiting"]] == ["it@beta.example"] * 2
    assert team.json("anna", "outbox")["waiting"] == []
    smtp.reset()
    doc = team.json("anna", "outbox", "send")
    assert doc["sent"] == [] and smtp.messages == []
    team.json("bob", "outbox", "send")
    assert {(m.mail_from, tuple(m.rcpt_tos)) for m in smtp.messages} == {("bob@example.com", ("it@beta.example",))}
    assert len(smtp.messages) == 2
    assert len(list((bob_dir / "outbox").glob("bt-beta-*.ics"))) == 2  # the invitations' files, apart
    assert not list((anna_dir / "outbox").glob("*beta*")) and not list((bob_dir / "outbox").glob("*acme*"))

    # an offer made for anna is anna's
    smtp.reset()
    offer = team.json("anna", "cut-short", "acme-1", "--ended-at", "12:35", "--no-send", now=AFTER)["offer"]
    assert offer is not None
    assert [o["id"] for o in team.json("anna", "offers", now=AFTER)["offers"]] == [offer["id"]]
    assert team.json("bob", "offers", now=AFTER)["offers"] == []
    code, _, err = team("bob", "accept", offer["id"], "1", now=AFTER)
    assert code != 0 and offer["id"] in err
    team.json("bob", "outbox", "send", now=AFTER)
    assert smtp.messages == []  # anna's offer waits in anna's outbox, never in bob's

    # a daemon pass as anna syncs anna's calendar and state only
    code, _, err = team("anna", "daemon", "--once", now=AFTER)
    assert code == 0, err
    anna_state, bob_state = team.json("anna", "daemon", "--status", now=AFTER), team.json("bob", "daemon", "--status",
                                                                                          now=AFTER)
    assert anna_state["last_sync"] is not None and bob_state["last_sync"] is None
    assert [o["id"] for o in anna_state["open_offers"]] == [offer["id"]] and bob_state["open_offers"] == []
    # what anna's pass sent (the advance confirmation of acme-2) is anna's; her held offer stays held
    assert {(m.mail_from, tuple(m.rcpt_tos)) for m in smtp.messages} <= {("anna@example.com", ("it@acme.example",))}
    held = [(w["kind"], w["ref"], w["held"]) for w in team.json("anna", "outbox", now=AFTER)["waiting"]]
    assert held == [("offer", offer["id"], True)]
    smtp.reset()

    # each calendar holds only its trainer's events: rebuilding bob's store from his calendar finds Beta alone
    rebuilt = team.json("bob", "repair", now=AFTER)
    assert rebuilt["engagements"] == 1 and rebuilt["blocks"] == 2 and rebuilt["holds"] == 0
    assert [b["client"] for b in team.json("bob", "agenda", "--all", now=AFTER)["blocks"]] == ["Beta", "Beta"]
    if store_url is not None:  # one schema per trainer in the shared database, each with its own rows
        import psycopg

        with psycopg.connect(store_url) as conn:
            schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'blocktime%'")}
            assert {"blocktime_anna", "blocktime_bob"} <= schemas and "blocktime" not in schemas
            keys = {s: [r[0] for r in conn.execute(f"SELECT key FROM {s}.engagements")]
                    for s in ("blocktime_anna", "blocktime_bob")}
        assert keys == {"blocktime_anna": ["acme"], "blocktime_bob": ["beta"]}
