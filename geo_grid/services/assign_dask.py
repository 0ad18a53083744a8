"""`geo-grid assign … --dask`: the same assignment (services/assign.Assigner) over a Dask cluster.

The input is read as partitions (Parquet/GeoParquet: a file or a folder of files; CSV: a file cut in
blocks), each partition gets the Assigner's columns on a worker, and the output is written by the
workers as partitions (a folder of Parquet files, or CSV part files).

The index reaches the workers in one of two ways, never rebuilt per partition:

* published (`publish`): the index is written once as a memory-mapped snapshot
  (geo_grid/io/index_store.py, named by its content as in services/index_publication.py) to a store
  every worker can read — the same machine, or a shared filesystem for a cluster of machines. Only the
  small code columns and the snapshot's path and digest travel; each worker process loads the snapshot
  once (memory-mapped: workers on one machine share its pages) and keeps it for every later partition;
* otherwise (no store, or a worker cannot read it) the whole Assigner is pickled and sent to every
  worker once (`scatter(broadcast=True)`), as before.

Answers equal the single-process ones row for row: same code columns, same index, same rule.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from geo_grid.errors import InvalidInput
from geo_grid.io import csvfile
from geo_grid.io.index_store import SnapshotError, load_index, read_manifest
from geo_grid.lookup import GridIndex
from geo_grid.lookup_district import DistrictIndex
from geo_grid.services.assign import COLUMNS, Assigner
from geo_grid.services.index_publication import obtain, published_name

LOCAL = "local"  # `--dask local` or `local:N`: a LocalCluster of N worker processes on this machine


@dataclass(frozen=True, slots=True)
class DaskCounts:
    rows: int
    inside: int
    outside: int
    errors: int
    partitions: int
    index_via: str = "scatter"  # "published" (each worker loaded the snapshot) or "scatter" (pickled)
    index_problem: str = ""  # why a published index was not used (a worker could not load it)


@dataclass(frozen=True, slots=True)
class PublishedIndex:
    """A published index snapshot: where every worker finds it, and its digest (its identity)."""

    path: str
    digest: str


def as_district_index(index: GridIndex | DistrictIndex) -> DistrictIndex:
    """`index` as a DistrictIndex (what a snapshot holds)."""
    return index if isinstance(index, DistrictIndex) else DistrictIndex.from_grid_index(index)


def publish(index: GridIndex | DistrictIndex, store: Path) -> PublishedIndex:
    """Publish `index` in `store` (a directory every worker can read) unless it is there already, under
    the name of its content (services/index_publication.py: same micro-grids, same name)."""
    wkb = [bytes(b) for b in shapely.to_wkb(np.asarray(index.polygons, dtype=object))]
    name = published_name(index.codes, index.names, wkb)  # the API's live index of these grids, too
    target = store / name
    try:
        manifest = read_manifest(target)  # published already (by an earlier run or an API process)
    except SnapshotError:
        obtain(store, name, lambda: as_district_index(index))
        manifest = read_manifest(target)
    return PublishedIndex(str(target.resolve()), str(manifest["digest"]))


# ------------------------------------------------------------------ on the workers

_LOADED: dict[tuple[str, str], DistrictIndex] = {}  # per worker process: the snapshot(s) loaded
_LOADS: dict[tuple[str, str], int] = {}  # how many times each was loaded (once, unless evicted)
_LOCK = threading.Lock()
_KEEP = 2


def worker_index(ref: PublishedIndex) -> DistrictIndex:
    """The published index in this process: loaded (memory-mapped, digests checked) on first use, then
    the same object for every partition."""
    key = (ref.path, ref.digest)
    with _LOCK:
        index = _LOADED.get(key)
        if index is None:
            digest = read_manifest(ref.path)["digest"]
            if digest != ref.digest:
                raise SnapshotError(f"查询索引快照已被替换（校验和不符）：{ref.path}")
            index = load_index(ref.path)
            while len(_LOADED) >= _KEEP:
                _LOADED.pop(next(iter(_LOADED)))
            _LOADED[key] = index
            _LOADS[key] = _LOADS.get(key, 0) + 1
        return index


def worker_loads() -> dict[str, int]:
    """How many times this process loaded each published snapshot (by digest); for tests and checks."""
    with _LOCK:
        return {digest: n for (_, digest), n in _LOADS.items()}


def _warm(ref: PublishedIndex) -> str:
    """Load the snapshot on a worker ahead of the tasks: "" when it could, else the reason."""
    try:
        worker_index(ref)
    except (OSError, SnapshotError) as exc:
        return f"{os.uname().nodename}: {exc}"
    return ""


class _Shipped:
    """What travels to the workers when the index is published: the Assigner without its index (the
    code columns) and where to load the index; `assigner()` joins them on the worker."""

    def __init__(self, assigner: Assigner, ref: PublishedIndex) -> None:
        light = copy.copy(assigner)
        vars(light)["index"] = None
        self.light, self.ref = light, ref

    def assigner(self) -> Assigner:
        full = copy.copy(self.light)
        vars(full)["index"] = worker_index(self.ref)
        return full


@contextmanager
def client_for(scheduler: str) -> Iterator[Any]:
    """A dask.distributed Client: `local[:N]` starts a LocalCluster (N processes, one thread each),
    anything else is a scheduler address (tcp://host:8786)."""
    from dask.distributed import Client, LocalCluster

    if scheduler == LOCAL or scheduler.startswith(LOCAL + ":"):
        _, _, n = scheduler.partition(":")
        if n and not n.isdigit():
            raise InvalidInput(f"--dask {scheduler!r}: use local or local:N (N workers)")
        workers = int(n) if n else 2
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:  # fmt: skip
            yield client
    else:
        with Client(scheduler, timeout=30) as client:
            yield client


def _partition(frame: pd.DataFrame, assigner: Assigner | _Shipped, lon_col: str, lat_col: str,
               geometry_col: str | None) -> pd.DataFrame:  # fmt: skip
    """One partition with the Assigner's columns added (runs on a worker)."""
    if isinstance(assigner, _Shipped):
        assigner = assigner.assigner()
    problem = np.full(len(frame), None, dtype=object)
    if geometry_col is None:
        lon, lat = frame[lon_col], frame[lat_col]
    else:  # GeoParquet without coordinate columns: the point geometry (WKB) is the location
        geoms = shapely.from_wkb(frame[geometry_col].to_numpy())
        kind = shapely.get_type_id(geoms)
        point = kind == shapely.GeometryType.POINT
        problem[kind == -1] = "missing geometry"
        problem[(kind != -1) & ~point] = "geometry is not a point"
        lon = pd.Series(np.where(point, shapely.get_x(geoms), np.nan), index=frame.index)
        lat = pd.Series(np.where(point, shapely.get_y(geoms), np.nan), index=frame.index)
    added = assigner.assign(lon, lat, problem)
    out = frame.copy()
    for name in COLUMNS:
        values = added[name]
        out[name] = pd.Series(
            pd.array(values, dtype="boolean") if name == "outside" else pd.array(values, dtype="string"),
            index=frame.index,
        )
    return out


def _csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """The project's one CSV rule (io/csvfile.py): formula-like text cells are neutralised."""
    text = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    return frame.assign(**{c: frame[c].map(csvfile.safe_cell, na_action="ignore") for c in text})


def _counts(frame: pd.DataFrame) -> pd.DataFrame:
    errors = frame["error"].notna()
    outside = frame["outside"].fillna(False).astype(bool)
    return pd.DataFrame({"rows": [len(frame)], "errors": [int(errors.sum())],
                         "outside": [int(outside.sum())]})  # fmt: skip


def assign(
    client: Any,
    assigner: Assigner,
    source: Path,
    output: Path,
    lon_col: str,
    lat_col: str,
    fmt: str,
    blocksize: str = "64MB",
    published: PublishedIndex | None = None,
) -> DaskCounts:
    """Assign every row of `source` on the cluster of `client` and write `output` (partitions).

    With `published`, every worker loads that snapshot once (checked on all workers first); if one of
    them cannot read it, the Assigner is pickled and sent to every worker instead."""
    import dask.dataframe as dd
    from dask.base import compute

    if fmt == "parquet":
        frame = dd.read_parquet(str(source))
    elif fmt == "csv":
        # every cell as text, empty stays empty: the output repeats the input exactly
        frame = dd.read_csv(str(source), dtype=str, keep_default_na=False, blocksize=blocksize,
                            encoding="utf-8-sig")  # fmt: skip
    else:
        raise InvalidInput(f"--dask reads Parquet/GeoParquet or CSV, not {fmt}")
    columns = list(frame.columns)
    clash = [c for c in COLUMNS if c in columns]
    if clash:
        raise InvalidInput(f"{source.name} already has the output column(s) {', '.join(clash)}")
    geometry_col = None
    if lon_col not in columns or lat_col not in columns:
        if fmt == "parquet" and "geometry" in columns:
            geometry_col = "geometry"
        else:
            missing = lon_col if lon_col not in columns else lat_col
            raise InvalidInput(f"{source.name} has no column {missing!r}; name them with --lon-col/--lat-col")
    via, problem = "scatter", ""
    payload: Assigner | _Shipped = assigner
    if published is not None:
        failures = [why for why in client.run(_warm, published).values() if why]
        if failures:
            problem = "; ".join(failures[:3])
        else:
            via, payload = "published", _Shipped(assigner, published)
    shared = client.scatter(payload, broadcast=True)  # every worker holds it once
    meta = _partition(frame._meta, assigner, lon_col, lat_col, geometry_col)
    assigned = frame.map_partitions(_partition, shared, lon_col, lat_col, geometry_col, meta=meta)
    # The writing and the counting share each partition's assignment in one pass (one compute over
    # both), so no partition is kept in memory once written: memory stays bounded by the partitions.
    if fmt == "parquet":
        # The input's arrow types are kept (as in the one-process run), the added columns typed.
        schema = pq.ParquetDataset(str(source)).schema
        for name in COLUMNS:
            schema = schema.append(pa.field(name, pa.bool_() if name == "outside" else pa.string()))
        write = assigned.to_parquet(
            str(output), write_index=False, overwrite=True, schema=schema, compute=False
        )
    else:
        output.mkdir(parents=True, exist_ok=True)
        safe = assigned.map_partitions(_csv_safe, meta=meta)
        write = safe.to_csv(str(output / "part-*.csv"), index=False, encoding="utf-8-sig", compute=False)
    counted = assigned.map_partitions(_counts, meta=_counts(meta))
    _, per_partition = compute(write, counted)
    totals = per_partition.sum()
    rows, errors, outside = int(totals["rows"]), int(totals["errors"]), int(totals["outside"])
    return DaskCounts(rows, rows - outside - errors, outside, errors, assigned.npartitions, via, problem)
