"""Fuzzing `blocktime import-reply FILE` with damaged Gmail and Outlook answers (.ics and whole
.eml): every file ends in exit 0 or one clean error line with exit 2 — never a traceback, never
"internal error". Run in-process against blocks booked on a real Radicale."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.conftest import Runner, write_config
from tests.fuzzing import REPLIES, mutate, mutation, mutations
from tests.servers import Account
from tests.usecases.test_changes import BOOK

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _calendar_of(eml: bytes) -> str:
    from blocktime.usecases.replies import calendar_text

    return calendar_text(eml)


#: the calendar texts inside the samples (the .ics as they are, and the one inside each .eml)
TEXTS = {name: (data.decode() if name.endswith(".ics") else _calendar_of(data)) for name, data in REPLIES.items()}
CHARSETS = ["utf-8", "UTF-8", "latin-1", "x-unknown-zz", "\x00tf-8", "utf-16", "", "us-ascii", "\"utf-8\\\"",
            "utf-8; x=\"y"]
TYPES = ["text/calendar", "application/ics", "text/plain", "text/calendar; method=REPLY", "multipart/mixed",
         "text/calendar; method=COUNTER; charset", "application/octet-stream"]
ENCODINGS = ["base64", "quoted-printable", "8bit", "7bit", "x-uuencode", "base64x", ""]


@st.composite
def eml(draw: st.DrawFn) -> bytes:
    """A mail around a (damaged) calendar text, with damaged MIME headers, or a damaged sample mail."""
    if draw(st.booleans()):
        name = draw(st.sampled_from([n for n in REPLIES if n.endswith(".eml")]))
        return mutate(REPLIES[name].decode("utf-8", "replace"), draw(mutations)).encode("utf-8", "surrogatepass")
    text = mutate(TEXTS[draw(st.sampled_from(sorted(TEXTS)))], draw(st.lists(mutation(), max_size=4)))
    msg = EmailMessage(policy=email.policy.default)
    msg["From"] = "it@acme.example"
    msg["Subject"] = draw(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30))
    msg.set_content("The answer is attached.")
    msg.add_attachment(text.encode("utf-8", "surrogatepass"), maintype="text", subtype="calendar",
                       filename=draw(st.sampled_from(["invite.ics", "reply.ICS", "x.txt", ""])))
    msg.set_boundary("==fuzz-boundary==")  # not random: hypothesis replays examples exactly
    raw = msg.as_bytes()
    part = raw.rindex(b"Content-Type: text/calendar")
    head, tail = raw[:part], raw[part:]
    line_end = tail.index(b"\n")
    ctype = f"Content-Type: {draw(st.sampled_from(TYPES))}; charset={draw(st.sampled_from(CHARSETS))}"
    tail = ctype.encode() + tail[line_end:]
    if draw(st.booleans()):
        tail = tail.replace(b"Content-Transfer-Encoding: base64",
                            b"Content-Transfer-Encoding: " + draw(st.sampled_from(ENCODINGS)).encode(), 1)
    if draw(st.booleans()):  # damage the base64 or the boundary
        cut = draw(st.integers(0, max(0, len(tail) - 1)))
        junk = draw(st.sampled_from([b"", b"=", b"\x00", b"--", b"\r\n\r\n", b"\xff\xfe"]))
        tail = tail[:cut] + junk + tail[cut + 1:]
    return head + tail


@pytest.fixture
def booked(radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> Runner:
    cli = Runner(write_config(tmp_path / "config.toml", radicale), capsys)
    assert cli(*BOOK)[0] == 0
    return cli


def _import(cli: Runner, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    code, _out, err = cli("import-reply", str(path))
    event(f"exit {code}" + (f": {err.split(':')[2].strip()[:40]}" if code else ""))
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 0:
        assert "error" not in err, err
        return
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("blocktime: error: "), err


def test_damaged_replies_are_applied_or_refused_in_one_line(booked: Runner, tmp_path: Path) -> None:
    @FUZZ
    @given(st.sampled_from(sorted(TEXTS)), mutations)
    @example("outlook_tentative.ics", [("value", 0.51, 0.0, "abc")])  # SEQUENCE:abc
    @example("outlook_tentative.ics", [("date", 0.0, 0.0, "99991231T235959Z")])
    @example("outlook_counter.eml", [("date", 0.4, 0.0, "99991231T235959Z")])
    @example("gmail_declined.ics", [("param", 0.4, 0.0, ";VALUE=DATE")])
    def check(name: str, muts: list[tuple[str, float, float, str]]) -> None:
        _import(booked, tmp_path / "reply.ics", mutate(TEXTS[name], muts).encode("utf-8", "surrogatepass"))

    check()


def test_damaged_mails_are_applied_or_refused_in_one_line(booked: Runner, tmp_path: Path) -> None:
    @FUZZ
    @given(eml())
    def check(data: bytes) -> None:
        _import(booked, tmp_path / "reply.eml", data)

    check()


def test_noise_is_refused_in_one_line(booked: Runner, tmp_path: Path) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.binary(max_size=3000))
    @example(b"\xef\xbb\xbfBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR")
    @example(b"Content-Type: text/calendar; charset=x-unknown-zz\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n")
    @example(b"Content-Type: text/calendar; charset=\x00tf-8\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n")
    def check(data: bytes) -> None:
        _import(booked, tmp_path / "noise.eml", data)

    check()
