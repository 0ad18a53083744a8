"""The one-point lookup of a DistrictIndex (geo_grid.lookup_district): the compiled call every point
takes (`one`: geo_grid.lookup_one.locate_one_at, its arrays given as addresses), and the router and the
parts' flat arrays as plain Python numbers and memoryviews for the exact Python/GEOS path of the points
that call cannot decide (on or within rounding of an edge)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from geo_grid.lookup_flat import FlatParts
from geo_grid.lookup_kernel import cell_exact
from geo_grid.lookup_one import locate_one_at
from geo_grid.lookup_raster import ORIENT_ERR
from geo_grid.lookup_router import Router


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Scalar:
    """The compiled one-point call and its arguments, and the router and flat part arrays as plain Python
    numbers and memoryviews (indexing them gives Python ints and floats; numpy scalars are ≈ 10x slower)
    for the exact path."""

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
    # compiled entry points (no dispatcher typing every argument: ≈ 0.4 µs less per call), made at the
    # first call (that loads numba's cache, ≈ 0.3 CPU-s once per process, as the bulk kernel's first call)
    exact: Any  # geo_grid.lookup_kernel.cell_exact, called with (lon, lat, s, pk, cand0, pos0, *exact_args)
    one: Any  # geo_grid.lookup_one.locate_one_at, called with (lon, lat, *one_args)
    one_args: tuple[Any, ...]
    one_arrays: tuple[Any, ...]  # the arrays whose addresses one_args holds: kept alive with it

    @classmethod
    def create(cls, r: Router, flat: FlatParts) -> Scalar:
        c = flat.col
        cols = ("x0", "y0", "inv_x", "inv_y", "nx", "ny", "size", "raster", "row_base", "sp", "seg", "pos",
                "ptr", "cand")  # fmt: skip
        params = list(zip(*(c[n].tolist() for n in cols), strict=True))
        a = flat.views
        exact_args = (a["sp_ptr"], a["sp_cand"], a["pos"], *flat.kernel_args[-2:])
        # the special cell records as two contiguous tables (lookup_one reads their columns): int32
        # columns (the segment row first) and columns of the answers' dtype (left, right last)
        sp = np.asarray(flat.arrays["sp"])
        answers = sp.dtype["left"]
        sp32 = sp.view(np.int32).reshape(len(sp), sp.dtype.itemsize // 4)
        sp_lr = sp.view(answers).reshape(len(sp), sp.dtype.itemsize // answers.itemsize)
        arrays = [
            np.ascontiguousarray(v)
            for v in (
                r.cells, r.ptr, r.subs, flat.floats, flat.ints,
                *(a[n] for n in ("raster", "row_base", "seg")), sp32, sp_lr,
                *(a[n] for n in ("pos", "sp_ptr", "sp_cand")),
                *flat.kernel_args[-2:],
            )
        ]  # fmt: skip
        ctx = np.array(
            [[v.ctypes.data, v.shape[0], v.shape[1] if v.ndim == 2 else 0] for v in arrays], dtype=np.int64
        ).ravel()
        like = tuple(v.dtype.type(0) for v in arrays)
        one_args = (float(r.x0), float(r.y0), float(r.inv_x), float(r.inv_y), int(r.nx), int(r.ny), ctx, like)
        sc = cls(
            x0=r.x0, y0=r.y0, inv_x=r.inv_x, inv_y=r.inv_y, nx=r.nx, ny=r.ny,
            cells=np.asarray(r.cells).data, ptr=np.asarray(r.ptr).data, subs=np.asarray(r.subs).data,
            params=params, raster=a["raster"].data, row_base=a["row_base"].data,
            seg=a["seg"].ravel().data, sp_seg=a["sp_seg"].data, sp_left=a["sp_left"].data,
            sp_right=a["sp_right"].data, pos=a["pos"].data,
            exact_args=exact_args, exact=None, one=None, one_args=one_args, one_arrays=tuple(arrays),
        )  # fmt: skip
        object.__setattr__(sc, "exact", sc._first_exact)  # replaced by the entry point at the first call
        object.__setattr__(sc, "one", sc._first_one)
        return sc

    def __copy__(self) -> Scalar:
        return self  # immutable; a copy must not hold addresses of arrays it does not keep alive

    def __deepcopy__(self, memo: dict[int, Any]) -> Scalar:
        return self

    def __reduce__(self) -> Any:
        raise TypeError("Scalar holds array addresses: pickle the DistrictIndex, which makes its own")

    def _first_one(self, *args: Any) -> int:
        ep = compiled_entry(locate_one_at, (0.0, 0.0, *self.one_args))
        object.__setattr__(self, "one", ep)
        return int(ep(*args))

    def _first_exact(self, *args: Any) -> int:
        ep = compiled_entry(cell_exact, (0.0, 0.0, 0, 0, 0, 0, *self.exact_args))
        object.__setattr__(self, "exact", ep)
        return int(ep(*args))

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
                self.exact(float(lon), float(lat), s, o_ptr + k - o_sp, o_cand, o_pos, *self.exact_args)
            )
        return -1 if loc < 0 else int(self.pos[o_pos + loc])


def compiled_entry(dispatcher: Any, sample: tuple[Any, ...]) -> Any:
    """The compiled entry point of a numba function for the types of `sample` (compiled, or loaded from
    numba's cache, now): calling it skips the dispatcher's typing of every argument. Every later call
    must pass arguments of the same types (Python floats and ints, arrays of the same dtypes)."""
    typeof: Any = numba.typeof  # untyped in numba
    sig = tuple(typeof(v) for v in sample)
    dispatcher.compile(sig)
    return dispatcher.get_overload(sig)
