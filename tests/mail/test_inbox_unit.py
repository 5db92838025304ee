"""Small pieces of the IMAP adapter checked against a real SASL implementation (pysasl, pymap's)."""

from __future__ import annotations

from pysasl.creds.external import ExternalCredentials
from pysasl.mechanism import ChallengeResponse
from pysasl.mechanism.oauth import OAuth2Mechanism

from blocktime.mail.imap import _quote, xoauth2


def test_xoauth2_initial_response_is_what_a_server_parses() -> None:
    auth = xoauth2("anna@gmail.com", "ya29.token")
    creds, _ = OAuth2Mechanism().server_attempt([ChallengeResponse(b"", auth(b""))])
    assert isinstance(creds, ExternalCredentials)
    assert (creds.authzid, creds._token) == ("anna@gmail.com", "ya29.token")
    assert auth(b'{"status":"401"}') == b""  # the error challenge is answered empty (the server then says NO)


def test_folder_names_are_quoted() -> None:
    assert _quote('Re "x" \\ y') == '"Re \\"x\\" \\\\ y"'
