"""Lookup at district and city scale: one small GridIndex per subdistrict behind a coarse router.

Same semantics as geo_grid.lookup.GridIndex (read its docstring): a point belongs to the grid whose
polygon covers it, the smallest code wins ties, -1/None outside (NaN included), ``nearest`` in metres.

Why. One raster over a whole city must either hold billions of cells or let its cells grow (the 4 M cap
gives 16 m cells at 125,000 micro-grids, and a third of the points fall to the exact GEOS test). Here
each subdistrict (the grids sharing the first `subdistrict_digits` digits of their code) has its own
GridIndex of a few-metre cells over its own few km², and a coarse router raster (≈ 100 m cells) over the
whole district says which subdistricts a cell can belong to:

* one subdistrict: that subdistrict's index answers (exactly, -1 if the point is in none of its grids);
* none: outside every grid;
* several (cells along a subdistrict border): each candidate answers and the smallest code wins, so
  shared borders and the tie rule behave exactly as in one GridIndex.

A router cell lists a subdistrict when one of its grids meets the cell enlarged by DELTA (rounding of
the point->cell computation is far smaller), so no covering grid is ever missed.

``nearest`` keeps only the segments that can be nearest to an uncovered point: those on the boundary of
the union of all grids (a segment owned by one grid only) and every segment meeting one of their
vertices (so that a grid touching the boundary at a single vertex still ties), as two small STRtrees
(EPSG:4547 and the far projection) instead of every edge of every grid.

Bulk lookups do not group points by subdistrict: the parts' arrays are concatenated
(geo_grid.lookup_flat) and a compiled pass (geo_grid.lookup_kernel, numba) routes each point and reads
its part's raster; the few points it cannot decide (on or within rounding of an edge) take the exact
numpy/GEOS path. One-point lookups read the same arrays through memoryviews (`_Scalar`); the
per-subdistrict GridIndex objects are views into them. A build runs the subdistricts in a process pool
(`build_workers`).

``replace(subdistrict, codes, polygons)`` returns a new index with one subdistrict rebuilt; the other
subdistricts' parts are reused as built (their arrays are copied into the new flat arrays; the router
and the nearest segments are rebuilt, which is cheap). Positions are positions in ``codes``; replace keeps the other grids' order and appends the
new subdistrict's grids at the end.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from geo_grid.crs import lonlat_to_far_metric, lonlat_to_metric
from geo_grid.lookup import FAR_DEG, GridIndex, PointQueries, clean_polygons
from geo_grid.lookup_flat import FlatParts
from geo_grid.lookup_kernel import DEFER, cell_exact, locate_kernel
from geo_grid.lookup_raster import DELTA, ORIENT_ERR, IntArray

# Router cell (metres): small enough that few points land in border cells, large enough to stay small.
ROUTER_CELL_M = 100.0
# Raster cells of all subdistricts' GridIndexes together (int16: 2 bytes each): one subdistrict gets
# GridIndex's own 4 M cells (≈ 1 m cells over a few km², as today's sample), 125 of 8 km² get
# ≈ 4.6 m cells (≈ 2 MiB each, edge cells included).
MAX_CELLS_TOTAL = 48_000_000
PART_MAX_CELLS = 4_000_000
# From this many subdistricts a build uses a process per core (build_workers): below, starting the
# processes (≈ 1.4 s here) costs more than it saves.
PARALLEL_MIN_PARTS = 32
# Points per routing pass: large, so that each subdistrict's index is called with many points at once.
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Router:
    """Coarse raster: value >= 0 one subdistrict, -1 none, -2 - k border cell k (CSR `ptr`/`subs`)."""

    x0: float
    y0: float
    inv_x: float
    inv_y: float
    nx: int
    ny: int
    cells: NDArray[Any]
    ptr: IntArray
    subs: IntArray  # subdistrict numbers of border cells, ascending (= code order)

    def route(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> IntArray:
        with np.errstate(invalid="ignore"):
            fx = (x - self.x0) * self.inv_x
            fy = (y - self.y0) * self.inv_y
            inside = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)  # False for NaN
            ix = np.where(inside, fx, 0).astype(np.int64)
            iy = np.where(inside, fy, 0).astype(np.int64)
        v: IntArray = self.cells[iy * self.nx + ix].astype(np.int32)
        v[~inside] = -1
        return v

    @property
    def nbytes(self) -> int:
        return int(self.cells.nbytes + self.ptr.nbytes + self.subs.nbytes)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Scalar:
    """The router and flat part arrays as plain Python numbers and memoryviews: indexing them gives
    Python ints and floats (numpy scalars are ≈ 10x slower), for one-point lookups."""

    x0: float
    y0: float
    inv_x: float
    inv_y: float
    nx: int
    ny: int
    cells: Any
    ptr: Any
    subs: Any
    params: list[tuple[Any, ...]]  # per part: x0, y0, inv_x, inv_y, nx, ny, size, offsets...
    raster: Any
    row_base: Any
    seg: Any
    sp_seg: Any
    sp_left: Any
    sp_right: Any
    pos: Any
    exact_args: tuple[Any, ...]  # sp_ptr, sp_cand, pos, polygon rings: geo_grid.lookup_kernel.cell_exact

    @classmethod
    def create(cls, r: _Router, flat: FlatParts) -> _Scalar:
        c = flat.col
        cols = ("x0", "y0", "inv_x", "inv_y", "nx", "ny", "size", "raster", "row_base", "sp", "seg", "pos",
                "ptr", "cand")  # fmt: skip
        params = list(zip(*(c[n].tolist() for n in cols), strict=True))
        a = {n: np.asarray(v) for n, v in flat.arrays.items()}
        return cls(
            x0=r.x0, y0=r.y0, inv_x=r.inv_x, inv_y=r.inv_y, nx=r.nx, ny=r.ny,
            cells=np.asarray(r.cells).data, ptr=np.asarray(r.ptr).data, subs=np.asarray(r.subs).data,
            params=params, raster=a["raster"].data, row_base=a["row_base"].data,
            seg=a["seg"].ravel().data, sp_seg=a["sp_seg"].data, sp_left=a["sp_left"].data,
            sp_right=a["sp_right"].data, pos=a["pos"].data,
            exact_args=(a["sp_ptr"], a["sp_cand"], a["pos"], *flat.kernel_args[-2:]),
        )  # fmt: skip

    def answer(self, s: int, lon: float, lat: float) -> int:
        """Global position (-1 none) of (lon, lat) in part s, DEFER where only GEOS can tell (the same
        raster reading and compiled vertex test as geo_grid.lookup_kernel)."""
        x0, y0, inv_x, inv_y, nx, ny, size, o_raster, o_row, o_sp, o_seg, o_pos, o_ptr, o_cand = self.params[
            s
        ]
        fx = (lon - x0) * inv_x
        fy = (lat - y0) * inv_y
        ix = 0 if fx < 0.0 else (nx - 1 if fx >= nx else int(fx))
        iy = 0 if fy < 0.0 else (ny - 1 if fy >= ny else int(fy))
        v: int = self.raster[o_raster + iy * nx + ix]
        if v < size:
            return -1 if v < 0 else int(self.pos[o_pos + v])
        k = o_sp + self.row_base[o_row + iy] + v - size
        seg, r = self.seg, 4 * (o_seg + self.sp_seg[k])
        ax, ay, bx, by = seg[r], seg[r + 1], seg[r + 2], seg[r + 3]
        dl = (ax - lon) * (by - lat)
        dr = (ay - lat) * (bx - lon)
        bound = ORIENT_ERR * (abs(dl) + abs(dr))
        if dl - dr > bound:  # NaN segment (multi-edge cell) fails both tests
            loc: int = self.sp_left[k]
        elif dl - dr < -bound:
            loc = self.sp_right[k]
        else:  # near a vertex or an edge
            return int(
                cell_exact(float(lon), float(lat), s, o_ptr + k - o_sp, o_cand, o_pos, *self.exact_args)
            )
        return -1 if loc < 0 else int(self.pos[o_pos + loc])


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Nearest:
    """The segments that can be nearest to an uncovered point, in both projections, and their owners."""

    segments: NDArray[np.float64]  # (m, 4) lon/lat ax, ay, bx, by (what a snapshot stores)
    near_box: tuple[float, float, float, float]
    far_centre: tuple[float, float]
    metric_tree: Any
    far_tree: Any
    owner: IntArray  # global position owning each segment (same order in both trees)
    nbytes: int


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DistrictIndex(PointQueries):
    """Point -> grid index over many subdistricts, with GridIndex's query interface.

    Build with `DistrictIndex.build`. `subdistrict_codes` are the subdistricts in code order;
    `subdistrict_of[pos]` is the number (into subdistrict_codes) of the grid at `pos`.
    """

    codes: tuple[str, ...]
    names: tuple[str, ...]
    polygons: tuple[Any, ...]
    size: int
    subdistrict_codes: tuple[str, ...]
    subdistrict_of: IntArray
    parts: tuple[GridIndex, ...]  # one per subdistrict, local positions
    part_positions: tuple[IntArray, ...]  # local position -> global position, per subdistrict
    subdistrict_digits: int
    part_cell_m: float
    part_max_cells: int
    router_cell_m: float
    _rank: IntArray
    _by_rank: IntArray  # position of each rank; _by_rank[size] = -1
    _router: _Router
    _nearest: _Nearest
    _flat: FlatParts  # the parts' arrays, concatenated; `parts` are views into them
    _scalar: _Scalar  # what locate_pos reads (plain Python numbers and memoryviews)
    _extras: tuple[PartExtras | None, ...]  # per part, for replace() (a snapshot stores them too)

    def __reduce__(self) -> tuple[Any, ...]:
        """Picklable (worker processes): the flat arrays travel once, the parts are made again as views
        (a published snapshot, geo_grid.io.index_store, is cheaper still: nothing is copied)."""
        return (
            _restore,
            (
                self.codes, self.names, self.polygons, self.subdistrict_codes, self.subdistrict_of,
                self._flat, self.subdistrict_digits, self.part_cell_m, self.part_max_cells,
                self.router_cell_m, self._router, self._nearest, self._extras,
            ),
        )  # fmt: skip

    # ------------------------------------------------------------------------------------ build

    @classmethod
    def build(
        cls,
        codes: Sequence[str],
        polygons: Sequence[Any],
        names: Sequence[str] | None = None,
        *,
        subdistrict_digits: int = 9,
        part_cell_m: float = 1.0,
        max_cells_total: int = MAX_CELLS_TOTAL,
        router_cell_m: float = ROUTER_CELL_M,
        workers: int | None = None,
    ) -> DistrictIndex:
        """Build from micro-grid codes and WGS84 polygons; subdistrict = first `subdistrict_digits` digits.

        Each subdistrict's raster targets `part_cell_m` metres within max_cells_total / subdistricts
        cells (at most GridIndex's 4 M): cells grow with the number of subdistricts, not their extent.
        The subdistricts are built by `workers` processes (default `build_workers`: one per core, up
        to 4, when there are at least PARALLEL_MIN_PARTS subdistricts; 1 builds in this process).
        """
        codes_t = tuple(str(c) for c in codes)
        n = len(codes_t)
        if len(polygons) != n or (names is not None and len(names) != n):
            raise ValueError("codes, polygons and names must have the same length")
        if n == 0:
            raise ValueError("cannot build a DistrictIndex without polygons")
        if len(set(codes_t)) != n:
            raise ValueError("grid codes must be unique")
        names_t = tuple(str(v) for v in names) if names is not None else ("",) * n
        polys = clean_polygons(polygons)
        keys = sorted({c[:subdistrict_digits] for c in codes_t})
        number = {k: i for i, k in enumerate(keys)}
        sub_of = np.fromiter((number[c[:subdistrict_digits]] for c in codes_t), dtype=np.int32, count=n)
        part_max_cells = max(1, min(PART_MAX_CELLS, max_cells_total // len(keys)))
        router_cell = _router_cell_deg(polys, router_cell_m)
        positions = [_frozen(np.flatnonzero(sub_of == s).astype(np.int32)) for s in range(len(keys))]
        jobs = [
            _PartJob(
                [codes_t[i] for i in pos.tolist()],
                [polys[i] for i in pos.tolist()],
                [names_t[i] for i in pos.tolist()],
                part_cell_m,
                part_max_cells,
                router_cell,
            )
            for pos in positions
        ]
        built = _run_jobs(jobs, build_workers(len(jobs)) if workers is None else workers)
        return cls._assemble(
            codes_t, names_t, polys, tuple(keys), sub_of, tuple(b[0] for b in built), tuple(positions),
            subdistrict_digits, part_cell_m, part_max_cells, router_cell_m,
            tuple(b[1] for b in built), router_cell,
        )  # fmt: skip

    @classmethod
    def _assemble(
        cls,
        codes: tuple[str, ...],
        names: tuple[str, ...],
        polys: tuple[Any, ...],
        keys: tuple[str, ...],
        sub_of: IntArray,
        parts: tuple[GridIndex, ...],
        positions: tuple[IntArray, ...],
        digits: int,
        part_cell_m: float,
        part_max_cells: int,
        router_cell_m: float,
        extras: tuple[PartExtras | None, ...],
        router_cell: tuple[float, float],
    ) -> DistrictIndex:
        done = tuple(
            e if e is not None else _part_extras(p, *router_cell) for e, p in zip(extras, parts, strict=True)
        )
        flat = FlatParts.from_parts(parts, positions)
        return cls.from_state(
            codes, names, polys, keys, sub_of, flat, digits, part_cell_m, part_max_cells, router_cell_m,
            _build_router(done, *router_cell), _build_nearest(done, positions), done,
        )  # fmt: skip

    @classmethod
    def from_state(
        cls,
        codes: tuple[str, ...],
        names: tuple[str, ...],
        polys: tuple[Any, ...],
        keys: tuple[str, ...],
        sub_of: IntArray,
        flat: FlatParts,
        digits: int,
        part_cell_m: float,
        part_max_cells: int,
        router_cell_m: float,
        router: _Router,
        nearest: _Nearest,
        extras: tuple[PartExtras | None, ...] | None = None,
    ) -> DistrictIndex:
        """An index from its parts' flat arrays, router and nearest segments (a build, or a snapshot
        loaded by geo_grid.io.index_store); the parts become views into `flat`."""
        n = len(codes)
        order = np.array(sorted(range(n), key=codes.__getitem__), dtype=np.int32)
        rank = np.empty(n, dtype=np.int32)
        rank[order] = np.arange(n, dtype=np.int32)
        by_rank = np.append(order, np.int32(-1)).astype(np.int32)
        sizes = np.bincount(sub_of, minlength=len(keys)).tolist()
        positions = tuple(
            _frozen(flat.arrays["pos"][o : o + size])
            for o, size in zip(flat.col["pos"].tolist(), sizes, strict=True)
        )
        views = []
        for s, glob in enumerate(positions):
            idx = glob.tolist()
            views.append(
                flat.part(
                    s,
                    tuple(codes[i] for i in idx),
                    tuple(names[i] for i in idx),
                    tuple(polys[i] for i in idx),
                )
            )
        return cls(
            codes=codes,
            names=names,
            polygons=polys,
            size=n,
            subdistrict_codes=keys,
            subdistrict_of=_frozen(sub_of),
            parts=tuple(views),
            part_positions=positions,
            subdistrict_digits=digits,
            part_cell_m=part_cell_m,
            part_max_cells=part_max_cells,
            router_cell_m=router_cell_m,
            _rank=_frozen(rank),
            _by_rank=_frozen(by_rank),
            _router=router,
            _nearest=nearest,
            _flat=flat,
            _extras=extras if extras is not None else (None,) * len(keys),
            _scalar=_Scalar.create(router, flat),
        )

    @classmethod
    def from_grid_index(cls, index: GridIndex, router_cell_m: float = ROUTER_CELL_M) -> DistrictIndex:
        """A GridIndex as the one part of a one-subdistrict DistrictIndex (what a published snapshot
        holds), reused as built: same arrays, same answers, plus a router and the nearest segments."""
        codes = tuple(index.codes)
        digits = 9 if len({c[:9] for c in codes}) == 1 else 0  # one part whatever the codes
        n = len(codes)
        polys = tuple(index.polygons)
        return cls._assemble(
            codes, tuple(index.names), polys, (codes[0][:digits],), np.zeros(n, dtype=np.int32), (index,),
            (np.arange(n, dtype=np.int32),), digits, float(index.cell_deg[1] * 110_574.0),
            int(index._nx * index._ny), router_cell_m, (None,), _router_cell_deg(polys, router_cell_m),
        )  # fmt: skip

    def replace(
        self,
        subdistrict_code: str,
        codes: Sequence[str],
        polygons: Sequence[Any],
        names: Sequence[str] | None = None,
    ) -> DistrictIndex:
        """A new index where `subdistrict_code`'s grids are `codes`/`polygons` (empty: removed; new code:
        added). The other subdistricts' parts are reused, not rebuilt. Every code must start with
        `subdistrict_code` and must not exist in another subdistrict."""
        if len(subdistrict_code) != self.subdistrict_digits:
            raise ValueError(f"a subdistrict code has {self.subdistrict_digits} characters")
        new_codes = tuple(str(c) for c in codes)
        if len(polygons) != len(new_codes) or (names is not None and len(names) != len(new_codes)):
            raise ValueError("codes, polygons and names must have the same length")
        if any(c[: self.subdistrict_digits] != subdistrict_code for c in new_codes):
            raise ValueError(f"every code must start with {subdistrict_code}")
        if len(set(new_codes)) != len(new_codes):
            raise ValueError("grid codes must be unique")
        new_names = tuple(str(v) for v in names) if names is not None else ("",) * len(new_codes)
        new_polys = clean_polygons(polygons)
        old = (
            self.subdistrict_codes.index(subdistrict_code)
            if subdistrict_code in self.subdistrict_codes
            else -1
        )
        keep = np.flatnonzero(self.subdistrict_of != old) if old >= 0 else np.arange(self.size)
        if len(keep) == 0 and not new_codes:
            raise ValueError("cannot remove the last subdistrict")
        remap = np.full(self.size, -1, dtype=np.int32)
        remap[keep] = np.arange(len(keep), dtype=np.int32)
        keys = sorted(
            {
                *(k for i, k in enumerate(self.subdistrict_codes) if i != old),
                *([subdistrict_code] if new_codes else []),
            }
        )
        kept = [i for i in range(len(self.subdistrict_codes)) if i != old]
        codes_t = tuple(self.codes[i] for i in keep.tolist()) + new_codes
        names_t = tuple(self.names[i] for i in keep.tolist()) + new_names
        polys_t = tuple(self.polygons[i] for i in keep.tolist()) + new_polys
        renumber = {i: keys.index(self.subdistrict_codes[i]) for i in kept}
        sub_of = np.empty(len(codes_t), dtype=np.int32)
        old_sub = self.subdistrict_of[keep]
        for i, j in renumber.items():
            sub_of[: len(keep)][old_sub == i] = j
        parts: list[GridIndex | None] = [None] * len(keys)
        positions: list[IntArray | None] = [None] * len(keys)
        extras: list[PartExtras | None] = [None] * len(keys)
        for i, j in renumber.items():
            parts[j] = self.parts[i]
            positions[j] = _frozen(remap[self.part_positions[i]])
            extras[j] = self._extras[i]
        if new_codes:
            s = keys.index(subdistrict_code)
            pos = np.arange(len(keep), len(codes_t), dtype=np.int32)
            sub_of[len(keep) :] = s
            router_cell = (1.0 / self._router.inv_x, 1.0 / self._router.inv_y)
            job = _PartJob(list(new_codes), list(new_polys), list(new_names), self.part_cell_m,
                           self.part_max_cells, router_cell)  # fmt: skip
            parts[s], extras[s] = job.run()
            positions[s] = _frozen(pos)
        return self._assemble(
            codes_t, names_t, polys_t, tuple(keys), sub_of,
            tuple(p for p in parts if p is not None), tuple(p for p in positions if p is not None),
            self.subdistrict_digits, self.part_cell_m, self.part_max_cells, self.router_cell_m,
            tuple(extras), (1.0 / self._router.inv_x, 1.0 / self._router.inv_y),
        )  # fmt: skip

    # ----------------------------------------------------------------------------------- lookup

    def _route1(self, lon: float, lat: float) -> tuple[int, ...]:
        r = self._router
        fx = (lon - r.x0) * r.inv_x
        fy = (lat - r.y0) * r.inv_y
        if not (0.0 <= fx < r.nx and 0.0 <= fy < r.ny):  # outside the router, or NaN
            return ()
        v = int(r.cells[int(fy) * r.nx + int(fx)])
        if v >= 0:
            return (v,)
        if v == -1:
            return ()
        k = -2 - v
        return tuple(int(s) for s in r.subs[r.ptr[k] : r.ptr[k + 1]])

    def locate_pos(self, lon: float, lat: float) -> int:
        """Position of the grid covering (lon, lat) (smallest code on ties), -1 outside or NaN."""
        # Subdistricts are in code order and a grid's code starts with its subdistrict's, so the first
        # subdistrict with a covering grid holds the smallest covering code.
        sc = self._scalar
        fx = (lon - sc.x0) * sc.inv_x
        fy = (lat - sc.y0) * sc.inv_y
        if not (0.0 <= fx < sc.nx and 0.0 <= fy < sc.ny):  # outside the router, or NaN
            return -1
        v: int = sc.cells[int(fy) * sc.nx + int(fx)]
        if v >= 0:
            p = sc.answer(v, lon, lat)
            return p if p != DEFER else self._exact_pos(v, lon, lat)
        if v == -1:
            return -1
        for s in sc.subs[sc.ptr[-2 - v] : sc.ptr[-1 - v]]:
            p = sc.answer(s, lon, lat)
            if p == DEFER:
                p = self._exact_pos(s, lon, lat)
            if p >= 0:
                return p
        return -1

    def _exact_pos(self, s: int, lon: float, lat: float) -> int:
        """Part s's answer through its GridIndex (exact test near edges), as a global position."""
        p = self.parts[s].locate_pos(lon, lat)
        return int(self.part_positions[s][p]) if p >= 0 else -1

    def subdistrict(self, lon: float, lat: float) -> str | None:
        """Code of the subdistrict of the grid covering (lon, lat), None outside every grid."""
        pos = self.locate_pos(lon, lat)
        return self.subdistrict_codes[int(self.subdistrict_of[pos])] if pos >= 0 else None

    def candidates(self, lon: float, lat: float) -> list[int]:
        """All positions whose polygon covers (lon, lat), in code order (len > 1: on a shared boundary)."""
        out: list[int] = []
        for s in self._route1(lon, lat):
            glob = self.part_positions[s]
            out.extend(int(glob[p]) for p in self.parts[s].candidates(lon, lat))
        return out  # subdistricts in code order, each part's candidates in code order

    def candidates_slow(self, lon: float, lat: float) -> list[int]:
        """`candidates` through each subdistrict's STRtree (no raster): for tests."""
        out: list[int] = []
        for s, part in enumerate(self.parts):
            out.extend(int(self.part_positions[s][p]) for p in part.candidates_slow(lon, lat))
        return sorted(out, key=self._rank.__getitem__)

    def subdistrict_many(self, positions: ArrayLike) -> NDArray[np.object_]:
        """Subdistrict codes of positions (None where the position is -1)."""
        pos = np.asarray(positions, dtype=np.int64)
        table = np.array([*self.subdistrict_codes, None], dtype=object)
        return table[np.where(pos >= 0, self.subdistrict_of[np.maximum(pos, 0)], len(self.subdistrict_codes))]

    def _locate_many(self, lon: ArrayLike, lat: ArrayLike, ties: bool) -> tuple[IntArray, NDArray[np.bool_]]:
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        if x.shape != y.shape:
            raise ValueError(f"lon and lat shapes differ: {x.shape} != {y.shape}")
        xf, yf = x.ravel(), y.ravel()
        out = np.full(xf.shape, -1, dtype=np.int32)
        tie = np.zeros(xf.shape if ties else (0,), dtype=bool)
        if len(self.parts) == 1:  # one subdistrict (the sample): GridIndex's numpy path, faster in cache
            pos, t = self.parts[0]._locate_many(xf, yf, ties)
            hit = pos >= 0
            out[hit] = self.part_positions[0][pos[hit]]
            return out.reshape(x.shape), (t.reshape(x.shape) if ties else tie)
        # compiled pass (geo_grid.lookup_kernel); the points it cannot answer with certainty (on or
        # within rounding of an edge, near a vertex) go through the exact numpy path below
        r, f = self._router, self._flat
        deferred = locate_kernel(
            np.ascontiguousarray(xf), np.ascontiguousarray(yf), out, tie, ties,
            r.x0, r.y0, r.inv_x, r.inv_y, r.nx, r.ny, r.cells, r.ptr, r.subs, self._rank,
            *f.kernel_args,
        )  # fmt: skip
        if deferred:
            sel = np.flatnonzero(out == DEFER)
            for i in range(0, len(sel), _CHUNK):
                part = sel[i : i + _CHUNK]
                got = np.empty(len(part), dtype=np.int32)
                t = np.zeros(len(part), dtype=bool)
                self._chunk(xf[part], yf[part], got, t if ties else None)
                out[part] = got
                if ties:
                    tie[part] = t
        return out.reshape(x.shape), (tie.reshape(x.shape) if ties else tie)

    def _chunk(
        self, x: NDArray[np.float64], y: NDArray[np.float64], out: IntArray, tie: NDArray[np.bool_] | None
    ) -> None:
        r = self._router
        v = r.route(x, y)
        ties = tie is not None
        # every point through the part of its cell (part 0 for the others), then fix the others: cheaper
        # than gathering the points of single-part cells first
        out[:], t = self._flat.locate(x, y, np.maximum(v, 0), ties)
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
        lo, hi = r.ptr[k], r.ptr[k + 1]
        cnt = hi - lo
        pt = np.repeat(border, cnt)
        idx = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
        got, many = self._flat.locate(x[pt], y[pt], r.subs[idx], ties)
        hit = got >= 0
        best = np.full(len(x), self.size, dtype=np.int32)
        np.minimum.at(best, pt[hit], self._rank[got[hit]])
        out[border] = self._by_rank[best[border]]
        if tie is not None:
            count = np.bincount(pt[hit], minlength=len(x))
            tie[border] = count[border] > 1
            tie[pt[many]] = True

    # ---------------------------------------------------------------------------------- nearest

    def _nearest_outside(
        self, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[IntArray, NDArray[np.float64]]:
        nb = self._nearest
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
                (pi, si), d = tree.query_nearest(
                    shapely.points(mx, my), all_matches=True, return_distance=True
                )
                best = np.full(len(sel), self.size, dtype=np.int32)
                np.minimum.at(best, pi, self._rank[nb.owner[si]])
                dd = np.zeros(len(sel))
                dd[pi] = d
                pos[sel], dist[sel] = self._by_rank[best], dd
        return pos, dist

    # ------------------------------------------------------------------------------- reporting

    @property
    def nbytes(self) -> int:
        """Bytes in the index's own arrays: every part's, the router's and the nearest segments'."""
        own = self.subdistrict_of.nbytes + self._rank.nbytes + sum(p.nbytes for p in self.part_positions)
        own += self._flat.rings_nbytes  # the ring coordinates of the compiled exact test
        return int(sum(p.nbytes for p in self.parts) + self._router.nbytes + self._nearest.nbytes + own)

    def stats(self) -> dict[str, float]:
        """Figures for benchmarks and logs (the parts' raster figures summed)."""
        part = [p.stats() for p in self.parts]
        r = self._router
        border = len(r.ptr) - 1
        return {
            "subdistricts": len(self.parts),
            "cells": sum(s["cells"] for s in part),
            "cell_m": max(s["cell_m"] for s in part),
            "special_cells": sum(s["special_cells"] for s in part),
            "multi_edge_cells": sum(s["multi_edge_cells"] for s in part),
            "segments": sum(s["segments"] for s in part),
            "router_cells": r.nx * r.ny,
            "router_border_cells": border,
            "nearest_segments": len(self._nearest.owner),
            "nbytes": self.nbytes,
        }

    def part_extras(self) -> tuple[PartExtras, ...]:
        """What the router and `nearest` need of every part (computed for parts that lack it)."""
        cell = (1.0 / self._router.inv_x, 1.0 / self._router.inv_y)
        return tuple(
            e if e is not None else _part_extras(p, *cell)
            for e, p in zip(self._extras, self.parts, strict=True)
        )

    def __repr__(self) -> str:
        return f"DistrictIndex(size={self.size}, subdistricts={len(self.parts)})"


def _restore(*state: Any) -> DistrictIndex:
    """A DistrictIndex from its pickled state (DistrictIndex.__reduce__)."""
    flat: FlatParts = state[5]
    shapely.prepare(flat.geoms)
    for a in flat.arrays.values():
        a.flags.writeable = False
    return DistrictIndex.from_state(*state)


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, slots=True)
class _PartJob:
    """One subdistrict's build (its part and its router/nearest extras), picklable for a worker."""

    codes: list[str]
    polys: list[Any]  # already cleaned
    names: list[str]
    cell_m: float
    max_cells: int
    router_cell: tuple[float, float]

    def run(self) -> tuple[GridIndex, PartExtras]:
        part = GridIndex.build_part(
            self.codes, self.polys, self.names, cell_m=self.cell_m, max_cells=self.max_cells, cleaned=True
        )
        return part, _part_extras(part, *self.router_cell)


