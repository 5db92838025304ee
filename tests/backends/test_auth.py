"""`blocktime auth google|outlook` and where tokens are kept. Google's library is replaced by a fake;
Microsoft's sign-in runs the real msal against a loopback stand-in of the identity platform
(tests/backends/standin_identity.py, reached through the `TEST_LOGIN_ENV` test hook)."""

from __future__ import annotations

import json
import stat
import sys
import time
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from blocktime.cli import main
from blocktime.config.auth import TEST_LOGIN_ENV, Token, TokenStore, microsoft_login
from blocktime.errors import BadInput
from tests.backends.standin_graph import Graph
from tests.backends.standin_http import StandIn
from tests.backends.standin_identity import DEVICE_GRANT, Identity, TLSStandIn
from tests.cli.test_cli import one_error_line
from tests.conftest import Runner, write_config


class FakeCredentials:
    token = "ya29.fresh"
    refresh_token = "1//refresh"
    token_uri = "https://oauth2.googleapis.com/token"
    client_id = "123.apps.googleusercontent.com"
    client_secret = "shh"
    scopes = ("https://www.googleapis.com/auth/calendar",)
    expiry = datetime(2030, 1, 1, 12, 0)


def _fake_google(monkeypatch: pytest.MonkeyPatch, seen: dict[str, Any]) -> None:
    class Flow:
        @classmethod
        def from_client_secrets_file(cls, path: str, scopes: list[str]) -> Flow:
            seen.update(path=path, scopes=scopes)
            return cls()

        def run_local_server(self, port: int, open_browser: bool, **params: str) -> FakeCredentials:
            seen.update(port=port, open_browser=open_browser, **params)
            return FakeCredentials()

    package = types.ModuleType("google_auth_oauthlib")
    flow = types.ModuleType("google_auth_oauthlib.flow")
    flow.InstalledAppFlow = Flow  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google_auth_oauthlib", package)
    monkeypatch.setitem(sys.modules, "google_auth_oauthlib.flow", flow)


def test_auth_google_stores_the_grant_0600(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    seen: dict[str, Any] = {}
    _fake_google(monkeypatch, seen)
    secrets = tmp_path / "client_secret.json"
    secrets.write_text("{}")
    cfg = write_config(tmp_path / "c.toml", None)
    assert main(["--config", str(cfg), "auth", "google", "--client-secrets", str(secrets), "--no-browser"]) == 0
    assert seen == {"path": str(secrets), "scopes": ["https://www.googleapis.com/auth/calendar"], "port": 0,
                    "open_browser": False, "prompt": "consent", "access_type": "offline"}  # a refresh token every time
    stored = data_dir / "tokens" / "google.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    doc = json.loads(stored.read_text())
    assert doc["refresh_token"] == "1//refresh" and doc["client_secret"] == "shh"
    assert doc["expires_at"] == datetime(2030, 1, 1, 12, 0, tzinfo=UTC).timestamp()  # Google's expiry is naive UTC
    assert "signed in to google" in capsys.readouterr().out
    assert "ya29" not in repr(TokenStore(data_dir, "google").load())  # secrets never in repr


def test_auth_google_needs_the_extra_and_the_secrets_file(tmp_path: Path, data_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path / "c.toml", None)
    assert main(["--config", str(cfg), "auth", "google"]) == 2
    assert "--client-secrets FILE is required" in one_error_line(capsys.readouterr().err)
    monkeypatch.setitem(sys.modules, "google_auth_oauthlib", None)  # not installed
    monkeypatch.setitem(sys.modules, "google_auth_oauthlib.flow", None)
    assert main(["--config", str(cfg), "auth", "google", "--client-secrets", "x.json"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "needs the optional google_auth_oauthlib package" in line and "blocktime[google]" in line
    _fake_google(monkeypatch, {})
    assert main(["--config", str(cfg), "auth", "google", "--client-secrets", str(tmp_path / "none.json")]) == 2
    assert "no client secrets file" in one_error_line(capsys.readouterr().err)


CLIENT_ID = "11111111-2222-3333-4444-555555555555"
BOOK_ONE = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
            "--start", "2026-03-24 12:00", "--length", "1h")


@pytest.fixture
def identity(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Identity, StandIn]]:
    """The real msal against a loopback Microsoft identity platform, reached through the test hook."""
    app = Identity(CLIENT_ID)
    (tmp_path / "tls").mkdir()
    with TLSStandIn(app, tmp_path / "tls") as server:
        app.root = server.root
        monkeypatch.setenv(TEST_LOGIN_ENV, server.root)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.cert_file))  # msal talks through requests
        yield app, server


