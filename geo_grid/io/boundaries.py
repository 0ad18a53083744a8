"""Boundary files in and out: GeoJSON, GeoPackage and zipped Shapefile (geopandas/pyogrio).

Reading is all-or-nothing: a feature that cannot become a grid (no geometry, not a polygon, no or a
duplicate code, no parent) raises ImportFailed naming the feature, and nothing is returned. A geometry
that reads but is invalid (a self-intersecting ring) is returned as is: the draft keeps it and the
validation report shows it. Files are reprojected from their declared CRS to EPSG:4326; GCJ-02/BD-09
(which no file can declare) are shifted with geo_grid.crs.to_wgs84 when the user says so.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geo_grid import crs
from geo_grid.errors import ImportFailed, InvalidInput

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
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a numeric id column read as float (nc_id 1.0 → "1")
    out = str(value).strip()
    return out or None


def read_frame(path: Path) -> gpd.GeoDataFrame:
    """Read any supported file; a .zip is searched for its single Shapefile / GeoPackage / GeoJSON."""
    try:
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as zf:
                inner = [
                    n for n in zf.namelist() if n.lower().endswith((".shp", ".gpkg", ".geojson", ".json"))
                ]
            if len(inner) != 1:
                raise ImportFailed(
                    f"{path.name}: a zip must hold exactly one .shp/.gpkg/.geojson, found {inner}"
                )
            return gpd.read_file(f"/vsizip/{path.resolve()}/{inner[0]}")
        return gpd.read_file(path)
    except ImportFailed:
        raise
    except Exception as exc:  # pyogrio raises many kinds; the user needs the file name and the reason
        raise ImportFailed(
            f"{path.name}: cannot be read as GeoJSON, GeoPackage or zipped Shapefile: {exc}"
        ) from exc


def _to_wgs84(frame: gpd.GeoDataFrame, user_crs: str | None) -> tuple[gpd.GeoDataFrame, str, str | None]:
    """Reproject to EPSG:4326; `user_crs` is wgs84|cgcs2000|gcj02|bd09 or an EPSG code for an undeclared CRS."""
    shift = None
    if user_crs and user_crs.lower() in crs.CRS_NAMES:
        shift = crs.normalize_crs(user_crs)
        if frame.crs is None:
            frame = frame.set_crs(4326)
    elif user_crs:
        try:
            frame = frame.set_crs(user_crs, allow_override=True)
        except Exception as exc:
            raise InvalidInput(
                f"unknown --crs {user_crs!r}: use wgs84, cgcs2000, gcj02, bd09 or EPSG:<n>"
            ) from exc
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
) -> ImportedLayer:
    """Read a boundary file into grids of `level`; the parent of each feature comes from `parent_field`,
    else the constant `parent_code`, else the hierarchical code itself (its first 15 or 12 digits)."""
    if level not in CODE_LENGTH:
        raise InvalidInput(f"--level must be micro or tertiary, not {level!r}")
    frame = read_frame(path).rename(columns=SHAPEFILE_ALIASES)
    if code_field not in frame.columns:
        raise ImportFailed(
            f"{path.name}: no field {code_field!r} (fields: {', '.join(map(str, frame.columns))})"
        )
    if parent_field is None and "parent_code" in frame.columns and parent_code is None:
        parent_field = "parent_code"  # our own exports carry it
    if parent_field and parent_field not in frame.columns:
        raise ImportFailed(f"{path.name}: no field {parent_field!r} for the parent code")
    if len(frame) == 0:
        raise ImportFailed(f"{path.name}: holds no features")
    frame, source, shifted = _to_wgs84(frame, user_crs)
    grids: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(frame.itertuples(index=False)):
        rec = row._asdict()
        code = _text(rec.get(code_field))
        label = _feature_label(i, code)
        geom = rec.get("geometry")
        if code is None:
            raise ImportFailed(f"{path.name}: {label} has no {code_field!r}; nothing was imported")
        if code in seen:
            raise ImportFailed(
                f"{path.name}: {label} repeats the code of feature #{seen[code] + 1}; nothing was imported",
                {"feature": i + 1, "code": code},
            )
        seen[code] = i
        if geom is None or geom.is_empty:
            raise ImportFailed(
                f"{path.name}: {label} has no geometry; nothing was imported",
                {"feature": i + 1, "code": code},
            )
        if not isinstance(geom, Polygon | MultiPolygon):
            raise ImportFailed(
                f"{path.name}: {label} is a {geom.geom_type}, not a polygon; nothing was imported",
                {"feature": i + 1, "code": code},
            )
        parent = _text(rec.get(parent_field)) if parent_field else None
        parent = parent or parent_code
        if parent is None and len(code) == CODE_LENGTH[level] and code.isdigit():
            parent = code[: PARENT_LENGTH[level]]
        if parent is None:
            raise ImportFailed(
                f"{path.name}: {label} has no parent code: give --parent-field or --parent-code",
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
