"""A TCP relay that adds a fixed delay in each direction: a calendar server "tens of milliseconds
away" on loopback. A bench tool, not part of blocktime.

Every chunk read on one side is written to the other side `delay` seconds after it arrived
(one-way delay; 10 ms each way = 20 ms round trip by default), in order, without limiting the
bandwidth: a chunk never waits for the one before it to be delivered, only for its own due time.
A new connection costs one round trip more before its first byte goes on (TCP's handshake on a
real network: SYN, SYN-ACK), as it would to a server that far away. Nothing is parsed: HTTP/1.0
and 1.1, keep-alive or not, TLS would all pass through.

    .venv/bin/python bench/latency_proxy.py --upstream 127.0.0.1:5232 [--listen 127.0.0.1:0] [--rtt-ms 20]

prints `listening on HOST:PORT` and runs until interrupted. From Python: `with LatencyProxy(port,
rtt=0.020) as p: p.port`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
import time
from types import TracebackType


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy reader -> writer, each chunk delivered `delay` seconds after it arrived."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, chunk = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not chunk:  # the sender closed its side: half-close ours after the delay too
                with contextlib.suppress(OSError):
                    if writer.can_write_eof():
                        writer.write_eof()
                return
            writer.write(chunk)
            await writer.drain()

    task = asyncio.create_task(deliver())
    try:
        while True:
            chunk = await reader.read(65536)
            await queue.put((loop.time() + delay, chunk))
            if not chunk:
                break
        await task
    except (ConnectionError, OSError):
        task.cancel()


async def _relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, host: str, port: int,
                 one_way: float) -> None:
    try:
        await asyncio.sleep(2 * one_way)  # the handshake's round trip
        up_r, up_w = await asyncio.open_connection(host, port)
    except OSError:
        client_w.close()
        return
    try:
        await asyncio.gather(_pump(client_r, up_w, one_way), _pump(up_r, client_w, one_way))
    finally:
        for w in (up_w, client_w):
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()


async def serve(upstream: tuple[str, int], listen: tuple[str, int], rtt: float,
                ready: asyncio.Future[int] | None = None, stop: asyncio.Event | None = None) -> None:
    one_way = rtt / 2
    server = await asyncio.start_server(lambda r, w: _relay(r, w, *upstream, one_way), *listen, backlog=128)
    port = int(server.sockets[0].getsockname()[1])
    if ready is not None:
        ready.set_result(port)
    else:
        print(f"listening on {listen[0]}:{port} (upstream {upstream[0]}:{upstream[1]}, "
              f"{rtt * 1000:g} ms round trip)", flush=True)
    async with server:
        if stop is None:
            await server.serve_forever()
        else:
            await stop.wait()


class LatencyProxy:
    """The relay in a thread of its own (its own event loop), on a free loopback port."""

    def __init__(self, upstream_port: int, *, rtt: float = 0.020, upstream_host: str = "127.0.0.1") -> None:
        self.rtt = rtt
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        ready: asyncio.Future[int] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._loop.run_until_complete,
            args=(serve((upstream_host, upstream_port), ("127.0.0.1", 0), rtt, ready, self._stop),),
            name="latency-proxy", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not ready.done():
            if time.monotonic() > deadline:
                raise RuntimeError("the latency proxy did not start")
            time.sleep(0.005)
        self.port = ready.result()

    def url(self, server_url: str) -> str:
        """`server_url` (http://127.0.0.1:<port>/path) as seen through the proxy."""
        head, _, rest = server_url.partition("//")
        _hostport, _, path = rest.partition("/")
        return f"{head}//127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=5)

    def __enter__(self) -> LatencyProxy:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--upstream", required=True, type=_hostport, help="HOST:PORT of the real server")
    ap.add_argument("--listen", default=("127.0.0.1", 0), type=_hostport, help="HOST:PORT (default a free port)")
    ap.add_argument("--rtt-ms", type=float, default=20.0, help="round trip added, ms (default 20: 10 each way)")
    args = ap.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.upstream, args.listen, args.rtt_ms / 1000))


if __name__ == "__main__":
    main()