@pytest.fixture
def outlook_cli(identity: tuple[Identity, StandIn], graph_standin: tuple[Graph, StandIn], tmp_path: Path,
                capsys: pytest.CaptureFixture[str]) -> Runner:
    """Outlook through the Graph stand-in, which takes the access tokens the identity stand-in issues."""
    app, _server = identity
    graph, graph_server = graph_standin
    graph.throttle_every = 0  # throttling has its own tests (test_graph.py)
    app.on_issue = graph.valid_tokens.add
    cfg = write_config(tmp_path / "c.toml", None, calendar={"provider": "outlook", "url": f"{graph_server.root}/v1.0",
                                                          "client_id": CLIENT_ID, "tenant": "consumers"})
    return Runner(cfg, capsys)


def _later(monkeypatch: pytest.MonkeyPatch, hours: float) -> None:
    """The clock of this process (blocktime's and msal's) moves on by `hours`."""
    now = time.time
    monkeypatch.setattr(time, "time", lambda: now() + hours * 3600)


def _refresh_tokens(token: Token | None) -> list[str]:
    assert token is not None and token.msal_cache is not None
    return [str(e["secret"]) for e in json.loads(token.msal_cache).get("RefreshToken", {}).values()]


@pytest.mark.standin
def test_auth_outlook_signs_in_by_device_code_with_msal_and_keeps_its_cache(
    identity: tuple[Identity, StandIn], data_dir: Path, outlook_cli: Runner
) -> None:
    app, server = identity
    code, out, err = outlook_cli("--debug", "auth", "outlook", now=None)  # msal's and urllib3's debug log too
    assert code == 0, err
    assert "blocktime: DEBUG: " in err
    assert "microsoft.com/devicelogin" in out and "STAND001" in out and "signed in to outlook" in out
    assert [(r.method, r.path) for r in app.requests] == [
        ("GET", "/consumers/v2.0/.well-known/openid-configuration"),  # no instance discovery at Microsoft
        ("POST", "/consumers/oauth2/v2.0/devicecode"),
        ("POST", "/consumers/oauth2/v2.0/token"),  # authorization_pending: the user has not signed in yet
        ("POST", "/consumers/oauth2/v2.0/token"),
    ]
    asked = dict(parse_qsl(app.requests[1].body.decode()))["scope"].split()
    assert {"https://graph.microsoft.com/Calendars.ReadWrite", "offline_access"} <= set(asked)  # msal adds the rest
    assert app.grants == [DEVICE_GRANT, DEVICE_GRANT]
    stored = data_dir / "tokens" / "outlook.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    token = TokenStore(data_dir, "outlook").load()
    (secret,) = app.refresh_tokens
    assert _refresh_tokens(token) == [secret]  # MSAL's serialized cache holds it ...
    assert token is not None and token.refresh_token is None  # ... and blocktime keeps no copy of its own
    assert token.token_uri == f"{server.root}/consumers/oauth2/v2.0/token" and token.client_id == CLIENT_ID
    assert secret not in repr(token) and secret not in out + err


