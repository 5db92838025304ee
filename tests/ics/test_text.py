"""Serialising without icalendar's char-by-char folding gives icalendar's own text, character for character."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import icalendar
from hypothesis import example, given, settings
from hypothesis import strategies as st
from icalendar.parser import Contentline

from blocktime.ics.event import _folded, build_event, calendar_copy, calendar_of, text_of
from blocktime.ics.itip import copy_and_request, request
from tests.ics.test_event import facts

LINE = st.text(alphabet=st.sampled_from("ab;:,\\^ \"=ł—"), max_size=400) | st.text(max_size=300).filter(
    lambda s: "\n" not in s and "\r" not in s)


@settings(max_examples=400)
@given(LINE)
@example("X" * 73 + "\\" + "n" + "Y" * 200)
@example("X" * 74)
@example("X" * 75)
@example("X" * 147 + "^" * 5)
@example("X" * 73 + "ł" + "Y" * 100)
@example("X" * 72 + "—" + "\\" + "Y" * 100)
@example("—" * 60)
@example("😀" * 40 + "\\n" * 30)
def test_folding_is_icalendars(line: str) -> None:
    assert _folded(Contentline(line)) == Contentline(line).to_ical().decode("utf-8")


def _variants() -> list[object]:
    base = facts()
    later = replace(base.block.span, end=base.block.span.end + timedelta(minutes=30))
    long_site = "Acme HQ, ul. Prosta 1; Warszawa " * 6
    return [base, facts("pl"), facts(site=long_site), replace(base, sequence=7, status="TENTATIVE"),
            replace(base, block=replace(base.block, makeup_for="bt-acme-x@blocktime", span=later))]


def test_texts_are_the_librarys() -> None:
    for f in _variants():
        assert isinstance(f, type(facts()))
        copy, invite = copy_and_request(f)
        assert copy == calendar_copy(f) == calendar_of(build_event(f, for_mail=False)).to_ical().decode("utf-8")
        assert invite == request(f) == calendar_of(build_event(f, for_mail=True), method="REQUEST").to_ical().decode()
        assert "SCHEDULE-AGENT=CLIENT" in copy.replace("\r\n ", "") and "SCHEDULE-AGENT" not in invite
        assert "METHOD:REQUEST" in invite and "METHOD" not in copy


def test_a_parsed_object_comes_back_as_icalendar_writes_it() -> None:
    cal = icalendar.Calendar.from_ical(calendar_copy(facts("pl", site="Łódź " * 30)))
    assert text_of(cal) == cal.to_ical().decode("utf-8")
