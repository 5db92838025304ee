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


class FakeCache:
    """msal.SerializableTokenCache as documented: deserialize, serialize, has_state_changed."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {}
        self.has_state_changed = False

    def deserialize(self, text: str) -> None:
        self.state = json.loads(text)

    def serialize(self) -> str:
        return json.dumps(self.state)


def _fake_msal(monkeypatch: pytest.MonkeyPatch, seen: dict[str, Any], silent: dict[str, Any] | None = None) -> None:
    class App:
        def __init__(self, client_id: str, authority: str, token_cache: FakeCache) -> None:
            seen.update(client_id=client_id, authority=authority)
            self.cache = token_cache

        def initiate_device_flow(self, scopes: list[str]) -> dict[str, Any]:
            seen["scopes"] = scopes
            return {"user_code": "ABCD-EFGH", "message": "To sign in, visit https://microsoft.com/devicelogin"}

        def acquire_token_by_device_flow(self, flow: dict[str, Any]) -> dict[str, Any]:
            self.cache.state = {"RefreshToken": {"rt": "0.AX0A"}, "Account": {"a": "anna"}}
            return {"access_token": "eyJ.fresh", "refresh_token": "0.AX0A", "expires_in": 3599}

        def get_accounts(self) -> list[dict[str, str]]:
            return [{"username": v} for v in self.cache.state.get("Account", {}).values()]

        def acquire_token_silent_with_error(self, scopes: list[str], account: Any,
                                            force_refresh: bool = False) -> dict[str, Any] | None:
            seen.setdefault("silent", []).append((scopes, account, force_refresh))
            if silent is None or "error" in silent:
                return silent
            self.cache.state["RefreshToken"] = {"rt": "0.AX0A-rotated"}
            self.cache.has_state_changed = True
            return silent

    fake = types.ModuleType("msal")
    fake.PublicClientApplication = App  # type: ignore[attr-defined]
    fake.SerializableTokenCache = FakeCache  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "msal", fake)


def test_auth_outlook_device_code_keeps_msals_cache(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    seen: dict[str, Any] = {}
    _fake_msal(monkeypatch, seen)
    cfg = write_config(tmp_path / "c.toml", None, calendar={"provider": "outlook", "client_id": "app-123",
                                                          "tenant": "consumers"})
    assert main(["--config", str(cfg), "auth", "outlook"]) == 0
    out = capsys.readouterr().out
    assert "devicelogin" in out and "signed in to outlook" in out
    assert seen == {"client_id": "app-123", "authority": "https://login.microsoftonline.com/consumers",
                    "scopes": ["https://graph.microsoft.com/Calendars.ReadWrite"]}  # msal adds offline_access
    token = TokenStore(data_dir, "outlook").load()
    assert token is not None and token.refresh_token is None  # MSAL keeps it, in its cache
    assert token.msal_cache is not None and "0.AX0A" in token.msal_cache and "0.AX0A" not in repr(token)
    assert token.token_uri == "https://login.microsoftonline.com/consumers/oauth2/v2.0/token"
    assert "offline_access" in token.scopes


def test_a_microsoft_token_is_renewed_by_msal_acquire_token_silent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blocktime.auth import BearerAuth

    seen: dict[str, Any] = {}
    _fake_msal(monkeypatch, seen, {"access_token": "eyJ.silent", "expires_in": 3599})
    store = TokenStore(tmp_path, "outlook")
    cache = json.dumps({"RefreshToken": {"rt": "0.AX0A"}, "Account": {"a": "anna"}})
    store.save(Token("eyJ.old", None, 0.0, "https://login.microsoftonline.com/consumers/oauth2/v2.0/token",
                     "app-123", None, ("https://graph.microsoft.com/Calendars.ReadWrite", "offline_access"),
                     msal_cache=cache))
    assert BearerAuth(store).token() == "eyJ.silent"
    assert seen["silent"] == [(["https://graph.microsoft.com/Calendars.ReadWrite"], {"username": "anna"}, False)]
    saved = store.load()
    assert saved is not None and saved.msal_cache is not None and "0.AX0A-rotated" in saved.msal_cache


def test_msal_refusing_the_silent_renewal_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blocktime.auth import BearerAuth
    from blocktime.errors import ServerError

    _fake_msal(monkeypatch, {}, {"error": "invalid_grant", "error_description": "AADSTS70008: expired"})
    store = TokenStore(tmp_path, "outlook")
    store.save(Token("eyJ.old", None, 0.0, "https://login.microsoftonline.com/common/oauth2/v2.0/token", "app-123",
                     None, ("https://graph.microsoft.com/Calendars.ReadWrite",),
                     msal_cache=json.dumps({"Account": {"a": "anna"}})))
    with pytest.raises(ServerError) as info:
        BearerAuth(store).token()
    assert "invalid_grant" in info.value.message and "blocktime auth outlook" in (info.value.hint or "")


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
