"""No silent defaults: placeholders are said on stderr; doctor checks organizer, zone, the config
file's mode, SMTP (connect, TLS, login; nothing sent) and the inbox when there is one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from blocktime.cli import main
from tests.conftest import write_config
from tests.mailserver import MailSink
from tests.servers import Account


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def findings(out: str) -> dict[str, dict[str, Any]]:
    return {f["topic"]: f for f in json.loads(out)["findings"]}


def test_with_no_config_a_writing_command_names_its_placeholders_once(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Europe/Warsaw")
    monkeypatch.setenv("USER", "anna")
    code, out, err = run(capsys, "--now", "2026-03-20T09:00", "book", "--client", "Acme", "--site", "HQ",
                         "--start", "2026-03-24 10:00", "--length", "1h")
    assert code == 0 and "booked" in out, err
    notes = [line for line in err.splitlines() if "note:" in line]
    assert len(notes) == 1
    assert ("blocktime: note: no config file: using organizer anna <anna@localhost>, zone Europe/Warsaw "
            f"(this machine's), data in {data_dir}; run `blocktime init` to set them") == notes[0]
    code, _out, err = run(capsys, "agenda")  # reads only: nothing to say
    assert code == 0 and err == ""


def test_a_config_without_organizer_is_named_too_and_doctor_warns(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[policy]\ntravel = "15m"\n')
    code, _out, err = run(capsys, "--config", str(cfg), "offers", "--expire")
    assert code == 0 and f"note: {cfg} does not set them: using organizer" in err and "zone UTC" in err
    code, out, _err = run(capsys, "--config", str(cfg), "--now", "2026-03-20T09:00", "doctor", "--json")
    found = findings(out)
    assert found["organizer"]["level"] == "warn" and "placeholder" in found["organizer"]["text"]
    assert found["zone"]["level"] == "warn" and "not set in the config" in found["zone"]["text"]
    assert code == 0  # warnings, not failures: the embedded calendar works


def test_doctor_warns_about_a_password_others_can_read(
    radicale: Account, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path / "c.toml", radicale)  # holds the password in the file
    os.chmod(cfg, 0o644)
    _code, out, _err = run(capsys, "--config", str(cfg), "doctor", "--json")
    found = findings(out)
    assert found["config"]["level"] == "warn" and "other users can read it" in found["config"]["text"]
    assert f"chmod 600 {cfg}" in found["config"]["advice"]
    assert found["organizer"]["level"] == "ok" and found["zone"]["level"] == "ok"
    assert (radicale.password or "") not in out
    os.chmod(cfg, 0o600)
    found = findings(run(capsys, "--config", str(cfg), "doctor", "--json")[1])
    assert found["config"]["level"] == "ok" and "private" in found["config"]["text"]


def test_doctor_checks_smtp_without_sending(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sink = MailSink(login=("anna", "right-pass-123"))
    try:
        base = {"host": "127.0.0.1", "port": sink.port, "security": "none", "username": "anna"}
        good = write_config(tmp_path / "good.toml", None, smtp={**base, "password": "right-pass-123"})
        os.chmod(good, 0o600)
        code, out, _err = run(capsys, "--config", str(good), "doctor", "--json")
        smtp = findings(out)["smtp"]
        assert code == 0 and smtp["level"] == "ok" and "signed in as anna; no mail was sent" in smtp["text"]
        assert sink.messages == [] and sink.logins == ["anna"]
        bad = write_config(tmp_path / "bad.toml", None, smtp={**base, "password": "wrong-pass-456"})
        code, out, _err = run(capsys, "--config", str(bad), "doctor", "--json")
        smtp = findings(out)["smtp"]
        assert code == 1 and smtp["level"] == "fail" and "refused the login as anna" in smtp["text"]
        assert "wrong-pass-456" not in out and sink.messages == []
    finally:
        sink.stop()
