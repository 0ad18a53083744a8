"""Synthetic districts: many subdistricts tiled exactly into communities, tertiary grids and micro-grids.

For tests, demos and benchmarks at district and city scale (issue 15). Pure: no database, no files.

How the tiling is exact. One jittered lattice of seeds (≈ 89 m apart, so a micro-grid is ≈ 0.008 km²)
covers the whole district plus a margin, and ONE Voronoi diagram of all seeds (GEOS, ``ordered=True``)
gives every micro-grid: neighbouring cells share identical edges, coordinate for coordinate, because
they come from the same diagram. Nothing is clipped: the district keeps only the cells whose seed lies
in a subdistrict's block of the lattice, so its outline follows cell edges. Every coarser unit (tertiary
grid, community, subdistrict) is the ``coverage_union`` of a block of micro-grids, so it keeps exactly
the vertices of the micro-grids along its border: neighbouring subdistricts share their border with
identical coordinates, no gap and no overlap, and each level tiles the one above it.

Layout. Subdistricts are blocks of the lattice in a near-square layout (columns x rows, the last row
possibly partial); inside one, communities and tertiary grids are sub-blocks. Codes follow the national
division scheme: district (6 digits) + subdistrict (3) = 9 digits, + community (3) = 12, + tertiary grid
(3) = 15, + micro-grid (3) = 18. Micro-grids are numbered in a shuffled order inside their tertiary grid,
so code order is not the geometric order. Everything is deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

# Metres per degree of latitude, and of longitude at the equator (as geo_grid.lookup_raster uses).
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0
# Seeds are moved up to this fraction of the lattice spacing in x and y (keeps blocks connected).
_JITTER = 0.3
# Lattice rows/columns of extra seeds around the district, so that every kept cell is bounded.
_MARGIN = 2

LEVELS = ("subdistrict", "community", "tertiary", "micro")


@dataclass(frozen=True, slots=True)
class SyntheticArea:
    """One unit of a synthetic district at any level (`level` is one of LEVELS)."""

    code: str
    name: str
    level: str
    parent_code: str | None  # the 9-digit subdistrict's parent is the 6-digit district code
    polygon: Any  # shapely Polygon (MultiPolygon only if a block happened to be disconnected)


@dataclass(frozen=True, slots=True)
class SyntheticDistrict:
    """A generated district: its subdistricts and their exact tilings, each level in code order."""

    district_code: str
    seed: int
    subdistricts: tuple[SyntheticArea, ...]
    communities: tuple[SyntheticArea, ...]
    tertiary_grids: tuple[SyntheticArea, ...]
    micro_grids: tuple[SyntheticArea, ...]

    def level(self, level: str) -> tuple[SyntheticArea, ...]:
        """The units of one level ("subdistrict", "community", "tertiary" or "micro")."""
        by_level = {
            "subdistrict": self.subdistricts,
            "community": self.communities,
            "tertiary": self.tertiary_grids,
            "micro": self.micro_grids,
        }
        if level not in by_level:
            raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")
        return by_level[level]


@dataclass(frozen=True, slots=True)
class _Layout:
    """Lattice labels of the kept micro-grids (all arrays aligned, in code order)."""

    codes: list[str]
    polygons: NDArray[np.object_]
    sub: NDArray[np.int64]  # subdistrict number (1-based, as in the code)
    comm: NDArray[np.int64]  # community number within its subdistrict (1-based)
    tert: NDArray[np.int64]  # tertiary grid number within its community (1-based)
    micro: NDArray[np.int64]  # micro-grid number within its tertiary grid (1-based)


def _block_shape(count: int) -> tuple[int, int]:
    """(columns, rows) of a near-square block holding about `count` cells (rows <= columns)."""
    rows = max(1, int(np.floor(np.sqrt(count))))
    return max(1, int(round(count / rows))), rows


def _layout(
    subdistricts: int,
    micro_per_subdistrict: int,
    communities: tuple[int, int],
    tertiaries: tuple[int, int],
    micro_km2: float,
    origin: tuple[float, float],
    seed: int,
    district_code: str,
    skip_numbers: tuple[int, ...],
) -> _Layout:
    if subdistricts < 1:
        raise ValueError("a synthetic district needs at least one subdistrict")
    if len(district_code) != 6 or not district_code.isdigit():
        raise ValueError("district_code must be 6 digits")
    numbers = [k for k in range(1, 1000) if k not in set(skip_numbers)][:subdistricts]
    if len(numbers) < subdistricts:
        raise ValueError("at most 999 subdistricts fit the 3-digit subdistrict code")
    sx, sy = _block_shape(micro_per_subdistrict)
    ccx, ccy = communities
    tcx, tcy = tertiaries
    if not (1 <= ccx * tcx <= sx and 1 <= ccy * tcy <= sy):
        raise ValueError("more communities x tertiary grids than micro-grids along a side")
    if ccx * ccy * tcx * tcy > 999 or sx * sy > 999 * ccx * ccy * tcx * tcy:
        raise ValueError("too many units for 3-digit codes")
    cols = int(np.ceil(np.sqrt(subdistricts)))
    rows = int(np.ceil(subdistricts / cols))

    # The whole lattice (district + margin), seeds jittered, one Voronoi diagram in seed order.
    rng = np.random.default_rng(seed)
    spacing = float(np.sqrt(micro_km2)) * 1000.0
    lon0, lat0 = origin
    dlon = spacing / (_M_PER_DEG_LON * np.cos(np.radians(lat0 + rows * sy * spacing / _M_PER_DEG_LAT / 2)))
    dlat = spacing / _M_PER_DEG_LAT
    nx, ny = cols * sx + 2 * _MARGIN, rows * sy + 2 * _MARGIN
    jj, ii = np.meshgrid(np.arange(ny) - _MARGIN, np.arange(nx) - _MARGIN, indexing="ij")
    i, j = ii.ravel(), jj.ravel()
    x = lon0 + (i + 0.5 + rng.uniform(-_JITTER, _JITTER, i.shape)) * dlon
    y = lat0 + (j + 0.5 + rng.uniform(-_JITTER, _JITTER, j.shape)) * dlat
    sub_col, sub_row = i // sx, j // sy
    sub_idx = sub_row * cols + sub_col
    keep = (i >= 0) & (j >= 0) & (sub_col < cols) & (sub_row < rows) & (sub_idx < subdistricts)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(np.column_stack([x, y])), ordered=True)
    )
    polys = cells[keep]
    i, j, sub_idx = i[keep], j[keep], sub_idx[keep]

    # Nested blocks: tertiary column = floor(local * ccx * tcx / sx) and community = tertiary // tcx.
    li, lj = i % sx, j % sy
    tx, ty = li * ccx * tcx // sx, lj * ccy * tcy // sy
    cx, cy = tx // tcx, ty // tcy
    comm = cy * ccx + cx + 1
    tert = (ty % tcy) * tcx + (tx % tcx) + 1
    sub = np.asarray(numbers, dtype=np.int64)[sub_idx]
    # micro-grid numbers: a random permutation inside each tertiary grid
    group = (sub * 1000 + comm) * 1000 + tert
    order = np.lexsort((rng.random(len(group)), group))
    first = np.r_[True, group[order][1:] != group[order][:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    micro = np.empty(len(order), dtype=np.int64)
    micro[order] = np.arange(len(order)) - start + 1
    key = group * 1000 + micro
    by_code = np.argsort(key, kind="stable")
    codes = [f"{district_code}{k:012d}" for k in key[by_code].tolist()]
    return _Layout(
        codes=codes,
        polygons=polys[by_code],
        sub=sub[by_code],
        comm=comm[by_code],
        tert=tert[by_code],
        micro=micro[by_code],
    )


def synthetic_micro_grids(
    subdistricts: int,
    micro_per_subdistrict: int = 1000,
    *,
    seed: int = 0,
    district_code: str = "410105",
    origin: tuple[float, float] = (113.58, 34.60),
    micro_km2: float = 0.008,
) -> tuple[list[str], list[Any]]:
    """Only the micro-grids of `synthetic_district` (same arguments, same codes and polygons), fast:
    (18-digit codes in code order, shapely Polygons). The subdistrict of a code is its first 9 digits."""
    lay = _layout(
        subdistricts, micro_per_subdistrict, (3, 3), (3, 2), micro_km2, origin, seed, district_code, ()
    )
    return lay.codes, list(lay.polygons)


def synthetic_district(
    subdistricts: int,
    micro_per_subdistrict: int = 1000,
    *,
    seed: int = 0,
    district_code: str = "410105",
    origin: tuple[float, float] = (113.58, 34.60),
    micro_km2: float = 0.008,
    communities: tuple[int, int] = (3, 3),
    tertiaries: tuple[int, int] = (3, 2),
    skip_numbers: tuple[int, ...] = (),
) -> SyntheticDistrict:
    """Generate a district of `subdistricts` subdistricts of about `micro_per_subdistrict` micro-grids.

    `communities` (columns, rows) per subdistrict and `tertiaries` (columns, rows) per community set
    the hierarchy; `origin` is the south-west corner (lon, lat); `skip_numbers` are subdistrict numbers
    not to use (e.g. (12,) leaves 410105012 to 未来路街道). The default 1,000 micro-grids of 0.008 km²
    make a subdistrict of ≈ 8 km²; 125 of them (≈ 124,000 micro-grids, ≈ 1,000 km²) span about
    113.58–113.92 E and 34.60–34.88 N.
    """
    lay = _layout(
        subdistricts,
        micro_per_subdistrict,
        communities,
        tertiaries,
        micro_km2,
        origin,
        seed,
        district_code,
        skip_numbers,
    )
    micro_names = [
        f"合成{s:03d}街道第{c}社区第{t}网格第{m}微网格"
        for s, c, t, m in zip(
            lay.sub.tolist(), lay.comm.tolist(), lay.tert.tolist(), lay.micro.tolist(), strict=True
        )
    ]
    micro = tuple(
        SyntheticArea(code=code, name=name, level="micro", parent_code=code[:15], polygon=poly)
        for code, name, poly in zip(lay.codes, micro_names, lay.polygons, strict=True)
    )
    # Codes are sorted, so every coarser unit is a contiguous run of micro-grids.
    tertiary = _dissolve(
        lay.codes,
        lay.polygons,
        15,
        "tertiary",
        lambda c: f"{_sub_name(c)}第{int(c[9:12])}社区第{int(c[12:15])}网格",
    )
    community = _dissolve(
        lay.codes, lay.polygons, 12, "community", lambda c: f"{_sub_name(c)}第{int(c[9:12])}社区"
    )
    subdistrict = _dissolve(lay.codes, lay.polygons, 9, "subdistrict", _sub_name)
    return SyntheticDistrict(
        district_code=district_code,
        seed=seed,
        subdistricts=subdistrict,
        communities=community,
        tertiary_grids=tertiary,
        micro_grids=micro,
    )


def _sub_name(code: str) -> str:
    return f"合成{code[6:9]}街道"


def _dissolve(
    codes: list[str], polygons: NDArray[np.object_], digits: int, level: str, name: Any
) -> tuple[SyntheticArea, ...]:
    """The units of `level`: coverage unions of the runs of micro-grids sharing their first `digits`."""
    prefix = [c[:digits] for c in codes]
    bounds = [0] + [k for k in range(1, len(prefix)) if prefix[k] != prefix[k - 1]] + [len(prefix)]
    out = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=False):
        code = prefix[a]
        poly = shapely.coverage_union_all(polygons[a:b])
        parent = code[: digits - 3] if digits > 9 else code[:6]
        out.append(SyntheticArea(code=code, name=name(code), level=level, parent_code=parent, polygon=poly))
    return tuple(out)
