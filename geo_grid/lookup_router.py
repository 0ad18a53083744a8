"""The coarse router of a DistrictIndex (geo_grid.lookup_district): which subdistricts a point can belong to.

A raster of ≈ 100 m cells over the whole district; a cell holds one subdistrict (its index answers), none
(outside every grid) or, along a subdistrict border, a list of candidate subdistricts (each answers, the
smallest code wins). A cell lists a subdistrict when one of its grids meets the cell enlarged by DELTA
(rounding of the point->cell computation is far smaller), so no covering grid is ever missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.lookup_parts import PartExtras
from geo_grid.lookup_raster import IntArray, frozen

# Router cell (metres): small enough that few points land in border cells, large enough to stay small.
ROUTER_CELL_M = 100.0


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Router:
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

    def route1(self, lon: float, lat: float) -> tuple[int, ...]:
        """The candidate subdistricts of one point (none outside the router or for NaN)."""
        fx = (lon - self.x0) * self.inv_x
        fy = (lat - self.y0) * self.inv_y
        if not (0.0 <= fx < self.nx and 0.0 <= fy < self.ny):  # outside the router, or NaN
            return ()
        v = int(self.cells[int(fy) * self.nx + int(fx)])
        if v >= 0:
            return (v,)
        if v == -1:
            return ()
        k = -2 - v
        return tuple(int(s) for s in self.subs[self.ptr[k] : self.ptr[k + 1]])


def router_cell_deg(polys: Sequence[Any], cell_m: float) -> tuple[float, float]:
    geoms = np.empty(len(polys), dtype=object)
    geoms[:] = list(polys)
    _, miny, _, maxy = shapely.total_bounds(geoms)
    coslat = max(np.cos(np.radians((miny + maxy) / 2.0)), 0.01)
    return cell_m / (111_320.0 * coslat), cell_m / 110_574.0


def build_router(extras: tuple[PartExtras, ...], cx: float, cy: float) -> Router:
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
    return Router(
        x0=i_min * cx,
        y0=j_min * cy,
        inv_x=1.0 / cx,
        inv_y=1.0 / cy,
        nx=nx,
        ny=ny,
        cells=frozen(cells.astype(np.int16 if small else np.int32)),
        ptr=frozen(ptr),
        subs=frozen(members.astype(np.int32)),
    )
