"""Issue 26: the offer mail as the client sees it. In the HTML part (what Gmail and Outlook show)
each option is a short link, "Reply with option 1" / "Wybieram termin 1", whose href is the prepared
reply that books it; the text part names each option on a short line, its reply link on the next."""

from __future__ import annotations

import re
import shutil
import subprocess
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from blocktime.mail.imip import html_of
from blocktime.mail.picks import found
from tests.conftest import Runner, smtp_section, write_config
from tests.mailserver import MailSink
from tests.servers import Account
from tests.usecases.test_offers import AFTER, BOOK

RADICALE = pytest.mark.parametrize("account", ["radicale"], indirect=True)
LABEL = {"en": "Reply with option {n}", "pl": "Wybieram termin {n}"}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self.links.append((self._href, ""))

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            href, text = self.links[-1]
            self.links[-1] = (href, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._href = None


def links(page: str) -> list[tuple[str, str]]:
    parser = _Links()
    parser.feed(page)
    return parser.links


def _offer_mail(language: str, account: Account, smtp: MailSink, tmp_path: Path,
                capsys: pytest.CaptureFixture[str]) -> EmailMessage:
    cli = Runner(write_config(tmp_path / "c.toml", account, smtp=smtp_section(smtp)), capsys)
    cli.json(*BOOK, "--language", language)
    smtp.reset()
    cli.json("cut-short", "acme-1", "--ended-at", "12:35", now=AFTER)
    (mail,) = [m for m in smtp.to("it@acme.example")]
    return mail


@RADICALE
@pytest.mark.parametrize("language", ["en", "pl"])
def test_each_option_is_a_short_link_in_html_and_a_short_line_in_text(
        language: str, account: Account, smtp: MailSink, tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    mail = _offer_mail(language, account, smtp, tmp_path, capsys)
    page = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    found_links = links(page)
    assert [label for _href, label in found_links] == [LABEL[language].format(n=n) for n in (1, 2, 3)]
    assert all(len(label) <= 30 for _href, label in found_links)
    # each href is the prepared reply: its subject carries the option's pick token, as the text's does
    text_tokens = found(text)
    assert len(text_tokens) == 3
    assert [found(unquote(href)) for href, _label in found_links] == [[t] for t in text_tokens]
    # the text part: each option on a short line, then its link as `Label: <mailto:…>`
    options = re.findall(r"^  (\d)\. (.+)\n {5}(.+): <(mailto:\S+)>$", text, re.M)
    assert [int(n) for n, *_ in options] == [1, 2, 3]
    assert all(len(f"  {n}. {when}") <= 60 for n, when, _label, _url in options)
    assert [label for _n, _when, label, _url in options] == [LABEL[language].format(n=n) for n in (1, 2, 3)]
    assert [href for href, _label in found_links] == [url for *_, url in options]


def test_a_labelled_link_shows_its_label_and_a_bare_one_itself() -> None:
    url = "mailto:anna@example.com?subject=Acme%3A%20option%201%20%5Boffer%20acme-o1%20bt" + "a" * 16 + "%5D"
    page = html_of(f"Hello,\n\n  1. Thursday\n     Reply with option 1: <{url}>\n\nsee https://example.com/x\n", "en")
    assert links(page) == [(url, "Reply with option 1"), ("https://example.com/x", "https://example.com/x")]
    assert "&lt;mailto" not in page and "&nbsp; 1. Thursday" in page


@RADICALE
@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="no headless Chromium (Debian: apt-get install chromium): the links are checked by "
                           "parsing only (test_each_option_is_a_short_link_in_html_and_a_short_line_in_text)")
def test_chromium_shows_the_offer_mail_without_a_horizontal_scrollbar(
        account: Account, smtp: MailSink, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The page is as wide as the window: no link wider than a phone-sized mail pane."""
    page = _offer_mail("pl", account, smtp, tmp_path, capsys).get_body(("html",)).get_content()  # type: ignore[union-attr]
    probe = ('<script>document.title = document.documentElement.scrollWidth + "/"'
             ' + document.documentElement.clientWidth</script>')
    target = tmp_path / "offer.html"
    target.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium
    for width in (1000, 600):
        dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                              "--force-device-scale-factor=1", f"--window-size={width},800", "--dump-dom",
                              target.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
        m = re.search(r"<title>(\d+)/(\d+)</title>", dom)
        assert m, dom[:300]
        scroll, client = map(int, m.groups())
        assert scroll <= client, f"the offer mail is {scroll}px wide in a {client}px window"
