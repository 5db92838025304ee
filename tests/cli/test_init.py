"""`blocktime init`: the config written once, 0600, where blocktime looks; scripted or asked; then doctor."""

from __future__ import annotations

import io
import stat
import tomllib
from pathlib import Path

import pytest

from blocktime.cli import main
from blocktime.config.loading import find_config_file, load
from tests.servers import Account

FLAGS = ["init", "--name", "Anna Nowak", "--email", "anna@example.com", "--timezone", "America/New_York"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class Terminal(io.StringIO):
    """Standard input as a person at a terminal answers."""

    def isatty(self) -> bool:
        return True


def test_init_with_flags_then_book_with_the_config_it_wrote(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "conf" / "blocktime.toml"
    monkeypatch.setenv("BLOCKTIME_CONFIG", str(target))
    code, out, err = run(capsys, *FLAGS, "--language", "pl", "--no-doctor")
    assert code == 0, err
    assert f"wrote {target} (0600)" in out
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    cfg = load(None)
    assert cfg.source == target
    assert (cfg.organizer.name, cfg.organizer.email, cfg.organizer.timezone.key, cfg.organizer.language) == \
        ("Anna Nowak", "anna@example.com", "America/New_York", "pl")
    code, out, err = run(capsys, "--now", "2026-03-20T09:00", "book", "--client", "Acme", "--site", "HQ",
                         "--attendee", "it@acme.example", "--start", "next tue 10:00", "--length", "1h")
    assert code == 0, err
    assert "booked" in out and "note:" not in err  # nothing is a placeholder any more
    invite = next((data_dir / "outbox").glob("*.ics")).read_text()
    assert "mailto:anna@example.com" in invite and "America/New_York" in invite
    assert "DTSTART:20260324T140000Z" in invite  # Tue 10:00 in New York (EDT, UTC-4)


def test_init_writes_to_the_user_config_dir_and_refuses_to_overwrite(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    assert find_config_file(None) is None
    assert run(capsys, *FLAGS, "--no-doctor")[0] == 0
    target = xdg / "blocktime" / "config.toml"
    assert find_config_file(None) == target
    before = target.read_text()
    code, _out, err = run(capsys, *FLAGS[:-1], "Europe/Warsaw", "--no-doctor")
    assert code == 2 and err.count("\n") == 1
    assert "exists; blocktime init does not overwrite it (add --force" in err
    assert target.read_text() == before
    assert run(capsys, *FLAGS[:-1], "Europe/Warsaw", "--force", "--no-doctor")[0] == 0
    assert 'timezone = "Europe/Warsaw"' in target.read_text()


def test_a_zone_change_with_blocks_booked_needs_a_confirmation(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(tmp_path / "c.toml")
    assert run(capsys, "--config", cfg, *FLAGS, "--no-doctor")[0] == 0
    # no blocks yet: the zone may change freely
    assert run(capsys, "--config", cfg, *FLAGS[:-1], "Europe/Warsaw", "--force", "--no-doctor")[0] == 0
    code, _out, err = run(capsys, "--config", cfg, "--now", "2026-03-20T09:00", "book", "--client", "Acme",
                          "--site", "HQ", "--start", "2026-03-24 10:00", "--length", "1h")
    assert code == 0, err
    code, _out, err = run(capsys, "--config", cfg, *FLAGS[:-1], "Asia/Tokyo", "--force", "--no-doctor")
    assert code == 2 and err.count("\n") == 1
    assert "from Europe/Warsaw to Asia/Tokyo while 1 block(s) are booked" in err and "--confirm-timezone" in err
    assert 'timezone = "Europe/Warsaw"' in Path(cfg).read_text()
    code, _out, err = run(capsys, "--config", cfg, *FLAGS[:-1], "Asia/Tokyo", "--force", "--confirm-timezone",
                          "--no-doctor")
    assert code == 0, err
    assert 'timezone = "Asia/Tokyo"' in Path(cfg).read_text()


def test_init_for_a_caldav_server_then_doctor(
    radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_DAV_PASSWORD", radicale.password or "")
    cfg = tmp_path / "c.toml"
    code, out, err = run(capsys, "--config", str(cfg), *FLAGS, "--profile", "radicale", "--url", radicale.url,
                         "--username", radicale.username or "", "--password-env", "MY_DAV_PASSWORD",
                         "--calendar", "Training")
    assert code == 0, err
    raw = tomllib.loads(cfg.read_text())
    assert raw["calendar"] == {"profile": "radicale", "url": radicale.url, "username": radicale.username,
                               "password_env": "MY_DAV_PASSWORD", "name": "Training"}
    assert (radicale.password or "") not in cfg.read_text()
    assert "blocktime doctor:" in out and "blocks go to 'Training'" in out and "blocktime can work here." in out
    assert "ok    organizer    Anna Nowak <anna@example.com>" in out


def test_init_asks_when_flags_are_missing(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Europe/Warsaw")  # the zone proposed is the machine's
    answers = ["Anna Nowak", "not-an-address", "anna@example.com", "", "de", "pl", "nosuch", "local"]
    monkeypatch.setattr("sys.stdin", Terminal("\n".join(answers) + "\n"))
    cfg = tmp_path / "c.toml"
    code, out, err = run(capsys, "--config", str(cfg), "init", "--no-doctor")
    assert code == 0, err
    assert "Your time zone [Europe/Warsaw]: " in out
    assert "'not-an-address' is not an e-mail address" in err and "answer en or pl" in err
    assert "no calendar profile 'nosuch'" in err
    raw = tomllib.loads(cfg.read_text())
    assert raw == {"organizer": {"name": "Anna Nowak", "email": "anna@example.com", "timezone": "Europe/Warsaw",
                                 "language": "pl"}}


def test_init_asks_how_to_keep_the_password(
    radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = ["Europe/Warsaw", "radicale", radicale.url, radicale.username or "", "f", ""]
    monkeypatch.setattr("sys.stdin", Terminal("\n".join(answers) + "\n"))
    monkeypatch.setattr("getpass.getpass", lambda prompt: radicale.password)
    cfg = tmp_path / "c.toml"
    code, out, err = run(capsys, "--config", str(cfg), *FLAGS[:5], "--language", "en")
    assert code == 0, err
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    assert tomllib.loads(cfg.read_text())["calendar"]["password"] == radicale.password
    assert "blocktime can work here." in out and "(mode 0600): private" in out


def test_init_without_a_terminal_needs_the_flags(tmp_path: Path, data_dir: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "--config", str(tmp_path / "c.toml"), "init", "--name", "Anna")
    assert code == 2 and err.count("\n") == 1 and "needs --email, --timezone" in err
    assert not (tmp_path / "c.toml").exists()


def test_keyring_without_the_keyring_package_is_bad_input(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("blocktime")
    try:
        import keyring  # noqa: F401
        pytest.skip("keyring is installed here")
    except ImportError:
        pass
    monkeypatch.setattr("sys.stdin", io.StringIO("secret\n"))
    code, _out, err = run(capsys, "--config", str(tmp_path / "c.toml"), *FLAGS, "--url", "http://127.0.0.1:1/",
                          "--username", "anna", "--keyring", "--no-doctor")
    assert code == 2 and "--keyring needs the optional keyring package" in err and "secret" not in err
    assert "pip install 'blocktime[keyring]'" in err
    assert not (tmp_path / "c.toml").exists()


def test_a_zone_edited_by_hand_is_refused_until_confirmed(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    assert run(capsys, "--config", str(cfg), *FLAGS[:-1], "Europe/Warsaw", "--no-doctor")[0] == 0
    book = ["--config", str(cfg), "--now", "2026-03-20T09:00", "book", "--client", "Acme", "--site", "HQ",
            "--start", "2026-03-24 10:00", "--length", "1h"]
    assert run(capsys, *book)[0] == 0
    cfg.write_text(cfg.read_text().replace("Europe/Warsaw", "Europe/London"))
    code, _out, err = run(capsys, *book[:-4], "--start", "2026-03-26 10:00", "--length", "1h")
    assert code == 2 and err.count("\n") == 1
    assert ("[organizer] timezone is Europe/London, but 1 upcoming block(s) were booked in Europe/Warsaw" in err
            and "blocktime init --confirm-timezone" in err)
    assert run(capsys, "--config", str(cfg), "agenda")[0] == 0  # reading is fine
    code, out, err = run(capsys, "--config", str(cfg), "init", "--confirm-timezone")
    assert code == 0 and "Europe/London confirmed; 1 booked block(s)" in out, err
    code, _out, err = run(capsys, *book[:-4], "--start", "2026-03-26 10:00", "--length", "1h")
    assert code == 0, err


def test_init_for_google_points_to_auth_instead_of_running_doctor(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    code, out, err = run(capsys, "--config", str(cfg), *FLAGS, "--profile", "google", "--username",
                         "anna@gmail.com")
    assert code == 0, err
    assert "next: `blocktime auth google` signs you in (once)" in out and "blocktime doctor:" not in out
    assert tomllib.loads(cfg.read_text())["calendar"] == {"profile": "google", "username": "anna@gmail.com"}


OTHER_TABLES = '''
[smtp]   # mail goes out here
host = "smtp.example.com"
port = 587
username = "anna"
password_env = "SMTP_PW"

[inbox]
host = "imap.example.com"
username = "anna"
password_env = "IMAP_PW"   # read from the environment

[policy]
buffer = 10                # a bare number: minutes (the config's older form)
working_hours = "mon-fri 08:00-18:00"

[sites."Acme HQ"]
area = "Warsaw"

[travel]
default = "30m"
'''


def test_force_keeps_every_table_and_key_it_does_not_ask_about(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 26, point 7: `init --force` run to change only the language dropped [smtp] and [inbox]."""
    cfg = tmp_path / "c.toml"
    assert run(capsys, "--config", str(cfg), *FLAGS, "--url", "https://dav.example/cal/", "--username", "anna",
               "--password-env", "DAV_PW", "--no-doctor")[0] == 0
    with cfg.open("a") as f:
        f.write(OTHER_TABLES)
    text = cfg.read_text().replace('[calendar]\n', '[calendar]\nverify_tls = false   # my own CA\n')
    cfg.write_text(text)
    before = tomllib.loads(cfg.read_text())
    code, out, err = run(capsys, "--config", str(cfg), *FLAGS, "--url", "https://dav.example/cal/", "--username",
                         "anna", "--password-env", "DAV_PW", "--language", "pl", "--force", "--no-doctor")
    assert code == 0, err
    after = tomllib.loads(cfg.read_text())
    assert after["organizer"]["language"] == "pl"
    assert {k: v for k, v in after.items() if k != "organizer"} == {k: v for k, v in before.items()
                                                                    if k != "organizer"}
    assert "# mail goes out here" in cfg.read_text() and "# read from the environment" in cfg.read_text()
    assert "changed organizer.language: en -> pl" in out
    assert "kept as they were: [smtp], [inbox], [policy], [sites], [travel], calendar.verify_tls" in out
    for name in ("DAV_PW", "SMTP_PW", "IMAP_PW"):
        monkeypatch.setenv(name, "x")
    load(cfg)  # the file still loads
    # a new password is said without its value
    code, out, err = run(capsys, "--config", str(cfg), *FLAGS, "--url", "https://dav.example/cal/", "--username",
                         "bob", "--password-env", "DAV_PW", "--force", "--no-doctor")
    assert code == 0 and "changed organizer.language: pl -> en" in out
    assert "changed calendar.username: anna -> bob" in out
    assert tomllib.loads(cfg.read_text())["smtp"] == before["smtp"]
