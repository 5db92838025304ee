"""A loopback stand-in of the Microsoft identity platform (login.microsoftonline.com) for the real
`msal` library: OpenID discovery, the device-code endpoint and the token endpoint (device_code and
refresh_token grants), on https://127.0.0.1:PORT with a fresh self-signed certificate (MSAL accepts
only https authorities). Shapes and rules follow the documentation listed in tests/recorded/README.md.

Adversarial switches, the worst the documentation allows:
- `pending_polls = 1`: the token endpoint answers `authorization_pending` that many times before
  the user has "signed in" (a device-code sign-in never succeeds at the first poll);
- refresh tokens are rotated on every grant (a new one in every reply); the old ones stay valid,
  as documented, so only a client that keeps the newest one shows it;
- `revoke()`: every refresh token is revoked (the user or an admin revoked the sessions): the next
  refresh_token grant answers 400 `invalid_grant`.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from tests.backends.standin_http import Reply, Request, StandIn
from tests.mailserver import self_signed

TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"  # the tenant id of personal (consumer) accounts
USER_OID = "00000000-0000-0000-66f3-3332eca7ea81"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
RESERVED = {"openid", "profile", "offline_access"}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Identity:
    """The app behind `TLSStandIn`; `root` is set by the fixture (https://127.0.0.1:PORT)."""

    def __init__(self, client_id: str) -> None:
        self.root = ""
        self.client_id = client_id
        self.requests: list[Request] = []
        self.pending_polls = 1
        self.interval = 1  # seconds between polls (Microsoft says 5; 1 keeps the test short)
        self.lifetime = 3599
        self.issued = 0
        self.grants: list[str] = []  # grant_type of every token request
        self.refresh_tokens: list[str] = []  # every one issued, newest last
        self.valid: set[str] = set()
        self.devices: dict[str, list[Any]] = {}  # device_code -> [polls still pending, scope asked for]
        self.on_issue: Callable[[str], None] | None = None  # e.g. the Graph stand-in's valid tokens

    def revoke(self) -> None:
        """Every refresh token revoked ("revokeSignInSessions", a password reset...)."""
        self.valid.clear()

    # -- HTTP ------------------------------------------------------------------------------------

    def handle(self, req: Request) -> Reply:
        m = re.fullmatch(r"/([^/]+)/v2\.0/\.well-known/openid-configuration", req.path)
        if m and req.method == "GET":
            return self._json(200, self._discovery(m.group(1)))
        m = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/(devicecode|token)", req.path)
        if m and req.method == "POST":
            form = dict(parse_qsl(req.body.decode()))
            if form.get("client_id") != self.client_id:
                return self._error("unauthorized_client", 700016, "Application not found in the directory")
            return self._device_code(form) if m.group(2) == "devicecode" else self._token(m.group(1), form)
        return self._json(404, {"error": "not_found"})

    def _discovery(self, tenant: str) -> dict[str, Any]:
        base = f"{self.root}/{tenant}"
        issuer_tenant = "{tenantid}" if tenant in ("common", "organizations", "consumers") else tenant
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{self.root}/{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "preferred_username", "name", "tid",
                                 "ver", "oid"],
            "tenant_region_scope": None,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }

    def _device_code(self, form: dict[str, str]) -> Reply:
        self.issued += 1
        device = f"DAQABAAEAAAD--standin-device-{self.issued}"
        self.devices[device] = [self.pending_polls, form.get("scope", "")]
        user_code = f"STAND{self.issued:03d}"
        return self._json(200, {
            "user_code": user_code, "device_code": device,
            "verification_uri": "https://microsoft.com/devicelogin", "expires_in": 900, "interval": self.interval,
            "message": f"To sign in, use a web browser to open the page https://microsoft.com/devicelogin "
                       f"and enter the code {user_code} to authenticate.",
        })

    def _token(self, tenant: str, form: dict[str, str]) -> Reply:
        grant = form.get("grant_type", "")
        self.grants.append(grant)
        if grant == DEVICE_GRANT:
            device = form.get("device_code", "")
            if device not in self.devices:
                return self._error("expired_token", 70020, "The provided authorization code or refresh token has "
                                   "expired")
            pending, scope = self.devices[device]
            if pending > 0:
                self.devices[device][0] -= 1
                return self._error("authorization_pending", 70016, "The provided request has not yet been "
                                   "authorized by the user. The user must input their code.")
            del self.devices[device]  # a device code is good for one sign-in
            return self._issue(tenant, {**form, "scope": scope})
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.valid:
                return self._error("invalid_grant", 50173, "The provided grant has expired due to it being "
                                   "revoked, a fresh auth token is needed.")
            return self._issue(tenant, form)
        return self._error("unsupported_grant_type", 70003, "The app requested an unsupported grant type")

    def _issue(self, tenant: str, form: dict[str, str]) -> Reply:
        self.issued += 1
        now = int(time.time())
        tid = TENANT_ID if tenant in ("common", "consumers", "organizations") else tenant
        access, refresh = f"eyJ0eXAi.standin-access-{self.issued}", f"0.AX0A-standin-refresh-{self.issued}"
        self.refresh_tokens.append(refresh)
        self.valid.add(refresh)  # the old ones are not revoked by a refresh (the documentation)
        if self.on_issue:
            self.on_issue(access)
        claims = {"aud": self.client_id, "iss": f"{self.root}/{tid}/v2.0", "iat": now, "nbf": now,
                  "exp": now + 3600, "name": "Anna Nowak", "preferred_username": "anna@example.com",
                  "oid": USER_OID, "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "tid": tid, "ver": "2.0"}
        header = {"typ": "JWT", "alg": "RS256", "kid": "standin"}
        id_token = ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()),
                             _b64(b"not-a-signature")])  # MSAL does not check the signature of a token it asked for
        scopes = [s for s in form.get("scope", "").split() if s not in RESERVED]  # what was granted
        body: dict[str, Any] = {
            "token_type": "Bearer", "scope": " ".join(scopes), "expires_in": self.lifetime,
            "ext_expires_in": self.lifetime, "access_token": access, "refresh_token": refresh, "id_token": id_token,
        }
        if form.get("client_info") == "1":  # MSAL asks for it; it names the account (uid.utid)
            body["client_info"] = _b64(json.dumps({"uid": USER_OID, "utid": tid}).encode())
        return self._json(200, body)

    def _error(self, error: str, code: int, text: str) -> Reply:
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        return self._json(400, {
            "error": error,
            "error_description": f"AADSTS{code}: {text}\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\r\n"
                                 f"Correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: {stamp}",
            "error_codes": [code], "timestamp": stamp,
            "trace_id": "0000aaaa-11bb-cccc-dd22-eeeeee333333",
            "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd",
        })

    @staticmethod
    def _json(status: int, doc: dict[str, Any]) -> Reply:
        return Reply(status, json.dumps(doc).encode(), {"Content-Type": "application/json; charset=utf-8"})


class TLSStandIn(StandIn):
    """`StandIn` on https (a fresh certificate for 127.0.0.1); trust `cert_file` to talk to it."""

    def __init__(self, app: Any, folder: Path) -> None:
        super().__init__(app)
        ctx, self.cert_file = self_signed(folder)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.root = f"https://127.0.0.1:{self.port}"
