"""The bulk lookup of a DistrictIndex (geo_grid.lookup_district) over many subdistricts.

Points are not grouped by subdistrict: the parts' arrays are concatenated (geo_grid.lookup_flat) and a
compiled pass (geo_grid.lookup_kernel, numba) routes each point and reads its part's raster; the few
points it cannot decide (on or within rounding of an edge) take the exact numpy/GEOS path
(`locate_chunk`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from geo_grid.lookup_flat import FlatParts
from geo_grid.lookup_kernel import DEFER, locate_kernel
from geo_grid.lookup_raster import IntArray
from geo_grid.lookup_router import Router

# Points per exact (numpy) pass.
_CHUNK = 1 << 16


def locate_compiled(
    router: Router,
    flat: FlatParts,
    rank: IntArray,
    by_rank: IntArray,
    size: int,
    xf: NDArray[np.float64],
    yf: NDArray[np.float64],
    out: IntArray,
    tie: NDArray[np.bool_],
    ties: bool,
) -> None:
    """Fill out (global positions, -1 none) and, with `ties`, tie for flat points xf, yf."""
    # compiled pass (geo_grid.lookup_kernel); the points it cannot answer with certainty (on or
    # within rounding of an edge, near a vertex) go through the exact numpy path below
    deferred = locate_kernel(
        np.ascontiguousarray(xf), np.ascontiguousarray(yf), out, tie, ties,
        router.x0, router.y0, router.inv_x, router.inv_y, router.nx,
        router.ny, router.cells, router.ptr, router.subs, rank,
        *flat.kernel_args,
    )  # fmt: skip
    if deferred:
        sel = np.flatnonzero(out == DEFER)
        for i in range(0, len(sel), _CHUNK):
            part = sel[i : i + _CHUNK]
            got = np.empty(len(part), dtype=np.int32)
            t = np.zeros(len(part), dtype=bool)
            locate_chunk(router, flat, rank, by_rank, size, xf[part], yf[part], got, t if ties else None)
            out[part] = got
            if ties:
                tie[part] = t


def locate_chunk(
    router: Router,
    flat: FlatParts,
    rank: IntArray,
    by_rank: IntArray,
    size: int,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    out: IntArray,
    tie: NDArray[np.bool_] | None,
) -> None:
    """The exact numpy path over points of any subdistricts (what the compiled pass defers to)."""
    v = router.route(x, y)
    ties = tie is not None
    # every point through the part of its cell (part 0 for the others), then fix the others: cheaper
    # than gathering the points of single-part cells first
    out[:], t = flat.locate(x, y, np.maximum(v, 0), ties)
    if tie is not None:
        tie[:] = t
    none = np.flatnonzero(v == -1)
    out[none] = -1
    if tie is not None:
        tie[none] = False
    border = np.flatnonzero(v <= -2)
    if len(border) == 0:
        return
    # border cells: every candidate subdistrict answers, the smallest code wins, and a point covered
    # in two subdistricts is a tie
    k = -2 - v[border]
    lo, hi = router.ptr[k], router.ptr[k + 1]
    cnt = hi - lo
    pt = np.repeat(border, cnt)
    idx = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
    got, many = flat.locate(x[pt], y[pt], router.subs[idx], ties)
    hit = got >= 0
    best = np.full(len(x), size, dtype=np.int32)
    np.minimum.at(best, pt[hit], rank[got[hit]])
    out[border] = by_rank[best[border]]
    if tie is not None:
        count = np.bincount(pt[hit], minlength=len(x))
        tie[border] = count[border] > 1
        tie[pt[many]] = True
