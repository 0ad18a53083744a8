"""The access log: one line per request — client, method, path, status, milliseconds — at a cost that fits
a service answering thousands of lookups a second.

The request pays one `put` on a queue; a thread of its own formats and writes the lines to stderr
(uvicorn's access log formats on the event loop, ≈ 30 % of a lookup's cost, so `geo-grid up` turns it
off). The thread takes what has queued up in one go (a line is never held back: under load many have
queued by the time the thread runs) and, when the log goes only to its own stderr handler (as `geo-grid
up` runs it), formats the lines itself and writes them in one write: a logging record per line (the
caller's frame looked up, the handler locked and the stream flushed each time) cost the process a fifth
of a lookup's time again. When another handler listens on `geo_grid.access` (a file, a test's caplog),
every line is a record as before. A line is queued as its answer's last part is sent, stamped with that
time. The query string is never logged: it can hold what the personal-data policy protects (an address
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
FORMAT = '%s "%s %s" %d %.1fms'  # client, method, path, status, milliseconds
_FORMATTER = logging.Formatter("%(asctime)s ACCESS %(message)s")
_BATCH = 4096
# (client, method, path, status, ms, time.time() at the end), or None: stop
_lines: queue.SimpleQueue[tuple[Any, ...] | threading.Event | None] = queue.SimpleQueue()
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
                handler.setFormatter(_FORMATTER)
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


def flush(timeout: float = 5.0) -> bool:
    """Wait until every line queued so far is written (True), or `timeout` seconds (False). The writer
    may serve other apps of the process, so `stop` does not always drain it."""
    if _state["writer"] is None:
        return True
    written = threading.Event()
    _lines.put(written)
    return written.wait(timeout)


def _write() -> None:
    while True:
        batch = [_lines.get()]
        while len(batch) < _BATCH:
            try:
                batch.append(_lines.get_nowait())
            except queue.Empty:
                break
        lines = [item for item in batch if isinstance(item, tuple)]
        if lines:
            _emit(lines)
        for item in batch:
            if isinstance(item, threading.Event):  # a flush: what was queued before it is written
                item.set()
        if None in batch:
            return


def _emit(lines: list[tuple[Any, ...]]) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    handlers = log.handlers
    own = handlers[0] if len(handlers) == 1 else None
    if (
        isinstance(own, _StderrHandler)
        and own.formatter is _FORMATTER
        and not log.filters
        and not own.filters
    ):
        text = "".join([_format(line) for line in lines])
        with own.lock:  # type: ignore[union-attr]
            own.stream.write(text)
            own.stream.flush()
        return
    for line in lines:
        record = log.makeRecord(log.name, logging.INFO, __file__, 0, FORMAT, line[:5], None)
        record.created = line[5]
        record.msecs = (line[5] % 1) * 1000.0
        log.handle(record)


_second: list[Any] = [None, ""]  # the last whole second formatted, and its text


def _format(line: tuple[Any, ...]) -> str:
    """The line as the handler's formatter writes it: `%(asctime)s ACCESS %(message)s`, local time with
    milliseconds (`2026-11-30 18:10:07,922`); the date part is formatted once per second."""
    stamp = line[5]
    second = int(stamp)
    if _second[0] != second:
        _second[0], _second[1] = second, time.strftime(_FORMATTER.default_time_format, time.localtime(second))
    message = FORMAT % line[:5]
    return f"{_second[1]},{int((stamp - second) * 1000):03d} ACCESS {message}\n"


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
        queued = False

        def queue_line() -> None:
            nonlocal queued
            queued = True
            client = scope.get("client")
            _lines.put(
                (client[0] if client else "-", scope["method"], scope["path"], status,
                 (time.perf_counter() - began) * 1000.0, time.time())
            )  # fmt: skip

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif not queued and message["type"] == "http.response.body" and not message.get("more_body"):
                queue_line()  # before the answer's last part goes out: queued before the client has it
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            if not queued:  # no complete answer (an error, a client gone)
                queue_line()
