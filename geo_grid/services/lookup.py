"""Point → grid chain → people, answered from the in-memory directory (no database on the hot path).

The rule (see geo_grid/lookup.py): the micro-grid whose polygon covers the point wins, ties on shared
edges/vertices go to the smallest code; outside every grid the answer says so, with the nearest grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geo_grid import crs
from geo_grid.errors import InvalidCoordinates, InvalidInput, ServiceUnavailable
from geo_grid.services.directory import GridDirectory, GridInfo, PersonRole


@dataclass(frozen=True)
class Placement:
    """Where a WGS84 point falls: its micro-grid chain, or outside with the nearest grid."""

    lon: float
    lat: float
    micro: GridInfo | None
    tertiary: GridInfo | None
    community_code: str | None
    community_name: str | None
    outside: bool
    on_boundary: bool
    nearest: GridInfo | None = None
    distance_m: float | None = None


def check_coordinates(lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidCoordinates("lon and lat must be finite numbers")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise InvalidCoordinates(f"out of range: lon {lon} must be in [-180, 180], lat {lat} in [-90, 90]")


def to_wgs84(lon: float, lat: float, crs_name: str) -> tuple[float, float]:
    check_coordinates(lon, lat)
    try:
        return crs.to_wgs84(lon, lat, crs_name)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


def require(directory: GridDirectory | None) -> GridDirectory:
    if directory is None:
        raise ServiceUnavailable("no active boundaries are loaded yet (geo-grid load-sample)")
    return directory


def place(directory: GridDirectory, lon: float, lat: float) -> Placement:
    """Place a WGS84 point (already converted and checked)."""
    index = directory.index
    candidates = index.candidates(lon, lat)
    if not candidates:
        pos, distance = index.nearest(lon, lat)
        nearest = directory.grids.get(index.codes[pos]) if pos >= 0 else None
        return Placement(lon, lat, None, None, None, None, True, False, nearest, distance)
    micro, tertiary = directory.chain(index.codes[candidates[0]])
    return Placement(
        lon,
        lat,
        micro,
        tertiary,
        micro.community_code,
        directory.communities.get(micro.community_code),
        outside=False,
        on_boundary=len(candidates) > 1,
    )


@dataclass(frozen=True)
class BulkPlacement:
    """Where many WGS84 points fall, as columns (positions index `directory.index.codes`)."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    pos: NDArray[np.int32]  # covering micro-grid (smallest code on ties), -1 outside or NaN
    on_boundary: NDArray[np.bool_]  # several grids cover the point: the tie rule decided
    nearest: NDArray[np.int32]  # nearest micro-grid of a finite outside point, else -1
    distance_m: NDArray[np.float64]  # its distance in metres (EPSG:4547), NaN where not outside

    def __len__(self) -> int:
        return len(self.pos)


def place_many(directory: GridDirectory, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> BulkPlacement:
    """Place many WGS84 points in bulk: one vectorised pass for grids and ties, one for the nearest grid
    of the outside points (NaN points come back outside with no nearest grid)."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    index = directory.index
    pos, tie = index.locate_many_with_ties(lon, lat)
    away = np.flatnonzero((pos < 0) & np.isfinite(lon) & np.isfinite(lat))
    nearest = np.full(len(pos), -1, dtype=np.int32)
    distance = np.full(len(pos), np.nan)
    if len(away):
        nearest[away], distance[away] = index.nearest_many(lon[away], lat[away])
    return BulkPlacement(lon, lat, pos, tie, nearest, distance)


def responsible_people(directory: GridDirectory, placement: Placement) -> list[PersonRole]:
    """The micro-grid's team first (微网格长, 楼院长 …), then the tertiary grid's (网格长, 书记, 九员)."""
    out: list[PersonRole] = []
    for grid in (placement.micro, placement.tertiary):
        if grid is not None:
            out.extend(directory.people.get(grid.code, ()))
    return out
