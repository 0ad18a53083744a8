"""Bulk assignment on Dask: one process vs a LocalCluster vs dask-geopandas' sjoin, in one run.

    .venv/bin/python benchmarks/assign_dask.py --points 2000000 --grids 652 --workers 2
    .venv/bin/python benchmarks/assign_dask.py --points 100000000 --grids 125000 --workers 2  # the issue's size

Grids: a synthetic Voronoi tiling of micro-grid-sized cells (tests/support/lookup_reference.py; 652 is
the sample's count, 125,000 a city). Points: uniform over the tiling's bounding box, written as Parquet
partitions of 1 M rows. Each contestant reads the same partitions and answers every point; the Dask
run is services/assign_dask.assign (the one `geo-grid assign --dask` runs), the index published once and
loaded by each worker (the publication is timed too). Prints rows/s and ratios against the one-process run; no assertions. sjoin is skipped above
--sjoin-max points (it needs the points as shapely objects in memory).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo_grid.lookup import GridIndex  # noqa: E402
from geo_grid.services import assign_dask  # noqa: E402
from geo_grid.services.assign import Assigner  # noqa: E402
from tests.support.lookup_reference import voronoi_tiling  # noqa: E402

PART_ROWS = 1_000_000


def _assigner(codes: list[str], polys: list[object]) -> Assigner:
    directory = types.SimpleNamespace(
        index=GridIndex.build(codes, polys),
        grids={c: types.SimpleNamespace(parent_code=c[:6], community_code=c[:3]) for c in codes},
    )
    return Assigner(directory)  # type: ignore[arg-type]


def _write_points(folder: Path, n: int, bounds: tuple[float, ...], seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    for k, start in enumerate(range(0, n, PART_ROWS)):
        m = min(PART_ROWS, n - start)
        table = pa.table({"id": np.arange(start, start + m), "lon": rng.uniform(bounds[0], bounds[2], m),
                          "lat": rng.uniform(bounds[1], bounds[3], m)})  # fmt: skip
        pq.write_table(table, folder / f"part.{k:05d}.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=2_000_000)
    parser.add_argument("--grids", type=int, default=652)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sjoin-max", type=int, default=5_000_000)
    args = parser.parse_args()

    area = args.grids * 0.008  # km², ≈ 0.008 km² per micro-grid as in 未来路街道
    t = time.perf_counter()
    codes, polys = voronoi_tiling(args.grids, area_km2=area)
    assigner = _assigner(codes, polys)
    print(f"{args.grids:,} grids, index built in {time.perf_counter() - t:.1f} s; {args.points:,} points")
    bounds = tuple(float(v) for v in shapely.total_bounds(np.array(polys, dtype=object)))
    with tempfile.TemporaryDirectory(prefix="assign_dask_") as tmp:
        src = Path(tmp) / "points"
        src.mkdir()
        _write_points(src, args.points, bounds)
        results: dict[str, float] = {}

        t = time.perf_counter()
        inside = 0
        (Path(tmp) / "one").mkdir()
        for path in sorted(src.glob("*.parquet")):
            table = pq.read_table(path)
            added = assigner.assign(table["lon"].to_numpy(), table["lat"].to_numpy())
            inside += int((added["micro_code"] != None).sum())  # noqa: E711
            for name, values in added.items():
                typ = pa.bool_() if name == "outside" else pa.string()
                table = table.append_column(name, pa.array(values, type=typ, from_pandas=True))
            pq.write_table(table, Path(tmp) / "one" / path.name)
        results["one process (read, assign, write Parquet)"] = time.perf_counter() - t

        scheduler = f"local:{args.workers}"
        with assign_dask.client_for(scheduler) as client:
            t = time.perf_counter()
            published = assign_dask.publish(
                assigner.index, Path(tmp) / "store"
            )  # as `geo-grid assign --dask`
            counts = assign_dask.assign(
                client, assigner, src, Path(tmp) / "out", "lon", "lat", "parquet", published=published
            )
            results[f"Dask {scheduler} (read, assign, write Parquet)"] = time.perf_counter() - t
            assert counts.inside == inside, (counts, inside)

            if args.points <= args.sjoin_max:
                import dask_geopandas
                import geopandas as gpd

                grids = gpd.GeoDataFrame({"code": codes}, geometry=polys, crs="EPSG:4326")
                t = time.perf_counter()
                import dask.dataframe as dd

                ddf = dd.read_parquet(str(src))
                gddf = dask_geopandas.from_dask_dataframe(
                    ddf, geometry=dask_geopandas.points_from_xy(ddf, "lon", "lat", crs="EPSG:4326")
                )
                joined = gddf.sjoin(grids, predicate="intersects").map_partitions(len).compute().sum()
                results[f"dask-geopandas sjoin {scheduler}"] = time.perf_counter() - t
                print(f"  (sjoin rows: {joined:,}, ties counted once per grid)")
    base = results["one process (read, assign, write Parquet)"]
    for name, seconds in results.items():
        print(
            f"{name:<50} {seconds:8.1f} s  {args.points / seconds / 1e6:7.2f} M rows/s  ×{base / seconds:5.2f}"
        )


if __name__ == "__main__":
    main()
