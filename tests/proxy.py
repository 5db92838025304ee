"""A loopback HTTP/1.1 proxy in front of one real server that injects faults request by request.

It reads each request whole, forwards it on a fresh upstream connection and relays the answer, or
instead: cuts the connection (RST) before or *after* the server handled the request, delays the
request or its answer, answers an error status (500, 503 with Retry-After, 429…) without asking
the server, or refuses every connection for a while (an outage). Faults are queued (`drop`,
`fail`, `delay`) and hit the next matching requests, or drawn per request from a seeded RNG
(`chaos`). Threads only; bounded: every socket has a timeout and the proxy stops itself after
`lifetime` seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade"}


@dataclass
class Fault:
    """What to do to the next matching request. `after`: the server handles it first, then its
    answer is lost (drop), late (delay) or replaced (status)."""

    kind: str  # "drop" | "status" | "delay"
    after: bool = False
    status: int = 503
    seconds: float = 0.0
    retry_after: str | None = None
    method: str | None = None
    times: int = 1


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    action: str  # "forwarded", "drop", "drop after", "503", "503 after", "delay 2.0"…
    at: float = 0.0  # time.monotonic() when the request was read whole


class FaultProxy:
    def __init__(self, upstream_port: int, *, lifetime: float = 240.0, idle: float = 20.0) -> None:
        self.upstream_port = upstream_port
        self.idle = idle
        self.deadline = time.monotonic() + lifetime
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self._chaos: tuple[random.Random, float, tuple[Fault, ...]] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._down_until = 0.0
        #: a server that names objects itself (issue 24, point 7): a create (PUT with If-None-Match)
        #: of `…/NAME.ics` is stored as `…/srv-<hash>.ics`, and no answer carries a Location header
        self.rename_creates = False
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = self._listen(0)
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, name=f"fault-proxy-{self.port}", daemon=True)
        self._thread.start()

    # -- what tests call ----------------------------------------------------------------------
    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, server_url: str) -> str:
        """`server_url` (http://127.0.0.1:<server port>/path) as seen through the proxy."""
        head, _, rest = server_url.partition("//")
        _hostport, _, path = rest.partition("/")
        return f"{head}//127.0.0.1:{self.port}/{path}"

    def add(self, fault: Fault) -> FaultProxy:
        with self._lock:
            self.faults.append(fault)
        return self

    def drop(self, times: int = 1, *, method: str | None = None, after: bool = False) -> FaultProxy:
        return self.add(Fault("drop", after=after, method=method, times=times))

    def fail(self, status: int = 503, times: int = 1, *, method: str | None = None, after: bool = False,
             retry_after: str | None = None) -> FaultProxy:
        return self.add(Fault("status", after=after, status=status, method=method, times=times,
                              retry_after=retry_after))

    def delay(self, seconds: float, times: int = 1, *, method: str | None = None, after: bool = False) -> FaultProxy:
        return self.add(Fault("delay", after=after, seconds=seconds, method=method, times=times))

    def chaos(self, seed: int, rate: float, faults: tuple[Fault, ...]) -> FaultProxy:
        """Every request meets one of `faults` (uniformly) with probability `rate`."""
        with self._lock:
            self._chaos = (random.Random(seed), rate, faults)
        return self

    def calm(self) -> FaultProxy:
        """No more faults: queued ones and chaos are dropped."""
        with self._lock:
            self.faults.clear()
            self._chaos = None
        return self

    def outage(self, seconds: float) -> None:
        """Refuse connections for `seconds` (the listener is closed, open connections are reset)."""
        with self._lock:
            self._down_until = time.monotonic() + seconds
            listener, self._listener = self._listener, None
            conns = list(self._conns)
        if listener is not None:
            listener.close()
        for c in conns:
            _cut(c)

    def resume(self) -> None:
        """End an outage now: the port listens again before this returns."""
        with self._lock:
            self._down_until = 0.0
            if self._listener is None:
                self._listener = self._listen(self.port)

    def injected(self) -> Counter[str]:
        with self._lock:
            return Counter(s.action for s in self.seen if s.action != "forwarded")

    def methods(self) -> Counter[str]:
        """How many requests of each method reached the server."""
        with self._lock:
            return Counter(s.method for s in self.seen
                           if s.action == "forwarded" or s.action.endswith(" after") or s.action.startswith("delay"))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            _cut(c)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- the machinery ------------------------------------------------------------------------
    def _listen(self, port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(64)
        s.settimeout(0.1)
        return s

    def _serve(self) -> None:
        try:
            while not self._stop.is_set() and time.monotonic() < self.deadline:
                with self._lock:
                    if self._listener is None and time.monotonic() >= self._down_until:
                        with contextlib.suppress(OSError):
                            self._listener = self._listen(self.port)
                    listener = self._listener
                if listener is None:
                    time.sleep(0.02)
                    continue
                try:
                    conn, _ = listener.accept()
                except (TimeoutError, OSError):
                    continue
                conn.settimeout(self.idle)
                with self._lock:
                    self._conns.add(conn)
                threading.Thread(target=self._client, args=(conn,), daemon=True).start()
        finally:
            with self._lock:
                listener, self._listener = self._listener, None
            if listener is not None:
                listener.close()

    def _pick(self, method: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.method is None or f.method == method:
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
            if self._chaos is not None:
                rng, rate, kinds = self._chaos
                if rng.random() < rate:
                    return rng.choice(kinds)
        return None

    def _client(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while not self._stop.is_set() and time.monotonic() < self.deadline:
                request = _read_request(reader)
                if request is None:
                    return
                method, path, headers, body = request
                fault = self._pick(method)
                action = "forwarded" if fault is None else _describe(fault)
                with self._lock:
                    self.seen.append(Seen(method, path, action, time.monotonic()))
                if fault is not None and not fault.after:
                    if fault.kind == "drop":
                        _reset(conn)
                        return
                    if fault.kind == "status":
                        conn.sendall(_answer(fault.status, [("Retry-After", fault.retry_after)]
                                             if fault.retry_after else [], b"injected fault\n"))
                        continue
                    time.sleep(fault.seconds)
                if self.rename_creates and method == "PUT" and path.endswith(".ics") and any(
                        k.lower() == "if-none-match" for k, _ in headers):
                    folder, _, name = path.rpartition("/")
                    path = f"{folder}/srv-{hashlib.sha256(name.encode()).hexdigest()[:12]}.ics"
                answer = self._forward(method, path, headers, body)
                if fault is not None and fault.after:
                    if fault.kind == "drop":
                        _reset(conn)
                        return
                    if fault.kind == "status":
                        answer = _answer(fault.status, [], b"injected fault after the server's answer\n")
                    else:
                        time.sleep(fault.seconds)
                conn.sendall(answer)
        except (OSError, ValueError, http.client.HTTPException):  # the peer went away, or spoke nonsense
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            reader.close()
            conn.close()

    def _forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
        up = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=self.idle)
        try:
            up.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                if k.lower() not in _HOP:
                    up.putheader(k, v)
            up.putheader("Content-Length", str(len(body)))
            up.endheaders(body)
            resp = up.getresponse()
            data = resp.read()
            kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP
                    and not (self.rename_creates and k.lower() == "location")]
            return _answer(resp.status, kept, data, reason=resp.reason)
        finally:
            up.close()


def _describe(f: Fault) -> str:
    what = {"drop": "drop", "status": str(f.status), "delay": f"delay {f.seconds:g}"}[f.kind]
    return what + (" after" if f.after else "")


def _reset(conn: socket.socket) -> None:
    """Close with RST (SO_LINGER 0): the peer sees `connection reset`, not a clean end."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        conn.close()


def _cut(conn: socket.socket) -> None:
    """End a connection that another thread is reading: shutdown wakes that thread (a plain
    close would wait for its reader), which then closes it with RST."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.shutdown(socket.SHUT_RDWR)


def _answer(status: int, headers: list[tuple[str, str | None]], body: bytes, reason: str | None = None) -> bytes:
    reason = reason or http.client.responses.get(status, "Fault")
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in headers if v is not None]
    lines += [f"Content-Length: {len(body)}", "Connection: keep-alive", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


def _read_request(reader: BinaryIO) -> tuple[str, str, list[tuple[str, str]], bytes] | None:
    """One whole request (Content-Length or chunked body); None at a clean end of the connection."""
    line = reader.readline(65537)
    while line in (b"\r\n", b"\n"):
        line = reader.readline(65537)
    if not line:
        return None
    method, path, _version = line.decode("latin-1").split(" ", 2)
    headers: list[tuple[str, str]] = []
    while True:
        h = reader.readline(65537)
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers.append((k.strip(), v.strip()))
    names = {k.lower(): v for k, v in headers}
    if names.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(reader.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while reader.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            parts.append(reader.read(size))
            reader.readline()
        body = b"".join(parts)
    else:
        body = reader.read(int(names.get("content-length", "0") or 0))
    return method, path, headers, body
