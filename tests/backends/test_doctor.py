"""`blocktime doctor [PROFILE]` against real Radicale and Xandikos, the embedded calendar, and nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blocktime.cli import main
from tests.cli.test_cli import one_error_line
from tests.conftest import Runner, write_config
from tests.helpers import objects
from tests.servers import Account, refused_port


def test_doctor_on_a_real_server(cli: Runner, account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli("doctor")
    with capsys.disabled():  # shown with `pytest -s`: what a user sees
        print(f"\n--- doctor on {account.kind} ---\n{out}")
    assert code == 0, out + err
    lines = {line.split()[1]: line for line in out.splitlines()[1:-1] if line.startswith("  ") and line.split()}
    assert lines["connect"].split()[0] == "ok" and "blocktime" in lines["calendar"]
    assert "If-None-Match: * refused the second create" in lines["no-overwrite"]
    assert "a stale ETag is refused" in lines["if-match"]
    assert "sync tokens (RFC 6578)" in lines["changes"]
    assert lines["ctag"].split()[0] == "ok" and "changes with every edit" in lines["ctag"]
    assert "free-busy" in lines and "scheduling" in lines
    if account.kind == "xandikos":
        assert "Schedule-Tag" in lines["scheduling"]
    assert out.strip().endswith("blocktime can work here.")
    assert objects(account) == []  # the probe event is gone again


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_doctor_json_and_a_profile_file(account: Account, tmp_path: Path, data_dir: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "my-radicale.toml"
    profile.write_text(f'[calendar]\nprovider = "caldav"\nurl = "{account.url}"\nusername = "{account.username}"\n'
                       f'password = "{account.password}"\nname = "Trainings"\n')
    cfg = write_config(tmp_path / "c.toml", None)  # the configured calendar is not the one checked
    code = main(["--config", str(cfg), "doctor", str(profile), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["ok"] is True and doc["provider"] == "caldav"
    assert doc["url"] == account.url.rstrip("/") + "/" or doc["url"].startswith(account.root)
    assert {f["topic"] for f in doc["findings"]} >= {"connect", "calendar", "write", "no-overwrite", "if-match",
                                                       "changes", "free-busy", "scheduling"}
    calendar = next(f for f in doc["findings"] if f["topic"] == "calendar")
    assert calendar["text"].startswith("blocks go to 'Trainings'")


def test_doctor_on_the_embedded_calendar(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(write_config(tmp_path / "c.toml", None)), "doctor"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("blocktime doctor: local at http://127.0.0.1:")


def test_doctor_on_an_unreachable_server_is_one_line(tmp_path: Path, data_dir: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    nowhere = Account("radicale", f"http://127.0.0.1:{refused_port()}/anna/", "anna", "pw", "")
    code = main(["--config", str(write_config(tmp_path / "c.toml", nowhere)), "doctor"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "cannot reach the calendar server" in one_error_line(err) and "pw" not in err


@pytest.mark.parametrize("account", ["radicale"], indirect=True)
def test_doctor_with_a_wrong_password_is_one_line(account: Account, tmp_path: Path, data_dir: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    wrong = Account(account.kind, account.url, account.username, "not-it", account.root)
    code = main(["--config", str(write_config(tmp_path / "c.toml", wrong)), "doctor"])
    _out, err = capsys.readouterr()
    assert code == 1 and "refused the username or password" in one_error_line(err)


def test_doctor_with_an_unknown_profile_is_exit_2(tmp_path: Path, data_dir: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(write_config(tmp_path / "c.toml", None)), "doctor", "lotus-notes"])
    _out, err = capsys.readouterr()
    assert code == 2 and "no calendar profile 'lotus-notes'" in one_error_line(err)


def test_doctor_fails_where_if_none_match_is_ignored(cli: Runner, account: Account,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that overwrites on create is refused: simulated by dropping the header on the way out."""
    from blocktime.backends.caldav import CalDAVBackend

    real = CalDAVBackend._put

    def careless(self: CalDAVBackend, href: str, data: str, condition: dict[str, str]) -> object:
        return real(self, href, data, {k: v for k, v in condition.items() if k != "If-None-Match"})

    monkeypatch.setattr(CalDAVBackend, "_put", careless)
    code, out, _err = cli("doctor")
    assert code == 1
    assert "fail  no-overwrite" in out and "If-None-Match is ignored" in out
    assert "blocktime cannot work here" in out.strip().splitlines()[-1]
