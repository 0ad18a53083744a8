"""Private build machinery of GridIndex (geo_grid.lookup): raster, special cells, segment walking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.lookup_scan import ring_edges, scan_cover

# Enlargement of each cell (in cells) for point assignment (DELTA) and segment search (2 * DELTA).
DELTA = 1e-3
# Shewchuk's ccwerrboundA is (3 + 16 eps) eps ≈ 3.3e-16; 1e-15 leaves a 3x safety factor.
ORIENT_ERR = 1e-15

IntArray = NDArray[np.int32]
# Up to this many polygons the exact reference answers of a build loop over polygons (covering_pairs);
# beyond, one STRtree query of points is cheaper than the Python loop.
_SMALL = 5000


def frozen(a: NDArray[Any]) -> NDArray[Any]:
    """`a`, made read-only."""
    a.flags.writeable = False
    return a


def orient_sign(ax: Any, ay: Any, bx: Any, by: Any, px: Any, py: Any) -> Any:
    """+1 if p is certainly left of a->b, -1 certainly right, 0 if floating point cannot tell."""
    dl = (ax - px) * (by - py)
    dr = (ay - py) * (bx - px)
    det = dl - dr
    bound = ORIENT_ERR * (np.abs(dl) + np.abs(dr))
    return np.where(det > bound, 1, np.where(det < -bound, -1, 0))


@dataclass(frozen=True, slots=True, eq=False)
class Raster:
    """The raster and special-cell arrays of a GridIndex (field meanings: see GridIndex)."""

    cell_deg: tuple[float, float]
    x0: float
    y0: float
    inv_x: float
    inv_y: float
    nx: int
    ny: int
    raster: NDArray[Any]
    row_base: IntArray
    seg: NDArray[np.float64]
    sp_seg: IntArray
    sp_left: IntArray
    sp_right: IntArray
    sp_ptr: IntArray
    sp_cand: IntArray
    mv: tuple[Any, ...]


def build_raster(
    geoms: NDArray[np.object_],
    tree: Any,
    rank: IntArray,
    by_rank: IntArray,
    cell_m: float,
    max_cells: int,
) -> Raster:
    """Classify the raster cells of `geoms` (plain / single-edge / multi-edge, see geo_grid.lookup)."""
    n = len(geoms)

    # Raster geometry: cells of ≈ cell_m metres, 2 empty cells of margin on every side.
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    coslat = max(np.cos(np.radians((miny + maxy) / 2.0)), 0.01)
    cx, cy = cell_m / (111_320.0 * coslat), cell_m / 110_574.0
    scale = max(1.0, float(np.sqrt((maxx - minx) / cx * (maxy - miny) / cy / max_cells)))
    cx, cy = cx * scale, cy * scale
    nx = int(np.ceil((maxx - minx) / cx)) + 5
    ny = int(np.ceil((maxy - miny) / cy)) + 5
    x0, y0 = minx - 2 * cx, miny - 2 * cy
    inv_x, inv_y = 1.0 / cx, 1.0 / cy

    bounds = shapely.bounds(geoms)

    edges, edge_owner = ring_edges(geoms)
    tol = max(1e-6 * cx, 1e-11)  # far above the rounding of a crossing (≈ 1e-13 degree)

    def reference(px: Any, py: Any) -> tuple[IntArray, NDArray[np.intp]]:
        """Exact answer (smallest-code covering position or -1) and number of covering polygons: by
        scanline crossings (geo_grid.lookup_scan), GEOS for the points that cannot tell for certain."""
        val, cnt, ok = scan_cover(edges, edge_owner, n, px, py, tol)
        hard = np.flatnonzero(~ok)
        if len(hard):
            val[hard], cnt[hard] = reference_geos(px[hard], py[hard])
        return val, cnt

    def reference_geos(px: Any, py: Any) -> tuple[IntArray, NDArray[np.intp]]:
        """The same answers by one GEOS covers test per (point, candidate polygon)."""
        if n <= _SMALL:
            pt, g = covering_pairs(geoms, bounds, px, py)
        else:
            pt, g = tree.query(shapely.points(px, py))
            hit = shapely.intersects_xy(geoms[g], px[pt], py[pt])
            pt, g = pt[hit], g[hit]
        best = np.full(len(px), n, dtype=np.int32)
        np.minimum.at(best, pt, rank[g])
        val = np.where(best == n, -1, by_rank[np.minimum(best, n - 1)]).astype(np.int32)
        return val, np.bincount(pt, minlength=len(px))

    seg = unique_segments(geoms)
    pair_seg, pair_cell = segment_cells(seg, x0, y0, inv_x, inv_y, nx, ny)

    # Plain cells: each horizontal run of edge-free cells has one cover set, so one answer. A run
    # covered by several polygons (overlapping input) becomes multi-edge cells instead, so that a
    # plain cell always has at most ONE covering polygon: candidates() can then answer it by index.
    plain = np.ones(nx * ny, dtype=bool)
    plain[pair_cell] = False
    prev = np.empty_like(plain)
    prev[0] = False
    prev[1:] = plain[:-1]
    prev[::nx] = False  # a run never continues across rows
    start = np.flatnonzero(plain & ~prev)
    run_val, run_cnt = reference(x0 + (start % nx + 0.5) * cx, y0 + (start // nx + 0.5) * cy)
    run_id = np.cumsum(plain & ~prev) - 1
    if (run_cnt > 1).any():
        overlapped = np.flatnonzero(plain & (run_cnt[run_id] > 1))
        plain[overlapped] = False
        pair_cell = np.concatenate([pair_cell, overlapped])
        pair_seg = np.concatenate([pair_seg, np.full(len(overlapped), len(seg), dtype=np.int32)])
    order = np.argsort(pair_cell, kind="stable")
    pair_seg, pair_cell = pair_seg[order], pair_cell[order]
    # np.unique of a sorted array, without its hashing or sorting (a third of a small build's time)
    first = np.flatnonzero(np.r_[True, pair_cell[1:] != pair_cell[:-1]])
    sp_cells, counts = pair_cell[first], np.diff(np.r_[first, len(pair_cell)])
    n_sp = len(sp_cells)
    sp_seg = np.where(counts == 1, pair_seg[first], len(seg)).astype(np.int32)

    # Single-edge cells: find an enlarged-cell corner certainly on each side, answer there.
    ci = (sp_cells % nx).astype(np.float64)
    cj = (sp_cells // nx).astype(np.float64)
    single = np.flatnonzero(sp_seg < len(seg))
    s = seg[sp_seg[single]]
    side_pt = np.full((2, len(single), 2), np.nan)
    for dx, dy in (
        (-DELTA, -DELTA),
        (1 + DELTA, -DELTA),
        (1 + DELTA, 1 + DELTA),
        (-DELTA, 1 + DELTA),
    ):
        qx = x0 + (ci[single] + dx) * cx
        qy = y0 + (cj[single] + dy) * cy
        sign = orient_sign(s[:, 0], s[:, 1], s[:, 2], s[:, 3], qx, qy)
        for side, want in ((0, 1), (1, -1)):
            take = (sign == want) & np.isnan(side_pt[side, :, 0])
            side_pt[side, take, 0], side_pt[side, take, 1] = qx[take], qy[take]
    ok = ~np.isnan(side_pt[:, :, 0]).any(axis=0)
    sp_seg[single[~ok]] = len(seg)  # no certain corner on one side: exact test for the whole cell
    single = single[ok]
    sp_left = np.full(n_sp, -1, dtype=np.int32)
    sp_right = np.full(n_sp, -1, dtype=np.int32)
    left_val, left_cnt = reference(side_pt[0, ok, 0], side_pt[0, ok, 1])
    right_val, right_cnt = reference(side_pt[1, ok, 0], side_pt[1, ok, 1])
    sp_left[single], sp_right[single] = left_val, right_val
    # a side covered by several polygons (overlaps) needs the exact candidate list, like a vertex
    crowded = (left_cnt > 1) | (right_cnt > 1)
    sp_seg[single[crowded]] = len(seg)
    sp_left[single[crowded]] = sp_right[single[crowded]] = -1
    single = single[~crowded]

    # Exact candidates: {left, right} for single-edge cells, polygons meeting the enlarged cell else.
    multi = np.flatnonzero(sp_seg == len(seg))
    boxes = shapely.box(
        x0 + (ci[multi] - DELTA) * cx,
        y0 + (cj[multi] - DELTA) * cy,
        x0 + (ci[multi] + 1 + DELTA) * cx,
        y0 + (cj[multi] + 1 + DELTA) * cy,
    )
    mb, mg = tree.query(boxes, predicate="intersects")
    cell_of = np.concatenate([single, single, multi[mb]])
    cand = np.concatenate([sp_left[single], sp_right[single], mg.astype(np.int32)])
    keep = cand >= 0
    cell_of, cand = cell_of[keep], cand[keep]
    key = np.sort(cell_of.astype(np.int64) * (n + 1) + rank[cand])  # sort by cell, rank; dedupe
    key = key[np.r_[True, key[1:] != key[:-1]]]
    cell_of, cand = key // (n + 1), by_rank[key % (n + 1)]
    sp_ptr = np.zeros(n_sp + 1, dtype=np.int32)
    np.cumsum(np.bincount(cell_of, minlength=n_sp), out=sp_ptr[1:])

    # Special cells are numbered row by row (sp_cells is sorted), relative to their row's first one,
    # so the raster value never exceeds size + nx and int16 suffices for any sensible raster.
    row_base = np.searchsorted(sp_cells, np.arange(ny + 1, dtype=np.int64) * nx).astype(np.int32)
    dtype = np.int16 if n + nx < np.iinfo(np.int16).max else np.int32
    raster = np.empty(nx * ny, dtype=dtype)
    raster[plain] = run_val[run_id[plain]]
    raster[sp_cells] = n + np.arange(n_sp) - row_base[sp_cells // nx]

    seg_t = np.vstack([seg, np.full((1, 4), np.nan)])
    # positions fit int16 for indexes of fewer than 32,767 grids (a subdistrict): a third less memory
    pos_dtype = np.int16 if n < np.iinfo(np.int16).max else np.int32
    sp_left, sp_right = sp_left.astype(pos_dtype), sp_right.astype(pos_dtype)
    arrays = [raster, seg_t, sp_seg, sp_left, sp_right, sp_ptr, cand.astype(pos_dtype), row_base]
    for a in arrays:
        a.flags.writeable = False
    mv = memoryviews(*arrays)
    return Raster(
        cell_deg=(cx, cy),
        x0=float(x0),
        y0=float(y0),
        inv_x=float(inv_x),
        inv_y=float(inv_y),
        nx=nx,
        ny=ny,
        raster=raster,
        row_base=row_base,
        seg=seg_t,
        sp_seg=sp_seg,
        sp_left=sp_left,
        sp_right=sp_right,
        sp_ptr=sp_ptr,
        sp_cand=arrays[6],
        mv=mv,
    )


def covering_pairs(
    geoms: NDArray[np.object_], bounds: NDArray[np.float64], px: NDArray[np.float64], py: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(point, polygon) pairs where the (prepared) polygon covers the point: each polygon's bounding box
    selects its candidates among the x-sorted points, then ``intersects_xy``. No shapely Point is made,
    which makes it ≈ 4x faster than an STRtree query of points for a few thousand polygons."""
    order = np.argsort(px, kind="stable")
    xs, ys = px[order], py[order]
    lo = np.searchsorted(xs, bounds[:, 0], side="left")
    hi = np.searchsorted(xs, bounds[:, 2], side="right")
    pts: list[NDArray[np.intp]] = [np.empty(0, dtype=np.intp)]
    polys: list[NDArray[np.intp]] = [np.empty(0, dtype=np.intp)]
    for g in np.flatnonzero(hi > lo).tolist():
        a = int(lo[g])
        yy = ys[a : hi[g]]
        cand = np.flatnonzero((yy >= bounds[g, 1]) & (yy <= bounds[g, 3])) + a
        if len(cand):
            hit = cand[shapely.intersects_xy(geoms[g], xs[cand], ys[cand])]
            pts.append(order[hit])
            polys.append(np.full(len(hit), g, dtype=np.intp))
    return np.concatenate(pts), np.concatenate(polys)


