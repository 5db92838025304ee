"""The embedded local calendar: a Radicale server in a thread on a free loopback port.

Storage lives under the data dir; the server stops when the command ends. Credentials are a
random password kept in a 0600 htpasswd file, so that other local users cannot write to it.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

from blocktime.errors import ServerError

USERNAME = "blocktime"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class LocalServer:
    """Start with `with LocalServer(dir) as srv:`; `srv.url`, `srv.username`, `srv.password`."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "radicale"
        self.port = 0
        self.password = ""
        self.username = USERNAME
        self._thread: threading.Thread | None = None
        self._shutdown: tuple[socket.socket, socket.socket] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.username}/"

    def _credentials(self) -> None:
        self.root.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the data dir
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        secret = self.root / "password"
        if not secret.exists():
            _write_private(secret, secrets.token_urlsafe(24))
        self.password = secret.read_text().strip()
        _write_private(self.root / "htpasswd", f"{self.username}:{self.password}\n")

    def start(self) -> None:
        import radicale.config
        import radicale.server

        self._credentials()
        logging.getLogger("radicale").setLevel(logging.ERROR)
        for _attempt in range(5):
            self.port = free_port()
            configuration = radicale.config.load()
            configuration.update(
                {
                    "server": {"hosts": f"127.0.0.1:{self.port}"},
                    "storage": {"filesystem_folder": str(self.root / "collections")},
                    "auth": {
                        "type": "htpasswd",
                        "htpasswd_filename": str(self.root / "htpasswd"),
                        "htpasswd_encryption": "plain",
                        "delay": "0",
                    },
                    "rights": {"type": "owner_only"},
                    "logging": {"level": "warning", "mask_passwords": "True"},
                },
                "blocktime",
            )
            inner, outer = socket.socketpair()
            thread = threading.Thread(
                target=radicale.server.serve, args=(configuration, outer), daemon=True
            )
            thread.start()
            if self._wait(thread):
                self._thread, self._shutdown = thread, (inner, outer)
                return
            inner.close()
            thread.join(timeout=2)
            outer.close()
        raise ServerError("the embedded calendar server did not start", "is the data dir writable?")

    def _wait(self, thread: threading.Thread) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and thread.is_alive():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    def stop(self) -> None:
        if self._shutdown is not None:
            inner, outer = self._shutdown
            inner.close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            outer.close()
            self._shutdown = None
            self._thread = None

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
