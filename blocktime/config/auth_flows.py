"""The one-time sign-ins: `blocktime auth google` (installed-app flow, google-auth-oauthlib) and
`blocktime auth outlook` (device code, msal). Both are optional extras; the token they produce is
stored by `auth.TokenStore` and refreshed by `auth.BearerAuth` later on (Microsoft's through MSAL's
own token cache and `acquire_token_silent`, as MSAL's documentation asks).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from blocktime.config.auth import Token, TokenStore, microsoft_login, msal_app
from blocktime.errors import BadInput, ServerError, optional

GOOGLE_SCOPE = "https://www.googleapis.com/auth/calendar"
GRAPH_SCOPE = "https://graph.microsoft.com/Calendars.ReadWrite"
MAIL_SCOPES = {"google": "https://mail.google.com/",  # IMAP with XOAUTH2 ([inbox] auth = "google")
               "outlook": "https://graph.microsoft.com/Mail.ReadWrite"}  # Graph mail ([inbox] auth = "outlook")
SEND_SCOPES = {"google": "https://mail.google.com/",  # SMTP with XOAUTH2 ([smtp] auth = "google")
               "outlook": "https://graph.microsoft.com/Mail.Send"}  # Graph sendMail ([mail] transport = "graph")


def mail_scopes(config: Any, provider: str) -> tuple[str, ...]:
    """The mail scopes a sign-in asks for beside the calendar's: reading the inbox, sending. (SMTP
    XOAUTH2 at Exchange Online is another resource: its token comes silently from the same sign-in.)"""
    wanted = []
    if config.inbox is not None and config.inbox.auth == provider:
        wanted.append(MAIL_SCOPES[provider])
    if provider == "google" and config.smtp is not None and config.smtp.auth == "google":
        wanted.append(SEND_SCOPES["google"])
    if provider == "outlook" and config.transport == "graph":
        wanted.append(SEND_SCOPES["outlook"])
    return tuple(dict.fromkeys(wanted))


def _extra(module: str, extra: str) -> Any:
    return optional(module, f"`blocktime auth {extra}`")


def google(client_secrets: Path, store: TokenStore, *, open_browser: bool = True,
           extra_scopes: tuple[str, ...] = ()) -> Token:
    """Google's installed-app flow on a loopback redirect (scope: calendar, and mail when the inbox
    is read through Gmail), then store the grant."""
    flow_module = _extra("google_auth_oauthlib.flow", "google")
    if not client_secrets.is_file():
        raise BadInput(f"no client secrets file at {client_secrets}",
                       "download it from the Google Cloud console (OAuth client of type Desktop app)")
    try:
        flow = flow_module.InstalledAppFlow.from_client_secrets_file(str(client_secrets),
                                                                 scopes=[GOOGLE_SCOPE, *extra_scopes])
    except ValueError as exc:
        raise BadInput(f"{client_secrets} is not a Google client secrets file ({exc})") from None
    # prompt=consent: without it a second sign-in may come back without a refresh token;
    # access_type=offline asks for one (Google's "OAuth 2.0 for installed apps")
    creds = flow.run_local_server(port=0, open_browser=open_browser, prompt="consent", access_type="offline")
    if not creds.refresh_token:
        raise ServerError("Google gave no refresh token, so the sign-in would stop working within the hour",
                          "remove blocktime at myaccount.google.com/permissions, then sign in again")
    expiry = creds.expiry.replace(tzinfo=UTC).timestamp() if creds.expiry else None
    token = Token(
        access_token=creds.token, refresh_token=creds.refresh_token, expires_at=expiry,
        token_uri=creds.token_uri, client_id=creds.client_id, client_secret=creds.client_secret,
        scopes=tuple(creds.scopes or (GOOGLE_SCOPE, *extra_scopes)),
    )
    store.save(token)
    return token


def outlook(client_id: str | None, tenant: str, store: TokenStore, echo: Callable[[str], None],
            *, authority_host: str | None = None, extra_scopes: tuple[str, ...] = ()) -> Token:
    """Microsoft's device-code flow (Calendars.ReadWrite; msal adds offline_access), then store it.
    `authority_host` defaults to login.microsoftonline.com (`auth.microsoft_login`)."""
    if not client_id:
        raise BadInput("[calendar] client_id is not set",
                       "register an app in Microsoft Entra and put its Application (client) ID there")
    msal = _extra("msal", "outlook")
    authority = f"{(authority_host or microsoft_login()).rstrip('/')}/{tenant}"
    cache = msal.SerializableTokenCache()  # MSAL keeps the refresh token; blocktime stores the cache
    app = msal_app(msal, client_id, authority, cache)
    flow = app.initiate_device_flow(scopes=[GRAPH_SCOPE, *extra_scopes])
    if "user_code" not in flow:
        reason = flow.get("error_description") or flow.get("error")
        raise ServerError(f"Microsoft refused to start the sign-in: {reason}",
                          "check [calendar] client_id and tenant, and 'Allow public client flows'")
    echo(str(flow["message"]))
    result = app.acquire_token_by_device_flow(flow)
    if "access_token" not in result:
        reason = result.get("error_description") or result.get("error")
        raise ServerError(f"the Microsoft sign-in did not finish: {reason}")
    if not result.get("refresh_token"):
        raise ServerError("Microsoft gave no refresh token", "is offline_access allowed for the app?")
    token = Token(  # later tokens come from MSAL's cache through acquire_token_silent (auth.refresh)
        access_token=str(result["access_token"]), refresh_token=None,
        expires_at=time.time() + float(result.get("expires_in", 3600)),
        token_uri=f"{authority}/oauth2/v2.0/token", client_id=client_id, client_secret=None,
        scopes=(GRAPH_SCOPE, *extra_scopes, "offline_access"), msal_cache=cache.serialize(),
    )
    store.save(token)
    return token
