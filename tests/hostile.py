"""A hostile CalDAV server for the tests: threaded, on a free loopback port, with a bounded life.

It speaks just enough CalDAV for blocktime's discovery (principal, calendar home, calendar list),
calendar-query REPORTs and PUTs. Each test replaces one answer with something hostile: an XML
bomb, an external entity, a huge or endless body, broken calendar data, or silence.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.servers import free_port

ROOT = "/dav/"
PRINCIPAL = "/dav/principal/"
HOME = "/dav/cals/"
CALENDARS = {"blocktime": "/dav/cals/blocktime/", "Work": "/dav/cals/work/"}
XML = "application/xml; charset=utf-8"
_NS = 'xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"'


def multistatus(*responses: str, doctype: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}'
            f'<d:multistatus {_NS}>{"".join(responses)}</d:multistatus>').encode()


def prop_response(href: str, props: str) -> str:
    return (f"<d:response><d:href>{href}</d:href><d:propstat><d:prop>{props}</d:prop>"
            "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>")


def object_response(href: str, data: str, etag: str = '"1"') -> str:
    """One calendar object in a calendar-query answer; `data` goes in as it is (escape it yourself)."""
    return prop_response(href, f"<d:getetag>{etag}</d:getetag><c:calendar-data>{data}</c:calendar-data>")


def calendar_list() -> bytes:
    rows = [prop_response(HOME, "<d:resourcetype><d:collection/></d:resourcetype>")]
    for name, href in CALENDARS.items():
        rows.append(prop_response(href, "<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>"
                                        f"<d:displayname>{name}</d:displayname>"))
    return multistatus(*rows)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def stage(self) -> str:
        """Which step of blocktime's conversation this is."""
        text = self.body.decode("utf-8", "replace")
        if self.method == "PROPFIND":
            if "current-user-principal" in text:
                return "principal"
            if "calendar-home-set" in text:
                return "home"
            return "calendars"
        if self.method == "REPORT":
            return "sync" if "sync-collection" in text else "query"
        return self.method.lower()


#: an answer writes the whole HTTP response itself (status line, headers, body) on the handler
Answer = Callable[["Handler", Request], None]


def send(h: Handler, status: int, body: bytes = b"", content_type: str = XML, **headers: str) -> None:
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(body)))
    for k, v in headers.items():
        h.send_header(k.replace("_", "-"), v)
    h.end_headers()
    h.wfile.write(body)


def default_answer(objects: dict[str, str] | None = None) -> Answer:
    """A well-behaved server whose `Work` calendar holds `objects` (href -> iCalendar text)."""
    from xml.sax.saxutils import escape

    def answer(h: Handler, r: Request) -> None:
        stage = r.stage
        if stage == "principal":
            send(h, 207, multistatus(prop_response(r.path, f"<d:current-user-principal><d:href>{PRINCIPAL}"
                                                           "</d:href></d:current-user-principal>")))
        elif stage == "home":
            send(h, 207, multistatus(prop_response(PRINCIPAL, f"<c:calendar-home-set><d:href>{HOME}</d:href>"
                                                              "</c:calendar-home-set>")))
        elif stage == "calendars":
            send(h, 207, calendar_list())
        elif stage == "query":
            found = objects if r.path == CALENDARS["Work"] else {}
            send(h, 207, multistatus(*(object_response(href, escape(text)) for href, text in (found or {}).items())))
        elif stage == "sync":
            send(h, 403, b"")
        elif stage == "put":
            send(h, 201, b"", ETag=f'"{time.monotonic_ns()}"')
        elif stage in ("get", "delete"):
            send(h, 404, b"")
        else:
            send(h, 405, b"")

    return answer


class Handler(BaseHTTPRequestHandler):
    server: HostileServer  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def handle_one_request(self) -> None:
        if self.server.silent:  # accept, read nothing, answer nothing
            self.server.stopping.wait(self.server.lifetime)
            self.close_connection = True
            return
        super().handle_one_request()

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        self.server.seen.append(req)
        answer = self.server.answers.get(req.stage) or self.server.fallback
        try:
            answer(self, req)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True  # the client gave up: that is what the tests want

    do_PROPFIND = do_REPORT = do_PUT = do_GET = do_DELETE = do_OPTIONS = do_MKCALENDAR = _any


