"""What the messages say: tone, Polish plural forms, the user's own templates."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from blocktime.core.model import Interval
from blocktime.errors import BadInput
from blocktime.notes import LANGUAGES, minutes, override_dir, render
from blocktime.usecases.letters import block_letter
from tests.ics.test_event import facts

WAW = ZoneInfo("Europe/Warsaw")
CLIENT_FACING = ("mail_request", "mail_makeup", "mail_update", "mail_cancel", "mail_confirm",
                 "mail_declinecounter", "offer", "carried", "noslot")
HARSH = {
    "en": re.compile(r"\b(must|not allowed|have to|required|mandatory|strictly|forbidden|penalt\w*)\b", re.I),
    "pl": re.compile(r"\b(musi\w*|nie wolno|zabronion\w*|obowiązkow\w*|wymagan\w*|kar\w*|należy)\b", re.I),
}
VALUES = {"client": "Acme", "site": "Acme HQ", "organizer": "Anna Nowak", "date": "D", "start": "12:00",
          "end": "13:00", "length": "L", "remaining": "R", "ended": "E", "ended_date": "E", "ended_start": "E",
          "ended_end": "E", "next": "N", "options": "O", "expires": "X", "old_date": "D", "old_start": "S",
          "old_end": "E", "proposed_date": "D", "proposed_start": "S", "proposed_end": "E", "each": " W",
          "grid": "G", "grid_min": "G"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", CLIENT_FACING)
def test_tone(kind: str, language: str) -> None:
    """Calm and firm: no commands, no capitals, no threats; a subject line first."""
    text = render(kind, language, **VALUES)
    assert not HARSH[language].search(text), text
    words = re.findall(r"\b[^\W\d_]{3,}\b", text)
    assert not [w for w in words if w.isupper()], text
    assert text.splitlines()[0].split(":")[0] in ("Subject", "Temat")
    if kind in ("mail_request", "mail_confirm"):  # states the end and what happens if time runs out
        assert "13:00" in text
        assert ("new date" if language == "en" else "nowy termin") in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ["each_grid", "each_block", "each_shortest"])
def test_tone_of_why_the_options_are_longer(kind: str, language: str) -> None:
    text = render(kind, language, **VALUES)
    assert not HARSH[language].search(text) and text.endswith("."), text


@pytest.mark.parametrize(("value", "pl", "en"), [
    (1, "1 minuta", "1 minute"), (2, "2 minuty", "2 minutes"), (5, "5 minut", "5 minutes"),
    (22, "22 minuty", "22 minutes"), (25, "25 minut", "25 minutes"), (60, "1 godzina", "1 hour"),
    (90, "1 godzina 30 minut", "1 hour 30 minutes"), (120, "2 godziny", "2 hours"), (300, "5 godzin", "5 hours"),
])
def test_plural_forms(value: int, pl: str, en: str) -> None:
    assert minutes(value, "pl") == pl and minutes(value, "en") == en


def test_polish_dates_and_times_come_from_babel() -> None:
    f = facts("pl")
    old = Interval(datetime(2026, 3, 26, 12, tzinfo=WAW), datetime(2026, 3, 26, 13, tzinfo=WAW))
    text = block_letter("update", f, old=old)
    assert text.subject == "Nowy termin: szkolenie Acme, wtorek, 24 marca 2026, 12:00–13:00"
    assert "Poprzednio:   czwartek, 26 marca 2026, 12:00–13:00" in text.text
    assert text.language == "pl"


def test_a_users_template_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    own = override_dir() / "en" / "mail_confirm.txt"
    assert own == tmp_path / "blocktime" / "templates" / "en" / "mail_confirm.txt"
    own.parent.mkdir(parents=True)
    own.write_text("Subject: See you at $start, $client\n\nHi team,\nsee you on $date.\n$organizer\n")
    text = block_letter("confirm", facts())
    assert text.subject == "See you at 12:00, Acme"
    assert text.text == "Hi team,\nsee you on Tuesday, March 24, 2026.\nAnna Nowak\n"
    assert block_letter("confirm", facts("pl")).subject.startswith("Potwierdzenie")  # other languages unchanged
    own.write_text("Subject: $nonsense\n\nx\n")
    with pytest.raises(BadInput, match=r"template en/mail_confirm\.txt.*nonsense"):
        block_letter("confirm", facts())


def test_every_kind_has_both_languages() -> None:
    root = Path(__file__).resolve().parents[2] / "blocktime" / "notes" / "templates"
    assert {p.name for p in (root / "en").iterdir()} == {p.name for p in (root / "pl").iterdir()}


def test_the_proposal_keeps_the_block_length() -> None:
    from blocktime.ics.itip import Counter, proposal

    c = Counter("u", "a@x", 0, None, datetime(2026, 3, 29, 1, 30, tzinfo=WAW), None, "")
    span = proposal(c, timedelta(hours=1))  # across the spring-forward gap: one elapsed hour
    assert span.duration == timedelta(hours=1) and span.end.hour == 3


@pytest.mark.parametrize("sender", [None, "bookings@example.com"])
def test_messages_composed_ahead_are_the_messages_composed_in_place(sender: str | None, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Booking composes in its writer threads (`compose_block`, the block's REQUEST handed in) what
    `queue_block` would compose itself: the same bytes. With another SMTP sender the mailed REQUEST
    carries SENT-BY, so the handed-in one (without it) is not reused."""
    from blocktime.config.loading import from_mapping
    from blocktime.ics.itip import request
    from blocktime.usecases.letters import compose_block
    from blocktime.usecases.session import Session

    monkeypatch.setenv("BLOCKTIME_DATA_DIR", str(tmp_path))
    raw: dict[str, object] = {"organizer": {"name": "Anna Nowak", "email": "anna@example.com",
                                            "timezone": "Europe/Warsaw"}}
    if sender:
        raw["smtp"] = {"host": "smtp.example.com", "from": sender}
    session = Session(from_mapping(raw), datetime(2026, 3, 20, 9, tzinfo=WAW))
    f = facts()
    ahead = compose_block(session, "request", f, invite=request(f))
    in_place = compose_block(session, "request", f)
    assert ahead == in_place
    assert set(ahead.messages) == {"a@acme.example", "b@acme.example"}
