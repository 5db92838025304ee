"""Commands import only what they use (issue 15: `--help` and `agenda` start lean).

Each check runs the command in a fresh interpreter and lists the modules it loaded: timing is
bench/coldstart.py's business, this only says which libraries a command pays for.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from blocktime.cli import COMMANDS, build_parser
from tests.servers import Account
from tests.stores import sqlite_only

# each command runs in a clean environment: the default store (SQLite), whatever the test runs on
pytestmark = sqlite_only

PROBE = """
import contextlib, io, json, sys
from blocktime.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:  # argparse's --help
        code = exc.code
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""

#: libraries neither `--help` nor `agenda` needs
HEAVY = ("icalendar", "caldav", "niquests", "urllib3", "babel", "recurring_ical_events", "x_wr_timezone",
         "apscheduler", "dateutil", "lxml", "anyascii", "email.mime", "smtplib", "imaplib", "concurrent.futures")


def run(tmp_path: Path, *args: str) -> dict[str, object]:
    env = {"BLOCKTIME_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def loaded(modules: object, prefix: str) -> list[str]:
    assert isinstance(modules, list)
    return [m for m in modules if m == prefix or m.startswith(prefix + ".")]


def test_help_imports_no_library_and_no_command(tmp_path: Path) -> None:
    got = run(tmp_path, "--help")
    assert got["code"] == 0
    for lib in HEAVY:
        assert not loaded(got["modules"], lib), lib
    # not even blocktime's own domain model, config or store: --help only builds the parser
    for own in ("blocktime.core", "blocktime.config.schema", "blocktime.store.store", "blocktime.usecases.booking",
                "blocktime.cli.daemon", "blocktime.cli.booking", "blocktime.cli.makeup", "blocktime.cli.mail",
                "blocktime.cli.ops"):
        assert not loaded(got["modules"], own), own


def test_help_is_complete(tmp_path: Path) -> None:
    """The lazy dispatch lists every command in --help, and every command has a function."""
    got = run(tmp_path, "--help")
    assert isinstance(got["out"], str)
    for name in COMMANDS:
        assert name in got["out"], name
    parser_commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert parser_commands == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_resolves(name: str) -> None:
    from blocktime.cli import command

    assert callable(command(name))


def test_agenda_imports_no_calendar_or_mail_library(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[organizer]\ntimezone = "Europe/Warsaw"\nname = "A"\nemail = "a@example.com"\n')
    got = run(tmp_path, "--config", str(config), "--now", "2026-03-20 09:00", "agenda", "--json")
    assert got["code"] == 0
    assert isinstance(got["out"], str) and json.loads(got["out"]) == {"blocks": []}
    for lib in HEAVY:
        assert not loaded(got["modules"], lib), lib
    for own in ("blocktime.cli.daemon", "blocktime.backends.caldav", "blocktime.usecases.messages", "blocktime.ics",
                "blocktime.mail.imip", "blocktime.notes", "blocktime.usecases.engagements"):
        assert not loaded(got["modules"], own), own
    # nothing on agenda's path logs, so it need not configure logging (cli.LOGLESS); nor the use cases
    for own in ("logging", "blocktime.usecases.booking", "blocktime.config.redaction"):
        assert not loaded(got["modules"], own), own


def test_loggless_commands_import_nothing_that_logs(tmp_path: Path) -> None:
    """cli.LOGLESS lists commands that skip the logging setup: none of them may import `logging`."""
    from blocktime.cli.common import LOGLESS

    config = tmp_path / "config.toml"
    config.write_text('[organizer]\ntimezone = "Europe/Warsaw"\nname = "A"\nemail = "a@example.com"\n')
    for name in sorted(LOGLESS):
        got = run(tmp_path, "--config", str(config), "--now", "2026-03-20 09:00", name)
        assert got["code"] == 0
        assert not loaded(got["modules"], "logging"), name


@pytest.mark.parametrize("argv", [["--help"], ["-h"], [], ["--version"], ["frob"], ["--bogus"], ["--now"],
                                  ["--config", "c.toml"], ["--help", "--debug"]])
def test_a_run_that_names_no_command_parses_as_the_whole_parser_does(argv: list[str]) -> None:
    """Such a run gets the list of commands without their arguments (`build_parser(only="")`)."""
    import contextlib
    import io

    from blocktime.cli import parse
    from blocktime.errors import BadInput

    def outcome(call: object) -> tuple[object, str]:
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                result: object = call()  # type: ignore[operator]
        except (BadInput, SystemExit) as exc:
            result = (type(exc).__name__, str(exc))
        return result, out.getvalue()

    assert outcome(lambda: parse(argv)) == outcome(lambda: build_parser().parse_args(argv))
    assert build_parser(only="").format_help() == build_parser().format_help()


@pytest.mark.parametrize("argv", [
    ["agenda", "--json"],
    ["--config", "c.toml", "--now", "2026-03-20 09:00", "book", "--client", "A", "--site", "S", "--start",
     "2026-03-24 12:00", "--length", "1h", "--attendee", "a@x.example", "--attendee", "b@x.example", "--count", "3"],
    ["cut-short", "acme-1", "--delivered", "35m", "--no-send"],
    ["--config", "agenda", "week", "--json"],  # a value that names a command: the real command wins
    ["inbox", "--json"], ["init", "--name", "N", "--force"], ["outbox", "send", "--json"],
    ["accept-counter", "acme-2-c1", "--no-send"],
])
def test_a_run_parses_as_the_whole_parser_does(argv: list[str]) -> None:
    from blocktime.cli import parse

    assert parse(argv) == build_parser().parse_args(argv)


@pytest.mark.parametrize("argv", [["agenda", "--nope"], ["book", "--client", "A"], ["--now", "agenda", "bogus"],
                                  ["cut-short", "acme-1"]])
def test_a_refused_run_gets_the_whole_parser_s_message(argv: list[str]) -> None:
    from blocktime.cli import parse
    from blocktime.errors import BadInput

    with pytest.raises(BadInput) as lean:
        parse(argv)
    with pytest.raises(BadInput) as whole:
        build_parser().parse_args(argv)
    assert str(lean.value) == str(whole.value)


def test_a_logless_command_on_postgresql_sets_logging_up(tmp_path: Path) -> None:
    """psycopg logs: with a PostgreSQL store, `agenda` gets the same logging as every other command."""
    import argparse
    import logging

    from blocktime.cli.common import load_config

    config = tmp_path / "config.toml"
    config.write_text('[organizer]\ntimezone = "Europe/Warsaw"\nname = "A"\nemail = "a@example.com"\n'
                      '[store]\nurl = "postgresql://bt:secret-pw@127.0.0.1:1/bt"\n')
    args = argparse.Namespace(command="agenda", config=str(config), trainer=None, debug=False, insecure=False)
    logging.getLogger().handlers.clear()
    load_config(args)
    handlers = logging.getLogger().handlers
    assert handlers and handlers[0].formatter is not None
    assert handlers[0].formatter._fmt == "blocktime: %(levelname)s: %(message)s"
    assert handlers[0].filters  # the redactor


def test_the_collector_is_off_only_for_parsing_and_logless_commands(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    import blocktime.cli as cli

    seen: dict[str, bool] = {}

    def fake(name: str) -> object:
        return lambda args: seen.setdefault(name, gc.isenabled()) and 0

    monkeypatch.setattr(cli, "command", fake)
    monkeypatch.setenv("BLOCKTIME_DATA_DIR", str(tmp_path / "data"))
    assert gc.isenabled()
    for argv in (["agenda", "--json"], ["status", "acme"], ["daemon", "--once"], ["--version"]):
        cli.main(argv)
        assert gc.isenabled()  # as main found it
    assert seen == {"agenda": False, "status": True, "daemon": True}


EXIT_PROBE = """
import atexit, sys
mark = sys.argv.pop(1)
atexit.register(lambda: open(mark, "w").write("exit handlers ran"))
from blocktime.cli import run
run()
"""


def _script(tmp_path: Path, *args: str, stdout: int | None = subprocess.PIPE) -> tuple[int, str, str, Path]:
    """The console script's `run` in a fresh interpreter; the last path says whether atexit ran."""
    mark = tmp_path / f"exited-{len(list(tmp_path.glob('exited-*')))}"
    env = {"BLOCKTIME_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", EXIT_PROBE, str(mark), *args], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, env=env, timeout=120, check=False)
    return done.returncode, done.stdout or "", done.stderr, mark


def test_a_read_only_command_ends_without_teardown_and_loses_nothing(tmp_path: Path) -> None:
    """`run` skips the interpreter's teardown after `agenda`, `--help` and `--version` (nothing is
    open then): the whole output arrives, the exit code is kept, the exit handlers still run (the
    dataclass code cache is written by one), and a closed pipe is no error."""
    config = tmp_path / "config.toml"
    config.write_text('[organizer]\ntimezone = "Europe/Warsaw"\nname = "A"\nemail = "a@example.com"\n')
    base = ("--config", str(config), "--now", "2026-03-20 09:00")
    code, out, err, mark = _script(tmp_path, *base, "agenda", "--json")
    assert code == 0 and json.loads(out) == {"blocks": []} and err == "" and mark.read_text() == "exit handlers ran"
    code, out, err, mark = _script(tmp_path, "--help")
    assert code == 0 and "usage: blocktime" in out and "agenda" in out and mark.exists()
    code, out, _err, mark = _script(tmp_path, "--version")
    assert code == 0 and out.startswith("blocktime ") and mark.exists()
    code, out, err, mark = _script(tmp_path, *base, "agenda", "--bogus")  # refused: the usual exit
    assert code == 2 and "unrecognized arguments" in err and mark.exists()
    reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert reader.stdin is not None
    env = {"BLOCKTIME_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", EXIT_PROBE, str(tmp_path / "piped"), "--help"],
                          stdout=reader.stdin, stderr=subprocess.PIPE, text=True, env=env, timeout=120, check=False)
    reader.stdin.close()
    reader.wait(timeout=30)
    assert done.returncode == 0 and "Traceback" not in done.stderr


TEARDOWN_PROBE = EXIT_PROBE.replace("from blocktime.cli import run", """torn = sys.argv.pop(1)
import threading  # its exit hooks run in the interpreter's teardown only, after the atexit ones
threading._register_atexit(lambda: open(torn, "w").write("torn down"))
from blocktime.cli import run""")


@sqlite_only
def test_a_booking_ends_without_teardown_and_loses_nothing(tmp_path: Path, radicale: Account) -> None:
    """After a command that ended well with no thread left running, `book` too, the teardown is
    skipped (~0.1 s of `book` 50, issue 27): the JSON arrives whole, the store holds every block
    and its messages, the outbox every invite, and the exit handlers ran. A command that failed
    exits the usual way."""
    import sqlite3

    config = tmp_path / "config.toml"
    config.write_text('[organizer]\ntimezone = "Europe/Warsaw"\nname = "A"\nemail = "a@example.com"\n'
                      f'[calendar]\nurl = "{radicale.url}"\nusername = "{radicale.username}"\n'
                      f'password = "{radicale.password}"\n')
    env = {"BLOCKTIME_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def script(*args: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
        mark, torn = tmp_path / f"exited-{len(args)}", tmp_path / f"torn-{len(args)}"
        done = subprocess.run([sys.executable, "-c", TEARDOWN_PROBE, str(mark), str(torn), "--config", str(config),
                               "--now", "2026-03-20 09:00", *args], capture_output=True, text=True, env=env,
                              timeout=120, check=False)
        return done, mark, torn

    done, mark, torn = script("book", "--client", "Acme", "--site", "HQ", "--attendee", "it@acme.example",
                              "--start", "2026-03-23 10:00", "--length", "1h", "--every", "mon,tue,wed",
                              "--count", "6", "--no-send", "--json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["booked"]) == 6
    assert mark.read_text() == "exit handlers ran" and not torn.exists()
    db = sqlite3.connect(tmp_path / "data" / "blocktime.sqlite3")
    assert db.execute("SELECT count(*) FROM blocks WHERE state='booked'").fetchone() == (6,)
    assert db.execute("SELECT count(*) FROM mail_outbox").fetchone() == (6,)
    assert len(list((tmp_path / "data" / "outbox").glob("*-request.ics"))) == 6
    failed, mark, torn = script("cut-short", "acme-99", "--delivered", "30m")
    assert failed.returncode != 0 and "acme-99" in failed.stderr
    assert mark.exists() and torn.read_text() == "torn down"
