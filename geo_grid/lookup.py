"""The in-memory point -> micro-grid index (immutable; rebuilt and swapped when a generation goes live).

Lookup semantics, defined here once:

* A point belongs to the grid whose polygon COVERS it (boundary included, as PostGIS ``ST_Covers``).
* When several polygons cover it (a shared edge or vertex, or an overlap in bad data) the tie goes to
  the SMALLEST CODE by string comparison (codes are equal-length digit strings, so this is also the
  numeric order). Positions returned by the index are positions in ``GridIndex.codes`` (input order).
* A point outside every polygon has no grid: position -1 / code None; ``nearest`` gives the closest
  grid and its distance in metres (EPSG:4547). NaN coordinates are "outside". Any finite point on
  Earth gets a nearest grid: farther than ``FAR_DEG`` from the grids' bounding box, where EPSG:4547
  stops being a meaningful (or even finite) measure, the distance is the geodesic one on the CGCS2000
  ellipsoid (see geo_grid.crs.far_transformer), good to metres at any range.
* Invalid input polygons are repaired at build with ``shapely.make_valid`` (PostGIS ``ST_MakeValid``
  default "linework" method) keeping only the polygonal part; ``GridIndex.polygons`` holds exactly
  the geometries that were indexed, so references and the database must use the same repaired shapes.

How it is fast and still exact. A raster of ≈ 1 m cells covers the bbox. Each cell is one of:

* plain: no polygon edge comes near the (slightly enlarged) cell, so every point in it has the same
  answer, stored directly (-1 or a position) and returned by one array index;
* single-edge: exactly one boundary segment crosses it; the two sides each have a constant answer,
  decided by the sign of an orientation determinant. The determinant is evaluated with Shewchuk's
  static error bound: if its sign is not certain (points on or within ~1e-16 of the edge) the point
  goes to the exact test below, so floating point never decides a boundary case;
* multi-edge (near vertices): a short list of candidate polygons, tested exactly with shapely
  ``intersects_xy`` (equal to "covers" for points; GEOS uses robust predicates) in code order.

Cells are enlarged by 1e-3 of a cell when classifying, which absorbs the rounding of the point->cell
index computation (~1e-9 cell), so a point that rounds into a neighbouring cell is still answered right.
The raster is int16 (special cells numbered relative to their row), which halves memory traffic; the
bulk path is ~100 M points/s on 652 micro-grids, the scalar path ~0.4 µs (see benchmarks/lookup.py).
The raster is built by geo_grid.lookup_raster; the queries below read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from geo_grid.crs import lonlat_to_far_metric, lonlat_to_metric, to_far_metric, to_metric
from geo_grid.lookup_raster import (
    ORIENT_ERR,
    IntArray,
    build_raster,
    memoryviews,
    orient_sign,
    ring_segments,
)

# Points per chunk in locate_many: keeps the temporaries in L2 cache (≈ 2x faster than whole arrays).
_CHUNK = 1 << 15
# Outside points farther than this (degrees, ≈ 25 km) from the grids' bounding box are measured on the
# ellipsoid instead of in EPSG:4547 (whose scale error is already 2e-4 one degree off the zone's meridian).
FAR_DEG = 0.25


def clean_polygons(polygons: Sequence[Any]) -> tuple[Any, ...]:
    """`clean_polygon` of each, vectorised: only the invalid, empty or non-polygonal ones go one by one."""
    geoms = np.empty(len(polygons), dtype=object)
    geoms[:] = list(polygons)
    ok = shapely.is_valid(geoms) & ~shapely.is_empty(geoms)
    ok &= np.isin(shapely.get_type_id(geoms), (3, 6))  # Polygon, MultiPolygon (None: -1)
    out = list(geoms)
    for i in np.flatnonzero(~ok).tolist():
        out[i] = clean_polygon(out[i])
    return tuple(out)


def clean_polygon(geom: Any) -> Any:
    """Return a valid Polygon/MultiPolygon for `geom` (make_valid, polygonal part) or raise ValueError."""
    if geom is None or shapely.is_empty(geom):
        raise ValueError("empty or missing grid geometry")
    if not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(parts) if parts else shapely.Polygon()
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError("grid geometry has no polygonal part")
    return geom


class PointQueries:
    """The point queries GridIndex and DistrictIndex (lookup_district.py) answer alike, written once over
    what each index defines: `codes`, `locate_pos`, `_locate_many` and `_nearest_outside`."""

    __slots__ = ()
    codes: tuple[str, ...]

    def locate_pos(self, lon: float, lat: float) -> int:
        raise NotImplementedError

    def _locate_many(self, lon: ArrayLike, lat: ArrayLike, ties: bool) -> tuple[IntArray, NDArray[np.bool_]]:
        raise NotImplementedError

    def _nearest_outside(
        self, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[IntArray, NDArray[np.float64]]:
        raise NotImplementedError

    def locate(self, lon: float, lat: float) -> str | None:
        """Code of the grid covering (lon, lat), None outside every grid."""
        pos = self.locate_pos(lon, lat)
        return self.codes[pos] if pos >= 0 else None

    def locate_many(self, lon: ArrayLike, lat: ArrayLike) -> IntArray:
        """Vectorised `locate_pos`: int32 positions, -1 outside or NaN; same shape as the input."""
        return self._locate_many(lon, lat, ties=False)[0]

    def locate_many_with_ties(self, lon: ArrayLike, lat: ArrayLike) -> tuple[IntArray, NDArray[np.bool_]]:
        """`locate_many` plus a mask of the points covered by more than one grid (the tie rule decided).

        Free where a raster answers: plain cells and certain sides of an edge have one cover by
        construction, so only points the exact test sees (on an edge or vertex) can be ties.
        """
        return self._locate_many(lon, lat, ties=True)

    def nearest_many(self, lon: ArrayLike, lat: ArrayLike) -> tuple[IntArray, NDArray[np.float64]]:
        """Vectorised `nearest` for finite points: positions and distances in metres (0.0 when covered)."""
        x = np.asarray(lon, dtype=np.float64).ravel()
        y = np.asarray(lat, dtype=np.float64).ravel()
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ValueError("nearest_many() needs finite coordinates")
        pos = self.locate_many(x, y)
        dist = np.zeros(len(x))
        out = np.flatnonzero(pos < 0)
        if len(out):
            pos[out], dist[out] = self._nearest_outside(x[out], y[out])
        return pos, dist

    def nearest(self, lon: float, lat: float) -> tuple[int, float]:
        """(position, distance in metres in EPSG:4547) of the closest grid; (pos, 0.0) when covered.

        Ties in distance go to the smallest code, like everything else.
        """
        pos = self.locate_pos(lon, lat)
        if pos >= 0:
            return pos, 0.0
        if not (np.isfinite(lon) and np.isfinite(lat)):
            raise ValueError("nearest() needs finite coordinates")
        p, d = self._nearest_outside(np.array([lon], dtype=np.float64), np.array([lat], dtype=np.float64))
        return int(p[0]), float(d[0])


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class GridIndex(PointQueries):
    """Immutable point -> grid index. Build with `GridIndex.build`; see the module docstring."""

    codes: tuple[str, ...]
    names: tuple[str, ...]
    polygons: tuple[Any, ...]  # the (repaired) WGS84 polygons actually indexed
    size: int
    cell_deg: tuple[float, float]  # raster cell size (lon, lat) in degrees
    _geoms: NDArray[np.object_]  # prepared polygons for intersects_xy
    _rank: IntArray  # rank[pos] = order of codes[pos] among sorted codes
    _tree: Any  # STRtree of WGS84 polygons (candidates)
    # nearest: STRtree of every EPSG:4547 ring segment and the position owning it. Distance to the
    # nearest segment equals distance to the polygon for a point outside it, and segments are much
    # cheaper to measure than whole polygons (≈ 2x faster for outside points in bulk).
    _metric_tree: Any
    _metric_owner: IntArray
    # the same for far points, in an azimuthal equidistant projection centred on the grids' bbox
    _far_centre: tuple[float, float]
    _far_tree: Any
    _far_owner: IntArray
    _near_box: tuple[float, float, float, float]  # bbox enlarged by FAR_DEG: EPSG:4547 inside it
    _x0: float
    _y0: float
    _inv_x: float
    _inv_y: float
    _nx: int
    _ny: int
    # flat raster, int16 when it fits (half the memory traffic of int32: 2.5x faster bulk lookups):
    # value < size is the answer (-1 outside); value >= size is special cell row_base[row] + value - size
    _raster: NDArray[Any]
    _row_base: IntArray  # index of the first special cell of each raster row
    _seg: NDArray[np.float64]  # (U + 1, 4) unique segments ax, ay, bx, by; last row NaN
    _sp_seg: IntArray  # special cell -> segment row (U for multi-edge cells)
    _sp_left: IntArray  # answer where orientation > 0
    _sp_right: IntArray  # answer where orientation < 0
    _sp_ptr: IntArray  # CSR of exact candidates per special cell, in code order
    _sp_cand: IntArray
    # memoryviews of the arrays above: indexing one gives a Python int/float fast (numpy scalars are slow)
    _mv: tuple[Any, ...]

    def __reduce__(self) -> tuple[Any, ...]:
        """Picklable, for worker processes (batches, Dask): the arrays, geometries and trees travel; the
        memoryviews and the prepared geometries are made again on arrival."""
        state = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_mv"}
        return (_restore, (state,))

    # ------------------------------------------------------------------------------------ build

    @classmethod
    def build(
        cls,
        codes: Sequence[str],
        polygons: Sequence[Any],
        names: Sequence[str] | None = None,
        *,
        cell_m: float = 1.0,
        max_cells: int = 4_000_000,
    ) -> GridIndex:
        """Build the index. `cell_m` is the target raster cell in metres; `max_cells` caps its memory."""
        return cls._build(codes, polygons, names, cell_m, max_cells, nearest=True)

    @classmethod
    def build_part(
        cls,
        codes: Sequence[str],
        polygons: Sequence[Any],
        names: Sequence[str] | None = None,
        *,
        cell_m: float = 1.0,
        max_cells: int = 4_000_000,
        cleaned: bool = False,
    ) -> GridIndex:
        """`build` without the segment trees of `nearest` (which then raises ValueError): the per-
        subdistrict parts of geo_grid.lookup_district.DistrictIndex, which keeps its own, smaller ones."""
        return cls._build(codes, polygons, names, cell_m, max_cells, nearest=False, cleaned=cleaned)

    @classmethod
    def _build(
        cls,
        codes: Sequence[str],
        polygons: Sequence[Any],
        names: Sequence[str] | None,
        cell_m: float,
        max_cells: int,
        nearest: bool,
        cleaned: bool = False,
    ) -> GridIndex:
        codes_t = tuple(str(c) for c in codes)
        n = len(codes_t)
        if len(polygons) != n or (names is not None and len(names) != n):
            raise ValueError("codes, polygons and names must have the same length")
        if n == 0:
            raise ValueError("cannot build a GridIndex without polygons")
        if len(set(codes_t)) != n:
            raise ValueError("grid codes must be unique")
        names_t = tuple(names) if names is not None else ("",) * n
        polys = tuple(polygons) if cleaned else clean_polygons(polygons)
        geoms = np.empty(n, dtype=object)
        geoms[:] = list(polys)
        shapely.prepare(geoms)
        by_rank = np.array(sorted(range(n), key=codes_t.__getitem__), dtype=np.int32)
        rank = np.empty(n, dtype=np.int32)
        rank[by_rank] = np.arange(n, dtype=np.int32)
        tree = shapely.STRtree(geoms)

        raster = build_raster(geoms, tree, rank, by_rank, cell_m, max_cells)
        rank.flags.writeable = False
        minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(geoms))
        centre = ((minx + maxx) / 2, (miny + maxy) / 2)
        if nearest:
            metric_segments, metric_owner = ring_segments(to_metric(geoms))
            far_segments, far_owner = ring_segments(to_far_metric(geoms, *centre))
            metric_tree, far_tree = shapely.STRtree(metric_segments), shapely.STRtree(far_segments)
        else:
            metric_tree = far_tree = None
            metric_owner = far_owner = np.empty(0, dtype=np.int32)
        return cls(
            codes=codes_t,
            names=names_t,
            polygons=polys,
            size=n,
            cell_deg=raster.cell_deg,
            _geoms=geoms,
            _rank=rank,
            _tree=tree,
            _metric_tree=metric_tree,
            _metric_owner=metric_owner,
            _far_centre=centre,
            _far_tree=far_tree,
            _far_owner=far_owner,
            _near_box=(minx - FAR_DEG, miny - FAR_DEG, maxx + FAR_DEG, maxy + FAR_DEG),
            _x0=raster.x0,
            _y0=raster.y0,
            _inv_x=raster.inv_x,
            _inv_y=raster.inv_y,
            _nx=raster.nx,
            _ny=raster.ny,
            _raster=raster.raster,
            _row_base=raster.row_base,
            _seg=raster.seg,
            _sp_seg=raster.sp_seg,
            _sp_left=raster.sp_left,
            _sp_right=raster.sp_right,
            _sp_ptr=raster.sp_ptr,
            _sp_cand=raster.sp_cand,
            _mv=raster.mv,
        )

    # ----------------------------------------------------------------------------------- lookup

    def locate_pos(self, lon: float, lat: float) -> int:
        """Position of the grid covering (lon, lat) (smallest code on ties), -1 outside or NaN."""
        fx = (lon - self._x0) * self._inv_x
        fy = (lat - self._y0) * self._inv_y
        if 0.0 <= fx < self._nx and 0.0 <= fy < self._ny:  # False for NaN
            row = int(fy)
            v: int = self._mv[0][row * self._nx + int(fx)]
            if v < self.size:
                return v
            return self._locate_special(self._mv[7][row] + v - self.size, float(lon), float(lat))
        return -1

    def _locate_special(self, k: int, lon: float, lat: float) -> int:
        _, seg, sp_seg, left, right, ptr, cand, _ = self._mv
        s = 4 * sp_seg[k]
        ax, ay, bx, by = seg[s], seg[s + 1], seg[s + 2], seg[s + 3]
        dl = (ax - lon) * (by - lat)
        dr = (ay - lat) * (bx - lon)
        bound = ORIENT_ERR * (abs(dl) + abs(dr))
        if dl - dr > bound:  # NaN segment (multi-edge cell) fails both tests
            return int(left[k])
        if dl - dr < -bound:
            return int(right[k])
        for c in cand[ptr[k] : ptr[k + 1]]:
            if shapely.intersects_xy(self._geoms[c], lon, lat):
                return int(c)
        return -1

    def _locate_many(self, lon: ArrayLike, lat: ArrayLike, ties: bool) -> tuple[IntArray, NDArray[np.bool_]]:
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        if x.shape != y.shape:
            raise ValueError(f"lon and lat shapes differ: {x.shape} != {y.shape}")
        xf, yf = x.ravel(), y.ravel()
        out = np.empty(xf.shape, dtype=np.int32)
        tie = np.zeros(xf.shape if ties else (0,), dtype=bool)
        found: list[tuple[NDArray[np.intp], IntArray]] = []
        for i in range(0, len(xf), _CHUNK):
            self._raster_chunk(xf[i : i + _CHUNK], yf[i : i + _CHUNK], out[i : i + _CHUNK], i, found)
        if found:  # resolve all special cells in one vectorised pass
            sp = np.concatenate([f[0] for f in found])
            res, many = self._resolve_special(np.concatenate([f[1] for f in found]), xf[sp], yf[sp])
            out[sp] = res
            if ties:
                tie[sp] = many
        return out.reshape(x.shape), tie.reshape(x.shape) if ties else tie

    def _raster_chunk(
        self,
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        out: IntArray,
        offset: int,
        found: list[tuple[NDArray[np.intp], IntArray]],
    ) -> None:
        """Raster answers for one chunk (chunks keep the temporaries in cache); collects special cells."""
        with np.errstate(invalid="ignore"):  # NaN/inf -> arbitrary int, clipped onto the empty margin
            fx = x - self._x0
            fx *= self._inv_x
            ix = fx.astype(np.int32)
            fy = y - self._y0
            fy *= self._inv_y
            iy = fy.astype(np.int32)
        # Truncation maps (-1, 0) to 0 and clipping maps everything beyond to the margin, all -1 cells.
        np.clip(ix, 0, self._nx - 1, out=ix)
        np.clip(iy, 0, self._ny - 1, out=iy)
        flat = iy * self._nx
        flat += ix
        val = self._raster.take(flat)
        out[:] = val
        sp = np.flatnonzero(val >= self.size)
        if len(sp):
            k = self._row_base[iy[sp]] + (val[sp].astype(np.int32) - self.size)
            found.append((sp + offset, k))

    def _resolve_special(
        self, k: IntArray, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[IntArray, NDArray[np.bool_]]:
        """Answers in special cells, and which of them are covered by several grids."""
        s = self._seg[self._sp_seg[k]]
        sign = orient_sign(s[:, 0], s[:, 1], s[:, 2], s[:, 3], x, y)
        res = np.where(sign > 0, self._sp_left[k], self._sp_right[k])
        many = np.zeros(len(k), dtype=bool)
        amb = np.flatnonzero(sign == 0)
        if len(amb):
            res[amb], many[amb] = self._exact(k[amb], x[amb], y[amb])
        return res, many

    def _exact(
        self, k: IntArray, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[IntArray, NDArray[np.bool_]]:
        """Exact covers test against each candidate of the points' cells; first hit in code order wins.
        Also says which points more than one candidate covers."""
        lo, hi = self._sp_ptr[k], self._sp_ptr[k + 1]
        cnt = hi - lo
        pt = np.repeat(np.arange(len(k)), cnt)
        idx = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
        cand = self._sp_cand[idx]
        hit = shapely.intersects_xy(self._geoms[cand], x[pt], y[pt])
        res = np.full(len(k), -1, dtype=np.int32)
        # candidates of a point are in code order: the first hit per point is the winner
        hp, first, nhit = np.unique(pt[hit], return_index=True, return_counts=True)
        res[hp] = cand[hit][first]
        many = np.zeros(len(k), dtype=bool)
        many[hp[nhit > 1]] = True
        return res, many

    def candidates(self, lon: float, lat: float) -> list[int]:
        """All positions whose polygon covers (lon, lat), in code order (len > 1: on a shared boundary).

        Raster fast path: a plain cell, or a point certainly on one side of a single-edge cell, has at
        most one covering grid by construction (see build), so only points on an edge or near a
        vertex run the exact test over the cell's candidate list.
        """
        fx = (lon - self._x0) * self._inv_x
        fy = (lat - self._y0) * self._inv_y
        if not (0.0 <= fx < self._nx and 0.0 <= fy < self._ny):  # outside the raster, or NaN
            return []
        row = int(fy)
        v: int = self._mv[0][row * self._nx + int(fx)]
        if v < self.size:
            return [v] if v >= 0 else []
        k = self._mv[7][row] + v - self.size
        _, seg, sp_seg, left, right, ptr, cand, _ = self._mv
        s = 4 * sp_seg[k]
        ax, ay, bx, by = seg[s], seg[s + 1], seg[s + 2], seg[s + 3]
        lon, lat = float(lon), float(lat)
        dl = (ax - lon) * (by - lat)
        dr = (ay - lat) * (bx - lon)
        bound = ORIENT_ERR * (abs(dl) + abs(dr))
        if dl - dr > bound or dl - dr < -bound:
            side = int(left[k] if dl - dr > bound else right[k])
            return [side] if side >= 0 else []
        return [int(c) for c in cand[ptr[k] : ptr[k + 1]] if shapely.intersects_xy(self._geoms[c], lon, lat)]

    def candidates_slow(self, lon: float, lat: float) -> list[int]:
        """`candidates` through the STRtree (no raster): the reference the tests compare with."""
        if not (np.isfinite(lon) and np.isfinite(lat)):
            return []
        hits = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        return sorted((int(h) for h in hits), key=self._rank.__getitem__)

    def _nearest_outside(
        self, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[IntArray, NDArray[np.float64]]:
        """Nearest grid (smallest code among equally near ones) and distance, for uncovered points.

        Near the grids (within FAR_DEG of their bbox) in EPSG:4547; farther, on the ellipsoid.
        """
        x0, y0, x1, y1 = self._near_box
        near = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        pos = np.empty(len(x), dtype=np.int32)
        dist = np.empty(len(x))
        for sel, far in ((np.flatnonzero(near), False), (np.flatnonzero(~near), True)):
            if len(sel):
                pos[sel], dist[sel] = self._nearest_in(x[sel], y[sel], far)
        return pos, dist

    def _nearest_in(
        self, x: NDArray[np.float64], y: NDArray[np.float64], far: bool
    ) -> tuple[IntArray, NDArray[np.float64]]:
        if self._metric_tree is None:
            raise ValueError("this GridIndex was built with nearest=False")
        if far:
            mx, my = lonlat_to_far_metric(x, y, *self._far_centre)
            tree, owner = self._far_tree, self._far_owner
        else:
            mx, my = lonlat_to_metric(x, y)
            tree, owner = self._metric_tree, self._metric_owner
        if not (np.isfinite(mx).all() and np.isfinite(my).all()):  # both projections are finite on Earth
            raise ValueError("coordinates outside the valid WGS84 range")
        pts = shapely.points(mx, my)
        (pi, si), d = tree.query_nearest(pts, all_matches=True, return_distance=True)
        best = np.full(len(x), self.size, dtype=np.int32)
        np.minimum.at(best, pi, self._rank[owner[si]])
        dist = np.zeros(len(x))
        dist[pi] = d
        return np.argsort(self._rank).astype(np.int32)[best], dist

    # ------------------------------------------------------------------------------- reporting

    @property
    def nbytes(self) -> int:
        """Bytes held in the index's own arrays (the raster dominates; shapely trees not included)."""
        arrays = (self._raster, self._row_base, self._seg, self._sp_seg, self._sp_left, self._sp_right)
        return sum(a.nbytes for a in arrays) + self._sp_ptr.nbytes + self._sp_cand.nbytes + self._rank.nbytes

    def stats(self) -> dict[str, float]:
        """Raster figures for benchmarks and logs."""
        n_sp = len(self._sp_seg)
        multi = int(np.count_nonzero(self._sp_seg == len(self._seg) - 1))
        return {
            "cells": self._nx * self._ny,
            "cell_m": self.cell_deg[1] * 110_574.0,
            "special_cells": n_sp,
            "multi_edge_cells": multi,
            "segments": len(self._seg) - 1,
            "nbytes": self.nbytes,
        }

    def __repr__(self) -> str:
        return f"GridIndex(size={self.size}, cells={self._nx}x{self._ny})"


def _restore(state: dict[str, Any]) -> GridIndex:
    """A GridIndex from its pickled state (GridIndex.__reduce__)."""
    shapely.prepare(state["_geoms"])
    for name in ("_raster", "_seg", "_sp_seg", "_sp_left", "_sp_right", "_sp_ptr", "_sp_cand", "_row_base"):
        state[name].flags.writeable = False
    views = memoryviews(state["_raster"], state["_seg"], state["_sp_seg"], state["_sp_left"],
                        state["_sp_right"], state["_sp_ptr"], state["_sp_cand"], state["_row_base"])  # fmt: skip
    return GridIndex(**state, _mv=views)
