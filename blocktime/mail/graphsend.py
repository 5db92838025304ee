"""Sending through Microsoft Graph (`[mail] transport = "graph"`): `POST /me/sendMail` with the
message's MIME content (base64, `Content-Type: text/plain`), so the iMIP layout is kept as it is:
the text/calendar part with its METHOD, the .ics attachment, the headers blocktime wrote (Graph
takes the recipients from To). Microsoft 365 and Outlook.com accounts refuse basic SMTP AUTH
(Exchange Online: 550 5.7.30); this needs the delegated `Mail.Send` scope (`blocktime auth outlook`).
The same surface as `imip.Transport`.
"""

from __future__ import annotations

import base64
from types import TracebackType
from typing import Any

from blocktime.errors import ServerError
from blocktime.mail.imip import MailError, Refused


class GraphTransport:
    """The signed-in user's mailbox as a sender."""

    def __init__(self, http: Any, base: str) -> None:
        self.http = http
        self.base = base.rstrip("/")

    @property
    def where(self) -> str:
        return "Microsoft Graph sendMail"

    def open(self) -> None:
        """Check the sign-in (one cheap request; nothing is sent)."""
        try:
            r = self.http.request("GET", f"{self.base}/me", params={"$select": "mail,userPrincipalName"})
        except ServerError as exc:
            raise MailError(exc.message, exc.hint) from None
        if r.status_code != 200:
            raise MailError(f"Microsoft Graph refused the sign-in for sending (HTTP {r.status_code})",
                            "run `blocktime auth outlook` again (it asks for Mail.Send)")

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Hand one message over (202 Accepted); Refused when Graph turns this one down."""
        try:
            r = self.http.request("POST", f"{self.base}/me/sendMail", data=base64.b64encode(data),
                                  headers={"Content-Type": "text/plain"})
        except ServerError as exc:
            raise MailError(exc.message, exc.hint) from None
        if r.status_code == 202:
            return
        code = self.http.code(r)
        if r.status_code in (401, 403):
            raise MailError(f"Microsoft Graph refused to send as the signed-in user (HTTP {r.status_code} {code})",
                            "run `blocktime auth outlook` again (it asks for Mail.Send)")
        if r.status_code in (429, 503, 504) or r.status_code >= 500:
            raise MailError(f"Microsoft Graph could not send now (HTTP {r.status_code} {code})",
                            "the messages wait in the outbox")
        raise Refused(f"Microsoft Graph refused the message to {recipient} (HTTP {r.status_code} {code})")

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> GraphTransport:
        self.open()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
