"""Issue 26: Polish after prepositions. Every weekday after each preposition, every month of a
date, and every built-in Polish template with dates where a preposition governs them. The expected
forms are written out here, not taken from the code under test."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo

import pytest

from blocktime.notes import LANGUAGES, each, moment, render
from blocktime.notes.cases import after

WAW = ZoneInfo("Europe/Warsaw")
MONDAY = date(2027, 3, 15)
#: weekday from Monday: nominative, genitive (do, od), accusative (w, na), instrumental (przed), locative (po)
DAYS = [
    ("poniedziałek", "poniedziałku", "poniedziałek", "poniedziałkiem", "poniedziałku"),
    ("wtorek", "wtorku", "wtorek", "wtorkiem", "wtorku"),
    ("środa", "środy", "środę", "środą", "środzie"),
    ("czwartek", "czwartku", "czwartek", "czwartkiem", "czwartku"),
    ("piątek", "piątku", "piątek", "piątkiem", "piątku"),
    ("sobota", "soboty", "sobotę", "sobotą", "sobocie"),
    ("niedziela", "niedzieli", "niedzielę", "niedzielą", "niedzieli"),
]
CASE_OF = {"do": 1, "od": 1, "w": 2, "we": 2, "na": 2, "przed": 3, "po": 4}
#: a date's month is genitive: `21 marca`, never `21 marzec`
MONTHS = ["stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września",
          "października", "listopada", "grudnia"]


def _expected(prep: str, day: int) -> str:
    word = DAYS[day][CASE_OF[prep]]
    if prep in ("w", "we"):
        prep = "we" if word == "wtorek" else "w"
    return f"{prep} {word}"


@pytest.mark.parametrize("prep", list(CASE_OF))
@pytest.mark.parametrize("day", range(7), ids=[d[0] for d in DAYS])
def test_every_weekday_after_every_preposition(prep: str, day: int) -> None:
    when = datetime.combine(MONDAY + timedelta(days=day), datetime.min.time(), WAW).replace(hour=13, minute=15)
    phrase = moment(when, WAW, "pl")
    assert phrase.startswith(DAYS[day][0] + ", ")  # Babel's (CLDR's) nominative
    expected = f"{_expected(prep, day)}, {(MONDAY + timedelta(days=day)).day} marca 2027, 13:15"
    assert after(prep, phrase) == expected
    # the same through a template, as a translator writes it (and with a capital at a sentence start)
    assert render_own(f"Termin: {prep} $when.", when=phrase) == f"Termin: {expected}."
    assert render_own(f"{prep.capitalize()} $when.", when=phrase) == f"{expected[0].upper()}{expected[1:]}."


@pytest.mark.parametrize("month", range(1, 13), ids=MONTHS)
@pytest.mark.parametrize("prep", ["do", "od", "w", "na"])
def test_every_month_after_a_preposition(prep: str, month: int) -> None:
    day = date(2027, month, 21)
    phrase = moment(datetime(2027, month, 21, 9, 30, tzinfo=WAW), WAW, "pl")
    got = after(prep, phrase)
    assert got == f"{_expected(prep, day.weekday())}, 21 {MONTHS[month - 1]} 2027, 09:30"


def test_what_is_no_date_is_left_alone() -> None:
    assert after("do", "13:00") == "do 13:00" and after("w", "Acme HQ") == "w Acme HQ"
    assert render("summary", "pl", client="Acme", end="13:00") == "Szkolenie: Acme — do 13:00"
    # English is never touched
    from blocktime.notes import _template

    names = _template("en", "offer").get_identifiers()
    text = render("offer", "en", **{n: "x" for n in names} | {"expires": "Sunday, March 21, 2027"})
    assert "until Sunday, March 21, 2027" in text


def render_own(text: str, **values: str) -> str:
    """`text` as if it were an own template (the same path as the built-in ones)."""
    from blocktime.notes.cases import governed

    template, filled = governed(Template(text), values)
    return template.substitute(filled)


def _kinds() -> list[str]:
    from importlib import resources

    folder = resources.files("blocktime.notes") / "templates" / "pl"
    return sorted(p.name.removesuffix(".txt") for p in folder.iterdir() if p.name.endswith(".txt"))


@pytest.mark.parametrize("kind", _kinds())
def test_every_polish_template_puts_dates_in_the_case_of_their_preposition(kind: str) -> None:
    """Each placeholder filled with a Sunday (`niedziela` differs from each of its cases): no
    preposition is ever followed by the nominative."""
    from blocktime.notes import _template

    names = _template("pl", kind).get_identifiers()
    for nominative, *_cases in DAYS:
        if nominative in ("wtorek", "czwartek", "piątek", "poniedziałek"):
            continue  # their accusative is their nominative
        text = render(kind, "pl", **{n: f"{nominative}, 21 marca 2027, 13:15" for n in names})
        for prep in ("do", "od", "w", "we", "na", "przed", "po"):
            assert f" {prep} {nominative}" not in text and f"\n{prep.capitalize()} {nominative}" not in text, text


def test_the_offer_says_until_sunday_in_polish() -> None:
    """The sentence of issue 26: `rezerwuję dla Państwa do niedzieli, 21 marca`."""
    from blocktime.notes import _template

    names = _template("pl", "offer").get_identifiers()
    text = render("offer", "pl", **{n: "x" for n in names} | {"expires": "niedziela, 21 marca 2027, 13:15"})
    assert "rezerwuję dla Państwa do niedzieli, 21 marca 2027, 13:15;" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_remainder_is_said_once_and_a_longer_option_says_why(language: str) -> None:
    assert each(30, 30, grid=15, block=60, full_block=False, language=language) == ""
    grid = each(65, 75, grid=15, block=60, full_block=False, language=language)
    block = each(25, 60, grid=15, block=60, full_block=True, language=language)
    shortest = each(10, 30, grid=15, block=60, full_block=False, language=language)
    words = {"en": ("Each is 1 hour 15 minutes long: I plan sessions in steps of 15 minutes",
                    "Each is a full session of 1 hour.", "Each is 30 minutes long, the shortest session"),
             "pl": ("Każdy z nich to 1 godzina 15 minut, ponieważ czas spotkań zaokrąglam w górę do wielokrotności"
                    " 15 min.", "Każdy z nich to pełne spotkanie (1 godzina).", "Każdy z nich to 30 minut — tyle trwa"
                    " najkrótsze spotkanie")}[language]
    for got, want in zip((grid, block, shortest), words, strict=True):
        assert got.startswith(" " + want), got
        assert "1 hour 5" not in got and "1 godzina 5 " not in got  # the remainder is not said again


def test_an_own_polish_template_gets_the_cases_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    own = tmp_path / "blocktime" / "templates" / "pl" / "carried.txt"
    own.parent.mkdir(parents=True)
    own.write_text("Temat: $client\n\nDołączymy $remaining do spotkania w $next, od $next.\n", encoding="utf-8")
    text = render("carried", "pl", client="Acme", remaining="10 minut", next="wtorek, 23 marca 2027, 12:00")
    assert text.endswith("do spotkania we wtorek, 23 marca 2027, 12:00, od wtorku, 23 marca 2027, 12:00.")
