"""Compiled (numba) bulk path of geo_grid.lookup_district.DistrictIndex.locate_many.

One pass per point does what the numpy path (DistrictIndex._chunk + FlatParts.locate) does in ≈ 20
array passes and per-point gathers: route the point through the coarse router, read its subdistrict's
raster cell, and answer plain cells and certain sides of single-edge cells. The floating-point
operations are the numpy path's, in the same order (no fastmath, so no reassociation or contraction),
so the cell of a point and the sign of an orientation are the same bit for bit.

A point the raster cannot answer (a multi-edge cell near a vertex, or within rounding of the cell's
edge) gets the exact test of its cell's candidates here (`cell_exact`: even-odd crossings over each
candidate's rings, every orientation under Shewchuk's static error bound, in code order), which
answers it unless the point is on or within rounding of an edge of a candidate (≈ 1e-16 degree) or
two candidates cover it. Only those are flagged (DEFER) and the caller runs the exact numpy path (GEOS
``intersects_xy`` over the cell's candidates) for them. Exactness therefore rests on the same
construction as GridIndex (see geo_grid.lookup) plus certain orientations; the tests compare both
paths with the brute-force reference (tests/unit/test_lookup_kernel.py, test_lookup_district.py).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from geo_grid.lookup_raster import ORIENT_ERR

DEFER = -3  # kernel answer: the point needs the exact path


_BATCH = 2048  # points per batch: each step of a batch is one tight loop of independent loads


@numba.njit(cache=True, nogil=True, boundscheck=False, inline="always")
def part_cell(
    px: float,
    py: float,
    s: Any,
    p_x0: Any,
    p_y0: Any,
    p_inv_x: Any,
    p_inv_y: Any,
    p_nx: Any,
    p_ny: Any,
    p_raster: Any,
) -> tuple[int, int]:
    """Row and flat raster index of the point's cell in part s: as numpy, truncated towards zero, then
    clipped onto the part's (empty) margin."""
    nx = p_nx[s]
    ny = p_ny[s]
    gx = (px - p_x0[s]) * p_inv_x[s]
    gy = (py - p_y0[s]) * p_inv_y[s]
    ix = 0 if gx < 0.0 else (nx - 1 if gx >= nx else int(gx))
    iy = 0 if gy < 0.0 else (ny - 1 if gy >= ny else int(gy))
    return iy, p_raster[s] + iy * nx + ix


