"""What the benchmark scripts share: a throwaway PostGIS with the sample loaded (as tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def embedded_postgis() -> Iterator[str]:
    """A temporary PostgreSQL + PostGIS cluster (as tests/conftest.py), migrated, with the sample loaded."""
    import shutil
    import tempfile

    from geo_grid import db
    from geo_grid.embedded import EmbeddedCluster, find_pg_bin_dir, free_port
    from geo_grid.services.sample import load_sample
    from geo_grid.settings import SAMPLE_DIR, Settings

    data_dir = Path(tempfile.mkdtemp(prefix="geo_grid_bench_"))
    # Durable, as `geo-grid up` runs it, so that figures for writes are the ones users get.
    cluster = EmbeddedCluster(data_dir, free_port(), find_pg_bin_dir(), durable=True)
    try:
        cluster.start()
        url = cluster.ensure_database("geo_grid_bench")
        db.upgrade(url)
        engine = db.make_engine(url, pool_size=1)
        with db.transaction(db.make_session_factory(engine)) as session:
            load_sample(session, SAMPLE_DIR, Settings().near_boundary_m)
        engine.dispose()
        yield url
    finally:
        cluster.stop("immediate")
        shutil.rmtree(data_dir, ignore_errors=True)


def wait_until_serving(proc: Any, port: int, what: str = "server") -> None:
    """Wait (≤ 60 s) until the server `proc` started on `port` answers a lookup; kill it if it never does."""
    import time

    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/lookup?lon=113.7&lat=34.76", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{what} did not start")
