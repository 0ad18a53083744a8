"""Which polygons cover many points at once, by scanline crossing counts (numba): the build's fast path
for the raster's reference points (geo_grid.lookup_raster), which used to be one GEOS test per point.

For every distinct y of the query points, each ring edge of each polygon that crosses the horizontal
line y (half-open rule: ``min(ay, by) <= y < max(ay, by)``, decided by exact comparisons) gives one
crossing x. A point not on any boundary lies inside a polygon iff an odd number of that polygon's
crossings lie left of it (even-odd over all rings: holes and multipolygons included). One sorted walk
per line keeps, per polygon, the parity of the crossings passed, the number of polygons inside and the
XOR of their numbers (which IS the polygon when only one covers the point).

Exactness. Only the crossing x is rounded (a few ulps of the coordinates, ≈ 1e-13 degree). A point with
a crossing within `tol` of it (far above that rounding) is reported as not certain, and so is a point
covered by several polygons (overlapping input); the caller answers those with GEOS. Every other
answer is the exact one: the crossings left of the point are the same as in exact arithmetic. A point
ON an edge is within `tol` of that edge's crossing, or lies on a horizontal edge or at the top vertex
of its edges (which cross no line there), and is then flagged explicitly: a boundary point is never
reported as certain.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import shapely
from numpy.typing import NDArray


def ring_edges(geoms: NDArray[np.object_]) -> tuple[NDArray[np.float64], NDArray[np.int32]]:
    """Every ring edge (ax, ay, bx, by) of every polygon, in ring order, and its polygon's index."""
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, ci = shapely.get_coordinates(rings, return_index=True)
    same = ci[:-1] == ci[1:]
    edges = np.hstack([coords[:-1][same], coords[1:][same]])
    return edges, part_of[ring_of[ci[:-1][same]]].astype(np.int32)


def scan_cover(
    edges: NDArray[np.float64],
    owner: NDArray[np.int32],
    n: int,
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    tol: float,
) -> tuple[NDArray[np.int32], NDArray[np.intp], NDArray[np.bool_]]:
    """For each point: the covering polygon (-1 none; meaningful where count == 1), the number of
    covering polygons, and whether the answer is certain (no crossing within `tol` of the point, at
    most one covering polygon). Points must be finite; edges from `ring_edges`."""
    m = len(px)
    val = np.full(m, -1, dtype=np.int32)
    cnt = np.zeros(m, dtype=np.intp)
    ok = np.zeros(m, dtype=bool)
    if m == 0:
        return val, cnt, ok
    lines, qline = np.unique(py, return_inverse=True)
    _scan(
        np.ascontiguousarray(edges, dtype=np.float64), owner.astype(np.int64), n, lines,
        qline.ravel().astype(np.int64), np.ascontiguousarray(px, dtype=np.float64), float(tol), val, cnt, ok,
    )  # fmt: skip
    return val, cnt, ok


@numba.njit(cache=True, nogil=True)
def _scan(
    edges: Any, owner: Any, n: int, lines: Any, qline: Any, qx: Any, tol: float, val: Any, cnt: Any, ok: Any
) -> None:
    """Crossings of every edge with the sorted `lines`, grouped by line and sorted by x; the points
    grouped the same way; then one walk per line (see the module docstring)."""
    nl = len(lines)
    ne = len(edges)
    lo = np.empty(ne, dtype=np.int64)
    hi = np.empty(ne, dtype=np.int64)
    per_line = np.zeros(nl + 1, dtype=np.int64)
    for e in range(ne):
        ya = edges[e, 1]
        yb = edges[e, 3]
        lo[e] = np.searchsorted(lines, min(ya, yb))  # side="left": min <= y < max, exact
        hi[e] = np.searchsorted(lines, max(ya, yb))
        for ln in range(lo[e], hi[e]):
            per_line[ln + 1] += 1
    for ln in range(nl):
        per_line[ln + 1] += per_line[ln]
    fill = per_line[:-1].copy()
    cx = np.empty(per_line[nl], dtype=np.float64)
    cown = np.empty(per_line[nl], dtype=np.int64)
    for e in range(ne):
        ax = edges[e, 0]
        ay = edges[e, 1]
        bx = edges[e, 2]
        by = edges[e, 3]
        for ln in range(lo[e], hi[e]):
            t = (lines[ln] - ay) / (by - ay)  # by != ay: a horizontal edge crosses no line
            t = min(max(t, 0.0), 1.0)
            k = fill[ln]
            cx[k] = ax + t * (bx - ax)
            cown[k] = owner[e]
            fill[ln] = k + 1
    q_ptr = np.zeros(nl + 1, dtype=np.int64)
    for q in range(len(qline)):
        q_ptr[qline[q] + 1] += 1
    for ln in range(nl):
        q_ptr[ln + 1] += q_ptr[ln]
    q_fill = q_ptr[:-1].copy()
    q_of = np.empty(len(qline), dtype=np.int64)
    for q in range(len(qline)):
        q_of[q_fill[qline[q]]] = q
        q_fill[qline[q]] += 1
    parity = np.zeros(n, dtype=np.uint8)
    for ln in range(nl):
        c0 = per_line[ln]
        c1 = per_line[ln + 1]
        corder = np.argsort(cx[c0:c1]) + c0
        qs = q_of[q_ptr[ln] : q_ptr[ln + 1]]
        qorder = qs[np.argsort(qx[qs])]
        q_of[q_ptr[ln] : q_ptr[ln + 1]] = qorder  # kept sorted for the horizontal edges below
        inside = 0
        xor = 0
        i = 0
        nc = c1 - c0
        for o in qorder:
            x = qx[o]
            while i < nc and cx[corder[i]] < x - tol:
                p = cown[corder[i]]
                if parity[p]:
                    parity[p] = 0
                    inside -= 1
                else:
                    parity[p] = 1
                    inside += 1
                xor ^= p
                i += 1
            near = i < nc and cx[corder[i]] <= x + tol
            cnt[o] = inside
            val[o] = xor if inside == 1 else -1
            ok[o] = (not near) and inside <= 1
        for j in range(c0, c1):  # next line from a clean state
            parity[cown[j]] = 0
    # a point on a horizontal edge, or at the top vertex of an edge, has no crossing near it: flagged
    for e in range(ne):
        for end in range(2):
            y = edges[e, 2 * end + 1]
            ln = np.searchsorted(lines, y)
            if ln >= nl or lines[ln] != y:
                continue
            x0 = edges[e, 2 * end]
            x1 = edges[e, 2 - 2 * end] if edges[e, 3 - 2 * end] == y else x0  # horizontal: the whole edge
            qs = q_of[q_ptr[ln] : q_ptr[ln + 1]]
            a = np.searchsorted(qx[qs], min(x0, x1) - tol)
            b = np.searchsorted(qx[qs], max(x0, x1) + tol, side="right")
            for j in range(a, b):
                ok[qs[j]] = False
