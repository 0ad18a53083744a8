"""`geo-grid up` with no configuration: embedded PostGIS, migrations, sample, API; Ctrl-C stops it all."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from geo_grid.embedded import EmbeddedCluster, find_pg_bin_dir, free_port


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl_c", "sigterm"])
def test_up_serves_sample_on_embedded_cluster_and_stops_cleanly(stop: signal.Signals) -> None:
    """Ctrl-C, and SIGTERM as systemd or `docker stop` send it, stop the API and the embedded PostgreSQL it
    started (with SIGTERM uvicorn re-raised the signal after its shutdown and the process died before
    stopping PostgreSQL, which kept running)."""
    data_dir = Path(tempfile.mkdtemp(prefix="geo_grid_up_", dir="/tmp"))
    api_port, pg_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_GRID_")}
    env.update(GEO_GRID_DATA_DIR=str(data_dir), GEO_GRID_PG_PORT=str(pg_port))
    geo_grid = Path(sys.executable).parent / "geo-grid"
    proc = subprocess.Popen(
        [str(geo_grid), "up", "--port", str(api_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                r = httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=2)
                if r.status_code == 200:
                    body = r.json()
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert body is not None, (
            f"API never became healthy: {proc.stdout.read() if proc.poll() is not None else ''}"
        )
        assert body["counts"]["micro"] == 652
        served = httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=5).headers
        assert "server" not in served and "date" in served  # uvicorn names no server (version)
        assert httpx.get(f"http://127.0.0.1:{api_port}/docs", timeout=5).status_code == 200
        proc.send_signal(stop)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
        assert "stopped" in out
        cluster = EmbeddedCluster(data_dir, pg_port, find_pg_bin_dir())
        assert cluster.initialised() and not cluster.running()
    finally:
        if proc.poll() is None:
            proc.kill()
        EmbeddedCluster(data_dir, pg_port, find_pg_bin_dir()).stop("immediate")
        shutil.rmtree(data_dir, ignore_errors=True)
