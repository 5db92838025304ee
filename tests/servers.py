"""Real CalDAV servers for the tests: Radicale and Xandikos as subprocesses on free loopback ports."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def stop_process(proc: subprocess.Popen[bytes], grace: float = 10) -> None:
    """SIGTERM, then SIGKILL if the server has not gone within `grace` seconds.

    A busy Xandikos once sat on SIGTERM for over ten seconds on a loaded CI host (its teardown then
    errored a passed test); a test server's data is throwaway, so a kill loses nothing.
    """
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass(frozen=True)
class Account:
    """One CalDAV account on a real server; `url` is the principal (or any) URL."""

    kind: str
    url: str
    username: str | None
    password: str | None
    root: str  # scheme://host:port


class RadicaleServer:
    """One Radicale process; every test gets a fresh user (so a fresh principal)."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.htpasswd = workdir / "htpasswd"
        if not self.htpasswd.exists():
            self.htpasswd.write_text("")
        self.port = port or free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "radicale",
             "--server-hosts", f"127.0.0.1:{self.port}",
             "--storage-filesystem-folder", str(workdir / "collections"),
             "--auth-type", "htpasswd",
             "--auth-htpasswd-filename", str(self.htpasswd),
             "--auth-htpasswd-encryption", "plain",
             "--auth-delay", "0",
             "--rights-type", "owner_only",
             "--logging-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, self.proc)
        self.count = 0

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def new_account(self) -> Account:
        self.count = len(self.htpasswd.read_text().splitlines()) + 1
        user, password = f"user{self.count}", secrets.token_hex(8)
        with self.htpasswd.open("a") as f:
            f.write(f"{user}:{password}\n")
        return Account("radicale", f"{self.root}/{user}/", user, password, self.root)

    def stop(self) -> None:
        stop_process(self.proc)


class XandikosServer:
    """One Xandikos process per account (Xandikos serves a single principal)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        env = dict(os.environ, XDG_DATA_HOME=str(workdir / "state"))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "xandikos", "serve", "-d", str(workdir / "data"),
             "--defaults", "-l", "127.0.0.1", "-p", str(self.port),
             "--current-user-principal", "/user/", "--state-dir", str(workdir / "state")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        wait_port(self.port, self.proc)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def account(self) -> Account:
        return Account("xandikos", f"{self.root}/user/", None, None, self.root)

    def stop(self) -> None:
        stop_process(self.proc)
