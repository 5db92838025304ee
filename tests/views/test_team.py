"""`team status` as text (issue 26, point 11: lag in human units)."""

from __future__ import annotations

from datetime import UTC

from blocktime.views.team import status_text


def _trainer(name: str, lag: float) -> dict[str, object]:
    return {"trainer": name, "holder": None, "last_pass": "2026-03-20T08:00:00+00:00", "next_pass": None,
            "lag_seconds": lag, "last_error": None, "mail_waiting": 0, "open_offers": 1, "conflicts": 0}


def test_lag_is_in_human_units() -> None:
    doc = {"trainers": [_trainer("anna", 39641.0), _trainer("ben", 0.0), _trainer("cyril", 125.0)], "daemons": []}
    lines = status_text(doc, UTC).splitlines()
    assert "lag" in lines[0]
    anna, ben, cyril = lines[1:4]
    assert "11h 0m" in anna and "39641" not in anna
    assert "2m" in cyril and "125s" not in cyril
    assert "0s" not in ben