@numba.njit(cache=True, nogil=True, boundscheck=False)
def locate_kernel(
    x: Any,
    y: Any,
    out: Any,
    tie: Any,
    want_ties: bool,
    r_x0: float,
    r_y0: float,
    r_inv_x: float,
    r_inv_y: float,
    r_nx: int,
    r_ny: int,
    r_cells: Any,
    r_ptr: Any,
    r_subs: Any,
    rank: Any,
    p_x0: Any,
    p_y0: Any,
    p_inv_x: Any,
    p_inv_y: Any,
    p_nx: Any,
    p_ny: Any,
    p_size: Any,
    p_raster: Any,
    p_row_base: Any,
    p_seg: Any,
    p_sp: Any,
    p_pos: Any,
    p_pos0: Any,
    pos_direct: bool,
    raster: Any,
    row_base: Any,
    seg: Any,
    sp_seg: Any,
    sp_left: Any,
    sp_right: Any,
    pos: Any,
    p_ptr: Any,
    p_cand: Any,
    sp_ptr: Any,
    sp_cand: Any,
    poly_xy: Any,
    ring_xy: Any,
) -> int:
    """Fill out[i] (global position, -1 none, DEFER) and tie[i]; return the number of DEFER points.

    Points go in batches. A batch becomes items (point, part): one per point in a single-subdistrict
    router cell, one per candidate subdistrict in a border cell. Each step over the items is a tight
    loop of independent loads, so that the cache misses of many points overlap (a point-by-point loop
    waits for each point's chain of misses and is ≈ 3x slower on a city's 100+ MiB of arrays). No
    branch depends on a value still being loaded: a mispredicted branch on it would wait for the miss,
    and the loads after it would start only then (gathering the segment rows and the rings in loops of
    their own made the pass 15 % faster at 125,000 micro-grids).

    `pos_direct`: every part's positions are consecutive (p_pos0[s] + local position), which spares the
    gather from `pos`."""
    deferred = 0
    n = len(x)
    most = 1
    for k in range(len(r_ptr) - 1):
        most = max(most, r_ptr[k + 1] - r_ptr[k])
    batch = max(1, min(_BATCH, n))  # a one-point call (GET /lookup) allocates for one point
    cap = batch * most
    it_pt = np.empty(cap, dtype=np.int64)  # batch slot of the item's point
    it_part = np.empty(cap, dtype=np.int64)  # -1: no part (outside every subdistrict)
    it_cell = np.empty(cap, dtype=np.int64)  # flat raster index, then its value
    it_row = np.empty(cap, dtype=np.int64)
    it_ans = np.empty(cap, dtype=np.int64)
    spq = np.empty(cap, dtype=np.int64)  # items in special cells
    spk = np.empty(cap, dtype=np.int64)  # their special cell (flat index)
    spr = np.empty(cap, dtype=np.int64)  # their segment row (flat index)
    unsure = np.empty(cap, dtype=np.int64)  # special items the edge's side does not decide
    hits = np.empty(batch, dtype=np.int64)
    u_lo = np.empty(cap, dtype=np.int64)  # candidate range of each unsure item
    u_hi = np.empty(cap, dtype=np.int64)
    touched = np.empty(1)
    sg = np.empty((cap, 4))  # segment row of each special item
    u_grid = np.empty(cap, dtype=np.int64)  # candidate grids of the unsure items (grows if need be)
    last = len(ring_xy) - 1
    for b0 in range(0, n, _BATCH):
        m = min(_BATCH, n - b0)
        # 1. route. Item j is point j with its (first) candidate part; the other candidates of a point
        # in a border cell are items from m on, so that most points need no merging at the end
        ni = m
        for j in range(m):
            px = x[b0 + j]
            py = y[b0 + j]
            it_pt[j] = j
            it_part[j] = -1
            it_cell[j] = 0
            fx = (px - r_x0) * r_inv_x
            fy = (py - r_y0) * r_inv_y
            if not (fx >= 0.0 and fx < r_nx and fy >= 0.0 and fy < r_ny):  # outside, or NaN
                continue
            v = np.int64(r_cells[int(fy) * r_nx + int(fx)])
            if v == -1:
                continue
            if v >= 0:  # one subdistrict (most cells): straight code, no candidate loop
                it_part[j] = v
                it_row[j], it_cell[j] = part_cell(
                    px, py, v, p_x0, p_y0, p_inv_x, p_inv_y, p_nx, p_ny, p_raster
                )
                continue
            lo, hi = np.int64(r_ptr[-2 - v]), np.int64(r_ptr[-1 - v])
            for q in range(lo, hi):
                s = np.int64(r_subs[q])
                i = j
                if q != lo:
                    i = ni
                    ni += 1
                    it_pt[i] = j
                it_part[i] = s
                it_row[i], it_cell[i] = part_cell(
                    px, py, s, p_x0, p_y0, p_inv_x, p_inv_y, p_nx, p_ny, p_raster
                )
        # 2. raster gather
        for q in range(ni):
            it_cell[q] = raster[it_cell[q]]
        # 3. plain cells answered, special cells collected
        ns = 0
        for q in range(ni):
            s = it_part[q]
            v = it_cell[q]
            size = p_size[max(s, 0)]
            if s < 0:
                it_ans[q] = -1
            elif v < size:
                it_ans[q] = -1 if v < 0 else (p_pos0[s] + v if pos_direct else pos[p_pos[s] + v])
            else:
                spq[ns] = q
                spk[ns] = p_sp[s] + np.int64(row_base[p_row_base[s] + it_row[q]]) + (v - size)
                ns += 1
        for t in range(ns):
            spr[t] = p_seg[it_part[spq[t]]] + np.int64(sp_seg[spk[t]])
        for t in range(ns):  # the rows' misses overlap: nothing here waits on them
            r = spr[t]
            sg[t, 0] = seg[r, 0]
            sg[t, 1] = seg[r, 1]
            sg[t, 2] = seg[r, 2]
            sg[t, 3] = seg[r, 3]
        nu = 0
        for t in range(ns):
            q = spq[t]
            k = spk[t]
            px = x[b0 + it_pt[q]]
            py = y[b0 + it_pt[q]]
            dl = (sg[t, 0] - px) * (sg[t, 3] - py)
            dr = (sg[t, 1] - py) * (sg[t, 2] - px)
            det = dl - dr
            bound = ORIENT_ERR * (abs(dl) + abs(dr))
            left = det > bound  # a NaN segment row (multi-edge cell) fails both tests
            right = det < -bound
            a = np.int64(sp_left[k])
            b = np.int64(sp_right[k])
            loc = a if left else b
            s = it_part[q]
            g = p_pos0[s] + loc if pos_direct else np.int64(pos[p_pos[s] + max(loc, 0)])
            it_ans[q] = g if loc >= 0 else -1
            unsure[nu] = t
            nu += 0 if (left or right) else 1
        # near a vertex or an edge: the cell's candidates, tested exactly (or DEFER). First every
        # candidate's ring is touched in loops of independent loads, so that their cache misses overlap
        # instead of each test waiting for its own chain (cell -> candidates -> ring: ≈ 1.3 µs a point)
        ng = 0
        for u in range(nu):
            s = it_part[spq[unsure[u]]]
            pk = p_ptr[s] + spk[unsure[u]] - p_sp[s]
            u_lo[u] = sp_ptr[pk]
            u_hi[u] = sp_ptr[pk + 1]
            ng += u_hi[u] - u_lo[u]
        if ng > len(u_grid):
            u_grid = np.empty(2 * ng, dtype=np.int64)
        ng = 0
        for u in range(nu):
            s = it_part[spq[unsure[u]]]
            for c in range(u_lo[u], u_hi[u]):
                u_grid[ng] = p_pos[s] + np.int64(sp_cand[p_cand[s] + c])
                ng += 1
        acc = 0.0
        for c in range(ng):  # the first three lines of each ring (most polygons have < 12 vertices)
            row = np.int64(poly_xy[u_grid[c]])
            acc += ring_xy[row, 0] + ring_xy[min(row + 4, last), 0] + ring_xy[min(row + 8, last), 0]
        touched[0] = acc  # keeps the loads
        for u in range(nu):
            t = unsure[u]
            q = spq[t]
            k = spk[t]
            s = it_part[q]
            it_ans[q] = cell_exact(
                x[b0 + it_pt[q]], y[b0 + it_pt[q]], s, p_ptr[s] + k - p_sp[s], p_cand[s], p_pos[s],
                sp_ptr, sp_cand, pos, poly_xy, ring_xy,
            )  # fmt: skip
        # 4. per point: its first item's answer; with more candidates the smallest code among their
        # answers, a tie if two answer; DEFER wins
        for j in range(m):
            out[b0 + j] = it_ans[j]
        if want_ties:
            for j in range(m):
                tie[b0 + j] = False
        prev = -1
        for q in range(m, ni):
            j = it_pt[q]
            if j != prev:
                prev = j
                hits[j] = 1 if it_ans[j] >= 0 else 0
            a = it_ans[q]
            best = out[b0 + j]
            if a == DEFER or best == DEFER:
                out[b0 + j] = DEFER
            elif a >= 0:
                hits[j] += 1
                if best < 0 or rank[a] < rank[best]:
                    out[b0 + j] = a
            if want_ties:
                tie[b0 + j] = hits[j] > 1
        for j in range(m):
            deferred += 1 if out[b0 + j] == DEFER else 0
    return deferred


