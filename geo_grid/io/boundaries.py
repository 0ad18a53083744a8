"""Boundary files in and out: GeoJSON, GeoPackage and zipped Shapefile (geopandas/pyogrio).

Reading is all-or-nothing: a feature that cannot become a grid (no geometry, not a polygon, no or a
duplicate code, no parent) raises ImportFailed naming the feature, and nothing is returned. A geometry
that reads but is invalid (a self-intersecting ring) is returned as is: the draft keeps it and the
validation report shows it. Files are reprojected from their declared CRS to EPSG:4326; GCJ-02/BD-09
(which no file can declare) are shifted with geo_grid.crs.to_wgs84 when the user says so.

Files are opened through geo_grid.io.uploads: only these three formats, checked by content, with the GDAL
driver named; a VRT, a `crs` link, a zip with paths or a zip bomb is refused before GDAL sees it.
"""

from __future__ import annotations

import logging
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geo_grid import crs
from geo_grid.errors import GeoGridError, ImportFailed, InvalidInput, UnsupportedFormat
from geo_grid.io import uploads

if TYPE_CHECKING:  # geopandas, pandas and pyogrio are imported when a file is read or written
    import geopandas as gpd

log = logging.getLogger(__name__)

FORMATS = ("geojson", "gpkg", "shp")
EXPORT_FIELDS = ("code", "name", "level", "parent_code", "community_code")
# Shapefile field names are at most 10 characters: parent_code/community_code come back truncated.
SHAPEFILE_ALIASES = {"parent_cod": "parent_code", "community_": "community_code"}
CODE_LENGTH = {"tertiary": 15, "micro": 18}
PARENT_LENGTH = {"tertiary": 12, "micro": 15}


@dataclass
class ImportedLayer:
    """Grids read from a file, in WGS84, ready to replace one level of a draft."""

    level: str
    grids: list[dict[str, Any]]  # code, name, parent_code, geom (shapely MultiPolygon)
    source_crs: str
    shifted_from: str | None = None
    notes: list[str] = field(default_factory=list)


def _feature_label(i: int, code: Any) -> str:
    return f"feature #{i + 1}" + (f" (code {code!r})" if code not in (None, "") else "")


def _text(value: Any) -> str | None:
    import pandas as pd  # loaded already: the value comes from a frame read_frame returned

    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a numeric id column read as float (nc_id 1.0 → "1")
    out = str(value).strip()
    return out or None


def read_frame(path: Path, name: str | None = None, limits: uploads.Limits | None = None) -> gpd.GeoDataFrame:
    """Read a GeoJSON, GeoPackage or zipped Shapefile (a zip may instead hold one .geojson/.gpkg).

    The content is checked first (geo_grid.io.uploads: anything else, a VRT, a zip bomb or a zip with
    paths is refused) and GDAL is given the driver; a zip is unpacked into a private temporary directory
    removed before returning. `name` is how messages call the file (default: its own name); GDAL's own
    text, which names server paths, is logged, never put in the error."""
    import geopandas as gpd
    import pyogrio

    name = name or uploads.display_name(path.name)
    with tempfile.TemporaryDirectory(prefix="geo_grid_read_") as tmp:
        opened = uploads.prepare(path, Path(tmp), name, limits)
        label = uploads.FORMAT_LABELS[opened.fmt]
        try:
            driver = pyogrio.read_info(opened.gdal_path).get("driver")
            if driver != opened.driver:
                raise UnsupportedFormat(f"{name}：内容不是 {label}。{uploads.ACCEPTED}。")
            return gpd.read_file(opened.gdal_path, engine="pyogrio")
        except GeoGridError:
            raise
        except Exception as exc:  # pyogrio/GDAL errors carry paths and GDAL's wording: log, do not echo
            log.warning("cannot read %s upload %r: %s: %s", label, name, type(exc).__name__, exc)
            what = next(
                (why for kind, why in _gdal_failures() if isinstance(exc, kind)), "文件损坏或内容不完整"
            )
            raise ImportFailed(
                f"{name}：无法按 {label} 读取（{what}）；未导入任何内容", {"format": opened.fmt}
            ) from None


def _gdal_failures() -> tuple[tuple[type[BaseException], str], ...]:
    """The GDAL failures a message names (pyogrio's errors), else "文件损坏或内容不完整"."""
    import pyogrio.errors

    return (
        (pyogrio.errors.FieldError, "有字段的值无法读取"),
        (pyogrio.errors.GeometryError, "有要素的几何无法读取"),
        (pyogrio.errors.CRSError, "坐标系声明无法识别"),
    )


UNKNOWN_CRS = "无法识别的坐标系（--crs）：请用 wgs84、cgcs2000、gcj02、bd09 或 EPSG:<编号>"
_EPSG = re.compile(r"^epsg:\d{1,6}$", re.IGNORECASE)


