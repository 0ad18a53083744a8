"""Benchmark the city-scale lookup (geo_grid.lookup_district.DistrictIndex) at 652, 17,000 and 125,000
micro-grids, beside geopandas.sjoin in the same run, with its published snapshot (geo_grid.io.index_store).

    .venv/bin/python benchmarks/lookup_city.py                 # 652 (the sample), 17,000, 125,000
    .venv/bin/python benchmarks/lookup_city.py --sizes 17000 --points 200000

652 is sample_boundaries/micro_grids.geojson (one subdistrict); the others are synthetic districts
(geo_grid.synthetic) of ≈ 1,000 micro-grids per subdistrict. Every figure is printed, none asserted.
Disagreements are counted against an independent exact reference (an STRtree query with the covers
predicate, smallest code on ties) on random points plus every vertex, edge midpoint and ±1e-9° normal
offset of the micro-grids (border points between subdistricts included).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: make geo_grid and tests.support importable

from geo_grid.io.index_store import load_index, write_index  # noqa: E402
from geo_grid.lookup_district import DistrictIndex  # noqa: E402
from geo_grid.lookup_parts import build_workers  # noqa: E402
from geo_grid.synthetic import synthetic_micro_grids  # noqa: E402
from tests.support.lookup_reference import edge_probe_points  # noqa: E402

SAMPLE = ROOT / "sample_boundaries" / "micro_grids.geojson"
PER_SUBDISTRICT = 1000


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_time(fn: Callable[[], Any]) -> float:
    """CPU seconds of one call (less sensitive than wall time to other processes on a shared machine)."""
    gc.collect()
    t = time.process_time()
    fn()
    return time.process_time() - t


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def grids(size: int, seed: int) -> tuple[list[str], list[Any], str]:
    if size == 652 and SAMPLE.is_file():
        import geopandas as gpd

        gdf = gpd.read_file(SAMPLE)
        return [str(c) for c in gdf["code"]], list(gdf.geometry), "sample_boundaries/micro_grids.geojson"
    n_sub = max(1, round(size / PER_SUBDISTRICT))
    per = max(16, round(size / n_sub))
    codes, polys = synthetic_micro_grids(n_sub, per, seed=seed)
    return codes, polys, f"synthetic, {n_sub} subdistricts"


def reference(codes: list[str], polys: list[Any], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smallest-code covering position (-1 none) by an STRtree query with the covers predicate."""
    geoms = np.asarray(polys, dtype=object)
    rank = np.empty(len(codes), dtype=np.int64)
    rank[np.argsort(np.array(codes))] = np.arange(len(codes))
    pi, gi = shapely.STRtree(geoms).query(shapely.points(x, y), predicate="covered_by")
    best = np.full(len(x), len(codes), dtype=np.int64)
    np.minimum.at(best, pi, rank[gi])
    by_rank = np.append(np.argsort(rank), -1)
    return by_rank[best].astype(np.int32)


