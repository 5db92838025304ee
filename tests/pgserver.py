"""A real PostgreSQL server for the tests, started on a free loopback port.

Binaries: $BLOCKTIME_PG_BIN, else Debian's (/usr/lib/postgresql/N/bin, the newest), else the ones
the `pgserver` wheel ships (a test dependency, so `make test` needs nothing but python3, git and
make). Only its binaries are used: this module runs initdb and postgres itself.

PostgreSQL refuses to run as root; as root the cluster belongs to the `postgres` user when it
exists, else to `nobody`, and the server runs as that user. It listens on 127.0.0.1 only (no Unix
socket), trusts local connections and skips fsync: a throwaway cluster per test session.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.servers import ExitedEarly, free_port, stop_process


def find_bin() -> Path:
    explicit = os.environ.get("BLOCKTIME_PG_BIN")
    if explicit:
        return Path(explicit)
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                    key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if debian:
        return debian[-1].parent
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        shipped = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        if (shipped / "postgres").exists():
            return shipped
    raise RuntimeError("no PostgreSQL binaries: install the test extra (pgserver) or Debian's postgresql")


def _run_as() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


def _demote(ids: tuple[int, int] | None) -> Callable[[], None] | None:
    if ids is None:
        return None
    uid, gid = ids

    def drop() -> None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    return drop


class PostgresServer:
    """One throwaway cluster; `url(db)` gives a libpq URL, `create_database()` a fresh database."""

    def __init__(self, workdir: Path | None = None) -> None:
        self.bin = find_bin()
        ids = _run_as()
        # a folder of its own that the server's user can reach (pytest's tmp dirs are 0700 as root)
        self.workdir = Path(tempfile.mkdtemp(prefix="blocktime-pg-", dir=workdir))
        os.chmod(self.workdir, 0o700)
        if ids is not None:
            os.chmod(self.workdir, 0o755)
            os.chown(self.workdir, *ids)
        self.data = self.workdir / "data"
        self.port = free_port()
        demote = _demote(ids)
        env = dict(os.environ, LC_ALL="C", LANG="C")
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--no-sync", "--no-instructions"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=demote, env=env,
            cwd=self.workdir,
        )
        self.log = self.workdir / "server.log"
        for attempt in range(3):  # the port may be taken between free_port() and the bind (parallel workers)
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(
                    [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                     "-h", "127.0.0.1", "-k", "", "-c", "fsync=off", "-c", "synchronous_commit=off",
                     "-c", "full_page_writes=off", "-c", "max_connections=300"],
                    stdout=log, stderr=subprocess.STDOUT, preexec_fn=demote, env=env, cwd=self.workdir,
                )
            try:
                self._wait_ready()
                break
            except ExitedEarly:
                if attempt == 2:
                    raise
                self.port = free_port()
        self.count = 0

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ExitedEarly(f"postgres exited with {self.proc.returncode}: {self.log.read_text()[-500:]}")
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres on port {self.port} did not start")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        self.count += 1
        name = f"t{self.count}_{os.getpid()}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        stop_process(self.proc, grace=20)  # a PostgreSQL shutdown checkpoint takes longer than the others
        shutil.rmtree(self.workdir, ignore_errors=True)
