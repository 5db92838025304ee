"""A loopback HTTP server in a thread for the Google and Graph stand-ins (never the internet).

An app answers `handle(Request) -> Reply`; the server binds 127.0.0.1 port 0 (a free port), keeps
connections alive (HTTP/1.1) and records every request for the tests to inspect.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass
class Request:
    method: str
    path: str  # unquoted
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class App(Protocol):
    requests: list[Request]

    def handle(self, request: Request) -> Reply: ...


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Request(self.command, unquote(parts.path), dict(parse_qsl(parts.query, keep_blank_values=True)),
                      {k.lower(): v for k, v in self.headers.items()}, body)
        with self.server.lock:
            self.server.app.requests.append(req)
            try:
                reply = self.server.app.handle(req)
            except Exception as exc:  # a stand-in bug must show up in the test, not hang it
                reply = Reply(500, f"stand-in error: {type(exc).__name__}: {exc}".encode())
        self.send_response(reply.status)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _any
    do_OPTIONS = do_PROPFIND = do_REPORT = do_MKCALENDAR = do_PROPPATCH = _any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: App
    lock: threading.Lock


class StandIn:
    """`with StandIn(app) as s:` serves `app` on `s.root` (http://127.0.0.1:PORT)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.app = app
        self.server.lock = threading.Lock()
        self.port = int(self.server.server_address[1])
        self.root = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> StandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