class HostileServer(ThreadingHTTPServer):
    """`with HostileServer(answers={"query": bomb}) as srv:` then point blocktime at `srv.url`.
    The server stops itself after `lifetime` seconds at the latest; slow answers watch `stopping`."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, answers: dict[str, Answer] | None = None, *, objects: dict[str, str] | None = None,
                 silent: bool = False, lifetime: float = 60, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", free_port()), Handler)
        self.answers = answers or {}
        self.fallback = default_answer(objects)
        self.silent = silent
        self.lifetime = lifetime
        self.tls = tls
        self.seen: list[Request] = []
        self.stopping = threading.Event()
        self.sent = 0  # bytes written by the streaming answers
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.tls is not None:
            sock.settimeout(5)
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                sock.close()
                raise
            sock.settimeout(None)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:  # clients that hang up: fine
        pass

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}{ROOT}"

    def start(self) -> HostileServer:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._timer.cancel()
        self.shutdown()
        self.server_close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Hostile answers ---------------------------------------------------------------------------------

LAUGHS = """<!DOCTYPE d:multistatus [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""


def xxe_doctype(path: str) -> str:
    return f'<!DOCTYPE d:multistatus [\n <!ENTITY xxe SYSTEM "file://{path}">\n]>\n'


def fixed(status: int, body: bytes, content_type: str = XML, **headers: str) -> Answer:
    def answer(h: Handler, r: Request) -> None:
        send(h, status, body, content_type, **headers)

    return answer


def streamed(chunks: Callable[[], Iterator[bytes]], *, delay: float = 0.0, length: int | None = None,
             encoding: str | None = None) -> Answer:
    """A 207 whose body comes from `chunks`, optionally slowly; chunked unless `length` is given
    (a length that claims the size up front, so the client can refuse before reading)."""

    def answer(h: Handler, r: Request) -> None:
        h.send_response(207)
        h.send_header("Content-Type", XML)
        if encoding:
            h.send_header("Content-Encoding", encoding)
        if length is not None:
            h.send_header("Content-Length", str(length))
        else:
            h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.close_connection = True
        for chunk in chunks():
            if h.server.stopping.is_set():
                return
            if length is None:
                h.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            else:
                h.wfile.write(chunk)
            h.wfile.flush()
            h.server.sent += len(chunk)
            if delay and h.server.stopping.wait(delay):
                return
        if length is None:
            h.wfile.write(b"0\r\n\r\n")

    return answer


def many_responses(total: int) -> Callable[[], Iterator[bytes]]:
    """A multistatus of tiny <d:response> elements, `total` bytes in all (millions of elements)."""
    head = f'<?xml version="1.0" encoding="utf-8"?>\n<d:multistatus {_NS}>'.encode()
    unit = b"<d:response><d:href>/x</d:href></d:response>" * 2000

    def chunks() -> Iterator[bytes]:
        yield head
        sent = len(head)
        while sent < total:
            yield unit
            sent += len(unit)
        yield b"</d:multistatus>"

    return chunks


def trickle(total: int, piece: bytes = b" ") -> Callable[[], Iterator[bytes]]:
    """An XML prologue followed by whitespace, one small piece at a time."""

    def chunks() -> Iterator[bytes]:
        yield b'<?xml version="1.0" encoding="utf-8"?>\n'
        for _ in range(total // len(piece)):
            yield piece

    return chunks


def gzip_bomb(size: int) -> bytes:
    """`size` bytes of whitespace inside a multistatus, gzip-compressed (about 1000:1), built
    piece by piece so that the test itself never holds `size` bytes."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    out = [z.compress(b'<?xml version="1.0"?>\n<d:multistatus xmlns:d="DAV:">')]
    piece = b" " * 2**20
    for _ in range(size // len(piece)):
        out.append(z.compress(piece))
    out.append(z.compress(b"</d:multistatus>"))
    out.append(z.flush())
    return b"".join(out)


@contextlib.contextmanager
def running(**kw: Any) -> Iterator[HostileServer]:
    srv = HostileServer(**kw).start()
    try:
        yield srv
    finally:
        srv.stop()
