"""Map page generation time and size (printed, never asserted): coverage, incidents, editor.

Usage: GEO_GRID_DATABASE_URL=postgresql+psycopg2://… .venv/bin/python benchmarks/maps.py [--repeat 3]
Without GEO_GRID_DATABASE_URL it starts a throwaway PostGIS cluster in a temp dir and loads the sample.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: make geo_grid and benchmarks.support importable

from geo_grid import db  # noqa: E402
from geo_grid.render.assets import html_of  # noqa: E402
from geo_grid.render.basemap import Basemap  # noqa: E402
from geo_grid.services import incident_maps, maps  # noqa: E402


@contextmanager
def _database() -> Iterator[str]:
    if os.environ.get("GEO_GRID_DATABASE_URL"):
        yield os.environ["GEO_GRID_DATABASE_URL"]
        return
    from benchmarks.support import embedded_postgis

    with embedded_postgis() as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with _database() as url:
        engine = db.make_engine(url, pool_size=1)
        factory = db.make_session_factory(engine)
        now = datetime.now(UTC)
        cases: dict[str, Callable[..., object]] = {
            "coverage (652 micro, 73 tertiary)": lambda s: maps.coverage_map(s, Basemap(), True),
            "coverage, 高德 GCJ-02 shift": lambda s: maps.coverage_map(s, Basemap("gaode"), True),
            "coverage tiled (MAP_TILES_ABOVE=100)": lambda s: maps.coverage_map(
                s, Basemap(), True, tiles_above=100
            ),
            "incidents (default: open + 30 days)": lambda s: incident_maps.incident_map(
                s, Basemap(), True, incident_maps.IncidentFilter(), now
            ),
            "incidents include_closed (all)": lambda s: incident_maps.incident_map(
                s, Basemap(), True, incident_maps.IncidentFilter(include_closed=True), now
            ),
        }
        print(f"{'page':40s} {'median s':>9s} {'min s':>7s} {'size MB':>8s}")
        for name, build in cases.items():
            times, size = [], 0
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                with db.transaction(factory) as session:
                    html = html_of(build(session))
                times.append(time.perf_counter() - t0)
                size = len(html.encode())
            print(f"{name:40s} {statistics.median(times):9.2f} {min(times):7.2f} {size / 1e6:8.2f}")
        engine.dispose()


if __name__ == "__main__":
    main()
