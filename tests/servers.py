"""Real CalDAV servers for the tests: Radicale and Xandikos as subprocesses on free loopback ports."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_REFUSING: list[socket.socket] = []


def refused_port() -> int:
    """A loopback port where a connection is refused for the rest of the process: bound but never
    listening, so no server (of this xdist worker, another one, or another run) can take it, as a
    port from free_port() could be taken between the test choosing it and connecting to it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    _REFUSING.append(s)
    return int(s.getsockname()[1])


class ExitedEarly(RuntimeError):
    """The server process ended before it listened (e.g. its port was taken meanwhile)."""


def start_on_free_port(start: Callable[[int], subprocess.Popen[bytes]], timeout: float = 30,
                       attempts: int = 3) -> tuple[int, subprocess.Popen[bytes]]:
    """`start(port)` on a free port until it listens: between free_port() and the server's own bind
    another process (the parallel workers of `make test`) may take the port; then a new one is tried."""
    for attempt in range(attempts):
        port = free_port()
        proc = start(port)
        try:
            wait_port(port, proc, timeout)
            return port, proc
        except ExitedEarly:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ExitedEarly(f"server exited early with {proc.returncode}")
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
        def start(port: int) -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "radicale",
                 "--server-hosts", f"127.0.0.1:{port}",
                 "--storage-filesystem-folder", str(workdir / "collections"),
                 "--auth-type", "htpasswd",
                 "--auth-htpasswd-filename", str(self.htpasswd),
                 "--auth-htpasswd-encryption", "plain",
                 "--auth-delay", "0",
                 "--rights-type", "owner_only",
                 "--logging-level", "error"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        if port:
            self.port, self.proc = port, start(port)
            wait_port(self.port, self.proc)
        else:
            self.port, self.proc = start_on_free_port(start)
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
        env = dict(os.environ, XDG_DATA_HOME=str(workdir / "state"))
        self.port, self.proc = start_on_free_port(lambda port: subprocess.Popen(
            [sys.executable, "-m", "xandikos", "serve", "-d", str(workdir / "data"),
             "--defaults", "-l", "127.0.0.1", "-p", str(port),
             "--current-user-principal", "/user/", "--state-dir", str(workdir / "state")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        ))

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def account(self) -> Account:
        return Account("xandikos", f"{self.root}/user/", None, None, self.root)

    def stop(self) -> None:
        stop_process(self.proc)
