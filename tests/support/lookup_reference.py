"""Brute-force lookup reference and synthetic tilings, shared by the lookup tests and the benchmark.

The reference is deliberately naive (no raster, no tree): every polygon is tested with shapely
``intersects_xy`` (= "covers" for points, boundary included) and the smallest code wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely


def brute_force_locate(codes: Sequence[str], polygons: Sequence[Any], lon: Any, lat: Any) -> np.ndarray:
    """Positions (int32, -1 outside) of the smallest-code polygon covering each point."""
    x = np.asarray(lon, dtype=np.float64).ravel()
    y = np.asarray(lat, dtype=np.float64).ravel()
    out = np.full(len(x), -1, dtype=np.int32)
    for pos in sorted(range(len(codes)), key=lambda i: codes[i], reverse=True):
        poly = polygons[pos]
        shapely.prepare(poly)
        out[shapely.intersects_xy(poly, x, y)] = pos  # later (smaller code) overwrites
    return out


def brute_force_cover_count(polygons: Sequence[Any], lon: Any, lat: Any) -> np.ndarray:
    """How many polygons cover each point (> 1: on a shared edge/vertex or in an overlap)."""
    x = np.asarray(lon, dtype=np.float64).ravel()
    y = np.asarray(lat, dtype=np.float64).ravel()
    out = np.zeros(len(x), dtype=np.int32)
    for poly in polygons:
        shapely.prepare(poly)
        out += shapely.intersects_xy(poly, x, y)
    return out


def voronoi_tiling(
    n: int = 652, center: tuple[float, float] = (113.70, 34.76), area_km2: float = 5.2, seed: int = 0
) -> tuple[list[str], list[Any]]:
    """A jittered Voronoi tiling of a square of `area_km2` around `center`: micro-grid-like cells.

    Codes are zero-padded 9-digit strings assigned in a shuffled order so that code order differs
    from the geometric order.
    """
    rng = np.random.default_rng(seed)
    side_m = np.sqrt(area_km2) * 1000.0
    dlon = side_m / (111_320.0 * np.cos(np.radians(center[1])))
    dlat = side_m / 110_574.0
    frame = shapely.box(
        center[0] - dlon / 2, center[1] - dlat / 2, center[0] + dlon / 2, center[1] + dlat / 2
    )
    k = int(np.ceil(np.sqrt(n)))
    gx, gy = np.meshgrid((np.arange(k) + 0.5) / k, (np.arange(k) + 0.5) / k)
    seeds = np.column_stack([gx.ravel(), gy.ravel()])[:n] + rng.normal(0, 0.25 / k, (min(n, k * k), 2))
    seeds = np.column_stack([frame.bounds[0] + seeds[:, 0] * dlon, frame.bounds[1] + seeds[:, 1] * dlat])
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame))
    # Clip to the frame and rebuild the tiling from its linework so that shared edges are identical.
    lines = shapely.union_all(shapely.boundary(shapely.intersection(cells, frame)))
    polys = [p for p in shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))) if p.area > 0]
    labels = rng.permutation(len(polys))
    codes = [f"410105{int(i):03d}" for i in labels]
    return codes, polys


def checkerboard(
    nx: int = 8, ny: int = 6, origin: tuple[float, float] = (113.69, 34.75), step: float = 0.0005
) -> tuple[list[str], list[Any]]:
    """Squares sharing exact vertices (4 polygons meet at each inner vertex)."""
    codes, polys = [], []
    for j in range(ny):
        for i in range(nx):
            x, y = origin[0] + i * step, origin[1] + j * step
            polys.append(shapely.box(x, y, x + step, y + step))
            codes.append(f"{(j * nx + i) * 7 % (nx * ny):04d}")
    return codes, polys


def edge_probe_points(polygons: Sequence[Any], eps: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Every vertex, every edge midpoint, and the midpoint moved ±eps degrees along the edge normal."""
    rings = shapely.get_rings(shapely.get_parts(np.asarray(polygons, dtype=object)))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    a, b = coords[:-1][same], coords[1:][same]
    mid = (a + b) / 2.0
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > 0
    normal = np.column_stack([-d[keep, 1], d[keep, 0]]) / length[keep, None]
    pts = np.vstack([coords, mid, mid[keep] + eps * normal, mid[keep] - eps * normal])
    return pts[:, 0], pts[:, 1]
