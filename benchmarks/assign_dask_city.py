"""Bulk assignment at city scale: one process vs a Dask LocalCluster vs dask-geopandas' sjoin, in one run.

    .venv/bin/python benchmarks/assign_dask_city.py                       # 10^8 points, 125 × 1,000 grids
    .venv/bin/python benchmarks/assign_dask_city.py --points 10000000     # smaller

Grids: the synthetic city of geo_grid/synthetic.py (`synthetic_micro_grids(subdistricts, per_subdistrict)`,
≈ 125,000 micro-grids of ≈ 0.008 km²), indexed by a DistrictIndex and published as a memory-mapped
snapshot (geo_grid/io/index_store.py) in the temp dir. Points: N rows (id, lon, lat) written as Parquet
partitions in a temp dir, uniform over the city's bounding box, except every `--border-every`-th row,
which lies on a micro-grid boundary (half exactly on a vertex, half on an edge).

Contestants, each reading the same partitions and writing its answers as Parquet:

* one process: the streaming path of `geo-grid assign` (io/points PointReader/PointWriter + Assigner);
* Dask `local:W`: services/assign_dask.assign (what `geo-grid assign --dask local:W` runs), each worker
  loading the published snapshot once;
* dask-geopandas `sjoin` (inner, predicate intersects, ties resolved to the smallest code) on the same
  cluster, writing (id, micro_code) of the points inside a grid.

Printed side by side: total seconds, rows/s, the ratio to one process, peak RSS (the benchmark process;
for the Dask runs also the sum over the workers, whose memory-mapped snapshot pages are shared and so
counted once per worker) and the agreement of a sample of rows (including border rows) with the
reference (shapely: every micro-grid covering the point, the smallest code). No assertions.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo_grid.io.points import PointReader, PointWriter  # noqa: E402
from geo_grid.lookup_district import DistrictIndex  # noqa: E402
from geo_grid.services import assign_dask  # noqa: E402
from geo_grid.services.assign import Assigner  # noqa: E402
from geo_grid.synthetic import synthetic_micro_grids  # noqa: E402

MIB = 1 << 20


@contextmanager
def peak_rss() -> Iterator[dict[str, float]]:
    """Peak RSS (MiB) of this process and, summed, of its child processes (the Dask workers), sampled."""
    me = psutil.Process()
    peak = {"main": 0.0, "children": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while True:
            try:
                kids = sum(c.memory_info().rss for c in me.children(recursive=True))
            except psutil.Error:
                kids = 0
            peak["main"] = max(peak["main"], me.memory_info().rss / MIB)
            peak["children"] = max(peak["children"], kids / MIB)
            if stop.wait(0.25):
                return

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def write_points(folder: Path, n: int, polys: list[Any], part_rows: int, border_every: int, seed: int) -> int:
    """N rows in Parquet partitions; every `border_every`-th row on a micro-grid boundary."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(np.asarray(polys, dtype=object)))
    rings = shapely.get_exterior_ring(np.asarray(polys, dtype=object))
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = np.flatnonzero(ring_of[:-1] == ring_of[1:])  # segment k: coords[k] -> coords[k + 1]
    files = 0
    for k, start in enumerate(range(0, n, part_rows)):
        m = min(part_rows, n - start)
        ids = np.arange(start, start + m, dtype=np.int64)
        lon, lat = rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)
        border = np.flatnonzero(ids % border_every == 0)
        seg = same[rng.integers(0, len(same), len(border))]
        t = np.where(rng.random(len(border)) < 0.5, 0.0, rng.random(len(border)))  # vertex or on the edge
        lon[border] = coords[seg, 0] + t * (coords[seg + 1, 0] - coords[seg, 0])
        lat[border] = coords[seg, 1] + t * (coords[seg + 1, 1] - coords[seg, 1])
        pq.write_table(pa.table({"id": ids, "lon": lon, "lat": lat}), folder / f"part.{k:05d}.parquet")
        files += 1
    return files


def one_process(assigner: Assigner, src: Path, out: Path) -> int:
    """The streaming path of `geo-grid assign` (cli/assign.py), one partition file after the other."""
    out.mkdir()
    inside = 0
    for path in sorted(src.glob("*.parquet")):
        reader = PointReader(path, "lon", "lat", 250_000)
        writer = PointWriter(out / path.name)
        try:
            for chunk in reader:
                added = assigner.assign(chunk.lon, chunk.lat, chunk.problem)
                writer.write(chunk, added)
                inside += int((added["micro_code"] != None).sum())  # noqa: E711
        finally:
            writer.close()
    return inside