def _run_job(job: _PartJob) -> tuple[GridIndex, PartExtras]:
    """In a worker process: the part without what the parent already has (polygons, codes, names) or
    remakes anyway (the prepared geometries and their STRtree), so that little travels back."""
    part, extras = job.run()
    slim = dataclasses.replace(
        part, codes=(), names=(), polygons=(), _geoms=np.empty(0, dtype=object), _tree=None
    )
    return slim, extras


def build_workers(parts: int) -> int:
    """Default number of build processes: one per core (at most 4) from PARALLEL_MIN_PARTS parts."""
    if parts < PARALLEL_MIN_PARTS:
        return 1
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))


def _run_jobs(jobs: list[_PartJob], workers: int) -> list[tuple[GridIndex, PartExtras]]:
    """Run the part builds, in `workers` processes ("forkserver": safe in a threaded server process)."""
    if workers <= 1 or len(jobs) < 2:
        return [job.run() for job in jobs]
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        done = list(pool.map(_run_job, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    out = []
    for job, (slim, extras) in zip(jobs, done, strict=True):
        geoms = np.empty(len(job.polys), dtype=object)
        geoms[:] = job.polys
        shapely.prepare(geoms)
        part = dataclasses.replace(
            slim, codes=tuple(job.codes), names=tuple(job.names), polygons=tuple(job.polys), _geoms=geoms
        )
        out.append((part, extras))
    return out


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PartExtras:
    """What the router and `nearest` need from one part, kept so that replace() recomputes one part only.

    Router cells are absolute lattice indexes (i = floor(lon / cell_x)), valid for any router extent.
    Segments: those meeting a vertex of the part's outer boundary, owners as local positions.
    """

    cell_i: NDArray[np.int64]
    cell_j: NDArray[np.int64]
    seg: NDArray[np.float64]
    owner: IntArray
    outer: NDArray[np.bool_]


def _router_cell_deg(polys: Sequence[Any], cell_m: float) -> tuple[float, float]:
    geoms = np.empty(len(polys), dtype=object)
    geoms[:] = list(polys)
    _, miny, _, maxy = shapely.total_bounds(geoms)
    coslat = max(np.cos(np.radians((miny + maxy) / 2.0)), 0.01)
    return cell_m / (111_320.0 * coslat), cell_m / 110_574.0


def _part_extras(part: GridIndex, cx: float, cy: float) -> PartExtras:
    """Router cells met by the part's grids (cells enlarged by DELTA) and its nearest candidates."""
    b = shapely.total_bounds(np.asarray(part.polygons, dtype=object))
    i0, i1 = int(np.floor(b[0] / cx)) - 1, int(np.floor(b[2] / cx)) + 1
    j0, j1 = int(np.floor(b[1] / cy)) - 1, int(np.floor(b[3] / cy)) + 1
    jg, ig = np.meshgrid(np.arange(j0, j1 + 1), np.arange(i0, i1 + 1), indexing="ij")
    ii, jj = ig.ravel().astype(np.int64), jg.ravel().astype(np.int64)
    boxes = shapely.box((ii - DELTA) * cx, (jj - DELTA) * cy, (ii + 1 + DELTA) * cx, (jj + 1 + DELTA) * cy)
    hit = np.unique(part._tree.query(boxes, predicate="intersects")[0])
    seg, own = _segments(np.asarray(part.polygons, dtype=object))
    outer = _once(seg)  # on the boundary of this part's union
    ob = seg[outer]
    vertex = np.concatenate([ob[:, 0] + 1j * ob[:, 1], ob[:, 2] + 1j * ob[:, 3]])
    touch = np.isin(seg[:, 0] + 1j * seg[:, 1], vertex) | np.isin(seg[:, 2] + 1j * seg[:, 3], vertex)
    return PartExtras(cell_i=ii[hit], cell_j=jj[hit], seg=seg[touch], owner=own[touch], outer=outer[touch])


def _build_router(extras: tuple[PartExtras, ...], cx: float, cy: float) -> _Router:
    """The coarse raster of candidate subdistricts (see the module docstring)."""
    i_min = min(int(e.cell_i.min()) for e in extras) - 1
    j_min = min(int(e.cell_j.min()) for e in extras) - 1
    nx = max(int(e.cell_i.max()) for e in extras) - i_min + 2
    ny = max(int(e.cell_j.max()) for e in extras) - j_min + 2
    cell = np.concatenate([(e.cell_j - j_min) * nx + (e.cell_i - i_min) for e in extras])
    sub = np.concatenate([np.full(len(e.cell_i), s, dtype=np.int32) for s, e in enumerate(extras)])
    order = np.lexsort((sub, cell))
    cell, sub = cell[order], sub[order]
    first = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    count = np.diff(np.r_[first, len(cell)])
    cells = np.full(nx * ny, -1, dtype=np.int32)
    single = first[count == 1]
    cells[cell[single]] = sub[single]
    multi = first[count > 1]
    cells[cell[multi]] = -2 - np.arange(len(multi), dtype=np.int32)
    small = len(extras) < 2**15 and len(multi) < 2**15 - 2
    ptr = np.zeros(len(multi) + 1, dtype=np.int32)
    np.cumsum(count[count > 1], out=ptr[1:])
    in_multi = np.repeat(count > 1, count)  # pairs of border cells, already grouped by cell
    members = sub[in_multi]
    return _Router(
        x0=i_min * cx,
        y0=j_min * cy,
        inv_x=1.0 / cx,
        inv_y=1.0 / cy,
        nx=nx,
        ny=ny,
        cells=_frozen(cells.astype(np.int16 if small else np.int32)),
        ptr=_frozen(ptr),
        subs=_frozen(members.astype(np.int32)),
    )


def _segments(polys: NDArray[np.object_]) -> tuple[NDArray[np.float64], NDArray[np.int32]]:
    """Every ring segment (ax, ay, bx, by; endpoints in lexicographic order) and its polygon's index."""
    parts, part_of = shapely.get_parts(polys, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, ci = shapely.get_coordinates(rings, return_index=True)
    same = ci[:-1] == ci[1:]
    a, b = coords[:-1][same], coords[1:][same]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    a[swap], b[swap] = b[swap], a[swap].copy()
    keep = (a[:, 0] != b[:, 0]) | (a[:, 1] != b[:, 1])
    return np.hstack([a, b])[keep], part_of[ring_of[ci[:-1][same]]][keep].astype(np.int32)


def _once(seg: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Which rows of `seg` occur exactly once."""
    _, inv, cnt = np.unique(seg, axis=0, return_inverse=True, return_counts=True)
    return np.asarray(cnt[inv.ravel()] == 1)


def _build_nearest(extras: tuple[PartExtras, ...], positions: tuple[IntArray, ...]) -> _Nearest:
    """The segments that can be nearest to an uncovered point (see the module docstring)."""
    seg = np.vstack([e.seg for e in extras])
    owner = np.concatenate([glob[e.owner] for e, glob in zip(extras, positions, strict=True)])
    cand = np.flatnonzero(np.concatenate([e.outer for e in extras]))
    boundary = cand[_once(seg[cand])]  # on the boundary of the union of all subdistricts
    vertex = np.concatenate(
        [seg[boundary, 0] + 1j * seg[boundary, 1], seg[boundary, 2] + 1j * seg[boundary, 3]]
    )
    touch = np.isin(seg[:, 0] + 1j * seg[:, 1], vertex) | np.isin(seg[:, 2] + 1j * seg[:, 3], vertex)
    sel = np.flatnonzero(touch)
    return nearest_from_segments(seg[sel], owner[sel])


def nearest_from_segments(seg: NDArray[np.float64], owner: IntArray) -> _Nearest:
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

    return _Nearest(
        segments=_frozen(np.ascontiguousarray(seg, dtype=np.float64)),
        near_box=(minx - FAR_DEG, miny - FAR_DEG, maxx + FAR_DEG, maxy + FAR_DEG),
        far_centre=centre,
        metric_tree=shapely.STRtree(lines(np.asarray(mx), np.asarray(my))),
        far_tree=shapely.STRtree(lines(np.asarray(fx), np.asarray(fy))),
        owner=_frozen(owner.astype(np.int32)),
        nbytes=int(owner.nbytes + 4 * 8 * 2 * m),
    )
