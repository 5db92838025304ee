"""The command line: one clear line and the right exit code for every kind of bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from blocktime.cli import main
from tests.conftest import Runner, write_config
from tests.servers import Account

BOOK = ["book", "--client", "Acme", "--site", "HQ", "--attendee", "a@acme.example", "--length", "1h"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("blocktime: error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--start", "2026-03-29 02:30"], "does not exist in Europe/Warsaw"),
        (["--start", "someday"], "cannot read date and time"),
        (["--start", "2026-04-01 10:00", "--every", "funday"], "cannot read weekday"),
        (["--start", "2026-04-01 10:00", "--count", "0"], "--count 0 is out of range"),
    ],
)
def test_bad_booking_input_is_exit_2(
    radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str],
    args: list[str], needle: str,
) -> None:
    cfg = write_config(tmp_path / "c.toml", radicale)
    code, _, err = run(capsys, "--config", str(cfg), *BOOK, *args)
    assert code == 2
    assert needle in one_error_line(err)
    assert not (data_dir / "outbox").exists()


def test_zero_length_is_bad_input(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path / "c.toml", None)
    argv = ["--config", str(cfg), "book", "--client", "A", "--site", "S", "--start", "2026-04-01 10:00",
            "--length", "0"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "longer than zero" in one_error_line(err)


def test_unknown_zone_and_unknown_keys_are_reported_together(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[organizer]\ntimezone = "Mars/Olympus"\nmail = "x"\n[policy]\ntravel = "soon"\n')
    code, _, err = run(capsys, "--config", str(cfg), "agenda")
    line = one_error_line(err)
    assert code == 2
    assert "3 problems" in line and "Mars/Olympus" in line and "'mail'" in line and "travel" in line
    assert str(cfg) in line


def test_malformed_config(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[organizer\nname = ")
    code, _, err = run(capsys, "--config", str(cfg), "agenda")
    assert code == 2 and "not valid TOML" in one_error_line(err)
    code, _, err = run(capsys, "--config", str(tmp_path / "missing.toml"), "agenda")
    assert code == 2 and "does not exist" in one_error_line(err)


def test_unreachable_server_is_exit_1(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.servers import refused_port

    account = Account("none", f"http://127.0.0.1:{refused_port()}/u/", "u", "secret-pw-123", "")
    cfg = write_config(tmp_path / "c.toml", account)
    code, _, err = run(capsys, "--config", str(cfg), *BOOK, "--start", "2026-04-01 10:00")
    line = one_error_line(err)
    assert code == 1 and "cannot reach the calendar server" in line
    assert "secret-pw-123" not in err


def test_wrong_password_is_exit_1_and_not_echoed(
    radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = Account(radicale.kind, radicale.url, radicale.username, "not-the-password-42", radicale.root)
    cfg = write_config(tmp_path / "c.toml", wrong)
    code, _, err = run(capsys, "--config", str(cfg), *BOOK, "--start", "2026-04-01 10:00")
    line = one_error_line(err)
    assert code == 1 and "refused the username or password" in line
    assert "not-the-password-42" not in err


def test_password_from_environment(
    radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[organizer]\ntimezone = "Europe/Warsaw"\n[calendar]\nurl = "{radicale.url}"\n'
                   f'username = "{radicale.username}"\npassword_env = "BT_TEST_PW"\n')
    code, _, err = run(capsys, "--config", str(cfg), "agenda")
    assert code == 0, err  # reads only the store: the password is read when the calendar is (issue 26)
    code, _, err = run(capsys, "--config", str(cfg), "--now", "2026-03-20 09:00", *BOOK, "--start", "2026-04-01 10:00")
    assert code == 2 and "BT_TEST_PW is not set" in one_error_line(err)
    monkeypatch.setenv("BT_TEST_PW", radicale.password or "")
    code, _out, err = run(capsys, "--config", str(cfg), "--now", "2026-03-20 09:00", *BOOK,
                         "--start", "2026-04-01 10:00", "--json")
    assert code == 0, err


def test_usage_errors_are_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "book", "--client", "A")
    assert code == 2 and "required" in one_error_line(err)
    code, _, err = run(capsys, "frobnicate")
    assert code == 2


@pytest.mark.store  # the child process inherits the engine
def test_help_and_exit_codes_in_a_real_process(tmp_path: Path) -> None:
    exe = [sys.executable, "-m", "blocktime.cli"]
    env = dict(os.environ, BLOCKTIME_DATA_DIR=str(tmp_path / "d"), TZ="Europe/Warsaw")
    env.pop("BLOCKTIME_CONFIG", None)
    ok = subprocess.run([*exe, "--help"], capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0 and "book" in ok.stdout and "agenda" in ok.stdout
    bad = subprocess.run([*exe, "book", "--client", "A", "--site", "S", "--start", "2026-03-29 02:30",
                          "--length", "1h"], capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_malformed_objects_in_the_calendar_are_skipped_with_a_warning(
    xandikos: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.helpers import backend

    b = backend(xandikos)
    cal = b.ensure_calendar("Other")
    # Xandikos stores this object as it is; its EXDATE cannot be read (the warning itself is
    # tested in tests/ics/test_busy.py: the server's time-range filter may leave it out)
    bad = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:bad-exdate\r\n"
           "DTSTAMP:20260101T000000Z\r\nDTSTART:20260401T080000Z\r\nDTEND:20260401T090000Z\r\n"
           "EXDATE:2026XXXX\r\nSUMMARY:damaged\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    b.create(b.href_for(cal, "bad-exdate"), bad)
    cfg = write_config(tmp_path / "c.toml", xandikos)
    code, out, err = run(capsys, "--config", str(cfg), "--now", "2026-03-20 09:00", *BOOK,
                         "--start", "2026-04-01 12:00", "--json")
    assert code == 0, err
    assert '"created": true' in out
    assert "Traceback" not in err


def test_runner_smoke(cli: Runner) -> None:
    code, out, _ = cli("agenda")
    assert code == 0 and "no blocks booked" in out


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_daemon_status_shows_times_as_the_tables_do(cli: Runner, account: Account) -> None:
    """Issue 10, point 6: every time the user reads is in the organizer's zone, in the tables' form."""
    assert cli("daemon", "--once", now="2026-03-24T14:00")[0] == 0
    code, out, _ = cli("daemon", "--status", now="2026-03-24T14:05")
    assert code == 0
    assert "last sync     Tue 2026-03-24 14:00" in out and "next nightly  Wed 2026-03-25 01:30" in out


def test_lengths_and_days_that_make_no_sense_are_one_line_errors(tmp_path: Path, data_dir: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 26: `--length 3` (3 minutes) booked a block without a word; `agenda --days -3` was taken;
    `--length -1h` said only "expected one argument"."""
    cli = Runner(write_config(tmp_path / "c.toml", None), capsys)
    book = ("book", "--client", "Acme", "--site", "HQ", "--attendee", "it@acme.example", "--start", "2026-03-24 12:00")
    code, _out, err = cli(*book, "--length", "3m")
    assert code == 2 and "a block of 3 minutes is too short" in err and "did you mean 3h?" in err
    code, _out, err = cli(*book, "--length", "-1h")
    assert code == 2 and "--length -1h: a negative value makes no sense here" in err
    code, _out, err = cli("agenda", "--days", "-3")
    assert code == 2 and "--days -3: a negative value makes no sense here" in err and "e.g. --days 3" in err
    code, _out, err = cli("agenda", "--days", "0")
    assert code == 2 and "--days 0: give one day or more" in err and len(err.strip().splitlines()) == 1


