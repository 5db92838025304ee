"""Which way mail goes out: SMTP (`[smtp]`, with a password or XOAUTH2 on the Google or Outlook
sign-in: `[smtp] auth`), or Microsoft Graph sendMail (`[mail] transport = "graph"`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from blocktime.config.schema import Config

#: the scope of SMTP AUTH XOAUTH2 at Exchange Online (another resource than Graph: asked for silently)
OUTLOOK_SMTP = "https://outlook.office.com/SMTP.Send"


def open_transport(config: Config, timeout: float = 30) -> Any:
    """An `imip.Transport` or a `graphsend.GraphTransport` for `config` (not opened yet)."""
    from blocktime.config.auth import BearerAuth, TokenStore

    data = Path(str(config.data_dir))
    store = config.calendar.token_store
    if config.transport == "graph":
        from blocktime.backends.graph import graph_base
        from blocktime.backends.graph_http import GraphClient
        from blocktime.mail.graphsend import GraphTransport

        cal = config.calendar
        base = graph_base(cal.provider, cal.url)
        return GraphTransport(GraphClient(BearerAuth(TokenStore(data, "outlook", store)), base, timeout=timeout), base)
    from blocktime.mail.imip import Transport

    smtp = config.smtp
    assert smtp is not None
    if smtp.auth == "google":
        return Transport(smtp, timeout, bearer=BearerAuth(TokenStore(data, "google", store)).token)
    if smtp.auth == "outlook":
        auth = BearerAuth(TokenStore(data, "outlook", store), scopes=(OUTLOOK_SMTP,))
        return Transport(smtp, timeout, bearer=auth.token)
    return Transport(smtp, timeout)
