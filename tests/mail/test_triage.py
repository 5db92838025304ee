"""The pure part of issue 13: reading a message defensively and deciding what it asks for."""

from __future__ import annotations

from email.header import Header

from hypothesis import given
from hypothesis import strategies as st

from blocktime.mail.incoming import parse
from blocktime.mail.picks import found, token
from blocktime.mail.triage import IGNORED, ITIP, KEPT, PICK, Context, decide, named_option

KEY = b"s" * 32
T = {token(KEY, "acme-o1", n): ("acme-o1", n) for n in (1, 2, 3)} | {token(KEY, "beta-o1", 1): ("beta-o1", 1)}
CTX = Context(tokens=T, offer_engagement={"acme-o1": "acme", "beta-o1": "beta"},
              attendees={"acme": frozenset({"it@acme.example"}), "beta": frozenset({"x@beta.example"})},
              offer_mail={"<offer-mail@example.com>": "acme-o1"}, own=frozenset({"anna@example.com"}))


def mail(sender: str, subject: str, body: str = "", extra: str = "") -> bytes:
    return (f"From: {sender}\r\nSubject: {subject}\r\nMessage-ID: <m1@x>\r\n{extra}"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}").encode()


def tok(n: int, offer: str = "acme-o1") -> str:
    return token(KEY, offer, n)


def test_a_pick_in_the_subject_after_re_and_odp() -> None:
    for prefix in ("", "Re: ", "Odp: ", "RE: Odp: AW: "):
        d = decide(parse(mail("It <it@acme.example>", f"{prefix}Acme: option 2 [offer acme-o1 {tok(2)}]")), CTX)
        assert (d.action, d.offer, d.option) == (PICK, "acme-o1", 2)


def test_a_pick_survives_encoded_word_rewrapping() -> None:
    subject = f"Odp: Acme: termin 2 (wtorek, 31 marca 2026, 12:00–12:30) [propozycja acme-o1 {tok(2)}]"
    folded = Header(subject, "utf-8", maxlinelen=40).encode()  # split into several encoded-words, folded
    assert "\r\n" in folded or "\n" in folded
    d = decide(parse(mail("it@acme.example", folded)), CTX)
    assert (d.action, d.option) == (PICK, 2)


def test_nothing_is_booked_by_guess() -> None:
    cases = {
        "a stranger with a valid token": mail("eve@evil.example", f"Re: [offer acme-o1 {tok(1)}]"),
        "an attendee of another engagement": mail("x@beta.example", f"Re: [offer acme-o1 {tok(1)}]"),
        "a guessed token": mail("it@acme.example", "Re: [offer acme-o1 bt" + "a" * 16 + "]", "1"),
        "two options in the subject": mail("it@acme.example", f"{tok(1)} {tok(2)}"),
        "subject and first line disagree": mail("it@acme.example", f"Re: [offer acme-o1 {tok(1)}]", "Option 3"),
        "a quoted offer without an option": mail("it@acme.example", "Re: times", f"Thanks!\n> {tok(1)}"),
        "free text": mail("it@acme.example", "Re: times", "None of these, how about Monday?"),
    }
    for what, data in cases.items():
        assert decide(parse(data), CTX).action == KEPT, what


def test_the_first_line_names_the_option_of_the_quoted_offer() -> None:
    body = f"Option 3 works for us.\n\n> 1. Tue reply: mailto:anna@example.com?subject=%5Boffer%20acme-o1%20{tok(1)}%5D"
    d = decide(parse(mail("it@acme.example", "Re: new times", body)), CTX)
    assert (d.action, d.offer, d.option) == (PICK, "acme-o1", 3)


def test_other_mail() -> None:
    assert decide(parse(mail("news@shop.example", "50% off")), CTX).action == IGNORED
    assert decide(parse(mail("anna@example.com", f"[offer acme-o1 {tok(1)}]")), CTX).action == IGNORED
    auto = decide(parse(mail("it@acme.example", "Out of office", extra="Auto-Submitted: auto-replied\r\n")), CTX)
    assert auto.action == KEPT and "automatic" in auto.reason
    about = parse(mail("boss@acme.example", "Re: new times", "who is this?",
                       "In-Reply-To: <offer-mail@example.com>\r\n"))
    assert decide(about, CTX) == decide(about, CTX) and decide(about, CTX).action == KEPT
    cal = (b"From: it@acme.example\r\nSubject: Accepted\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n"
           b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n")
    assert decide(parse(cal), CTX).action == ITIP


def test_named_option() -> None:
    assert [named_option(x) for x in ("2", "Option 2 works", "opcja 3", "Termin 1 pasuje", "#2", "2.")] == \
        [2, 2, 3, 1, 2, 2]
    assert [named_option(x) for x in ("2 pm?", "12:30 works", "I can do 2", "Thanks", "")] == [None] * 5


def test_tokens_are_keyed() -> None:
    assert token(KEY, "acme-o1", 1) != token(b"t" * 32, "acme-o1", 1) != token(KEY, "acme-o1", 2)
    assert found("bt" + "a" * 15) == [] and found("xbt" + "a" * 16) == []


@given(sender=st.emails(), subject=st.text(max_size=200), body=st.text(max_size=500))
def test_only_an_attendee_with_a_valid_token_ever_books(sender: str, subject: str, body: str) -> None:
    d = decide(parse(mail(sender.replace("\r", "").replace("\n", ""), subject.replace("\r", " ").replace("\n", " "),
                          body)), CTX)
    if d.action == PICK:
        assert d.offer is not None and sender.lower() in CTX.attendees[CTX.offer_engagement[d.offer]]


@given(data=st.binary(max_size=3000))
def test_parse_never_raises(data: bytes) -> None:
    msg = parse(data)
    assert "\n" not in msg.subject and "\r" not in msg.subject and msg.message_id.startswith("<")
