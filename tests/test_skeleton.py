"""Walking skeleton: book one block on a real server, twice, and find it exactly once."""

from __future__ import annotations

from tests.conftest import Runner


def test_book_one_block_twice_on_a_real_server(cli: Runner) -> None:
    args = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", "it@acme.example",
            "--start", "2026-03-24 12:00", "--length", "1h")
    first = cli.json(*args)
    assert [b["start"] for b in first["booked"]] == ["2026-03-24T12:00:00+01:00"]
    assert first["booked"][0]["created"] is True
    second = cli.json(*args)
    assert second["booked"][0]["uid"] == first["booked"][0]["uid"]
    assert second["booked"][0]["created"] is False
    agenda = cli.json("agenda")
    assert [b["uid"] for b in agenda["blocks"]] == [first["booked"][0]["uid"]]
