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

from blocktime.errors import BlocktimeError
from blocktime.mail.imip import MailError, Refused

#: the delegated permission sendMail needs (`blocktime auth outlook` asks for it)
MAIL_SEND = "Mail.Send"


class GraphTransport:
    """The signed-in user's mailbox as a sender."""

    def __init__(self, http: Any, base: str) -> None:
        self.http = http
        self.base = base.rstrip("/")

    @property
    def where(self) -> str:
        return "Microsoft Graph sendMail"

    def open(self) -> None:
        """Check the sign-in: a fresh token whose scopes include Mail.Send (no request to Graph, no
        other permission needed; nothing is sent)."""
        try:
            self.http.auth.token()
        except BlocktimeError as exc:
            raise MailError(exc.message, exc.hint) from None
        scopes = getattr(getattr(self.http.auth, "_token", None), "scopes", None) or ()
        if scopes and not any(s.rsplit("/", 1)[-1] == MAIL_SEND for s in scopes):
            raise MailError("the Outlook sign-in has no permission to send mail (Mail.Send)",
                            "run `blocktime auth outlook` again: it asks for Mail.Send now")

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Hand one message over (202 Accepted); Refused when Graph turns this one down."""
        try:  # never retried by the client: a lost answer may have sent it (the outbox tries again later)
            r = self.http.request("POST", f"{self.base}/me/sendMail", data=base64.b64encode(data),
                                  headers={"Content-Type": "text/plain"}, retry=False)
        except BlocktimeError as exc:
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
