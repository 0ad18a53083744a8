"""Scanline cover counts (geo_grid.lookup_scan) against GEOS: every answer it calls certain is exact, and
no point on a boundary is ever called certain."""

from __future__ import annotations

import numpy as np
import shapely

from geo_grid.lookup_scan import ring_edges, scan_cover
from tests.support.lookup_reference import (
    brute_force_cover_count,
    checkerboard,
    edge_probe_points,
    voronoi_tiling,
)


def geos_answer(polys: list, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(covering polygon where exactly one covers else -1, number of covering polygons), by GEOS."""
    geoms = np.asarray(polys, dtype=object)
    pi, gi = shapely.STRtree(geoms).query(shapely.points(x, y), predicate="covered_by")
    cnt = np.bincount(pi, minlength=len(x))
    val = np.full(len(x), -1, dtype=np.int64)
    val[pi] = gi
    return np.where(cnt == 1, val, -1), cnt


def on_boundary(polys: list, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    lines = shapely.boundary(np.asarray(polys, dtype=object))
    pi, _ = shapely.STRtree(lines).query(shapely.points(x, y), predicate="intersects")
    out = np.zeros(len(x), dtype=bool)
    out[pi] = True
    return out


def check(polys: list, x: np.ndarray, y: np.ndarray, tol: float = 1e-11) -> np.ndarray:
    geoms = np.asarray(polys, dtype=object)
    edges, owner = ring_edges(geoms)
    val, cnt, ok = scan_cover(edges, owner, len(polys), x, y, tol)
    ref_val, ref_cnt = geos_answer(polys, x, y)
    bad = np.flatnonzero(ok & ((val != ref_val) | (cnt != ref_cnt)))
    assert len(bad) == 0, [(x[i], y[i], val[i], ref_val[i], cnt[i], ref_cnt[i]) for i in bad[:5]]
    assert not (ok & on_boundary(polys, x, y)).any()
    assert not (ok & (ref_cnt > 1)).any()
    return ok


def probes(polys: list, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(polys, dtype=object))
    ex, ey = edge_probe_points(polys, eps=1e-9)
    fx, fy = edge_probe_points(polys, eps=1e-13)
    x = np.concatenate([rng.uniform(minx - 1e-3, maxx + 1e-3, n), ex, fx])
    y = np.concatenate([rng.uniform(miny - 1e-3, maxy + 1e-3, n), ey, fy])
    return x, y


def test_voronoi_tiling_random_and_edge_points() -> None:
    _, polys = voronoi_tiling(300, seed=3)
    x, y = probes(polys, 50_000, seed=1)
    ok = check(polys, x, y)
    assert ok[:50_000].mean() > 0.999  # random points: nearly all answered without GEOS
    assert (brute_force_cover_count(polys, x[:50_000], y[:50_000]) == 1).sum() > 40_000


def test_checkerboard_shared_vertices_and_horizontal_edges() -> None:
    _, polys = checkerboard()
    x, y = probes(polys, 20_000, seed=2)
    # points on the horizontal edges and at the (top) vertices, where no edge crosses the point's line
    xs, ys = np.meshgrid(np.linspace(113.6895, 113.6945, 41), 34.75 + 0.0005 * np.arange(7))
    check(polys, np.concatenate([x, xs.ravel()]), np.concatenate([y, ys.ravel()]))


def test_holes_multipolygons_overlaps_and_peaks() -> None:
    ring = shapely.Polygon(
        [(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (3, 1), (3, 3), (1, 3)]]
    )  # a hole
    multi = shapely.MultiPolygon([shapely.box(5, 0, 6, 1), shapely.box(7, 0, 8, 1)])
    overlap = shapely.box(3.5, 3.5, 5.5, 5.5)  # overlaps the ring
    peak = shapely.Polygon([(9, 0), (10, 2), (11, 0), (10.5, 0.5), (9.5, 0.5)])  # top vertex (10, 2)
    inner = shapely.box(1.5, 1.5, 2.5, 2.5)  # inside the hole
    polys = [ring, multi, overlap, peak, inner]
    x, y = probes(polys, 30_000, seed=4)
    # the peak, the hole's edge, the inner box's edge, a notch vertex; between two parts; in the overlap
    x = np.concatenate([x, [10.0, 1.0, 1.5, 10.5, 6.5, 3.75]])
    y = np.concatenate([y, [2.0, 2.0, 2.0, 0.5, 0.5, 3.75]])
    ok = check(polys, x, y)
    assert ok[:30_000].mean() > 0.99
    assert not ok[-6:-2].any() and ok[-2]
    assert not ok[-1]  # two polygons cover it: left to GEOS
