"""A request-header timeout for uvicorn, which has none (only `timeout_keep_alive`, between requests): a
client that opens a connection and sends its request line or headers slowly is answered 408 and
disconnected after `timeout` seconds, so slow clients cannot hold connections (and file descriptors) forever.

The timer runs from the moment the server waits for a request (connection opened, or the first byte after
a keep-alive pause) until the request's headers are complete; the body and the response are not timed.
`protocol_class(timeout)` subclasses the HTTP protocol uvicorn would pick itself (httptools, else h11).

On httptools the protocol also writes each response's head together with its first body part, in one
`write` (uvicorn writes them separately: two `send` system calls per answer, a quarter of a small JSON
answer's cost); see `one_write_per_response`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

_REPLY_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class _HeaderTimeoutMixin:
    """Arms a timer while a request head is awaited; the subclass calls `_head_complete()`."""

    header_timeout: float = 10.0
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    _head_timer: asyncio.TimerHandle | None = None
    _awaiting_head: bool = True

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._awaiting_head = True
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head and self._head_timer is None:
            self._arm()  # the first byte after a keep-alive pause: the next head is now due
        super().data_received(data)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        # Between requests uvicorn's keep-alive timeout applies; our timer starts again with new data.
        self._awaiting_head = True
        super().on_response_complete()  # type: ignore[misc]

    def _head_complete(self) -> None:
        self._awaiting_head = False
        self._disarm()

    def _arm(self) -> None:
        self._disarm()
        if self.header_timeout > 0:
            self._head_timer = self.loop.call_later(self.header_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _timed_out(self) -> None:
        self._head_timer = None
        if self._awaiting_head and not self.transport.is_closing():
            self.transport.write(_REPLY_408)
            self.transport.close()


class _Held:
    """Stands in for the transport while a response's head and first body part are written."""

    __slots__ = ("closed", "parts")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


# What one_write_per_response uses of uvicorn's httptools request cycle.
_HOLDABLE = frozenset({"send", "transport", "flow", "response_started"})


def one_write_per_response(cycle: Any) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """The ASGI `send` of a uvicorn httptools request cycle that holds `http.response.start` back until the
    first `http.response.body` and then writes both at once: uvicorn's own `send` formats them (headers
    checked as always) into a stand-in transport, and the joined bytes go out in one write. Nothing else
    changes: a second start before any body replaces the first (which never went out, e.g. uvicorn's 500
    after an application error), and while the client's socket is backed up the messages go as they are."""
    plain_send = type(cycle).send
    held: dict[str, Any] | None = None

    async def send(message: dict[str, Any]) -> None:
        nonlocal held
        if message["type"] == "http.response.start" and not cycle.response_started:
            held = message
            return
        start, held = held, None
        if start is None or cycle.flow.write_paused:
            if start is not None:
                await plain_send(cycle, start)
            await plain_send(cycle, message)
            return
        transport, buffer = cycle.transport, _Held()
        cycle.transport = buffer
        try:
            await plain_send(cycle, start)
            await plain_send(cycle, message)
        finally:
            cycle.transport = transport
            if buffer.parts:
                transport.write(b"".join(buffer.parts))
            if buffer.closed:
                transport.close()

    return send


def protocol_class(timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's `http=` protocol with the header timeout (httptools when installed, as uvicorn's "auto")
    and one write per response."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        class HttpToolsHeaderTimeout(_HeaderTimeoutMixin, HttpToolsProtocol):
            header_timeout = timeout

            def on_headers_complete(self) -> None:
                self._head_complete()
                before = self.cycle
                super().on_headers_complete()
                cycle = self.cycle
                # A new request's cycle, of the shape this relies on (uvicorn's internals; else as it is).
                if cycle is not None and cycle is not before and _HOLDABLE.issubset(dir(cycle)):
                    cycle.send = one_write_per_response(cycle)  # type: ignore[method-assign,assignment]

        return HttpToolsHeaderTimeout
    except ImportError:
        return h11_protocol_class(timeout)


def h11_protocol_class(timeout: float) -> type[asyncio.Protocol]:
    """The same on uvicorn's pure-Python h11 protocol."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class H11HeaderTimeout(_HeaderTimeoutMixin, H11Protocol):
        header_timeout = timeout

        def handle_events(self) -> None:
            super().handle_events()
            # h11 leaves IDLE for the client's side once a whole request head has been parsed.
            if self._awaiting_head and self.conn.their_state is not h11.IDLE:
                self._head_complete()

    return H11HeaderTimeout


def __getattr__(name: str) -> type[asyncio.Protocol]:
    """`geo_grid.api.header_timeout:FromEnvironment`: the protocol with the timeout of the process's
    settings, by import string, for `geo-grid up --workers N` (uvicorn imports it in every worker)."""
    if name == "FromEnvironment":
        from geo_grid.settings import Settings

        return protocol_class(Settings().header_timeout_s)
    raise AttributeError(name)
