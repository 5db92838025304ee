"""Issue 26 review: only a real refusal of the credentials stops the daemon; a login the server
could not do just now (IMAP NO [UNAVAILABLE], a dropped connection, SMTP 454) is tried again later."""

from __future__ import annotations

import imaplib

import pytest

from blocktime.mail.imap import _temporary


@pytest.mark.parametrize(("said", "temporary"), [
    ("[UNAVAILABLE] Temporary authentication failure", True),
    ("[INUSE] mailbox in use", True),
    ("[SERVERBUG] oops", True),
    ("[AUTHENTICATIONFAILED] Invalid credentials", False),
    ("[AUTHORIZATIONFAILED] no", False),
    ("[EXPIRED] password expired", False),
    ("LOGIN failed", False),
])
def test_a_no_to_login_is_a_refusal_unless_it_says_it_is_temporary(said: str, temporary: bool) -> None:
    assert _temporary(imaplib.IMAP4.error(said)) is temporary
