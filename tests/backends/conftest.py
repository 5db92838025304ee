"""Backends under test: real Radicale, Xandikos and the embedded server; loopback stand-ins for
Google and Microsoft Graph. Nothing here may reach the internet: a guard refuses any other host."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from blocktime.backends.base import CalendarBackend, CalendarInfo
from blocktime.config.auth import BearerAuth, Token, TokenStore
from tests.backends.standin_google import GoogleCalDAV
from tests.backends.standin_graph import Graph
from tests.backends.standin_http import StandIn
from tests.conftest import Runner
from tests.servers import Account

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
GRAPH_WINDOW = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC))


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any name or address other than loopback is refused, so a stand-in test cannot leak out."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        if host is not None and str(host) not in LOOPBACK and not str(host).startswith("127."):
            raise OSError(f"test tried to reach {host}")
        return real_getaddrinfo(host, *args, **kw)

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and str(address[0]) not in LOOPBACK and not str(address[0]).startswith("127."):
            raise OSError(f"test tried to connect to {address[0]}")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def google_standin() -> Iterator[tuple[GoogleCalDAV, StandIn]]:
    app = GoogleCalDAV()
    with StandIn(app) as server:
        app.root = server.root
        yield app, server


@pytest.fixture
def graph_standin() -> Iterator[tuple[Graph, StandIn]]:
    app = Graph()
    with StandIn(app) as server:
        app.root = server.root
        yield app, server


def google_token(app: GoogleCalDAV, server: StandIn, data_dir: Path, *, expired: bool = False) -> TokenStore:
    store = TokenStore(data_dir, "google")
    store.save(Token("ya29.standin-initial", app.refresh_token, time.time() + (-60 if expired else 3600),
                     f"{server.root}/token", "standin.apps.googleusercontent.com", "standin-secret",
                     ("https://www.googleapis.com/auth/calendar",)))
    return store


def graph_token(app: Graph, server: StandIn, data_dir: Path, *, expired: bool = False) -> TokenStore:
    store = TokenStore(data_dir, "outlook")
    store.save(Token("eyJ0eXAi.standin-initial", app.refresh_token, time.time() + (-60 if expired else 3600),
                     f"{server.root}/common/oauth2/v2.0/token", "11111111-2222-3333-4444-555555555555", None,
                     ("https://graph.microsoft.com/Calendars.ReadWrite", "offline_access")))
    return store


@dataclass
class Subject:
    """One backend under the contract, with what is known to differ between them."""

    kind: str
    backend: CalendarBackend
    creates_calendars: bool = True
    keeps_x_properties: bool = True
    app: Any = None

    def target(self) -> CalendarInfo:
        return self.backend.ensure_calendar("blocktime")

    def expired_token(self, cal: CalendarInfo) -> str:
        if self.kind == "graph":
            return f"{cal.url}/calendarView/delta?$deltatoken=v999999-s0-e0"
        if self.kind == "google":
            return "https://apidata.googleusercontent.com/caldav/v2/sync/999999"
        return "http://radicale.org/ns/sync/0000" if self.kind in ("radicale", "local") else "999999"


CONTRACT = ["radicale", "xandikos", "local",
            pytest.param("google", marks=pytest.mark.standin), pytest.param("graph", marks=pytest.mark.standin)]


@pytest.fixture(params=CONTRACT)
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    from blocktime.backends.caldav import CalDAVBackend

    kind = request.param
    server: Any = None
    if kind in ("radicale", "xandikos"):
        account: Account = request.getfixturevalue(kind)
        subj = Subject(kind, CalDAVBackend(account.url, account.username, account.password))
    elif kind == "local":
        from blocktime.backends.local import LocalServer

        server = LocalServer(tmp_path).__enter__()
        subj = Subject(kind, CalDAVBackend(server.url, server.username, server.password))
    elif kind == "google":
        from blocktime.backends.google import GoogleBackend

        app, stand = request.getfixturevalue("google_standin")
        auth = BearerAuth(google_token(app, stand, tmp_path))
        subj = Subject(kind, GoogleBackend(app.account, auth, base=f"{stand.root}/caldav/v2/"),
                       creates_calendars=False, keeps_x_properties=False, app=app)
    else:
        from blocktime.backends.graph import GraphBackend

        app, stand = request.getfixturevalue("graph_standin")
        auth = BearerAuth(graph_token(app, stand, tmp_path))
        subj = Subject(kind, GraphBackend(auth, base=f"{stand.root}/v1.0", window=GRAPH_WINDOW,
                                          sleep=lambda s: None), app=app)
    yield subj
    subj.backend.close()
    if server is not None:
        server.stop()


@pytest.fixture
def graph_cli(graph_standin: tuple[Graph, StandIn], tmp_path: Path, data_dir: Path,
              capsys: pytest.CaptureFixture[str]) -> Runner:
    """The CLI on the Graph stand-in, signed in (shared by the Graph and delta tests)."""
    app, server = graph_standin
    graph_token(app, server, data_dir)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[organizer]\nname = "Anna Nowak"\nemail = "anna@example.com"\ntimezone = "Europe/Warsaw"\n'
                   f'[calendar]\nprofile = "outlook"\nurl = "{server.root}/v1.0"\nname = "blocktime"\n')
    return Runner(cfg, capsys)