def sjoin(client: Any, codes: list[str], polys: list[Any], src: Path, out: Path) -> None:
    """dask-geopandas: points from lon/lat, sjoin(intersects) with the grids, smallest code per point."""
    import dask.dataframe as dd
    import dask_geopandas
    import geopandas as gpd
    import pandas as pd

    grids = gpd.GeoDataFrame({"micro_code": codes}, geometry=polys, crs="EPSG:4326")
    ddf = dd.read_parquet(str(src))
    points = dask_geopandas.from_dask_dataframe(
        ddf, geometry=dask_geopandas.points_from_xy(ddf, "lon", "lat", crs="EPSG:4326")
    )
    joined = points.sjoin(grids, how="inner", predicate="intersects")  # only "inner" in dask-geopandas

    def first(frame: pd.DataFrame) -> pd.DataFrame:  # ties: the smallest code (within a partition)
        part = pd.DataFrame({"id": frame["id"].to_numpy(), "micro_code": frame["micro_code"].to_numpy()})
        return part.sort_values(["id", "micro_code"]).drop_duplicates("id")

    meta = pd.DataFrame({"id": pd.Series(dtype="int64"), "micro_code": pd.Series(dtype=object)})
    schema = pa.schema([("id", pa.int64()), ("micro_code", pa.string())])
    joined.map_partitions(first, meta=meta).to_parquet(str(out), write_index=False, schema=schema)


def sample_answers(folder: Path, ids: np.ndarray[Any, Any]) -> dict[int, str | None]:
    got: dict[int, str | None] = {}
    for path in sorted(folder.glob("*.parquet")):
        table = pq.read_table(path, columns=["id", "micro_code"])
        keep = np.flatnonzero(np.isin(table["id"].to_numpy(), ids))
        if len(keep):
            sub = table.take(pa.array(keep))
            got.update(zip(sub["id"].to_pylist(), sub["micro_code"].to_pylist(), strict=True))
    return got


def reference(src: Path, ids: np.ndarray[Any, Any], codes: list[str], tree: Any) -> dict[int, str | None]:
    """Exact answers for the sampled rows: the micro-grids covering each point, the smallest code."""
    lon, lat, got_ids = [], [], []
    for path in sorted(src.glob("*.parquet")):
        table = pq.read_table(path)
        keep = np.flatnonzero(np.isin(table["id"].to_numpy(), ids))
        got_ids.append(table["id"].to_numpy()[keep])
        lon.append(table["lon"].to_numpy()[keep])
        lat.append(table["lat"].to_numpy()[keep])
    all_ids = np.concatenate(got_ids)
    pts = shapely.points(np.concatenate(lon), np.concatenate(lat))
    pi, gi = tree.query(pts, predicate="covered_by")
    best: dict[int, str | None] = {int(i): None for i in all_ids}
    for p, g in zip(pi.tolist(), gi.tolist(), strict=True):
        key, code = int(all_ids[p]), codes[g]
        current = best[key]
        if current is None or code < current:
            best[key] = code
    return best


