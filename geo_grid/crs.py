"""Coordinate systems: WGS84 / CGCS2000 storage, GCJ-02 / BD-09 map-app offsets, metric EPSG:4547.

Storage is EPSG:4326 (WGS84 lon/lat). CGCS2000 (EPSG:4490) is accepted as equal to WGS84: the two
datums differ by centimetres, far below the accuracy of any boundary or GPS fix in this project, so no
datum shift is applied (pyproj's own 4326<->4490 transformation is a null "ballpark" one as well).

Areas and distances are computed in EPSG:4547 (CGCS2000 / 3-degree Gauss-Kruger CM 114E): 未来路街道 lies at
lon 113.70, 0.3 degrees from the central meridian, so the scale error is ~1e-5 (1 cm per km).

GCJ-02 (高德/腾讯/微信) and BD-09 (百度) are the obfuscated systems of Chinese map apps, ≈ 500 m off WGS84
in Zhengzhou. The formulas below are the standard public ones (Krasovsky ellipsoid constants); the
forward direction wgs84->gcj02 is exact by definition, the inverse is solved iteratively because no
closed form exists (the usual one-step inverse is only good to a few metres).
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any, overload

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer

STORAGE_EPSG = 4326
CGCS2000_EPSG = 4490
METRIC_EPSG = 4547

CRS_NAMES = ("wgs84", "cgcs2000", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 algorithm.
_A = 6378245.0
_EE = 0.00669342162296594323
# BD-09 rotates/scales GCJ-02 with x_pi = pi*3000/180. eviltransform (issue #43) used plain pi in
# bd09->gcj02, which moves results by ~10-40 m; we use the correct constant in both directions.
_X_PI = math.pi * 3000.0 / 180.0

# Stop the iterative inverses when the last correction is below this (degrees, ~0.1 mm).
_INVERSE_TOL_DEG = 1e-9
_INVERSE_MAX_ITER = 30

FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------------------------- metric CRS


@cache
def metric_transformer() -> Transformer:
    """WGS84 lon/lat -> EPSG:4547 easting/northing (metres), cached (Transformers are costly to build)."""
    return Transformer.from_crs(STORAGE_EPSG, METRIC_EPSG, always_xy=True)


@cache
def storage_transformer() -> Transformer:
    """EPSG:4547 easting/northing -> WGS84 lon/lat, cached."""
    return Transformer.from_crs(METRIC_EPSG, STORAGE_EPSG, always_xy=True)


def _apply(transformer: Transformer, coords: FloatArray) -> FloatArray:
    x, y = transformer.transform(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def to_metric(geom: Any) -> Any:
    """Project a shapely geometry (or an array of them) from WGS84 to EPSG:4547 metres.

    Only vertices are projected; at grid scale (≈ 100 m edges) the curvature of a projected straight
    lon/lat edge is far below a millimetre.
    """
    return shapely.transform(geom, lambda c: _apply(metric_transformer(), c))


def from_metric(geom: Any) -> Any:
    """Project a shapely geometry (or an array of them) from EPSG:4547 back to WGS84 lon/lat."""
    return shapely.transform(geom, lambda c: _apply(storage_transformer(), c))


def lonlat_to_metric(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Vectorised WGS84 lon/lat -> EPSG:4547 (x, y) metres."""
    return metric_transformer().transform(lon, lat)


# EPSG:4547 is a transverse Mercator for the zone around 114E: its scale error grows with the square of the
# distance from the central meridian and it breaks down altogether 90 degrees away (infinite at lon 15E
# on the equator, folded back onto the zone beyond). Far from the grids, distances are measured on the
# CGCS2000 ellipsoid (GRS80; identical to within 0.1 mm of semi-minor axis) instead, in an azimuthal
# equidistant projection centred on the grids: distances from its centre are exact geodesic distances,
# and for a point far away the grids (a few km across) sit so close to the centre that the planar distance
# to the nearest grid edge is the geodesic one to within metres; it stays finite everywhere on Earth
# (the antipode of the centre included).


@cache
def far_transformer(lon0: float, lat0: float) -> Transformer:
    """WGS84 lon/lat -> azimuthal equidistant metres centred on (lon0, lat0), GRS80 (= CGCS2000)."""
    aeqd = f"+proj=aeqd +lat_0={lat0!r} +lon_0={lon0!r} +ellps=GRS80 +units=m +no_defs"
    return Transformer.from_crs(STORAGE_EPSG, aeqd, always_xy=True)


def to_far_metric(geom: Any, lon0: float, lat0: float) -> Any:
    """Project a shapely geometry (or an array of them) to `far_transformer(lon0, lat0)` metres."""
    return shapely.transform(geom, lambda c: _apply(far_transformer(lon0, lat0), c))


def lonlat_to_far_metric(lon: ArrayLike, lat: ArrayLike, lon0: float, lat0: float) -> tuple[Any, Any]:
    """Vectorised WGS84 lon/lat -> azimuthal equidistant (x, y) metres centred on (lon0, lat0)."""
    return far_transformer(lon0, lat0).transform(lon, lat)


# ------------------------------------------------------------------------------ GCJ-02 and BD-09


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where the GCJ-02 offset is not applied (the customary rough bounding box of China)."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    return (lon_a < 72.004) | (lon_a > 137.8347) | (lat_a < 0.8293) | (lat_a > 55.8271)