def run(size: int, args: argparse.Namespace) -> dict[str, Any]:
    codes, polys, source = grids(size, args.seed)
    print(f"\n== {len(codes):,} micro-grids ({source})")
    gc.collect()
    rss0 = rss_mib()
    t = time.perf_counter()
    index = DistrictIndex.build(codes, polys)
    build_s = time.perf_counter() - t
    gc.collect()
    retained = rss_mib() - rss0
    workers = build_workers(len({c[:9] for c in codes}))
    # CPU time of a build in this process alone (the default build's workers are other processes)
    build_cpu = (
        cpu_time(lambda: DistrictIndex.build(codes, polys, workers=1)) if args.build_cpu else float("nan")
    )
    st = index.stats()
    print(
        f"build                  {build_s:.2f} s ({workers} process(es)), {build_cpu:.1f} CPU-s in one process; "
        f"{st['subdistricts']} subdistricts, cells of "
        f"{st['cell_m']:.1f} m, {st['special_cells'] / st['cells']:.1%} edge cells, "
        f"{st['router_border_cells']:,} router border cells"
    )
    print(f"memory                 {index.nbytes / 2**20:.1f} MiB in arrays; RSS retained {retained:.0f} MiB")

    target = index.subdistrict_codes[len(index.subdistrict_codes) // 2]
    mine = [i for i, c in enumerate(index.codes) if c.startswith(target)]
    args_r = (target, [index.codes[i] for i in mine], [index.polygons[i] for i in mine])
    rebuild_s, _ = best_of(lambda: index.replace(*args_r), 2)
    rebuild_cpu = min(cpu_time(lambda: index.replace(*args_r)) for _ in range(2))
    print(
        f"rebuild 1 subdistrict  {rebuild_s:.2f} s, {rebuild_cpu:.2f} CPU-s ({len(mine):,} micro-grids, replace())"
    )

    rng = np.random.default_rng(args.seed)
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(index.polygons, dtype=object))
    x = rng.uniform(minx, maxx, args.points)
    y = rng.uniform(miny, maxy, args.points)
    many_s, got = best_of(lambda: index.locate_many(x, y), args.repeat)
    cpu_s = min(cpu_time(lambda: index.locate_many(x, y)) for _ in range(args.repeat))
    print(
        f"locate_many            {args.points / many_s / 1e6:.1f} M points/s (best of {args.repeat}); "
        f"{args.points / cpu_s / 1e6:.1f} M points per CPU-second; {np.mean(got >= 0):.1%} inside a grid"
    )

    import geopandas as gpd

    gdf = gpd.GeoDataFrame({"pos": np.arange(len(codes))}, geometry=list(index.polygons), crs=4326)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4326)
    sjoin_s, _ = best_of(lambda: gpd.sjoin(pts, gdf, predicate="intersects", how="inner"), 1)
    sjoin_cpu = cpu_time(lambda: gpd.sjoin(pts, gdf, predicate="intersects", how="inner"))
    print(
        f"geopandas.sjoin        {args.points / sjoin_s / 1e6:.2f} M points/s; locate_many is "
        f"{sjoin_s / many_s:.0f}x faster ({sjoin_cpu / cpu_s:.0f}x in CPU time)"
    )

    n1 = min(args.single, args.points)
    xs, ys = x[:n1].tolist(), y[:n1].tolist()
    locate, clock = index.locate, time.perf_counter_ns
    lat_ns = np.empty(n1, dtype=np.int64)
    for i in range(n1):
        t0 = clock()
        locate(xs[i], ys[i])
        lat_ns[i] = clock() - t0
    p50, p99 = statistics.median(lat_ns.tolist()) / 1000, float(np.percentile(lat_ns, 99)) / 1000
    print(f"locate (single)        p50 {p50:.2f} us, p99 {p99:.2f} us ({n1:,} calls)")

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        write_index(index, Path(tmp) / "snap")
        write_s = time.perf_counter() - t
        load_s, loaded = best_of(lambda: load_index(Path(tmp) / "snap"), 2)
        fast_s, _ = best_of(lambda: load_index(Path(tmp) / "snap", verify=False), 2)
        load_cpu = min(cpu_time(lambda: load_index(Path(tmp) / "snap")) for _ in range(2))
        same = np.array_equal(loaded.locate_many(x[:100_000], y[:100_000]), got[:100_000])
        print(
            f"snapshot               write {write_s:.2f} s, load {load_s:.2f} s ({load_cpu:.2f} CPU-s; digests checked), "
            f"{fast_s:.2f} s (verify=False); answers {'equal' if same else 'DIFFERENT'}"
        )
        # an activation in a serving process: replace() on the index it loaded
        loaded_cpu = min(cpu_time(lambda ix=loaded: ix.replace(*args_r)) for _ in range(2))
        print(f"rebuild after a load   {loaded_cpu:.2f} CPU-s (replace() on the loaded snapshot)")
        del loaded

    ex, ey = edge_probe_points(index.polygons, eps=1e-9)
    pick = rng.choice(len(ex), size=min(len(ex), args.agree // 5), replace=False)
    n_rand = args.agree - len(pick)
    ax = np.concatenate([rng.uniform(minx - 0.005, maxx + 0.005, n_rand), ex[pick]])
    ay = np.concatenate([rng.uniform(miny - 0.005, maxy + 0.005, n_rand), ey[pick]])
    ref = reference(list(index.codes), list(index.polygons), ax, ay)
    bad = int(np.count_nonzero(index.locate_many(ax, ay) != ref))
    print(
        f"agreement              {bad} disagreements on {len(ax):,} points ({len(pick):,} on edges/vertices)"
    )
    return {
        "grids": len(codes),
        "build_s": build_s,
        "build_cpu": build_cpu,
        "workers": workers,
        "load_cpu": load_cpu,
        "rebuild_s": rebuild_s,
        "rebuild_cpu": rebuild_cpu,
        "loaded_cpu": loaded_cpu,
        "mpts": args.points / many_s / 1e6,
        "mpts_cpu": args.points / cpu_s / 1e6,
        "sjoin_x": sjoin_s / many_s,
        "sjoin_cpu_x": sjoin_cpu / cpu_s,
        "p50": p50,
        "p99": p99,
        "mib": index.nbytes / 2**20,
        "rss": retained,
        "write_s": write_s,
        "load_s": load_s,
        "bad": bad,
        "n_agree": len(ax),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[652, 17_000, 125_000])
    ap.add_argument("--points", type=int, default=1_000_000, help="random points for locate_many and sjoin")
    ap.add_argument("--agree", type=int, default=1_000_000, help="points checked against the reference")
    ap.add_argument("--single", type=int, default=100_000, help="single locate() calls timed one by one")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--no-build-cpu", dest="build_cpu", action="store_false", help="skip the one-process build"
    )
    args = ap.parse_args(argv)
    print(f"shapely {shapely.__version__}, numpy {np.__version__}; points {args.points:,}")
    rows = [run(size, args) for size in args.sizes]
    print(
        "\n| micro-grids | build (processes) / CPU-s in one process | rebuild 1 subdistrict (CPU; after a load) | locate_many | "
        "× sjoin (CPU) | single p50 / p99 | index arrays / RSS retained | snapshot write / load (CPU) "
        "| disagreements |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['grids']:,} | {r['build_s']:.1f} s ({r['workers']}) / {r['build_cpu']:.1f} | "
            f"{r['rebuild_s']:.2f} s ({r['rebuild_cpu']:.2f}; {r['loaded_cpu']:.2f}) | {r['mpts']:.1f} M pts/s ({r['mpts_cpu']:.1f} M/CPU-s) | "
            f"{r['sjoin_x']:.0f}× ({r['sjoin_cpu_x']:.0f}×) | {r['p50']:.1f} / {r['p99']:.1f} µs | "
            f"{r['mib']:.0f} / {r['rss']:.0f} MiB | {r['write_s']:.2f} / {r['load_s']:.2f} s "
            f"({r['load_cpu']:.2f}) | {r['bad']} of {r['n_agree']:,} |"
        )


if __name__ == "__main__":
    main()
