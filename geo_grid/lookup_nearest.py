"""The nearest-grid search of a DistrictIndex (geo_grid.lookup_district) for points outside every grid.

It keeps only the segments that can be nearest to an uncovered point: those on the boundary of the union
of all grids (a segment owned by one grid only) and every segment meeting one of their vertices (so that
a grid touching the boundary at a single vertex still ties), as two small STRtrees (EPSG:4547 and the
far projection) instead of every edge of every grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.crs import lonlat_to_far_metric, lonlat_to_metric
from geo_grid.lookup import FAR_DEG
from geo_grid.lookup_parts import PartExtras, once
from geo_grid.lookup_raster import IntArray, frozen


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Nearest:
    """The segments that can be nearest to an uncovered point, in both projections, and their owners."""

    segments: NDArray[np.float64]  # (m, 4) lon/lat ax, ay, bx, by (what a snapshot stores)
    near_box: tuple[float, float, float, float]
    far_centre: tuple[float, float]
    metric_tree: Any
    far_tree: Any
    owner: IntArray  # global position owning each segment (same order in both trees)
    nbytes: int


def build_nearest(extras: tuple[PartExtras, ...], positions: tuple[IntArray, ...]) -> Nearest:
    """The segments that can be nearest to an uncovered point (see the module docstring)."""
    seg = np.vstack([e.seg for e in extras])
    owner = np.concatenate([glob[e.owner] for e, glob in zip(extras, positions, strict=True)])
    cand = np.flatnonzero(np.concatenate([e.outer for e in extras]))
    boundary = cand[once(seg[cand])]  # on the boundary of the union of all subdistricts
    vertex = np.concatenate(
        [seg[boundary, 0] + 1j * seg[boundary, 1], seg[boundary, 2] + 1j * seg[boundary, 3]]
    )
    touch = np.isin(seg[:, 0] + 1j * seg[:, 1], vertex) | np.isin(seg[:, 2] + 1j * seg[:, 3], vertex)
    sel = np.flatnonzero(touch)
    return nearest_from_segments(seg[sel], owner[sel])


def nearest_from_segments(seg: NDArray[np.float64], owner: IntArray) -> Nearest:
    """The nearest-segment trees from lon/lat segments (ax, ay, bx, by) and their owners' positions."""
    minx, miny = float(seg[:, [0, 2]].min()), float(seg[:, [1, 3]].min())
    maxx, maxy = float(seg[:, [0, 2]].max()), float(seg[:, [1, 3]].max())
    centre = ((minx + maxx) / 2, (miny + maxy) / 2)
    ends = np.vstack([seg[:, :2], seg[:, 2:]])
    mx, my = lonlat_to_metric(ends[:, 0], ends[:, 1])
    fx, fy = lonlat_to_far_metric(ends[:, 0], ends[:, 1], *centre)
    m = len(seg)

    def lines(px: Any, py: Any) -> Any:
        return shapely.linestrings(
            np.stack([np.column_stack([px[:m], py[:m]]), np.column_stack([px[m:], py[m:]])], axis=1)
        )

    return Nearest(
        segments=frozen(np.ascontiguousarray(seg, dtype=np.float64)),
        near_box=(minx - FAR_DEG, miny - FAR_DEG, maxx + FAR_DEG, maxy + FAR_DEG),
        far_centre=centre,
        metric_tree=shapely.STRtree(lines(np.asarray(mx), np.asarray(my))),
        far_tree=shapely.STRtree(lines(np.asarray(fx), np.asarray(fy))),
        owner=frozen(owner.astype(np.int32)),
        nbytes=int(owner.nbytes + 4 * 8 * 2 * m),
    )


def nearest_outside(
    nb: Nearest, size: int, rank: IntArray, by_rank: IntArray, x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[IntArray, NDArray[np.float64]]:
    """Position (smallest code on ties; `rank`/`by_rank` as DistrictIndex's) and distance in metres of the
    grid nearest to each point."""
    x0, y0, x1, y1 = nb.near_box
    near = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    pos = np.empty(len(x), dtype=np.int32)
    dist = np.empty(len(x))
    for sel, far in ((np.flatnonzero(near), False), (np.flatnonzero(~near), True)):
        if len(sel):
            if far:
                mx, my = lonlat_to_far_metric(x[sel], y[sel], *nb.far_centre)
            else:
                mx, my = lonlat_to_metric(x[sel], y[sel])
            if not (np.isfinite(mx).all() and np.isfinite(my).all()):
                raise ValueError("coordinates outside the valid WGS84 range")
            tree = nb.far_tree if far else nb.metric_tree
            (pi, si), d = tree.query_nearest(shapely.points(mx, my), all_matches=True, return_distance=True)
            best = np.full(len(sel), size, dtype=np.int32)
            np.minimum.at(best, pi, rank[nb.owner[si]])
            dd = np.zeros(len(sel))
            dd[pi] = d
            pos[sel], dist[sel] = by_rank[best], dd
    return pos, dist
