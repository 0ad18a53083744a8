"""The per-subdistrict parts of a DistrictIndex (geo_grid.lookup_district): their builds, in a process
pool from PARALLEL_MIN_PARTS subdistricts, and what the router and `nearest` need of each (PartExtras,
kept so that `replace` recomputes one part only)."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.lookup import GridIndex
from geo_grid.lookup_raster import DELTA, IntArray

# Raster cells of all subdistricts' GridIndexes together (int16: 2 bytes each): one subdistrict gets
# GridIndex's own 4 M cells (≈ 1 m cells over a few km², as today's sample), 125 of 8 km² get
# ≈ 4.6 m cells (≈ 2 MiB each, edge cells included).
MAX_CELLS_TOTAL = 48_000_000
PART_MAX_CELLS = 4_000_000
# From this many subdistricts a build uses a process per core (build_workers): below, starting the
# processes (≈ 1.4 s here) costs more than it saves.
PARALLEL_MIN_PARTS = 32


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


@dataclass(frozen=True, slots=True)
class PartJob:
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
        return part, extras_of(part, *self.router_cell)


def run_job(job: PartJob) -> tuple[GridIndex, PartExtras]:
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


def run_jobs(jobs: list[PartJob], workers: int) -> list[tuple[GridIndex, PartExtras]]:
    """Run the part builds, in `workers` processes ("forkserver": safe in a threaded server process)."""
    if workers <= 1 or len(jobs) < 2:
        return [job.run() for job in jobs]
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        done = list(pool.map(run_job, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
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


def extras_of(part: GridIndex, cx: float, cy: float) -> PartExtras:
    """Router cells met by the part's grids (cells enlarged by DELTA) and its nearest candidates."""
    b = shapely.total_bounds(np.asarray(part.polygons, dtype=object))
    i0, i1 = int(np.floor(b[0] / cx)) - 1, int(np.floor(b[2] / cx)) + 1
    j0, j1 = int(np.floor(b[1] / cy)) - 1, int(np.floor(b[3] / cy)) + 1
    jg, ig = np.meshgrid(np.arange(j0, j1 + 1), np.arange(i0, i1 + 1), indexing="ij")
    ii, jj = ig.ravel().astype(np.int64), jg.ravel().astype(np.int64)
    boxes = shapely.box((ii - DELTA) * cx, (jj - DELTA) * cy, (ii + 1 + DELTA) * cx, (jj + 1 + DELTA) * cy)
    hit = np.unique(part._tree.query(boxes, predicate="intersects")[0])
    seg, own = segments(np.asarray(part.polygons, dtype=object))
    outer = once(seg)  # on the boundary of this part's union
    ob = seg[outer]
    vertex = np.concatenate([ob[:, 0] + 1j * ob[:, 1], ob[:, 2] + 1j * ob[:, 3]])
    touch = np.isin(seg[:, 0] + 1j * seg[:, 1], vertex) | np.isin(seg[:, 2] + 1j * seg[:, 3], vertex)
    return PartExtras(cell_i=ii[hit], cell_j=jj[hit], seg=seg[touch], owner=own[touch], outer=outer[touch])


def segments(polys: NDArray[np.object_]) -> tuple[NDArray[np.float64], NDArray[np.int32]]:
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


def once(seg: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Which rows of `seg` occur exactly once."""
    _, inv, cnt = np.unique(seg, axis=0, return_inverse=True, return_counts=True)
    return np.asarray(cnt[inv.ravel()] == 1)
