"""The access log: one line per request — client, method, path, status, milliseconds — at a cost that fits
a service answering thousands of lookups a second.

The request pays one `put` on a queue; a thread of its own formats and writes the lines to stderr
(uvicorn's access log formats on the event loop, ≈ 30 % of a lookup's cost, so `geo-grid up` turns it
off). The query string is never logged: it can hold what the personal-data policy protects (an address
asked for, a tracking code, a phone number).
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("geo_grid.access")
_lines: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
_lock = threading.Lock()
_state: dict[str, Any] = {"writer": None, "users": 0}


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The access log's own handler (told apart from handlers others attach, e.g. in tests)."""


def start() -> None:
    """Start the writer thread (each app's lifespan calls it; the thread is shared by the process)."""
    with _lock:
        _state["users"] += 1
        if _state["writer"] is None:
            if not any(isinstance(h, _StderrHandler) for h in log.handlers):
                handler = _StderrHandler(sys.stderr)
                handler.setFormatter(logging.Formatter("%(asctime)s ACCESS %(message)s"))
                log.addHandler(handler)
            log.setLevel(logging.INFO)
            log.propagate = False
            writer = threading.Thread(target=_write, name="access-log", daemon=True)
            writer.start()
            _state["writer"] = writer


def stop() -> None:
    """The last app of the process stops: write what is queued, end the thread."""
    with _lock:
        _state["users"] -= 1
        writer = _state["writer"]
        if _state["users"] > 0 or writer is None:
            return
        _state["writer"] = None
    _lines.put(None)
    writer.join(timeout=5)


def _write() -> None:
    while (line := _lines.get()) is not None:
        log.info('%s "%s %s" %d %.1fms', *line)


class AccessLog:
    """Pure ASGI middleware: one queued line per HTTP request, whatever its outcome."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # an exception before any answer: the server answers 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            client = scope.get("client")
            _lines.put(
                (client[0] if client else "-", scope["method"], scope["path"], status,
                 (time.perf_counter() - began) * 1000.0)
            )  # fmt: skip
