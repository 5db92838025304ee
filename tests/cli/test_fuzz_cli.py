"""Fuzzing the dates and durations people type on the command line (`book --start --length
--every`, `cut-short --ended-at --delivered`, `why DATE --length`, `move --to`, `--now`, `agenda
--from`), through `main()` in-process: text blocktime cannot read is one clean line on stderr and
exit 2; text it can read goes on (to a calendar server that is not there: a clean exit 1)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings

from blocktime.backends.caldav import CalDAVBackend
from blocktime.cli.makeup import ended_at as _ended_at
from blocktime.cli.views import which_day as _which_day
from blocktime.config import inputs
from blocktime.errors import BadInput
from tests.config.test_inputs import texts
from tests.conftest import Runner, write_config
from tests.servers import Account, refused_port

WAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=WAW)
BLOCK_START = datetime(2026, 3, 24, 12, 0, tzinfo=WAW)
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def cli(radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> Runner:
    """One block (acme-1) booked on Radicale; then the same data dir with a calendar URL where
    nothing listens, so that whatever parses fails fast and cleanly at the server."""
    booked = Runner(write_config(tmp_path / "real.toml", radicale), capsys)
    assert booked("book", "--client", "Acme", "--site", "HQ", "--start", "2026-03-24 12:00", "--length", "1h")[0] == 0
    monkeypatch.setattr(CalDAVBackend, "retry_delays", ())  # connection refused: no retries, fail at once
    gone = {"url": f"http://127.0.0.1:{refused_port()}/dav/", "username": "u", "password": "p"}
    return Runner(write_config(tmp_path / "gone.toml", None, calendar=gone), capsys)


def _clean(run: Runner, args: list[str], unreadable: bool) -> None:
    code, _out, err = run(*args)
    _check_result(args, code, err, unreadable)


def _check_result(args: list[str], code: int, err: str, unreadable: bool) -> None:
    assert "Traceback" not in err and "internal error" not in err, (args, err)
    if code == 0:
        return
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("blocktime: error: "), (args, err)
    if unreadable:
        assert code == 2, (args, err)
    else:
        assert code in (1, 2), (args, err)


def _bad(parse: Callable[[str], object], text: str) -> bool:
    try:
        parse(text)
    except BadInput:
        return True
    return False


def _moment(text: str) -> object:
    return inputs.moment(text, WAW, NOW)


def _ended(text: str) -> object:
    return _ended_at(text, BLOCK_START, WAW, NOW)


def _optional(parse: Callable[[str], object]) -> Callable[[str], object]:
    """An option given as empty text counts as not given (and argparse turns `--every=--` into [])."""
    return lambda text: parse(text) if text not in ("", "--") else None


BOOK = ["book", "--client", "Acme", "--site", "HQ", "--count", "1"]
CASES: dict[str, tuple[Callable[[str], list[str]], Callable[[str], object]]] = {
    "book --start": (lambda t: [*BOOK, f"--start={t}", "--length", "1h"], _moment),
    "book --length": (lambda t: [*BOOK, "--start", "2026-03-26 12:00", f"--length={t}"], inputs.duration),
    "book --every": (lambda t: [*BOOK, "--start", "2026-03-26 12:00", "--length", "1h", f"--every={t}"],
                     _optional(inputs.weekdays)),
    "cut-short --ended-at": (lambda t: ["cut-short", "acme-1", f"--ended-at={t}"], _ended),
    "cut-short --delivered": (lambda t: ["cut-short", "acme-1", f"--delivered={t}"], inputs.duration),
    "why DATE": (lambda t: ["why", "--engagement", "acme", "--", t], lambda t: _which_day(t, NOW, WAW)),
    "why --length": (lambda t: ["why", "2026-03-26", "--engagement", "acme", f"--length={t}"],
                     _optional(inputs.duration)),
    "move --to": (lambda t: ["move", "acme-1", f"--to={t}"], _ended),
    "agenda --from": (lambda t: ["agenda", f"--from={t}"], _moment),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_typed_dates_and_durations_fail_in_one_clean_line(cli: Runner, case: str) -> None:
    argv, parse = CASES[case]

    @FUZZ
    @given(texts)
    @example("9999-12-31 23:59")
    @example("0001-01-01T00:00")
    @example("9999-12-31")
    @example("0001-01-01")
    @example("99999999d")
    @example("23:59")
    @example("\x00")
    def check(text: str) -> None:
        _clean(cli, argv(text), unreadable=_bad(parse, text))

    check()


def test_now_fails_in_one_clean_line(cli: Runner) -> None:
    @FUZZ
    @given(texts)
    @example("9999-12-31T23:59")
    @example("0001-01-01T00:00")
    def check(text: str) -> None:
        for command in (["agenda"], ["offers"], ["status", "acme"], ["daemon", "--status"]):
            code, _out, err = cli(f"--now={text}", *command, now=None)
            _check_result(command, code, err, unreadable=_bad(_moment, text))

    check()