def _gcj_delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS84 (degrees) at a WGS84 position; zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    six_x = np.sin(6.0 * x * math.pi)
    two_x = np.sin(2.0 * x * math.pi)
    common = (20.0 * six_x + 20.0 * two_x) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    dlat += common
    dlat += (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * math.pi) + 320.0 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    dlon += common
    dlon += (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * math.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * math.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Exact forward GCJ-02 obfuscation (the definition of GCJ-02)."""
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inverse of wgs84_to_gcj02 by fixed-point iteration, to < 1e-9 degrees.

    The offset varies by < 1e-4 of a degree per degree, so w <- w - (f(w) - g) contracts by ~1e-4 per
    step: the usual one-step inverse (w = g - delta(g)) is off by metres, 2-3 iterations reach 1e-9°.
    """
    w_lon = lon.copy()
    w_lat = lat.copy()
    for _ in range(_INVERSE_MAX_ITER):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon = f_lon - lon
        e_lat = f_lat - lat
        w_lon = w_lon - e_lon
        w_lat = w_lat - e_lat
        # NaN compares False, so NaN inputs do not prevent convergence.
        if not (np.any(np.abs(e_lon) > _INVERSE_TOL_DEG) or np.any(np.abs(e_lat) > _INVERSE_TOL_DEG)):
            break
    return w_lon, w_lat


def gcj02_to_bd09(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Forward BD-09 (Baidu applies it everywhere, so there is no out-of-China case here)."""
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inverse of gcj02_to_bd09: the standard closed formula (approximate), refined to < 1e-9 degrees."""
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    g_lon = z * np.cos(theta)
    g_lat = z * np.sin(theta)
    for _ in range(_INVERSE_MAX_ITER):
        b_lon, b_lat = gcj02_to_bd09(g_lon, g_lat)
        e_lon = b_lon - lon
        e_lat = b_lat - lat
        g_lon = g_lon - e_lon
        g_lat = g_lat - e_lat
        if not (np.any(np.abs(e_lon) > _INVERSE_TOL_DEG) or np.any(np.abs(e_lat) > _INVERSE_TOL_DEG)):
            break
    return g_lon, g_lat


# ------------------------------------------------------------------------------------ public API


def normalize_crs(crs: str) -> str:
    """Return the canonical crs name or raise ValueError (the API turns it into a 422)."""
    name = crs.strip().lower() if isinstance(crs, str) else crs
    if name not in CRS_NAMES:
        raise ValueError(f"unknown crs {crs!r}: expected one of {', '.join(CRS_NAMES)}")
    return str(name)


@overload
def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]: ...
@overload
def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> tuple[Any, Any]: ...
def to_wgs84(lon: Any, lat: Any, crs: str) -> tuple[Any, Any]:
    """Convert lon/lat given in `crs` (one of CRS_NAMES) to WGS84. Scalars in -> floats out."""
    name = normalize_crs(crs)
    x, y, scalar = _as_arrays(lon, lat)
    if name == "gcj02":
        x, y = gcj02_to_wgs84(x, y)
    elif name == "bd09":
        x, y = _on_earth(*gcj02_to_wgs84(*bd09_to_gcj02(x, y)))
    return _as_output(x, y, scalar)


@overload
def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]: ...
@overload
def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> tuple[Any, Any]: ...
def from_wgs84(lon: Any, lat: Any, crs: str) -> tuple[Any, Any]:
    """Convert WGS84 lon/lat to `crs`, e.g. to draw overlays on a GCJ-02 (高德) basemap."""
    name = normalize_crs(crs)
    x, y, scalar = _as_arrays(lon, lat)
    if name == "gcj02":
        x, y = wgs84_to_gcj02(x, y)
    elif name == "bd09":
        x, y = _on_earth(*gcj02_to_bd09(*wgs84_to_gcj02(x, y)))
    return _as_output(x, y, scalar)


def _on_earth(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """BD-09 shifts every point ≈ 0.006° (Baidu applies it worldwide), so near a pole or the antimeridian
    the result leaves the lon/lat ranges: wrap longitude into [-180, 180] and stop latitude at the pole."""
    wrapped = np.where(np.abs(x) > 180.0, (x + 180.0) % 360.0 - 180.0, x)
    return wrapped, np.clip(y, -90.0, 90.0)


def _as_arrays(lon: Any, lat: Any) -> tuple[FloatArray, FloatArray, bool]:
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"lon and lat shapes differ: {x.shape} != {y.shape}")
    # Copy so that callers never see their input arrays aliased by the identity conversions.
    return x.copy(), y.copy(), x.ndim == 0


def _as_output(x: FloatArray, y: FloatArray, scalar: bool) -> tuple[Any, Any]:
    if scalar:
        return float(x), float(y)
    return x, y


# ------------------------------------------------------- OGC API – Features CRSs (authority axis order)
# OGC API – Features Part 2 writes coordinates in the axis order the CRS defines: CRS84 lon, lat; EPSG:4490
# lat, lon; EPSG:4547 northing, easting. These transformers keep that order (no always_xy). CRS84 <-> 4490
# is pyproj's null "ballpark" transformation, as above: only the axes swap.


@cache
def authority_transformer(source: str, target: str) -> Transformer:
    """`source` -> `target` (e.g. "OGC:CRS84", "EPSG:4547") in each CRS's authority axis order, cached."""
    return Transformer.from_crs(source, target)


def reproject(geom: Any, source: str, target: str) -> Any:
    """A shapely geometry (or an array of them) from `source` to `target`, authority axis order."""
    if source == target:
        return geom
    return shapely.transform(geom, lambda c: _apply(authority_transformer(source, target), c))
