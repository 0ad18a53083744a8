"""The parts of a DistrictIndex (one GridIndex per subdistrict) laid out in flat, shared arrays.

Every per-subdistrict array (raster, row bases, segments, special cells, candidates) is concatenated
into one array per kind, with a table of offsets per subdistrict. This serves three ends:

* a vectorised lookup over points of many subdistricts at once, without grouping the points by
  subdistrict: each point gathers its subdistrict's raster origin, scale and offsets from small tables
  (geo_grid.lookup_district routes the points; `locate` here answers them);
* the per-subdistrict GridIndex objects (scalar lookups, candidates) are views into these arrays, so
  the memory is held once;
* a published snapshot is just these arrays (geo_grid.io.index_store), memory-mapped by every process.

Values inside the concatenated arrays stay LOCAL to their subdistrict (positions, segment rows, special
cell numbers); the offsets turn them into indexes of the flat arrays, and `pos` maps a local position
to the DistrictIndex position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.lookup import GridIndex
from geo_grid.lookup_raster import IntArray, memoryviews, orient_sign

# Columns of the per-subdistrict tables.
FLOAT_COLS = ("x0", "y0", "inv_x", "inv_y", "cell_x", "cell_y", "far_x", "far_y", "nb0", "nb1", "nb2", "nb3")
INT_COLS = ("nx", "ny", "size", "raster", "row_base", "seg", "sp", "ptr", "cand", "pos")
# The concatenated arrays, by name (also the file names of a published snapshot).
ARRAYS = ("raster", "row_base", "seg", "sp", "sp_ptr", "sp_cand", "rank", "pos")
# "sp" holds one record per special cell: its segment row and the answers left and right of it, side by
# side, so that an edge cell costs one cache miss for the three, not three (+6 % for locate_many at
# 125,000 micro-grids). The fields are read through views named as GridIndex names its arrays.
SP_FIELDS = {"sp_seg": "seg", "sp_left": "left", "sp_right": "right"}


def special_records(sp_seg: IntArray, sp_left: IntArray, sp_right: IntArray, answers: Any) -> NDArray[Any]:
    """The "sp" records of special cells: segment row (int32) and left/right answers (`answers` dtype)."""
    dtype = np.dtype([("seg", np.int32), ("left", answers), ("right", answers)])
    rec = np.empty(len(sp_seg), dtype=dtype)
    rec["seg"], rec["left"], rec["right"] = sp_seg, sp_left, sp_right
    return rec


def field_views(arrays: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
    """`arrays` plus the fields of "sp" as arrays of their own (strided views, no copy)."""
    sp = arrays["sp"]
    if sp.dtype.names != tuple(SP_FIELDS.values()) or sp.dtype["seg"] != np.int32:
        raise ValueError(f"special cell records of an unexpected type: {sp.dtype}")
    return {**arrays, **{name: sp[field] for name, field in SP_FIELDS.items()}}


def consecutive_positions(
    pos: IntArray, offsets: NDArray[np.int64], sizes: NDArray[np.int64]
) -> tuple[NDArray[np.int64], bool]:
    """Each part's first global position, and whether every part's positions are consecutive from it
    (a district built in code order): the kernel then adds a local position to it instead of
    gathering from `pos` (≈ 3 % of locate_many at 125,000 micro-grids)."""
    first = np.zeros(len(sizes), dtype=np.int64)
    nonempty = sizes > 0
    first[nonempty] = pos[offsets[nonempty]]
    if int(sizes.sum()) != len(pos):
        return first, False
    local = np.arange(len(pos)) - np.repeat(offsets, sizes)
    return first, bool(np.array_equal(pos, np.repeat(first, sizes) + local))


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FlatParts:
    """Concatenated part arrays + per-part tables (see the module docstring)."""

    floats: NDArray[np.float64]  # (parts, len(FLOAT_COLS))
    ints: NDArray[np.int64]  # (parts, len(INT_COLS)); offsets into the arrays below
    arrays: dict[str, NDArray[Any]]  # ARRAYS; "pos" = global position of each part's local position
    views: dict[str, NDArray[Any]]  # arrays + SP_FIELDS (the fields of "sp")
    geoms: NDArray[np.object_]  # prepared polygons, part by part in local order (index "pos" offset + local)
    col: dict[str, NDArray[Any]]  # each table column as its own contiguous array (fast gathers)
    answer: IntArray  # per part: -1 then the global position of each local position
    kernel_args: tuple[Any, ...]  # the part tables and arrays geo_grid.lookup_kernel reads
    rings_nbytes: int  # the polygons' ring coordinates the kernel tests near vertices (polygon_rings)

    @classmethod
    def create(
        cls,
        floats: NDArray[np.float64],
        ints: NDArray[np.int64],
        arrays: dict[str, NDArray[Any]],
        geoms: NDArray[np.object_],
        rings: tuple[NDArray[np.int64], NDArray[np.float64]] | None = None,
    ) -> FlatParts:
        """`rings`: polygon_rings(geoms) when already at hand (a snapshot stores them)."""
        col: dict[str, NDArray[Any]] = {
            n: np.ascontiguousarray(floats[:, i]) for i, n in enumerate(FLOAT_COLS)
        }
        col.update({n: np.ascontiguousarray(ints[:, i]) for i, n in enumerate(INT_COLS)})
        # int32 copies for the hot path (numpy int32 arithmetic is ≈ 2x faster than int64 here)
        if len(arrays["raster"]) >= 2**31 - 1:
            raise ValueError("the parts' rasters exceed 2**31 cells")
        for n in ("nx", "ny", "size", "raster"):
            col[n + "32"] = col[n].astype(np.int32)
        # answer table: part s's local position p (or -1) is at answer[col["answer"][s] + p]
        parts = len(ints)
        col["answer"] = (col["pos"] + np.arange(parts) + 1).astype(np.int32)
        pos = arrays["pos"]
        answer = np.full(len(pos) + parts, -1, dtype=np.int32)
        answer[np.arange(len(pos)) + np.repeat(np.arange(parts) + 1, col["size"])] = pos
        a = field_views({name: np.asarray(arr) for name, arr in arrays.items()})  # memmaps as plain arrays
        if rings is None:
            rings = polygon_rings(geoms)
        pos0, pos_direct = consecutive_positions(pos, col["pos"], col["size"])
        kernel_args = (
            *(col[n] for n in ("x0", "y0", "inv_x", "inv_y", "nx", "ny", "size", "raster", "row_base")),
            col["seg"], col["sp"], col["pos"], pos0, pos_direct,
            *(a[n] for n in ("raster", "row_base", "seg", "sp_seg", "sp_left", "sp_right", "pos")),
            col["ptr"], col["cand"], a["sp_ptr"], a["sp_cand"], *rings,
        )  # fmt: skip
        return cls(
            floats=floats, ints=ints, arrays=arrays, views=a, geoms=geoms, col=col, answer=answer,
            kernel_args=kernel_args, rings_nbytes=sum(int(r.nbytes) for r in rings),
        )  # fmt: skip

    @classmethod
    def from_parts(cls, parts: tuple[GridIndex, ...], positions: tuple[IntArray, ...]) -> FlatParts:
        """Concatenate built parts (their arrays are copied once; make the parts views afterwards)."""
        floats = np.array(
            [[p._x0, p._y0, p._inv_x, p._inv_y, *p.cell_deg, *p._far_centre, *p._near_box] for p in parts],
            dtype=np.float64,
        ).reshape(len(parts), len(FLOAT_COLS))
        answers = np.result_type(*(p._sp_left for p in parts), *(p._sp_right for p in parts))
        pieces = {
            "raster": [p._raster for p in parts],
            "row_base": [p._row_base for p in parts],
            "seg": [p._seg for p in parts],
            "sp": [special_records(p._sp_seg, p._sp_left, p._sp_right, answers) for p in parts],
            "sp_ptr": [p._sp_ptr for p in parts],
            "sp_cand": [p._sp_cand for p in parts],
            "rank": [p._rank for p in parts],
            "pos": list(positions),
        }

        def offsets(name: str) -> NDArray[np.int64]:
            return np.concatenate([[0], np.cumsum([len(a) for a in pieces[name]])[:-1]]).astype(np.int64)

        ints = np.column_stack(
            [
                [p._nx for p in parts],
                [p._ny for p in parts],
                [p.size for p in parts],
                offsets("raster"),
                offsets("row_base"),
                offsets("seg"),
                offsets("sp"),
                offsets("sp_ptr"),
                offsets("sp_cand"),
                offsets("pos"),
            ]
        ).astype(np.int64)
        raster_dtype = np.int16 if all(p._raster.dtype == np.int16 for p in parts) else np.int32
        arrays = {name: np.concatenate(pieces[name]) for name in ARRAYS}
        arrays["raster"] = arrays["raster"].astype(raster_dtype, copy=False)
        for a in arrays.values():
            a.flags.writeable = False
        geoms = np.concatenate([p._geoms for p in parts])
        return cls.create(floats, ints, arrays, geoms)

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.arrays.values()) + self.floats.nbytes + self.ints.nbytes)

    def part(
        self, s: int, codes: tuple[str, ...], names: tuple[str, ...], polygons: tuple[Any, ...]
    ) -> GridIndex:
        """Part `s` as a GridIndex whose arrays are views into the flat arrays (`codes` etc. in the part's
        local order). It has no `nearest` (the DistrictIndex answers that)."""
        f = dict(zip(FLOAT_COLS, self.floats[s].tolist(), strict=True))
        i = dict(zip(INT_COLS, self.ints[s].tolist(), strict=True))
        nxt = dict(zip(INT_COLS, self.ints[s + 1].tolist(), strict=True)) if s + 1 < len(self.ints) else None
        a = self.views

        def piece(name: str, col: str) -> NDArray[Any]:
            end = nxt[col] if nxt is not None else len(a[name])
            return a[name][i[col] : end]

        size, nx, ny = i["size"], i["nx"], i["ny"]
        raster = a["raster"][i["raster"] : i["raster"] + nx * ny]
        row_base = a["row_base"][i["row_base"] : i["row_base"] + ny + 1]
        seg = piece("seg", "seg")
        sp_seg, sp_left, sp_right = (piece(name, "sp") for name in SP_FIELDS)
        sp_ptr, sp_cand = piece("sp_ptr", "ptr"), piece("sp_cand", "cand")
        rank = a["rank"][i["pos"] : i["pos"] + size]
        geoms = self.geoms[i["pos"] : i["pos"] + size]
        return GridIndex(
            codes=codes,
            names=names,
            polygons=polygons,
            size=size,
            cell_deg=(f["cell_x"], f["cell_y"]),
            _geoms=geoms,
            _rank=rank,
            _tree=shapely.STRtree(geoms),
            _metric_tree=None,
            _metric_owner=np.empty(0, dtype=np.int32),
            _far_centre=(f["far_x"], f["far_y"]),
            _far_tree=None,
            _far_owner=np.empty(0, dtype=np.int32),
            _near_box=(f["nb0"], f["nb1"], f["nb2"], f["nb3"]),
            _x0=f["x0"],
            _y0=f["y0"],
            _inv_x=f["inv_x"],
            _inv_y=f["inv_y"],
            _nx=nx,
            _ny=ny,
            _raster=raster,
            _row_base=row_base,
            _seg=seg,
            _sp_seg=sp_seg,
            _sp_left=sp_left,
            _sp_right=sp_right,
            _sp_ptr=sp_ptr,
            _sp_cand=sp_cand,
            _mv=memoryviews(raster, seg, sp_seg, sp_left, sp_right, sp_ptr, sp_cand, row_base),
        )

    def locate(
        self, x: NDArray[np.float64], y: NDArray[np.float64], s: IntArray, ties: bool
    ) -> tuple[IntArray, NDArray[np.bool_]]:
        """Global positions (-1 none) of points x, y in parts `s` (one part per point), and where more
        than one of the part's grids covers the point (only when `ties`). Non-finite points get an
        arbitrary answer: the caller routes them nowhere and answers -1."""
        c, a = self.col, self.views
        nx, size = c["nx32"][s], c["size32"][s]
        with np.errstate(invalid="ignore"):  # NaN/inf (routed to part 0, answered -1 by the caller)
            fx = x - c["x0"][s]
            fx *= c["inv_x"][s]
            ix = fx.astype(np.int32)
            fy = y - c["y0"][s]
            fy *= c["inv_y"][s]
            iy = fy.astype(np.int32)
        # truncation maps (-1, 0) to 0, clipping maps the rest onto the part's empty margin
        np.clip(ix, 0, nx - 1, out=ix)
        np.clip(iy, 0, c["ny32"][s] - 1, out=iy)
        flat = iy * nx
        flat += ix
        flat += c["raster32"][s]
        val = a["raster"].take(flat).astype(np.int32)
        # answers of plain cells through each part's table [-1, global positions...]; special cells
        # (val >= size) read a wrong entry here and are overwritten below
        out = self.answer.take(np.minimum(val, size - 1) + c["answer"][s])
        tie = np.zeros(len(x) if ties else 0, dtype=bool)
        sp = np.flatnonzero(val >= size)
        if len(sp) == 0:
            return out, tie
        ss = s[sp]
        k_local = a["row_base"][c["row_base"][ss] + iy[sp]] + (val[sp] - size[sp]).astype(np.int64)
        k = c["sp"][ss] + k_local
        sg = a["seg"][c["seg"][ss] + a["sp_seg"][k]]
        xs, ys = x[sp], y[sp]
        sign = orient_sign(sg[:, 0], sg[:, 1], sg[:, 2], sg[:, 3], xs, ys)
        loc = np.where(sign > 0, a["sp_left"][k], a["sp_right"][k]).astype(np.int64)
        res = np.where(loc >= 0, a["pos"][c["pos"][ss] + np.maximum(loc, 0)], -1).astype(np.int32)
        amb = np.flatnonzero(sign == 0)
        if len(amb):
            # exact covers test over the cell's candidates (local positions, in code order)
            pk = c["ptr"][ss[amb]] + k_local[amb]
            lo = a["sp_ptr"][pk].astype(np.int64) + c["cand"][ss[amb]]
            cnt = (a["sp_ptr"][pk + 1] - a["sp_ptr"][pk]).astype(np.int64)
            pt = np.repeat(np.arange(len(amb)), cnt)
            idx = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
            cand = a["sp_cand"][idx].astype(np.int64) + c["pos"][ss[amb]][pt]  # flat index of the grid
            covered = shapely.intersects_xy(self.geoms[cand], xs[amb][pt], ys[amb][pt])
            won = np.full(len(amb), -1, dtype=np.int32)
            hp, first, nhit = np.unique(pt[covered], return_index=True, return_counts=True)
            won[hp] = a["pos"][cand[covered][first]]
            res[amb] = won
            if ties:
                many = np.zeros(len(amb), dtype=bool)
                many[hp[nhit > 1]] = True
                tie[sp[amb]] = many
        out[sp] = res
        return out, tie


def polygon_rings(geoms: NDArray[np.object_]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The polygons' rings as flat arrays for the compiled exact test (geo_grid.lookup_kernel.covers):
    polygon g's closed rings are xy[ptr[g] .. ptr[g + 1]], one after the other, each followed by a NaN
    row (one polygon's coordinates are contiguous: one or two cache lines for a micro-grid). Made from
    the geometries (a build or a snapshot's WKB)."""
    if (shapely.get_type_id(geoms) == 3).all() and not shapely.get_num_interior_rings(geoms).any():
        coords, ci = shapely.get_coordinates(geoms, return_index=True)  # one ring each: 5x faster
        n_rings, poly_of_ring = len(geoms), np.arange(len(geoms))
    else:
        parts, part_of = shapely.get_parts(geoms, return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        coords, ci = shapely.get_coordinates(rings, return_index=True)
        n_rings, poly_of_ring = len(rings), part_of[ring_of]
    size = np.bincount(ci, minlength=n_rings) + 1  # each ring and its NaN separator
    ends = np.cumsum(size)
    xy = np.full((int(ends[-1]) if len(ends) else 0, 2), np.nan)
    xy[np.arange(len(coords)) + (ends - size)[ci] - np.r_[0, np.cumsum(size - 1)[:-1]][ci]] = coords
    starts = np.r_[0, ends][np.searchsorted(poly_of_ring, np.arange(len(geoms) + 1))]
    out = (starts.astype(np.int64), xy)
    for arr in out:
        arr.flags.writeable = False
    return out
