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

The parts: geo_grid.lookup_parts (built in a process pool, `build_workers`); the router:
geo_grid.lookup_router; bulk lookups: geo_grid.lookup_bulk (a compiled pass over the parts' flat arrays,
geo_grid.lookup_flat and geo_grid.lookup_kernel); one-point lookups: geo_grid.lookup_scalar; `nearest`:
geo_grid.lookup_nearest (only the segments that can be nearest to an uncovered point). The
per-subdistrict GridIndex objects are views into the flat arrays.

``replace(subdistrict, codes, polygons)`` returns a new index with one subdistrict rebuilt; the other
subdistricts' parts are reused as built (their arrays are copied into the new flat arrays; the router
and the nearest segments are rebuilt, which is cheap). Positions are positions in ``codes``; replace
keeps the other grids' order and appends the new subdistrict's grids at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from geo_grid.lookup import GridIndex, PointQueries, clean_polygons
from geo_grid.lookup_bulk import locate_compiled
from geo_grid.lookup_flat import FlatParts
from geo_grid.lookup_kernel import DEFER
from geo_grid.lookup_nearest import Nearest, build_nearest, nearest_outside
from geo_grid.lookup_parts import (
    MAX_CELLS_TOTAL,
    PART_MAX_CELLS,
    PartExtras,
    PartJob,
    build_workers,
    extras_of,
    run_jobs,
)
from geo_grid.lookup_raster import IntArray, frozen
from geo_grid.lookup_router import ROUTER_CELL_M, Router, build_router, router_cell_deg
from geo_grid.lookup_scalar import Scalar


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
    _router: Router
    _nearest: Nearest
    _flat: FlatParts  # the parts' arrays, concatenated; `parts` are views into them
    _scalar: Scalar  # what locate_pos calls (one compiled call; the exact path's memoryviews)
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
        router_cell = router_cell_deg(polys, router_cell_m)
        positions = [frozen(np.flatnonzero(sub_of == s).astype(np.int32)) for s in range(len(keys))]
        jobs = [
            PartJob(
                [codes_t[i] for i in pos.tolist()],
                [polys[i] for i in pos.tolist()],
                [names_t[i] for i in pos.tolist()],
                part_cell_m,
                part_max_cells,
                router_cell,
            )
            for pos in positions
        ]
        built = run_jobs(jobs, build_workers(len(jobs)) if workers is None else workers)
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
            e if e is not None else extras_of(p, *router_cell) for e, p in zip(extras, parts, strict=True)
        )
        flat = FlatParts.from_parts(parts, positions)
        return cls.from_state(
            codes, names, polys, keys, sub_of, flat, digits, part_cell_m, part_max_cells, router_cell_m,
            build_router(done, *router_cell), build_nearest(done, positions), done,
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
        router: Router,
        nearest: Nearest,
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
            frozen(flat.arrays["pos"][o : o + size])
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
            subdistrict_of=frozen(sub_of),
            parts=tuple(views),
            part_positions=positions,
            subdistrict_digits=digits,
            part_cell_m=part_cell_m,
            part_max_cells=part_max_cells,
            router_cell_m=router_cell_m,
            _rank=frozen(rank),
            _by_rank=frozen(by_rank),
            _router=router,
            _nearest=nearest,
            _flat=flat,
            _extras=extras if extras is not None else (None,) * len(keys),
            _scalar=Scalar.create(router, flat),
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
            int(index._nx * index._ny), router_cell_m, (None,), router_cell_deg(polys, router_cell_m),
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
            positions[j] = frozen(remap[self.part_positions[i]])
            extras[j] = self._extras[i]
        if new_codes:
            s = keys.index(subdistrict_code)
            pos = np.arange(len(keep), len(codes_t), dtype=np.int32)
            sub_of[len(keep) :] = s
            router_cell = (1.0 / self._router.inv_x, 1.0 / self._router.inv_y)
            job = PartJob(list(new_codes), list(new_polys), list(new_names), self.part_cell_m,
                           self.part_max_cells, router_cell)  # fmt: skip
            parts[s], extras[s] = job.run()
            positions[s] = frozen(pos)
        return self._assemble(
            codes_t, names_t, polys_t, tuple(keys), sub_of,
            tuple(p for p in parts if p is not None), tuple(p for p in positions if p is not None),
            self.subdistrict_digits, self.part_cell_m, self.part_max_cells, self.router_cell_m,
            tuple(extras), (1.0 / self._router.inv_x, 1.0 / self._router.inv_y),
        )  # fmt: skip

    # ----------------------------------------------------------------------------------- lookup

    def locate_pos(self, lon: float, lat: float) -> int:
        """Position of the grid covering (lon, lat) (smallest code on ties), -1 outside or NaN."""
        # Subdistricts are in code order and a grid's code starts with its subdistrict's, so the first
        # subdistrict with a covering grid holds the smallest covering code.
        # one compiled call for every point (geo_grid.lookup_one.locate_one_at): ≈ 0.9 µs, as cheap as
        # reading a plain cell in Python, and an edge cell costs no second pass (p99 2.4 µs instead of 4)
        sc = self._scalar
        p = sc.one(lon, lat, *sc.one_args)
        return p if p != DEFER else self._locate_pos_exact(lon, lat)

    def _locate_pos_exact(self, lon: float, lat: float) -> int:
        """`locate_pos` in Python over the same arrays, with GEOS where the compiled test cannot tell."""
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
        for s in self._router.route1(lon, lat):
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
        locate_compiled(
            self._router, self._flat, self._rank, self._by_rank, self.size, xf, yf, out, tie, ties
        )
        return out.reshape(x.shape), (tie.reshape(x.shape) if ties else tie)

    # ---------------------------------------------------------------------------------- nearest

    def _nearest_outside(
        self, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[IntArray, NDArray[np.float64]]:
        return nearest_outside(self._nearest, self.size, self._rank, self._by_rank, x, y)

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
            e if e is not None else extras_of(p, *cell) for e, p in zip(self._extras, self.parts, strict=True)
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
