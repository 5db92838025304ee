"""tests/servers.py: ports under parallel workers (make test runs the suite on several xdist workers)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.servers import ExitedEarly, refused_port, start_on_free_port, stop_process

LISTEN = ("import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen();"
          " time.sleep(60)")


def test_a_server_that_lost_its_port_is_started_on_another() -> None:
    lost: list[int] = []

    def start(port: int) -> subprocess.Popen[bytes]:
        if not lost:  # the first port was taken by someone else meanwhile: the server exits
            lost.append(port)
            return subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
        return subprocess.Popen([sys.executable, "-c", LISTEN, str(port)])

    port, proc = start_on_free_port(start)
    try:
        assert lost and port != lost[0] and proc.poll() is None
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        stop_process(proc)


def test_a_server_that_never_starts_is_an_error() -> None:
    with pytest.raises(ExitedEarly):
        start_on_free_port(lambda port: subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"]))


def test_a_refused_port_stays_refused() -> None:
    port = refused_port()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    with socket.socket() as other, pytest.raises(OSError):  # no server of another worker can take it
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", port))