def _to_wgs84(frame: gpd.GeoDataFrame, user_crs: str | None) -> tuple[gpd.GeoDataFrame, str, str | None]:
    """Reproject to EPSG:4326; `user_crs` is wgs84|cgcs2000|gcj02|bd09 or an EPSG code for an undeclared CRS."""
    shift = None
    if user_crs and user_crs.lower() in crs.CRS_NAMES:
        shift = crs.normalize_crs(user_crs)
        if frame.crs is None:
            frame = frame.set_crs(4326)
    elif user_crs:
        if not _EPSG.match(user_crs.strip()):
            # Only a code: PROJ would also take a file name (+init=/path) or a URL for a CRS.
            raise InvalidInput(UNKNOWN_CRS)
        try:
            frame = frame.set_crs(user_crs.strip(), allow_override=True)
        except Exception as exc:
            raise InvalidInput(UNKNOWN_CRS) from exc
    if frame.crs is None:
        # RFC 7946: GeoJSON without a declared CRS is WGS84 lon/lat; anything else must say what it is.
        bounds = frame.total_bounds
        if not (np.all(np.abs(bounds[[0, 2]]) <= 180) and np.all(np.abs(bounds[[1, 3]]) <= 90)):
            raise ImportFailed(
                "the file declares no CRS and its coordinates are not lon/lat: pass --crs EPSG:<n>"
            )
        frame = frame.set_crs(4326)
    source = frame.crs.to_string()
    if frame.crs.to_epsg() not in (4326, 4490):  # CGCS2000 is taken as WGS84 (see geo_grid.crs)
        frame = frame.to_crs(4326)
    if shift in ("gcj02", "bd09"):
        frame = frame.set_geometry(
            shapely.transform(
                frame.geometry.values, lambda c: np.column_stack(crs.to_wgs84(c[:, 0], c[:, 1], shift))
            )
        )
    return frame, source, shift if shift in ("gcj02", "bd09") else None


def read_layer(
    path: Path,
    level: str,
    code_field: str = "code",
    name_field: str = "name",
    parent_field: str | None = None,
    parent_code: str | None = None,
    user_crs: str | None = None,
    source_name: str | None = None,
    limits: uploads.Limits | None = None,
) -> ImportedLayer:
    """Read a boundary file into grids of `level`; the parent of each feature comes from `parent_field`,
    else the constant `parent_code`, else the hierarchical code itself (its first 15 or 12 digits).
    `source_name` is how messages call the file (an upload's own name; default the file's name)."""
    if level not in CODE_LENGTH:
        raise InvalidInput(f"--level must be micro or tertiary, not {level!r}")
    name = source_name or uploads.display_name(path.name)
    frame = read_frame(path, name, limits).rename(columns=SHAPEFILE_ALIASES)
    if code_field not in frame.columns:
        raise ImportFailed(f"{name}: no field {code_field!r} (fields: {', '.join(map(str, frame.columns))})")
    if parent_field is None and "parent_code" in frame.columns and parent_code is None:
        parent_field = "parent_code"  # our own exports carry it
    if parent_field and parent_field not in frame.columns:
        raise ImportFailed(f"{name}: no field {parent_field!r} for the parent code")
    if len(frame) == 0:
        raise ImportFailed(f"{name}: holds no features")
    frame, source, shifted = _to_wgs84(frame, user_crs)
    grids: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(frame.itertuples(index=False)):
        rec = row._asdict()
        code = _text(rec.get(code_field))
        label = _feature_label(i, code)
        geom = rec.get("geometry")
        if code is None:
            raise ImportFailed(f"{name}: {label} has no {code_field!r}; nothing was imported")
        if code in seen:
            raise ImportFailed(
                f"{name}: {label} repeats the code of feature #{seen[code] + 1}; nothing was imported",
                {"feature": i + 1, "code": code},
            )
        seen[code] = i
        if geom is None or geom.is_empty:
            raise ImportFailed(
                f"{name}: {label} has no geometry; nothing was imported",
                {"feature": i + 1, "code": code},
            )
        if not isinstance(geom, Polygon | MultiPolygon):
            raise ImportFailed(
                f"{name}: {label} is a {geom.geom_type}, not a polygon; nothing was imported",
                {"feature": i + 1, "code": code},
            )
        parent = _text(rec.get(parent_field)) if parent_field else None
        parent = parent or parent_code
        if parent is None and len(code) == CODE_LENGTH[level] and code.isdigit():
            parent = code[: PARENT_LENGTH[level]]
        if parent is None:
            raise ImportFailed(
                f"{name}: {label} has no parent code: give --parent-field or --parent-code",
                {"feature": i + 1, "code": code},
            )
        grids.append(
            {
                "code": code,
                "name": _text(rec.get(name_field)) or code,
                "parent_code": parent,
                "geom": geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom]),
            }
        )
    return ImportedLayer(level, grids, source, shifted)


def write_layer(grids: list[dict[str, Any]], fmt: str, path: Path) -> Path:
    """Write grids (dicts with EXPORT_FIELDS and a WGS84 `geom`) as GeoJSON, GeoPackage or zipped Shapefile."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}")
    import geopandas as gpd

    frame = gpd.GeoDataFrame(
        {k: [g[k] for g in grids] for k in EXPORT_FIELDS}, geometry=[g["geom"] for g in grids], crs=4326
    )
    if fmt == "geojson":
        # Full precision (GDAL's default), so that an export imports back bit for bit.
        frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    elif fmt == "gpkg":
        frame.to_file(path, driver="GPKG", layer="grids", engine="pyogrio")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            shp = Path(tmp) / "grids.shp"
            short = {long: short for short, long in SHAPEFILE_ALIASES.items()}
            frame.rename(columns=short).to_file(
                shp, driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8"
            )
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
                for part in sorted(Path(tmp).iterdir()):
                    zf.write(part, part.name)
    return path


MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "shp": "application/zip",
}
SUFFIXES = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".zip"}
