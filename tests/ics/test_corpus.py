"""Every calendar of the corpus (tests/corpus, see SOURCES.md) through busy extraction: no
exception, no object past the work budget (the bound is checked inside `busy_from_texts`), and
at least 99.9 % of the busy time that a per-UID reference expansion finds."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from blocktime.ics.busy import busy_from_texts
from tests.ics.corpus_reference import corpus_files, parse, recall, reference, window_of

BERLIN = ZoneInfo("Europe/Berlin")


def test_the_corpus_is_there() -> None:
    files = corpus_files()
    assert len(files) > 200
    assert {p.parent.name for p in files} == {"icalendar", "recurring_ical_events"}


@pytest.mark.slow
def test_every_corpus_file_gives_its_busy_time_within_the_budget() -> None:
    covered = total = timedelta(0)
    short: list[str] = []
    for path in corpus_files():
        text = path.read_bytes().decode("utf-8", "replace")
        cals = parse(text)
        window = window_of(cals)
        if window is None:  # no VEVENT icalendar can read: the extraction must still not fail
            busy_from_texts([(path.name, text)], *window_of_any(), BERLIN)
            continue
        result = busy_from_texts([(path.name, text)], *window, BERLIN)
        assert not [w for w in result.warnings if "took over" in w], path.name
        for b in result.busy:
            assert b.span.start < b.span.end and b.span.start < window[1] and b.span.end > window[0]
        c, t = recall(reference(cals, *window, BERLIN), {(b.uid, b.span.start, b.span.end) for b in result.busy})
        covered, total = covered + c, total + t
        if c < t:
            short.append(f"{path.name}: {c / t:.4f}")
    share = covered / total
    print(f"\ncorpus busy recall {share:.5%} of {total} reference busy time; short: {short}")
    assert share >= 0.999, short


def window_of_any() -> tuple:  # type: ignore[type-arg]
    from datetime import datetime

    return datetime(2026, 1, 1, tzinfo=BERLIN), datetime(2027, 1, 1, tzinfo=BERLIN)
