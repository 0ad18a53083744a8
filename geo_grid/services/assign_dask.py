"""`geo-grid assign … --dask`: the same assignment (services/assign.Assigner) over a Dask cluster.

The input is read as partitions (Parquet/GeoParquet: a file or a folder of files; CSV: a file cut in
blocks), each partition gets the Assigner's columns on a worker, and the output is written by the
workers as partitions (a folder of Parquet files, or CSV part files). The Assigner — the grid index and
the code columns — is sent to every worker once (`scatter(broadcast=True)`; GridIndex pickles whole),
not rebuilt per partition. Answers equal the single-process ones row for row: same Assigner, same rule.
"""

from __future__ import annotations

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
from geo_grid.services.assign import COLUMNS, Assigner

LOCAL = "local"  # `--dask local` or `local:N`: a LocalCluster of N worker processes on this machine


@dataclass(frozen=True, slots=True)
class DaskCounts:
    rows: int
    inside: int
    outside: int
    errors: int
    partitions: int


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


def _partition(frame: pd.DataFrame, assigner: Assigner, lon_col: str, lat_col: str,
               geometry_col: str | None) -> pd.DataFrame:  # fmt: skip
    """One partition with the Assigner's columns added (runs on a worker)."""
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
) -> DaskCounts:
    """Assign every row of `source` on the cluster of `client` and write `output` (partitions)."""
    import dask.dataframe as dd

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
    shared = client.scatter(assigner, broadcast=True)  # every worker holds the index once
    meta = _partition(frame._meta, assigner, lon_col, lat_col, geometry_col)
    assigned = frame.map_partitions(_partition, shared, lon_col, lat_col, geometry_col, meta=meta)
    assigned = assigned.persist()
    if fmt == "parquet":
        # The input's arrow types are kept (as in the one-process run), the added columns typed.
        schema = pq.ParquetDataset(str(source)).schema
        for name in COLUMNS:
            schema = schema.append(pa.field(name, pa.bool_() if name == "outside" else pa.string()))
        assigned.to_parquet(str(output), write_index=False, overwrite=True, schema=schema)
    else:
        output.mkdir(parents=True, exist_ok=True)
        safe = assigned.map_partitions(_csv_safe, meta=meta)
        safe.to_csv(str(output / "part-*.csv"), index=False, encoding="utf-8-sig")
    totals = assigned.map_partitions(_counts, meta=_counts(meta)).compute().sum()
    rows, errors, outside = int(totals["rows"]), int(totals["errors"]), int(totals["outside"])
    return DaskCounts(rows, rows - outside - errors, outside, errors, assigned.npartitions)
