"""Benchmark GridIndex (geo_grid.lookup) against geopandas.sjoin, STRtree and contains_xy baselines.

    .venv/bin/python benchmarks/lookup.py --points 1000000 --embedded

Uses sample_boundaries/micro_grids.geojson when present, else a synthetic 652-cell Voronoi tiling of
5.2 km² around 未来路街道. Prints figures only; timing is never asserted (CI machines vary).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: make geo_grid and tests.support importable

from geo_grid.lookup import GridIndex  # noqa: E402
from tests.support.lookup_reference import voronoi_tiling  # noqa: E402

DEFAULT_BOUNDARIES = ROOT / "sample_boundaries" / "micro_grids.geojson"


def load_grids(path: Path) -> tuple[list[str], list[Any], list[str], str]:
    if path.is_file():
        import geopandas as gpd

        gdf = gpd.read_file(path)
        if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
            gdf = gdf.to_crs(4326)
        names = [str(n) for n in gdf["name"]] if "name" in gdf else [""] * len(gdf)
        return [str(c) for c in gdf["code"]], list(gdf.geometry), names, str(path.relative_to(ROOT))
    codes, polys = voronoi_tiling(652)
    return codes, polys, [""] * len(codes), "synthetic 652-cell Voronoi tiling (sample file missing)"


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def min_code_per_point(n_points: int, pt: np.ndarray, poly: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """(point, polygon) pairs -> position of the smallest-code polygon per point, -1 if none."""
    n = len(rank)
    best = np.full(n_points, n, dtype=np.int64)
    np.minimum.at(best, pt, rank[poly])
    by_rank = np.argsort(rank)
    return np.where(best == n, -1, by_rank[np.minimum(best, n - 1)]).astype(np.int32)


def contains_xy_baseline(geoms: np.ndarray, rank: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per polygon: bbox prefilter on x-sorted points, then shapely.intersects_xy (= covers)."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    pts, polys = [], []
    for i, g in enumerate(geoms):
        minx, miny, maxx, maxy = g.bounds
        lo, hi = np.searchsorted(xs, [minx, maxx], side="left")[0], np.searchsorted(xs, maxx, side="right")
        cand = np.flatnonzero((ys[lo:hi] >= miny) & (ys[lo:hi] <= maxy)) + lo
        hit = cand[shapely.intersects_xy(g, xs[cand], ys[cand])]
        pts.append(order[hit])
        polys.append(np.full(len(hit), i))
    return min_code_per_point(len(x), np.concatenate(pts), np.concatenate(polys), rank)


def postgis_bulk_join(url: str, index: GridIndex, x: np.ndarray, y: np.ndarray, many_s: float) -> None:
    """The same points through PostGIS: COPY into a temp table, then ONE LATERAL join with the product's
    rule (repository/assignment.py: ST_Covers on the GiST index, ORDER BY code LIMIT 1) on the active
    generation; timed, and checked point by point against `index.locate_many`."""
    import io

    from sqlalchemy import create_engine, text

    from geo_grid.repository.rules import covering_micro

    engine = create_engine(url)
    with engine.connect() as conn:
        gen = conn.execute(text("SELECT id FROM generations WHERE status = 'active'")).scalar_one()
        t = time.perf_counter()
        conn.execute(text("CREATE TEMP TABLE pts (id int PRIMARY KEY, geom geometry(Point, 4326))"))
        buf = io.StringIO(
            "".join(
                f"{i}\t{a!r}\t{b!r}\n" for i, (a, b) in enumerate(zip(x.tolist(), y.tolist(), strict=True))
            )
        )
        conn.execute(text("CREATE TEMP TABLE raw (id int, x float8, y float8)"))
        conn.connection.dbapi_connection.cursor().copy_expert("COPY raw FROM STDIN", buf)  # type: ignore[union-attr]
        conn.execute(text("INSERT INTO pts SELECT id, ST_SetSRID(ST_MakePoint(x, y), 4326) FROM raw"))
        conn.execute(text("ANALYZE pts"))
        load_s = time.perf_counter() - t
        sql = f"""SELECT p.id, m.code FROM pts p
                  LEFT JOIN LATERAL ({covering_micro("p.geom")}) m ON true ORDER BY p.id"""
        t = time.perf_counter()
        rows = conn.execute(text(sql), {"gen": gen}).all()
        join_s = time.perf_counter() - t
        conn.rollback()
    engine.dispose()
    got = index.locate_many(x, y)
    ours = [index.codes[p] if p >= 0 else None for p in got.tolist()]
    agree = sum(a == b for a, (_, b) in zip(ours, rows, strict=True))
    print(f"PostGIS load           {load_s * 1000:.0f} ms (COPY + ST_MakePoint + ANALYZE, not counted below)")
    print(
        f"PostGIS bulk join      {join_s * 1000:.0f} ms = {len(x) / join_s / 1e6:.2f} M points/s; "
        f"locate_many is {join_s / many_s:.0f}x faster; agreement {agree:,}/{len(x):,}"
        + (" (exact)" if agree == len(x) else " (MISMATCH)")
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000, help="random points for the bulk tests")
    ap.add_argument("--single", type=int, default=200_000, help="single locate() calls timed one by one")
    ap.add_argument("--repeat", type=int, default=5, help="best-of repeats for the fast bulk timings")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--boundaries", type=Path, default=DEFAULT_BOUNDARIES)
    ap.add_argument("--cell-m", type=float, default=1.0, help="raster cell size target (m)")
    ap.add_argument("--max-cells", type=int, default=4_000_000)
    ap.add_argument("--skip-baselines", action="store_true", help="skip sjoin/STRtree/contains_xy")
    ap.add_argument("--postgis-url", default=None, help="compare with a PostGIS bulk join (sample loaded)")
    ap.add_argument("--embedded", action="store_true", help="start a temporary PostGIS for the bulk join")
    args = ap.parse_args(argv)

    codes, polys, names, source = load_grids(args.boundaries)
    print(f"grids                  {len(codes)} from {source}")
    print(f"shapely {shapely.__version__}, numpy {np.__version__}, points {args.points:,}")

    build_s, index = best_of(
        lambda: GridIndex.build(codes, polys, names, cell_m=args.cell_m, max_cells=args.max_cells), 3
    )
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = GridIndex.build(codes, polys, names, cell_m=args.cell_m, max_cells=args.max_cells)
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    st = index.stats()
    print(f"build                  {build_s * 1000:.0f} ms (best of 3)")
    print(
        f"index memory           {index.nbytes / 2**20:.1f} MiB in arrays; tracemalloc retained "
        f"{(retained - before) / 2**20:.1f} MiB, build peak {peak / 2**20:.1f} MiB (GEOS trees not traced)"
    )
    print(
        f"raster                 {st['cells']:,} cells of {st['cell_m']:.2f} m; {st['special_cells']:,} edge "
        f"cells ({st['special_cells'] / st['cells']:.1%}), {st['multi_edge_cells']:,} near vertices; "
        f"{st['segments']:,} unique segments"
    )

    rng = np.random.default_rng(args.seed)
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(index.polygons, dtype=object))
    x = rng.uniform(minx, maxx, args.points)
    y = rng.uniform(miny, maxy, args.points)
    many_s, got = best_of(lambda: index.locate_many(x, y), args.repeat)
    print(
        f"locate_many            {many_s * 1000:.1f} ms = {args.points / many_s / 1e6:.1f} M points/s "
        f"(best of {args.repeat}); {np.mean(got >= 0):.1%} inside a grid"
    )

    if not args.skip_baselines:
        import geopandas as gpd

        rank = np.empty(len(codes), dtype=np.int64)
        rank[np.argsort(np.array(codes))] = np.arange(len(codes))
        geoms = np.asarray(index.polygons, dtype=object)
        grids = gpd.GeoDataFrame({"pos": np.arange(len(codes))}, geometry=list(geoms), crs=4326)
        t = time.perf_counter()
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4326)
        make_s = time.perf_counter() - t
        print(f"GeoDataFrame of points {make_s * 1000:.0f} ms (not counted in the sjoin times below)")
        for predicate in ("within", "intersects"):
            s, joined = best_of(lambda p=predicate: gpd.sjoin(pts, grids, predicate=p, how="inner"), 1)
            ref = min_code_per_point(
                len(x), joined.index.to_numpy(), joined["pos"].to_numpy(), rank
            )  # smallest code on ties
            agree = int(np.count_nonzero(ref == got))
            print(
                f"sjoin {predicate:<16} {s * 1000:.0f} ms = {args.points / s / 1e6:.2f} M points/s; "
                f"locate_many is {s / many_s:.0f}x faster; agreement {agree:,}/{len(x):,}"
                + (" (exact)" if agree == len(x) else " (MISMATCH)")
            )
        tree = shapely.STRtree(geoms)
        parr = shapely.points(x, y)
        s, (pi, gi) = best_of(lambda: tree.query(parr, predicate="intersects"), 1)
        ref = min_code_per_point(len(x), pi, gi, rank)
        print(
            f"STRtree.query          {s * 1000:.0f} ms = {args.points / s / 1e6:.2f} M points/s; "
            f"agreement {'exact' if np.array_equal(ref, got) else 'MISMATCH'}"
        )
        shapely.prepare(geoms)
        s, ref = best_of(lambda: contains_xy_baseline(geoms, rank, x, y), 1)
        print(
            f"bbox + intersects_xy   {s * 1000:.0f} ms = {args.points / s / 1e6:.2f} M points/s; "
            f"agreement {'exact' if np.array_equal(ref, got) else 'MISMATCH'}"
        )

    # Single-point latency: each call timed alone (includes ~50-100 ns of perf_counter_ns overhead).
    n1 = min(args.single, args.points)
    xs, ys = x[:n1].tolist(), y[:n1].tolist()
    locate = index.locate
    lat_ns = np.empty(n1, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(n1):
        t0 = clock()
        locate(xs[i], ys[i])
        lat_ns[i] = clock() - t0
    t = time.perf_counter()
    for i in range(n1):
        locate(xs[i], ys[i])
    mean_us = (time.perf_counter() - t) / n1 * 1e6
    print(
        f"locate (single)        median {statistics.median(lat_ns.tolist()) / 1000:.2f} us, "
        f"p99 {np.percentile(lat_ns, 99) / 1000:.2f} us, max {lat_ns.max() / 1000:.0f} us, "
        f"loop mean {mean_us:.2f} us ({n1:,} calls)"
    )
    if args.postgis_url:
        postgis_bulk_join(args.postgis_url, index, x, y, many_s)
    elif args.embedded:
        from benchmarks.support import embedded_postgis

        with embedded_postgis() as url:
            postgis_bulk_join(url, index, x, y, many_s)
    else:
        print("PostGIS bulk join      skipped (pass --embedded or --postgis-url)")


if __name__ == "__main__":
    main()