@numba.njit(cache=True, nogil=True, boundscheck=False)
def cell_exact(
    px: float,
    py: float,
    s: int,
    pk: int,
    cand0: int,
    pos0: int,
    sp_ptr: Any,
    sp_cand: Any,
    pos: Any,
    poly_xy: Any,
    ring_xy: Any,
) -> int:
    """Global position (-1 none) of the first of special cell `pk`'s candidates (code order) covering
    the point, DEFER if any candidate's test is uncertain or two candidates cover it (a tie: the exact
    path also tells it)."""
    first: Any = -1
    count = 0
    for c in range(sp_ptr[pk], sp_ptr[pk + 1]):
        loc: Any = np.int64(sp_cand[cand0 + c])
        r = covers(px, py, pos0 + loc, poly_xy, ring_xy)
        if r < 0:
            return DEFER
        if r == 1:
            count += 1
            if first < 0:
                first = loc
    if count > 1:
        return DEFER
    return -1 if first < 0 else int(pos[pos0 + first])


@numba.njit(cache=True, nogil=True, boundscheck=False)
def covers(px: float, py: float, g: int, poly_xy: Any, ring_xy: Any) -> int:
    """1 if polygon g (flat index) certainly contains the point, 0 if certainly not, -1 if the point is
    on or within rounding of one of its edges. Even-odd crossings of the ray to +x over every ring
    (half-open rule on y, exact); a crossing is decided by comparisons where the edge lies wholly on
    one side of the point, else by the orientation determinant under its static error bound. Rings are
    separated by NaN rows (geo_grid.lookup_flat.polygon_rings), whose edges are skipped."""
    inside = False
    for v in range(poly_xy[g], poly_xy[g + 1] - 1):
        ax = ring_xy[v, 0]
        ay = ring_xy[v, 1]
        bx = ring_xy[v + 1, 0]
        by = ring_xy[v + 1, 1]
        if np.isnan(ax) or np.isnan(bx):  # across a ring separator
            continue
        if px > max(ax, bx):  # the edge is wholly left of the point: no crossing, not on it
            continue
        up = ay <= py < by
        down = by <= py < ay
        if not (up or down):
            if py < min(ay, by) or py > max(ay, by) or px < min(ax, bx):
                continue  # cannot touch the point, cannot cross the ray
        elif px < min(ax, bx):  # wholly right of the point and straddling its y: crosses
            inside = not inside
            continue
        dl = (ax - px) * (by - py)
        dr = (ay - py) * (bx - px)
        det = dl - dr
        bound = ORIENT_ERR * (abs(dl) + abs(dr))
        if det <= bound and det >= -bound:
            return -1
        if (up and det > 0.0) or (down and det < 0.0):
            inside = not inside
    return 1 if inside else 0
