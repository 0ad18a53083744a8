"""The access log's own formatting (api/access_log.py): the lines it writes itself are those the logging
formatter would write for the same request, and the writer thread writes every queued line once."""

from __future__ import annotations

import io
import logging
import time

from geo_grid.api import access_log


def test_own_format_equals_the_logging_formatter() -> None:
    for stamp in (1_796_000_000.0, 1_796_000_000.9995, 1_796_000_059.25, time.time()):
        line = ("10.0.0.7", "GET", "/lookup", 200, 0.8765, stamp)
        record = logging.LogRecord(
            "geo_grid.access", logging.INFO, __file__, 0, access_log.FORMAT, line[:5], None
        )
        record.created = stamp
        record.msecs = (stamp % 1) * 1000.0
        assert access_log._format(line) == access_log._FORMATTER.format(record) + "\n"


def test_the_writer_writes_each_line_once_in_order() -> None:
    access_log.start()
    handler = next(h for h in access_log.log.handlers if isinstance(h, access_log._StderrHandler))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        for i in range(10_000):
            access_log._lines.put(("127.0.0.1", "GET", f"/n/{i}", 200, 0.1, time.time()))
        # Another app of this process (a session's test app) may keep the writer running past `stop`.
        assert access_log.flush(timeout=60)
    finally:
        handler.setStream(previous)
        access_log.stop()
    lines = stream.getvalue().splitlines()
    assert [line.split('"')[1] for line in lines] == [f"GET /n/{i}" for i in range(10_000)]
    assert all(line.endswith(" 200 0.1ms") and " ACCESS 127.0.0.1 " in line for line in lines)
