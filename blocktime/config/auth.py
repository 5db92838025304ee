"""OAuth2 tokens for Google (CalDAV) and Microsoft Graph: kept 0600 under the data dir (or in the
system keyring), refreshed shortly before they expire (RFC 6749 §6), sent as Bearer (RFC 6750).

The interactive sign-ins (`blocktime auth google|outlook`) live in `auth_flows`. A Microsoft
sign-in keeps MSAL's serialized token cache, and is renewed by MSAL itself
(`acquire_token_silent`, https://learn.microsoft.com/entra/msal/python/getting-started/acquiring-tokens):
MSAL holds the refresh token. Google's grant (and a Microsoft one stored before MSAL's cache was
kept) is renewed here by the refresh grant of RFC 6749 §6.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from blocktime.errors import BadInput, ServerError, optional

#: refresh this many seconds before the access token runs out
LEEWAY = 120
KEYRING_SERVICE = "blocktime"
LABELS = {"google": "Google", "outlook": "Microsoft"}
SIGN_IN = {"google": "blocktime auth google --client-secrets client_secret.json", "outlook": "blocktime auth outlook"}
MICROSOFT_LOGIN = "https://login.microsoftonline.com"
#: test hook only: a loopback stand-in of the Microsoft identity platform (tests/backends/standin_identity.py)
TEST_LOGIN_ENV = "BLOCKTIME_TEST_MICROSOFT_LOGIN"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True, slots=True)
class Token:
    """One account's OAuth2 grant; secrets never appear in repr."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float | None
    token_uri: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = ()
    msal_cache: str | None = field(default=None, repr=False)  # MSAL's SerializableTokenCache

    def to_json(self) -> str:
        from dataclasses import asdict

        doc = asdict(self)
        doc["scopes"] = list(self.scopes)
        return json.dumps(doc, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Token:
        doc = json.loads(text)
        return cls(
            access_token=str(doc["access_token"]),
            refresh_token=doc.get("refresh_token"),
            expires_at=float(doc["expires_at"]) if doc.get("expires_at") is not None else None,
            token_uri=str(doc["token_uri"]),
            client_id=str(doc["client_id"]),
            client_secret=doc.get("client_secret"),
            scopes=tuple(doc.get("scopes") or ()),
            msal_cache=doc.get("msal_cache"),
        )


def _write_private(path: Path, text: str) -> None:
    path.parent.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the data dir
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class TokenStore:
    """Where one provider's token lives: `<data dir>/tokens/<provider>.json` (0600) or the keyring.
    A team's trainer has `kind` "keyring:<trainer>" (see blocktime.team.trainers): their own keyring entry."""

    def __init__(self, data_dir: Path, provider: str, kind: str = "file") -> None:
        kind, _, trainer = kind.partition(":")
        self.provider = provider
        self.kind = kind
        self.account = f"{provider}:{trainer}" if trainer else provider  # the keyring entry's name
        self.path = data_dir / "tokens" / f"{provider}.json"

    def _keyring(self) -> Any:
        return optional("keyring", 'token_store = "keyring"')

    @property
    def where(self) -> str:
        return f"the system keyring ({KEYRING_SERVICE}/{self.account})" if self.kind == "keyring" else str(self.path)

    def load(self) -> Token | None:
        try:
            if self.kind == "keyring":
                text = self._keyring().get_password(KEYRING_SERVICE, self.account)
                return Token.from_json(text) if text else None
            return Token.from_json(self.path.read_text()) if self.path.exists() else None
        except (ValueError, KeyError, TypeError):
            raise BadInput(f"the stored {LABELS[self.provider]} sign-in at {self.where} is damaged",
                           f"run `blocktime auth {self.provider}` again") from None

    def save(self, token: Token) -> None:
        if self.kind == "keyring":
            self._keyring().set_password(KEYRING_SERVICE, self.account, token.to_json())
        else:
            _write_private(self.path, token.to_json())


def _refused(provider: str, reason: str) -> ServerError:
    """One line for a renewal the provider refused; `invalid_grant` says why and what to do."""
    label = LABELS[provider]
    if reason == "invalid_grant":
        return ServerError(f"{label} no longer accepts this sign-in (invalid_grant): it was revoked, or it expired"
                           + (" (an app whose OAuth consent screen is in Testing gets sign-ins that last 7 days)"
                              if provider == "google" else ""),
                           f"run `{SIGN_IN[provider]}` again"
                           + ("; publish the consent screen to stop this (docs/providers.md)"
                              if provider == "google" else ""))
    return ServerError(f"{label} refused to renew the sign-in ({reason})", f"run `{SIGN_IN[provider]}` again")


def microsoft_login() -> str:
    """Where Microsoft sign-ins go: login.microsoftonline.com. The test hook `TEST_LOGIN_ENV` may
    replace it with an https URL on loopback and nothing else, so it cannot send a sign-in away."""
    hook = os.environ.get(TEST_LOGIN_ENV)
    if not hook:
        return MICROSOFT_LOGIN
    if urlsplit(hook).scheme != "https" or urlsplit(hook).hostname not in _LOOPBACK:
        raise BadInput(f"{TEST_LOGIN_ENV} may only name a test stand-in on https://127.0.0.1, not {hook}",
                       f"unset {TEST_LOGIN_ENV}")
    return hook.rstrip("/")


def msal_app(msal: Any, client_id: str, authority: str, cache: Any) -> Any:
    """MSAL's public client for `authority`. A loopback authority (the test hook) is no Microsoft
    instance: MSAL's instance discovery, which asks login.microsoftonline.com about it, is off there."""
    local = {"instance_discovery": False} if urlsplit(authority).hostname in _LOOPBACK else {}
    return msal.PublicClientApplication(client_id, authority=authority, token_cache=cache, **local)


def msal_refresh(token: Token, *, force: bool = False, scopes: tuple[str, ...] = ()) -> Token:
    """A fresh Microsoft access token from MSAL's cache: `acquire_token_silent` for the signed-in
    account (MSAL renews with the refresh token it keeps, and rotates it in its cache). `scopes`:
    a token for those instead of the sign-in's own (another resource, e.g. SMTP.Send)."""
    msal = optional("msal", "renewing the Microsoft sign-in")
    cache = msal.SerializableTokenCache()
    cache.deserialize(token.msal_cache or "{}")
    authority = token.token_uri.removesuffix("/oauth2/v2.0/token")
    wanted = [s for s in (scopes or token.scopes) if s not in ("offline_access", "openid", "profile")]
    try:
        app = msal_app(msal, token.client_id, authority, cache)
        accounts = app.get_accounts()
        result = (app.acquire_token_silent_with_error(wanted, account=accounts[0], force_refresh=force)
                  if accounts else None)
    except OSError as exc:  # msal talks through requests, whose errors are OSErrors
        raise ServerError(f"cannot reach the Microsoft sign-in server ({type(exc).__name__})",
                          "check the network") from None
    if not result or "access_token" not in result:
        raise _refused("outlook", str((result or {}).get("error") or "invalid_grant"))
    return replace(
        token,
        access_token=str(result["access_token"]),
        expires_at=time.time() + float(result.get("expires_in", 3600)),
        msal_cache=cache.serialize() if cache.has_state_changed else token.msal_cache,
    )


def refresh(token: Token, provider: str, *, timeout: float = 30, force: bool = False) -> Token:
    """A new access token: through MSAL where its cache is kept, otherwise by trading the refresh
    token (RFC 6749 §6) and keeping a rotated one."""
    import niquests

    if token.msal_cache:
        return msal_refresh(token, force=force)
    label = LABELS[provider]
    if not token.refresh_token:
        raise ServerError(f"the {label} sign-in has expired and cannot be renewed",
                          f"run `blocktime auth {provider}` again")
    form = {"grant_type": "refresh_token", "refresh_token": token.refresh_token, "client_id": token.client_id}
    if token.client_secret:
        form["client_secret"] = token.client_secret
    if token.scopes:
        form["scope"] = " ".join(token.scopes)
    try:
        r = niquests.post(token.token_uri, data=form, timeout=timeout)
    except Exception as exc:
        raise ServerError(f"cannot reach the {label} sign-in server ({type(exc).__name__})",
                          "check the network") from None
    try:
        doc = r.json() if r.content else {}
    except ValueError:
        doc = {}
    if r.status_code != 200 or not isinstance(doc, dict) or "access_token" not in doc:
        reason = doc.get("error", f"HTTP {r.status_code}") if isinstance(doc, dict) else f"HTTP {r.status_code}"
        raise _refused(provider, str(reason))
    expires = doc.get("expires_in")
    return replace(
        token,
        access_token=str(doc["access_token"]),
        refresh_token=str(doc.get("refresh_token") or token.refresh_token),
        expires_at=time.time() + float(expires) if expires is not None else None,
    )


class BearerAuth:
    """An auth hook for niquests/requests (and so caldav): `Authorization: Bearer <fresh token>`."""

    def __init__(self, store: TokenStore, clock: Callable[[], float] | None = None, *,
                 scopes: tuple[str, ...] = ()) -> None:
        self.store = store
        self.clock = clock or (lambda: time.time())  # read when called: the same clock as MSAL's
        self.scopes = scopes  # a token for these (Microsoft: another resource), kept in memory only
        self._token: Token | None = None
        self._other: Token | None = None
        self._lock = threading.Lock()  # bookings write from a few threads: refresh once, not per thread

    def token(self, force_refresh: bool = False) -> str:
        with self._lock:
            if self.scopes:
                return self._for_scopes(force_refresh)
            return self._fresh(force_refresh)

    def _for_scopes(self, force_refresh: bool) -> str:
        """A token for `scopes` from the sign-in's MSAL cache; the stored sign-in keeps its own access
        token and takes only the rotated cache."""
        self._fresh(False)  # loaded (or "not signed in"), the sign-in's own token fresh
        t = self._other
        if force_refresh or t is None or (t.expires_at is not None and t.expires_at - LEEWAY <= self.clock()):
            assert self._token is not None
            if not self._token.msal_cache:
                raise BadInput(f"the {LABELS[self.store.provider]} sign-in cannot give a token for "
                               f"{', '.join(self.scopes)}", f"run `blocktime auth {self.store.provider}` again")
            t = msal_refresh(self._token, force=force_refresh, scopes=self.scopes)
            if t.msal_cache != self._token.msal_cache:
                self._token = replace(self._token, msal_cache=t.msal_cache)
                self.store.save(self._token)
            self._other = t
        return t.access_token

    def _fresh(self, force_refresh: bool) -> str:
        if self._token is None:
            self._token = self.store.load()
            if self._token is None:
                p = self.store.provider
                cmd = f"blocktime auth {p}" + (" --client-secrets client_secret.json" if p == "google" else "")
                raise BadInput(f"not signed in to {LABELS[p]} (no token at {self.store.where})", f"run `{cmd}` once")
        t = self._token
        if force_refresh or (t.expires_at is not None and t.expires_at - LEEWAY <= self.clock()):
            t = refresh(t, self.store.provider, force=force_refresh)
            self.store.save(t)
            self._token = t
        return t.access_token

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request
