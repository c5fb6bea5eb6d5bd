"""A small asyncio HTTP server on 127.0.0.1 in a background thread: for the demo, tests and benchmark.

`handler(path) -> Reply` decides each answer (status, body, delay, or dropping the connection), so
simulated systems can be up, slow, flapping or broken. Optionally serves TLS.
"""
from __future__ import annotations

import asyncio
import dataclasses
import ssl
import threading
from typing import Callable


@dataclasses.dataclass(frozen=True)
class Reply:
    """How to answer one request."""

    status: int = 200
    body: bytes = b"ok"
    delay_s: float = 0.0
    content_type: str = "text/plain; charset=utf-8"
    drop: bool = False                                   # close the connection without answering


REASONS = {200: "OK", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}


def encode_reply(reply: Reply) -> bytes:
    """The bytes of an HTTP/1.1 response for `reply` (Connection: close)."""
    head = (f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}\r\n"
            f"Content-Type: {reply.content_type}\r\nContent-Length: {len(reply.body)}\r\nConnection: close\r\n\r\n")
    return head.encode("latin-1") + reply.body


async def serve_connection(handler: Callable[[str], Reply], reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> None:
    """Answer one request on one connection, then close it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        parts = head.split(b" ", 2)
        reply = handler(parts[1].decode("latin-1") if len(parts) > 1 else "/")
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if not reply.drop:
            writer.write(encode_reply(reply))
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, asyncio.LimitOverrunError):
        pass  # the client went away (e.g. it timed out); nothing to answer
    finally:
        writer.close()


class LoopbackServer:
    """Start with `with LoopbackServer(handler) as server:`; server.url(path) gives its address."""

    def __init__(self, handler: Callable[[str], Reply], ssl_context: ssl.SSLContext | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.handler, self.ssl_context, self.host, self.port = handler, ssl_context, host, port
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def url(self, path: str = "/") -> str:
        """The URL of `path` on this server."""
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}{path}"

    def __enter__(self) -> "LoopbackServer":
        self._thread = threading.Thread(target=self._run, name=f"loopback-{id(self)}", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error:
            raise RuntimeError(f"loopback server could not start: {self._error}") from self._error
        return self

    def __exit__(self, *exc) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            server = loop.run_until_complete(asyncio.start_server(
                lambda r, w: serve_connection(self.handler, r, w), self.host, self.port,
                ssl=self.ssl_context, backlog=4096))
        except OSError as err:
            self._error = err
            self._ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()
        server.close()
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
