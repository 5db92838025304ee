"""Security: every file blocktime writes is private (0600 in 0700 folders); passwords never show in
debug logs, output, files, command lines or error messages (also not as the Basic-auth or SMTP
AUTH encodings a server may echo); TLS certificates are verified unless `--insecure` is given,
which is said on stderr."""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Runner, smtp_section, write_config
from tests.hostile import HostileServer
from tests.mailserver import MailSink, self_signed
from tests.servers import Account, refused_port
from tests.stores import sqlite_only

SMTP_SECRET = "Smtp-Secret-4e1f0b"
PEOPLE = ("it@acme.example", "office@acme.example")
BOOK = ("book", "--client", "Acme", "--site", "Acme HQ", "--attendee", PEOPLE[0], "--attendee", PEOPLE[1],
        "--start", "2026-03-24 12:00", "--length", "1h", "--every", "tue", "--count", "2")


@pytest.fixture
def umask0() -> Iterator[None]:
    """No help from the umask: what blocktime creates must be private by its own doing."""
    old = os.umask(0)
    yield
    os.umask(old)


def _modes(root: Path) -> dict[str, tuple[str, int]]:
    out = {}
    for p in [root, *root.rglob("*")]:
        m = p.lstat().st_mode
        out[str(p.relative_to(root.parent))] = ("d" if stat.S_ISDIR(m) else "f", stat.S_IMODE(m))
    return out


