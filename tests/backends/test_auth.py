"""`blocktime auth google|outlook` with the optional libraries replaced by fakes (no network), and
where tokens are kept."""

from __future__ import annotations

import json
import stat
import sys
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from blocktime.auth import Token, TokenStore
from blocktime.cli import main
from blocktime.errors import BadInput
from tests.conftest import write_config
from tests.test_cli import one_error_line


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


def test_auth_outlook_device_code(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    seen: dict[str, Any] = {}

    class App:
        def __init__(self, client_id: str, authority: str) -> None:
            seen.update(client_id=client_id, authority=authority)

        def initiate_device_flow(self, scopes: list[str]) -> dict[str, Any]:
            seen["scopes"] = scopes
            return {"user_code": "ABCD-EFGH", "message": "To sign in, visit https://microsoft.com/devicelogin"}

        def acquire_token_by_device_flow(self, flow: dict[str, Any]) -> dict[str, Any]:
            return {"access_token": "eyJ.fresh", "refresh_token": "0.AX0A", "expires_in": 3599}

    fake = types.ModuleType("msal")
    fake.PublicClientApplication = App  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "msal", fake)
    cfg = write_config(tmp_path / "c.toml", None, calendar={"provider": "outlook", "client_id": "app-123",
                                                          "tenant": "consumers"})
    assert main(["--config", str(cfg), "auth", "outlook"]) == 0
    out = capsys.readouterr().out
    assert "devicelogin" in out and "signed in to outlook" in out
    assert seen == {"client_id": "app-123", "authority": "https://login.microsoftonline.com/consumers",
                    "scopes": ["https://graph.microsoft.com/Calendars.ReadWrite"]}  # msal adds offline_access
    token = TokenStore(data_dir, "outlook").load()
    assert token is not None and token.refresh_token == "0.AX0A"
    assert token.token_uri == "https://login.microsoftonline.com/consumers/oauth2/v2.0/token"
    assert "offline_access" in token.scopes


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
    with pytest.raises(BadInput, match="needs the keyring package"):
        TokenStore(tmp_path, "google", "keyring").load()


def test_a_damaged_token_file_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "tokens").mkdir()
    (tmp_path / "tokens" / "outlook.json").write_text("{not json")
    with pytest.raises(BadInput, match="damaged"):
        TokenStore(tmp_path, "outlook").load()
