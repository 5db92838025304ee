"""Golden files: every message kind in English and Polish, as it reaches a real SMTP server.

Each file is a readable rendering of one received mail (headers, MIME outline, the text, the
calendar part) with DTSTAMP and Date normalised. A native speaker can review tests/notes/golden/ directly.
Regenerate after an intended change with `BLOCKTIME_UPDATE_GOLDEN=1 pytest tests/notes/test_golden.py`.
"""

from __future__ import annotations

import html
import os
import re
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import Runner, smtp_section, write_config
from tests.mailserver import MailSink
from tests.servers import Account

GOLDEN = Path(__file__).parent / "golden"
BOOK = ("book", "--client", "Acme", "--site", "Acme HQ, ul. Prosta 1", "--attendee", "it@acme.example",
        "--attendee", "office@acme.example", "--start", "2026-03-24 12:00", "--length", "1h", "--every",
        "tue,thu", "--count", "4")


def outline(part: EmailMessage) -> str:
    kind = part.get_content_type()
    if part.is_multipart():
        return f"{kind} [" + ", ".join(outline(p) for p in part.iter_parts()) + "]"  # type: ignore[arg-type]
    extra = []
    if part.get_param("method"):
        extra.append(f"method={part.get_param('method')}")
    if part.get_filename():
        extra.append(f"{part.get_content_disposition()} {part.get_filename()}")
    return kind + (f" ({', '.join(extra)})" if extra else "")


def describe(msg: EmailMessage) -> str:
    lines = [f"{h}: {msg[h]}" for h in ("From", "To", "Reply-To", "Subject", "Content-Language")]
    lines += ["MIME: " + outline(msg), "", "--- text/plain ---"]
    plain = msg.get_body(("plain",))
    assert plain is not None
    text = plain.get_content().replace("\r\n", "\n").rstrip("\n")
    lines.append(re.sub(r"(?<=%20)bt[a-z2-7]{16}(?=%5D)", "bt<pick-token>", text))  # keyed per data dir
    page = msg.get_body(("html",))
    anchors = re.findall(r'<a href="([^"]*)">([^<]*)</a>', page.get_content() if page is not None else "")
    if anchors:  # what the HTML part shows of each link; its target is the text part's link
        lines += ["", "--- text/html links ---"]
        for href, label in anchors:
            target = html.unescape(href)
            assert f"<{target}>" in text or target in text.split(), f"{target} is not in the text part"
            lines.append(f"{label} -> the text part's {target.partition('?')[0]}")
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            raw = part.get_payload(decode=True)
            assert isinstance(raw, bytes)
            text = re.sub(r"DTSTAMP:\d{8}T\d{6}Z", "DTSTAMP:<normalised>", raw.decode("utf-8"))
            lines += ["", "--- text/calendar ---", text.replace("\r\n", "\n").rstrip("\n")]
    return "\n".join(lines) + "\n"


def _first(smtp: MailSink) -> EmailMessage:
    mails = smtp.to("it@acme.example")
    assert mails, "no mail for it@acme.example"
    smtp.reset()
    return mails[0]


@pytest.mark.parametrize("language", ["en", "pl"])
@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_golden_messages(language: str, account: Account, smtp: MailSink, tmp_path: Path, data_dir: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    cli = Runner(write_config(tmp_path / "c.toml", account, smtp=smtp_section(smtp)), capsys)
    got: dict[str, EmailMessage] = {}
    cli.json(*BOOK, "--language", language)
    got["request"] = _first(smtp)
    cli.json("confirmations", now="2026-03-20T12:00")
    got["confirmation"] = _first(smtp)
    cli.json("move", "acme-2", "--to", "15:00")
    got["update"] = _first(smtp)
    cli.json("cancel", "acme-2", "--drop-minutes")  # so that the offer is about the 25 cut-short minutes
    got["cancel"] = _first(smtp)
    cli.json("cut-short", "acme-1", "--ended-at", "12:35", now="2026-03-24T13:05")
    got["offer"] = _first(smtp)
    offer = cli.json("offers", now="2026-03-24T13:05")["offers"][0]["id"]
    cli.json("accept", offer, "2", now="2026-03-24T13:05")
    got["makeup"] = _first(smtp)
    update = os.environ.get("BLOCKTIME_UPDATE_GOLDEN") == "1"
    for kind, msg in got.items():
        path = GOLDEN / language / f"{kind}.txt"
        text = describe(msg)
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"{path} is missing: run with BLOCKTIME_UPDATE_GOLDEN=1"
        assert text == path.read_text(encoding="utf-8"), f"{path} differs"
