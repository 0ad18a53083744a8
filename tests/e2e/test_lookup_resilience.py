"""A live service keeps answering GET /lookup from memory while PostgreSQL is stopped and restarted.

uvicorn serves the real app on a free loopback port, on its own database copy; a client thread sends a
steady stream of lookups and checks every answer against the expected code. The test cluster is shared
by the whole test session, so it is started again in `finally`, whatever happens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import httpx
import pytest
import uvicorn

from geo_grid.api.app import create_app
from geo_grid.embedded import EmbeddedCluster, free_port
from geo_grid.settings import SAMPLE_DIR, Settings


@pytest.fixture
def live_url(db_url: str) -> Iterator[str]:
    settings = Settings(database_url=db_url, db_pool_size=2, db_connect_timeout_s=1)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


class LookupStream(threading.Thread):
    """GET /lookup in a loop over known points; records every failure and the answers while the DB is down."""

    def __init__(self, base: str, points: list[tuple[float, float, str]]) -> None:
        super().__init__(daemon=True)
        self.base, self.points = base, points
        self.stop = threading.Event()
        self.db_down = threading.Event()
        self.ok = self.ok_while_down = 0
        self.failures: list[Any] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=5) as http:
            i = 0
            while not self.stop.is_set():
                lon, lat, code = self.points[i % len(self.points)]
                i += 1
                try:
                    r = http.get("/lookup", params={"lon": lon, "lat": lat})
                    got = r.json()["micro"]["code"] if r.status_code == 200 else r.text
                except Exception as exc:  # a refused or failed request is a failure, not a crash
                    got = repr(exc)
                if got == code:
                    self.ok += 1
                    self.ok_while_down += self.db_down.is_set()
                else:
                    self.failures.append((lon, lat, code, got))
                time.sleep(0.002)  # a steady stream, not a flood: the point is availability


def wait_for(http: httpx.Client, path: str, status: int, timeout: float = 20) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        r = http.get(path)
        if r.status_code == status or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


def test_lookups_survive_a_database_restart(live_url: str, pg_cluster: EmbeddedCluster) -> None:
    micro = gpd.read_file(SAMPLE_DIR / "micro_grids.geojson").sort_values("code").iloc[::13]
    points = [
        (p.x, p.y, code) for p, code in zip(micro.geometry.representative_point(), micro.code, strict=True)
    ]
    probe = str(micro.code.iloc[0])
    stream = LookupStream(live_url, points)
    with httpx.Client(base_url=live_url, timeout=10) as http:
        assert http.get("/health").status_code == 200
        assert http.get(f"/grids/{probe}").status_code == 200
        stream.start()
        try:
            time.sleep(0.5)
            pg_cluster.stop("fast")
            stream.db_down.set()
            down = wait_for(http, "/health", 503)
            assert down.status_code == 503, down.text
            body = down.json()
            assert body["database"] == "unreachable" and body["reason"] and body["lookup_index"] == "ready"
            assert http.get(f"/grids/{probe}").status_code == 503  # DB-backed: a clear 503, not a 500
            time.sleep(1.5)  # lookups keep flowing meanwhile
        finally:
            stream.db_down.clear()
            if not pg_cluster.running():
                pg_cluster.start()
        try:
            up = wait_for(http, "/health", 200)
            assert up.status_code == 200, up.text
            # the pool recovers its connections by itself (pool_pre_ping): no service restart
            r = http.get(f"/grids/{probe}")
            assert r.status_code == 200, r.text
            time.sleep(0.3)
        finally:
            stream.stop.set()
            stream.join(10)
    assert not stream.failures, f"{len(stream.failures)} failed lookups, e.g. {stream.failures[:3]}"
    assert stream.ok_while_down >= 50 and stream.ok > stream.ok_while_down
