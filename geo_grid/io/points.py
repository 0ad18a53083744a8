"""Point tables streamed in chunks (CSV, Parquet, GeoJSON, GeoPackage): read a chunk, add columns, write it.

Memory stays bounded by the chunk size whatever the file size: CSV via pandas chunks, Parquet via
pyarrow record batches, GeoJSON/GeoPackage via pyogrio arrow batches. Input values are written back
unchanged (CSV cells are read as text, Parquet keeps its arrow types), rows keep their order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely

from geo_grid.errors import InvalidInput
from geo_grid.io import csvfile

FORMATS = {".csv": "csv", ".parquet": "parquet", ".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg"}


def detect_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(f"{path.name}: unknown format; use one of {', '.join(sorted(FORMATS))}")
    return fmt


@dataclass
class Chunk:
    """A slice of rows: the attribute table, the geometries (geo formats) and the coordinates to place."""

    table: pd.DataFrame | pa.Table
    geometry: Any | None  # numpy array of shapely geometries, for GeoJSON/GeoPackage
    lon: pd.Series
    lat: pd.Series
    problem: np.ndarray  # per-row reason the coordinates cannot be used before parsing them, or None
    position: int  # progress so far, in the unit of PointReader.total (rows, or bytes for CSV)


class PointReader:
    """Iterates over a file in chunks. `total` is the progress total (rows; bytes for CSV)."""

    def __init__(self, path: Path, lon_col: str, lat_col: str, chunk_rows: int) -> None:
        self.path, self.fmt = path, detect_format(path)
        self.lon_col, self.lat_col, self.chunk_rows = lon_col, lat_col, chunk_rows
        self.columns: list[str] = []
        self.total: int | None = None
        if self.fmt == "csv":
            self.total = path.stat().st_size
        elif self.fmt == "parquet":
            meta = pq.ParquetFile(path)
            self.total, self.columns = meta.metadata.num_rows, list(meta.schema_arrow.names)
        else:
            info = pyogrio.read_info(path)
            self.total, self.columns = int(info["features"]), [str(c) for c in info["fields"]]
            self.crs = info["crs"]

    def _coords(self, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        missing = [c for c in (self.lon_col, self.lat_col) if c not in frame.columns]
        if missing:
            raise InvalidInput(
                f"{self.path.name} has no column {missing[0]!r} (columns: {', '.join(map(str, frame.columns))});"
                " name them with --lon-col/--lat-col"
            )
        return frame[self.lon_col], frame[self.lat_col]

    def __iter__(self) -> Iterator[Chunk]:
        return {"csv": self._csv, "parquet": self._parquet}.get(self.fmt, self._ogr)()

    def _csv(self) -> Iterator[Chunk]:
        with open(self.path, "rb") as fh:
            # every cell as text, empty stays empty: the output repeats the input exactly
            frames = pd.read_csv(
                fh, dtype=str, keep_default_na=False, chunksize=self.chunk_rows, encoding="utf-8-sig"
            )
            for frame in frames:
                self.columns = list(frame.columns)
                lon, lat = self._coords(frame)
                yield Chunk(frame, None, lon, lat, np.full(len(frame), None, dtype=object), fh.tell())

    def _parquet(self) -> Iterator[Chunk]:
        done = 0
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=self.chunk_rows):
            table = pa.Table.from_batches([batch])
            frame = table.select(
                [c for c in (self.lon_col, self.lat_col) if c in table.column_names]
            ).to_pandas()
            lon, lat = self._coords(frame)
            done += table.num_rows
            yield Chunk(table, None, lon, lat, np.full(table.num_rows, None, dtype=object), done)

    def _ogr(self) -> Iterator[Chunk]:
        done = 0
        with pyogrio.open_arrow(self.path, batch_size=self.chunk_rows, use_pyarrow=True) as (meta, reader):
            geom_col = meta["geometry_name"] or "wkb_geometry"
            for batch in reader:
                frame = batch.to_pandas()
                geoms = shapely.from_wkb(frame.pop(geom_col).to_numpy()) if geom_col in frame else None
                problem = np.full(len(frame), None, dtype=object)
                if self.lon_col in frame.columns and self.lat_col in frame.columns:
                    lon, lat = self._coords(frame)
                elif geoms is not None:  # no coordinate columns: the point geometry is the location
                    kind = shapely.get_type_id(geoms)
                    point = kind == shapely.GeometryType.POINT
                    problem[kind == -1] = "missing geometry"
                    problem[(kind != -1) & ~point] = "geometry is not a point"
                    lon = pd.Series(np.where(point, shapely.get_x(geoms), np.nan))
                    lat = pd.Series(np.where(point, shapely.get_y(geoms), np.nan))
                else:
                    lon, lat = self._coords(frame)
                done += len(frame)
                yield Chunk(frame, geoms, lon, lat, problem, done)


class PointWriter:
    """Writes chunks with added columns, in the format of `path` (the same family as the input)."""

    def __init__(self, path: Path, crs: str | None = None) -> None:
        self.path, self.fmt, self.crs = path, detect_format(path), crs
        self._fh: IO[Any] | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._first = True
        if path.exists():
            path.unlink()  # a previous output is replaced, never appended to

    def write(self, chunk: Chunk, added: dict[str, np.ndarray]) -> None:
        if self.fmt == "csv":
            frame = chunk.table.assign(**{k: pd.Series(v, index=chunk.table.index) for k, v in added.items()})
            if self._fh is None:
                self._fh = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed in close)
                self._fh.write(csvfile.BOM)
            # The project's one CSV rule (io/csvfile.py): formula-like text cells are neutralised.
            text_cols = [c for c in frame.columns if frame[c].dtype == object]
            frame = frame.assign(**{c: frame[c].map(csvfile.safe_cell) for c in text_cols})
            frame.to_csv(self._fh, header=[str(csvfile.safe_cell(str(c))) for c in frame.columns] if self._first
                         else False, index=False)  # fmt: skip
        elif self.fmt == "parquet":
            table = chunk.table
            if not isinstance(table, pa.Table):
                table = pa.Table.from_pandas(table, preserve_index=False)
            for name, values in added.items():
                typ = pa.bool_() if name == "outside" else pa.string()
                table = table.append_column(name, pa.array(values, type=typ, from_pandas=True))
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            self._parquet.write_table(table)
        elif self.fmt == "geojson":
            self._write_geojson(chunk, added)
        else:
            import geopandas as gpd

            frame = pd.DataFrame(chunk.table).assign(**added)
            geoms = chunk.geometry if chunk.geometry is not None else [None] * len(frame)
            gdf = gpd.GeoDataFrame(frame, geometry=list(geoms), crs=self.crs)
            pyogrio.write_dataframe(gdf, self.path, append=not self._first)
        self._first = False

    def _write_geojson(self, chunk: Chunk, added: dict[str, np.ndarray]) -> None:
        # Written as text, feature by feature: GDAL's GeoJSON "append" rewrites the whole file each time.
        if self._fh is None:
            self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (closed in close)
            self._fh.write('{"type": "FeatureCollection", "features": [\n')
        frame = pd.DataFrame(chunk.table).assign(**added)
        props = json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))
        geoms = shapely.to_geojson(chunk.geometry) if chunk.geometry is not None else [None] * len(props)
        for p, g in zip(props, geoms, strict=True):
            if not self._first:
                self._fh.write(",\n")
            self._first = False
            geometry = orjson.Fragment(g) if g is not None else None
            self._fh.write(orjson.dumps({"type": "Feature", "properties": p, "geometry": geometry}).decode())

    def close(self) -> None:
        if self.fmt == "geojson":
            if self._fh is None:
                self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (closed in close)
                self._fh.write('{"type": "FeatureCollection", "features": [\n')
            self._fh.write("\n]}\n")
        if self._fh is not None:
            self._fh.close()
        if self._parquet is not None:
            self._parquet.close()