def test_a_duration_without_a_unit_is_refused(tmp_path: Path, data_dir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 26, point 6: `--length 3` (3 minutes or 3 hours?) asks for a unit, in every flag that
    takes a duration; zero is refused too. Config files keep reading a bare number as minutes."""
    cfg = write_config(tmp_path / "c.toml", None, policy={"buffer": 10})
    cli = Runner(cfg, capsys)
    book = ("book", "--client", "Acme", "--site", "HQ", "--attendee", "it@acme.example", "--start", "2026-03-24 12:00")
    code, _out, err = cli(*book, "--length", "3")
    assert code == 2 and one_error_line(err) == "blocktime: error: --length 3: give a unit: 3h or 3m", err
    code, _out, err = cli(*book, "--length", "0")
    assert code == 2 and "--length '0' must be longer than zero" in one_error_line(err)
    code, _out, err = cli(*book, "--length", "0h")
    assert code == 2 and "--length '0h' must be longer than zero" in one_error_line(err)
    assert cli.json(*book, "--length", "1h")["booked"]
    code, _out, err = cli("why", "2026-03-26", "--engagement", "acme", "--length", "30")
    assert code == 2 and "--length 30: give a unit: 30h or 30m" in one_error_line(err)
    code, _out, err = cli("engagement", "set", "acme", "--contract", "24")
    assert code == 2 and "--contract 24: give a unit: 24h or 24m" in one_error_line(err)
    code, _out, err = cli("cut-short", "acme-1", "--delivered", "35", now="2026-03-24T13:05")
    assert code == 2 and "--delivered 35: give a unit: 35h or 35m" in one_error_line(err)