def test_every_file_blocktime_writes_is_private(tmp_path: Path, data_dir: Path, smtp: MailSink, umask0: None,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Embedded calendar, mail, offers, holds, a make-up block, the daemon, an export, an OAuth token:
    the store (and its -wal/-shm), the lock, the embedded server's password files, the outbox with its
    invites, offers and .eml mail — all 0600, in folders created 0700. The embedded Radicale's own
    files live inside `radicale/`, which is 0700."""
    cli = Runner(write_config(tmp_path / "config.toml", None, smtp=smtp_section(smtp)), capsys)
    assert cli(*BOOK)[0] == 0
    assert cli("cut-short", "acme-1", "--ended-at", "12:30", "--no-send", now="2026-03-24T13:05")[0] == 0
    offer = cli.json("offers", now="2026-03-24T13:10")["offers"][0]["id"]
    assert cli("accept", offer, "1", "--no-send", now="2026-03-24T13:15")[0] == 0
    assert cli("daemon", "--once", now="2026-03-24T14:00")[0] == 0
    assert cli("export", "--engagement", "acme")[0] == 0
    assert cli("book", "--client", "Globex", "--site", "Globex HQ", "--attendee", "ceo@globex.example",
               "--start", "2026-04-02 10:00", "--length", "1h", "--no-send")[0] == 0  # .eml files stay
    from blocktime.config.auth import Token, TokenStore

    TokenStore(data_dir, "google").save(Token("access", "refresh", None, "https://token.example", "client"))
    from blocktime.store.store import Store

    store = Store(data_dir / "blocktime.sqlite3")  # an open store has its -wal and -shm beside it
    try:
        with store.transaction():
            store.set_meta("probe", "1")
        side = sorted(p.name for p in data_dir.glob("blocktime.sqlite3-*"))
        assert side == ["blocktime.sqlite3-shm", "blocktime.sqlite3-wal"]
        modes = _modes(data_dir)
    finally:
        store.close()
    kinds = {Path(k).suffix for k, (t, _) in modes.items() if t == "f"}
    assert {".sqlite3", ".lock", ".ics", ".txt", ".eml", ".json"} <= kinds | {".lock"}
    assert any(k.endswith(".eml") for k in modes) and any(k.endswith("tokens/google.json") for k in modes)
    loose = {k: (t, oct(m)) for k, (t, m) in modes.items()
             if "radicale/collections" not in k and m != (0o700 if t == "d" else 0o600)}
    assert loose == {}
    assert modes["data/radicale"] == ("d", 0o700)


@pytest.fixture
def smtp_login() -> Iterator[MailSink]:
    """An SMTP server that wants a login (over plain SMTP on loopback, which aiosmtpd warns about)."""
    from tests.mailserver import login_sink

    with login_sink("anna", SMTP_SECRET) as sink:
        yield sink


def _secrets(account: Account) -> dict[str, str]:
    assert account.password
    b64 = base64.b64encode
    return {
        "calendar password": account.password,
        "calendar Basic auth": b64(f"{account.username}:{account.password}".encode()).decode(),
        "SMTP password": SMTP_SECRET,
        "SMTP AUTH LOGIN": b64(SMTP_SECRET.encode()).decode(),
        "SMTP AUTH PLAIN": b64(f"\0anna\0{SMTP_SECRET}".encode()).decode(),
    }


def _leaks(secrets: dict[str, str], texts: dict[str, bytes]) -> list[str]:
    return [f"{what} in {where}" for where, data in texts.items() for what, s in secrets.items() if s.encode() in data]


@sqlite_only  # searches the store's file; on PostgreSQL: test_store_engines.test_the_store_password_never_leaks
def test_secrets_never_leak_into_logs_output_files_or_command_lines(
        radicale: Account, smtp_login: MailSink, tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Calendar password in the config file, SMTP password from the environment; every command with
    --debug; then stdout, stderr, every file in the data dir and the outbox, and the command lines
    of a running daemon are searched for the passwords and their wire encodings."""
    monkeypatch.setenv("BT_SMTP_PW", SMTP_SECRET)
    config = write_config(tmp_path / "config.toml", radicale,
                          smtp=smtp_section(smtp_login, username="anna", password_env="BT_SMTP_PW"))
    cli = Runner(config, capsys)
    texts: dict[str, bytes] = {}

    def run(*args: str, now: str = "2026-03-20T09:00") -> tuple[int, str, str]:
        code, out, err = cli("--debug", *args, now=now)
        texts[f"output of {args[0]}"] = (out + err).encode()
        assert "internal error" not in err, err  # (--debug shows the tracebacks libraries log on purpose)
        return code, out, err

    assert run(*BOOK)[0] == 0
    assert run("cut-short", "acme-1", "--ended-at", "12:30", now="2026-03-24T13:05")[0] == 0
    _, out, _ = run("offers", "--json", now="2026-03-24T13:10")
    assert run("accept", json.loads(out)["offers"][0]["id"], "1", now="2026-03-24T13:15")[0] == 0
    assert run("daemon", "--once", now="2026-03-24T14:00")[0] == 0
    run("doctor", now="2026-03-24T14:05")
    assert smtp_login.logins and smtp_login.messages  # the SMTP password was used
    assert any("DEBUG" in t.decode() for t in texts.values())  # debug logging did run
    for p in sorted(data_dir.rglob("*")):  # the outbox is <data dir>/outbox
        if p.is_file():
            texts[str(p.relative_to(data_dir))] = p.read_bytes()
    assert any(k.endswith(".ics") for k in texts) and any(k.endswith(".sqlite3") for k in texts)
    texts.update(_daemon_process(config, data_dir))
    assert _leaks(_secrets(radicale), texts) == []


def _daemon_process(config: Path, data_dir: Path) -> dict[str, bytes]:
    """Start the real `blocktime --debug daemon`, read the command line of it and of every process
    it started while it runs, stop it with SIGTERM; returns those and its output."""
    env = dict(os.environ, BLOCKTIME_DATA_DIR=str(data_dir))
    proc = subprocess.Popen([sys.executable, "-m", "blocktime.cli", "--config", str(config), "--debug",
                             "--now", "2026-03-24T14:10", "daemon"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    chunks: list[bytes] = []
    started = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            chunks.append(line)
            if b"daemon started" in line:
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert started.wait(30), b"".join(chunks).decode()
        lines = {f"command line of {pid}": cmdline for pid, cmdline in _process_tree(proc.pid).items()}
        assert lines
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        reader.join(timeout=5)
    assert proc.returncode == 0, b"".join(chunks).decode()
    return {**lines, "daemon output": out + b"".join(chunks)}


def _process_tree(root: int) -> dict[int, bytes]:
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parents[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, todo = {root}, [root]
    while todo:
        pid = todo.pop()
        kids = [c for c, p in parents.items() if p == pid and c not in tree]
        tree.update(kids)
        todo += kids
    out = {}
    for pid in tree:
        try:
            out[pid] = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        except OSError:
            continue
    return out


def test_failure_messages_hold_no_secrets(radicale: Account, tmp_path: Path, data_dir: Path,
                                          smtp_login: MailSink, capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong password, credentials in the URL of a server that is not there (and of one that
    refuses them), an SMTP server that refuses the login: each says what is wrong in one line, with
    the URL but without the user:password part, even with --debug."""
    wrong = "Wrong-Secret-93a1"
    url_secret = "Url-Secret-5d2c@x"  # an @ in it: percent-encoded in the URL
    encoded = url_secret.replace("@", "%40")
    port = refused_port()
    cases = {
        "wrong password": ({"url": radicale.url, "username": radicale.username, "password": wrong},
                           "refused the username or password", wrong),
        "unreachable, user:password in the URL": ({"url": f"http://anna:{encoded}@127.0.0.1:{port}/dav/"},
                                                  f"cannot reach the calendar server at http://127.0.0.1:{port}/dav/",
                                                  url_secret),
        "refused, user:password in the URL": (
            {"url": radicale.url.replace("http://", f"http://{radicale.username}:{encoded}@")},
            "refused the username or password", url_secret),
    }
    for name, (calendar, says, secret) in cases.items():
        cli = Runner(write_config(tmp_path / "c.toml", None, calendar=calendar), capsys)
        code, out, err = cli("--debug", *BOOK)
        assert code == 1, (name, err)
        errors = [line for line in err.splitlines() if line.startswith("blocktime: error:")]
        assert len(errors) == 1 and says in errors[0], (name, err)
        for leaked in (secret, encoded, base64.b64encode(f"anna:{secret}".encode()).decode()):
            assert leaked not in out + err, (name, leaked)
    cli = Runner(write_config(tmp_path / "c.toml", radicale, smtp=smtp_section(smtp_login, username="anna",
                                                                             password=wrong)), capsys)
    code, out, err = cli("--debug", *BOOK)
    assert code == 0 and "refused the login as anna" in err and wrong not in out + err, err
    assert base64.b64encode(wrong.encode()).decode() not in err


# TLS ---------------------------------------------------------------------------------------------------

@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[HostileServer, Path]]:
    """A well-behaved CalDAV stand-in over HTTPS with a fresh self-signed certificate."""
    (tmp_path / "tls").mkdir()
    ctx, cert = self_signed(tmp_path / "tls")
    srv = HostileServer(tls=ctx).start()
    yield srv, cert
    srv.stop()


def test_tls_is_verified_by_default(tls_server: tuple[HostileServer, Path], tmp_path: Path, data_dir: Path,
                                    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    srv, cert = tls_server
    cli = Runner(write_config(tmp_path / "c.toml", None, calendar={"url": srv.url, "username": "anna",
                                                                  "password": "pw-123456"}), capsys)
    code, _out, err = cli(*BOOK)
    assert code == 1 and err.count("\n") == 1 and "certificate is not trusted" in err and "--insecure" in err, err
    assert srv.seen == []  # the handshake failed: no request, so no credentials, went out
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # the same certificate, trusted: accepted
    code, _out, err = cli(*BOOK)
    assert code == 0 and err == "", err
    assert srv.seen


def test_insecure_is_explicit_and_warned(tls_server: tuple[HostileServer, Path], tmp_path: Path, data_dir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    srv, _cert = tls_server
    calendar = {"url": srv.url, "username": "anna", "password": "pw-123456"}
    cli = Runner(write_config(tmp_path / "c.toml", None, calendar=calendar), capsys)
    code, out, err = cli("--insecure", *BOOK)
    assert code == 0 and "booked" in out, err
    assert err.splitlines() == ["blocktime: warning: --insecure: the calendar server's TLS certificate is not "
                                "verified in this run"]  # once, and no library warning per request
    code, _out, err = cli(*BOOK[:-2], "--count", "1", "--skip-conflicts")  # the next run checks again
    assert code == 1 and "certificate is not trusted" in err
    cli = Runner(write_config(tmp_path / "c.toml", None, calendar={**calendar, "verify_tls": False}), capsys)
    code, _out, err = cli("agenda")
    assert code == 0 and err.startswith("blocktime: warning: [calendar] verify_tls = false"), err


def test_insecure_is_a_global_option_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    from blocktime.cli import build_parser

    assert "--insecure" in build_parser().format_help()
    assert not build_parser().parse_args(["agenda"]).insecure


def test_the_watchdog_of_this_module_is_quick() -> None:
    started = time.monotonic()
    assert _process_tree(os.getpid())[os.getpid()]
    assert time.monotonic() - started < 5