def agreement(got: dict[int, str | None], ref: dict[int, str | None], border_every: int, inner: bool) -> str:
    """`inner`: a row absent from `got` is a point outside every grid (sjoin's inner join drops it)."""
    wrong = [i for i, code in ref.items() if got.get(i, None if inner else "<missing>") != code]
    border = sum(1 for i in ref if i % border_every == 0)
    wrong_border = sum(1 for i in wrong if i % border_every == 0)
    return f"{len(ref) - len(wrong):,}/{len(ref):,} agree (border rows {border - wrong_border:,}/{border:,})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=100_000_000)
    parser.add_argument("--subdistricts", type=int, default=125)
    parser.add_argument("--per-subdistrict", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--part-rows", type=int, default=2_000_000, help="rows per Parquet partition")
    parser.add_argument("--border-every", type=int, default=20, help="every N-th row on a grid boundary")
    parser.add_argument("--sample", type=int, default=100_000, help="rows checked against the reference")
    parser.add_argument("--skip", default="", help="comma-separated contestants to skip: one,dask,sjoin")
    parser.add_argument("--tmp", default=None, help="parent of the temp dir (default: the system's)")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    t = time.perf_counter()
    codes, polys = synthetic_micro_grids(args.subdistricts, args.per_subdistrict, seed=0)
    t_grids = time.perf_counter() - t
    t = time.perf_counter()
    index = DistrictIndex.build(codes, polys)
    t_index = time.perf_counter() - t
    directory = types.SimpleNamespace(
        index=index,
        grids={c: types.SimpleNamespace(parent_code=c[:15], community_code=c[:12]) for c in codes},
    )
    assigner = Assigner(directory)  # type: ignore[arg-type]
    print(f"{len(codes):,} micro-grids (generated {t_grids:.1f} s, DistrictIndex built {t_index:.1f} s); "
          f"{args.points:,} points, every {args.border_every}th on a boundary")  # fmt: skip

    tmp = Path(tempfile.mkdtemp(prefix="assign_dask_city_", dir=args.tmp))
    try:
        t = time.perf_counter()
        published = assign_dask.publish(index, tmp / "store")
        print(f"index published in {time.perf_counter() - t:.1f} s: {published.path}")
        src = tmp / "points"
        src.mkdir()
        t = time.perf_counter()
        files = write_points(src, args.points, polys, args.part_rows, args.border_every, seed=1)
        size = sum(p.stat().st_size for p in src.iterdir()) / MIB
        print(f"points written in {time.perf_counter() - t:.1f} s: {files} partitions, {size:,.0f} MiB")

        rng = np.random.default_rng(2)
        border_ids = np.arange(0, args.points, args.border_every)
        half = args.sample // 2
        ids = np.unique(np.concatenate([
            rng.choice(args.points, min(half, args.points), replace=False),
            rng.choice(border_ids, min(half, len(border_ids)), replace=False),
        ]))  # fmt: skip
        t = time.perf_counter()
        ref = reference(src, ids, codes, shapely.STRtree(polys))
        print(f"reference for {len(ids):,} sampled rows in {time.perf_counter() - t:.1f} s")

        rows: list[tuple[str, float, str, str]] = []

        def run(name: str, out: Path, fn: Callable[[], object], workers: bool, inner: bool = False) -> None:
            with peak_rss() as peak:
                t = time.perf_counter()
                fn()
                seconds = time.perf_counter() - t
            rss = f"{peak['main']:,.0f} MiB" + (f" + workers {peak['children']:,.0f} MiB" if workers else "")
            rows.append(
                (name, seconds, rss, agreement(sample_answers(out, ids), ref, args.border_every, inner))
            )
            shutil.rmtree(out, ignore_errors=True)
            print(f"  done: {name} in {seconds:.1f} s", flush=True)

        if "one" not in skip:
            run("one process (geo-grid assign path)", tmp / "one", lambda: one_process(assigner, src, tmp / "one"),
                workers=False)  # fmt: skip
        if not {"dask", "sjoin"} <= skip:
            scheduler = f"local:{args.workers}"
            t = time.perf_counter()
            with assign_dask.client_for(scheduler) as client:
                print(f"LocalCluster of {args.workers} workers started in {time.perf_counter() - t:.1f} s")
                if "dask" not in skip:

                    def on_dask() -> None:
                        counts = assign_dask.assign(
                            client, assigner, src, tmp / "dask", "lon", "lat", "parquet", published=published
                        )
                        print(f"  dask: {counts.partitions} partitions, index {counts.index_via}")

                    run(f"Dask {scheduler} (geo-grid assign --dask)", tmp / "dask", on_dask, workers=True)
                if "sjoin" not in skip:
                    run(f"dask-geopandas sjoin, {scheduler}", tmp / "sjoin",
                        lambda: sjoin(client, codes, polys, src, tmp / "sjoin"), workers=True, inner=True)  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    base = rows[0][1] if rows else 1.0
    print(f"\n{'':<42} {'total':>9} {'rows/s':>12} {'×':>6}  {'peak RSS':<34} sample vs reference")
    for name, seconds, rss, agree in rows:
        print(
            f"{name:<42} {seconds:8.1f}s {args.points / seconds / 1e6:9.2f} M/s {base / seconds:6.2f}  {rss:<34} {agree}"
        )


if __name__ == "__main__":
    main()