def memoryviews(
    raster: NDArray[Any],
    seg: NDArray[np.float64],
    sp_seg: IntArray,
    sp_left: IntArray,
    sp_right: IntArray,
    sp_ptr: IntArray,
    sp_cand: IntArray,
    row_base: IntArray,
) -> tuple[Any, ...]:
    """Memoryviews of the lookup arrays: indexing one gives a Python int/float fast (numpy scalars are
    slow). Made from the arrays, so they are rebuilt (not pickled) when an index travels."""
    return (raster.data, seg.ravel().data, sp_seg.data, sp_left.data, sp_right.data, sp_ptr.data,
            sp_cand.data, row_base.data)  # fmt: skip


def unique_segments(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    """All ring segments of all polygons, shared edges once, endpoints in lexicographic order."""
    rings = shapely.get_rings(shapely.get_parts(geoms))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    a, b = coords[:-1][same], coords[1:][same]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    a[swap], b[swap] = b[swap], a[swap].copy()
    seg = np.hstack([a, b])
    seg = seg[(seg[:, 0] != seg[:, 2]) | (seg[:, 1] != seg[:, 3])]  # zero-length segments bound nothing
    return np.unique(seg, axis=0)


def ring_segments(geoms: NDArray[np.object_]) -> tuple[NDArray[np.object_], IntArray]:
    """Every ring segment of every polygon as a LineString, and the position of its polygon."""
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, ci = shapely.get_coordinates(rings, return_index=True)
    same = ci[:-1] == ci[1:]
    lines = shapely.linestrings(np.stack([coords[:-1][same], coords[1:][same]], axis=1))
    return lines, part_of[ring_of[ci[:-1][same]]].astype(np.int32)


def segment_cells(
    seg: NDArray[np.float64], x0: float, y0: float, inv_x: float, inv_y: float, nx: int, ny: int
) -> tuple[IntArray, NDArray[np.int64]]:
    """(segment, flat cell) pairs: a superset of the cells, enlarged by 2*DELTA, that a segment meets.

    Walks each segment column by column; in each column the segment's y-range gives the rows.
    """
    m = 2 * DELTA
    ua, va = (seg[:, 0] - x0) * inv_x, (seg[:, 1] - y0) * inv_y
    ub, vb = (seg[:, 2] - x0) * inv_x, (seg[:, 3] - y0) * inv_y  # ua <= ub by construction
    c0 = np.floor(ua - m).astype(np.int64)
    ncol = np.floor(ub + m).astype(np.int64) - c0 + 1
    sid = np.repeat(np.arange(len(seg)), ncol)
    col = c0[sid] + np.arange(int(ncol.sum())) - np.repeat(np.cumsum(ncol) - ncol, ncol)
    du = ub - ua
    # x-extent of the segment inside the enlarged column, then the segment's y at both ends
    lo = np.maximum(col - m, ua[sid])
    hi = np.minimum(col + 1 + m, ub[sid])
    # Near-vertical segments take their whole y-range in each (of at most 2) columns: interpolating
    # with a huge slope would amplify rounding beyond the margin.
    steep = du <= 1e-6 * (1.0 + np.abs(vb - va))
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(steep, 0.0, (vb - va) / du)[sid]
    flat = steep[sid]
    y_lo = np.where(flat, va[sid], va[sid] + (lo - ua[sid]) * slope)
    y_hi = np.where(flat, vb[sid], va[sid] + (hi - ua[sid]) * slope)
    r0 = np.floor(np.minimum(y_lo, y_hi) - m).astype(np.int64)
    nrow = np.floor(np.maximum(y_lo, y_hi) + m).astype(np.int64) - r0 + 1
    pid = np.repeat(np.arange(len(col)), nrow)
    row = r0[pid] + np.arange(int(nrow.sum())) - np.repeat(np.cumsum(nrow) - nrow, nrow)
    col = col[pid]
    if (col.min() < 0) or (row.min() < 0) or (col.max() >= nx) or (row.max() >= ny):
        raise AssertionError("segment outside the raster margin")  # cannot happen: 2-cell margin
    return sid[pid].astype(np.int32), row * nx + col