@pytest.mark.standin
def test_a_later_command_renews_through_acquire_token_silent_and_keeps_the_rotated_refresh_token(
    identity: tuple[Identity, StandIn], graph_standin: tuple[Graph, StandIn], outlook_cli: Runner, data_dir: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _server = identity
    graph, _graph_server = graph_standin
    assert outlook_cli("auth", "outlook", now=None)[0] == 0
    first = app.refresh_tokens[-1]
    app.grants.clear()
    assert outlook_cli(*BOOK_ONE)[0] == 0  # within the hour the stored access token serves: no grant
    assert app.grants == []
    _later(monkeypatch, 2)  # the access token has run out
    code, out, err = outlook_cli("--debug", *BOOK_ONE)
    assert code == 0, err
    assert "blocktime: DEBUG: " in err
    assert app.grants == ["refresh_token"]  # once for the whole command
    refresh = [dict(parse_qsl(r.body.decode())) for r in app.requests if r.path.endswith("/token")][-1]
    assert refresh["refresh_token"] == first and refresh["client_id"] == CLIENT_ID
    rotated = app.refresh_tokens[-1]
    assert rotated != first and _refresh_tokens(TokenStore(data_dir, "outlook").load()) == [rotated]
    assert graph.requests[-1].header("Authorization") == f"Bearer eyJ0eXAi.standin-access-{app.issued}"
    assert rotated not in out + err and first not in out + err
    _later(monkeypatch, 4)  # the next renewal trades the rotated one, read back from the store
    assert outlook_cli(*BOOK_ONE)[0] == 0
    last = [dict(parse_qsl(r.body.decode())) for r in app.requests if r.path.endswith("/token")][-1]
    assert last["refresh_token"] == rotated and app.grants == ["refresh_token", "refresh_token"]


@pytest.mark.standin
def test_a_revoked_refresh_token_is_one_line_asking_to_sign_in_again(
    identity: tuple[Identity, StandIn], outlook_cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _server = identity
    assert outlook_cli("auth", "outlook", now=None)[0] == 0
    app.revoke()
    _later(monkeypatch, 2)
    code, _out, err = outlook_cli(*BOOK_ONE)
    assert code == 1
    line = one_error_line(err)
    assert "Microsoft no longer accepts this sign-in (invalid_grant)" in line and "blocktime auth outlook" in line
    assert app.grants[-1] == "refresh_token" and app.refresh_tokens[-1] not in line


@pytest.mark.standin
def test_an_unreachable_sign_in_server_is_one_line(
    identity: tuple[Identity, StandIn], outlook_cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    _app, server = identity
    assert outlook_cli("auth", "outlook", now=None)[0] == 0
    server.stop()
    _later(monkeypatch, 2)
    code, _out, err = outlook_cli(*BOOK_ONE)
    assert code == 1
    *_retries, last = err.strip().splitlines()  # urllib3 (inside msal) warns about its retry first
    assert last.startswith("blocktime: error: cannot reach the Microsoft sign-in server") and "Traceback" not in err


def test_the_sign_in_goes_to_microsoft_unless_the_test_hook_names_loopback(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(TEST_LOGIN_ENV, raising=False)
    assert microsoft_login() == "https://login.microsoftonline.com"
    monkeypatch.setenv(TEST_LOGIN_ENV, "https://login.example.net")  # never anywhere else
    cfg = write_config(tmp_path / "c.toml", None, calendar={"provider": "outlook", "client_id": CLIENT_ID})
    assert main(["--config", str(cfg), "auth", "outlook"]) == 2
    assert TEST_LOGIN_ENV in one_error_line(capsys.readouterr().err)
    monkeypatch.setenv(TEST_LOGIN_ENV, "http://127.0.0.1:1")
    with pytest.raises(BadInput):
        microsoft_login()


def test_auth_outlook_needs_a_client_id(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path / "c.toml", None, calendar={"provider": "outlook"})
    assert main(["--config", str(cfg), "auth", "outlook"]) == 2
    assert "client_id is not set" in one_error_line(capsys.readouterr().err)


def test_the_keyring_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault: dict[tuple[str, str], str] = {}
    fake = types.ModuleType("keyring")
    fake.get_password = lambda service, user: vault.get((service, user))  # type: ignore[attr-defined]
    fake.set_password = lambda service, user, secret: vault.__setitem__((service, user), secret)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    store = TokenStore(tmp_path, "google", "keyring")
    assert store.load() is None
    store.save(Token("a", "r", None, "https://t.example/token", "c"))
    assert ("blocktime", "google") in vault and not (tmp_path / "tokens").exists()
    loaded = store.load()
    assert loaded is not None and loaded.refresh_token == "r"
    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(BadInput, match=r"needs the optional keyring package \(pip install .blocktime\[keyring\].\)"):
        TokenStore(tmp_path, "google", "keyring").load()


def test_a_damaged_token_file_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "tokens").mkdir()
    (tmp_path / "tokens" / "outlook.json").write_text("{not json")
    with pytest.raises(BadInput, match="damaged"):
        TokenStore(tmp_path, "outlook").load()
