"""The access log (api/access_log.py): one line per request with client, method, path, status and time,
written by a thread of its own; never the query string (it may hold an address, a phone, a tracking code)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pytest


def test_one_line_per_request_without_the_query_string(
    ro_db_url: str, make_client: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("geo_grid.access")
    logger.addHandler(caplog.handler)
    try:
        with make_client(ro_db_url) as client:
            client.get("/lookup/address", params={"q": "经三路151号院 13812345678"})
            client.get("/grids/999999999999999999")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and len(caplog.records) < 2:
                time.sleep(0.02)
    finally:
        logger.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records if r.name == "geo_grid.access"]
    assert len(lines) == 2, lines
    assert re.fullmatch(r'testclient "GET /lookup/address" [24]0\d [\d.]+ms', lines[0]), lines[0]
    assert '"GET /grids/999999999999999999" 404' in lines[1]
    assert not any("13812345678" in line or "经三路" in line or "?" in line for line in lines)


def test_the_log_can_be_switched_off(
    ro_db_url: str, make_client: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("geo_grid.access")
    logger.addHandler(caplog.handler)
    try:
        with make_client(ro_db_url, access_log=False) as client:
            client.get("/health")
            time.sleep(0.2)
    finally:
        logger.removeHandler(caplog.handler)
    assert not [r for r in caplog.records if r.name == "geo_grid.access"]
