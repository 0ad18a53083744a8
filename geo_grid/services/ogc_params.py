"""OGC API – Features request parameters (services/ogc.py): CRS URIs and CURIEs (Part 2), `bbox` in the axis
order of its CRS, `datetime` instants and intervals, integers and `subdistrict`, each malformed value an
InvalidParameter (400); and the reprojection of output geometries to the CRS asked for."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import box, mapping, shape

from geo_grid import crs
from geo_grid.errors import InvalidParameter
from geo_grid.timeparse import to_utc

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
EPSG_4547 = "http://www.opengis.net/def/crs/EPSG/0/4547"
# URI -> the name pyproj knows it by. Storage is EPSG:4326 lon/lat, i.e. CRS84.
CRS_CODES = {CRS84: "OGC:CRS84", EPSG_4490: "EPSG:4490", EPSG_4547: "EPSG:4547"}
SUPPORTED_CRS = list(CRS_CODES)
STORAGE_CRS = CRS84
# Decimals of output coordinates: 7 for degrees (≈ 1 cm, as everywhere in the API), 3 for metres (mm).
DECIMALS = {CRS84: 7, EPSG_4490: 7, EPSG_4547: 3}
# A bbox in EPSG:4547 is a rectangle there; it is densified every 10 m before going to lon/lat, so that
# the curved image of its edges is followed to well under a millimetre.
DENSIFY_M = 10.0
MAX_VERTICES = 4000
METRIC_LIMIT_M = 1e8


@dataclass(frozen=True, slots=True)
class TimeFilter:
    """A parsed `datetime`: an instant (start == end) or a closed interval, open ends None."""

    start: datetime | None
    end: datetime | None
    instant: bool


def parse_crs(value: str | None, name: str = "crs") -> str:
    """A CRS URI this service supports (CRS84 when not given)."""
    if value is None or value == "":
        return CRS84
    uri = value.strip()
    if uri.startswith("[") and uri.endswith("]"):  # a safe CURIE: [EPSG:4547]
        curie = uri[1:-1]
        authority, _, code = curie.partition(":")
        uri = {"OGC": f"http://www.opengis.net/def/crs/OGC/1.3/{code}"}.get(
            authority, f"http://www.opengis.net/def/crs/{authority}/0/{code}"
        )
    if uri.startswith("https://"):
        uri = "http://" + uri[len("https://") :]
    if uri not in CRS_CODES:
        raise InvalidParameter(f"不支持的坐标系 {name}={value}", {"supported": SUPPORTED_CRS})
    return uri


def parse_int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise InvalidParameter(f"{name} 必须是整数，收到 {value!r}") from exc
    if not low <= number <= high:
        raise InvalidParameter(f"{name} 必须在 {low} 到 {high} 之间，收到 {number}")
    return number


def parse_bbox(value: str | None, bbox_crs: str | None) -> str | None:
    """`bbox` (4 numbers, or 6 with heights, in the axis order of `bbox-crs`) as a WKT polygon in the
    storage CRS (lon/lat), or None when no bbox is given."""
    source = parse_crs(bbox_crs, "bbox-crs")
    if value is None:
        if bbox_crs is not None:
            raise InvalidParameter("bbox-crs 只能与 bbox 一起使用")
        return None
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError as exc:
        raise InvalidParameter(f"bbox 必须是逗号分隔的 4 个（或 6 个）数，收到 {value!r}") from exc
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(v) for v in numbers):
        raise InvalidParameter(f"bbox 必须是逗号分隔的 4 个（或 6 个）有限数，收到 {value!r}")
    a0, b0, a1, b1 = numbers
    if a0 > a1 or b0 > b1:
        raise InvalidParameter("bbox 的最小值不能大于最大值（不支持跨越 180° 经线的范围）")
    if source == CRS84 and not (a0 >= -180 and a1 <= 180 and b0 >= -90 and b1 <= 90):
        raise InvalidParameter("CRS84 的 bbox 须在经度 -180…180、纬度 -90…90 之内")
    if source == EPSG_4490 and not (a0 >= -90 and a1 <= 90 and b0 >= -180 and b1 <= 180):
        raise InvalidParameter("EPSG:4490 的 bbox 按纬度、经度的顺序，须在纬度 -90…90、经度 -180…180 之内")
    rect = box(a0, b0, a1, b1)
    if source == EPSG_4547:
        if max(abs(v) for v in numbers) > METRIC_LIMIT_M:
            raise InvalidParameter(f"EPSG:4547 的 bbox 坐标须在 ±{METRIC_LIMIT_M:.0e} 米之内")
        # Every 10 m, but never more than MAX_VERTICES points along a huge box.
        step = max(DENSIFY_M, rect.length / MAX_VERTICES)
        rect = shapely.segmentize(rect, step)
    area = crs.reproject(rect, CRS_CODES[source], CRS_CODES[CRS84])
    coords = shapely.get_coordinates(area)
    if not np.isfinite(coords).all():
        raise InvalidParameter("bbox 无法换算到经纬度（超出坐标系的适用范围）")
    if not area.is_valid:  # a huge box far outside the projection's zone can fold over itself
        area = shapely.make_valid(area)
    return str(shapely.to_wkt(area, rounding_precision=-1))


def _instant(text: str) -> datetime:
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        return to_utc(datetime.fromisoformat(value))
    except ValueError as exc:
        raise InvalidParameter(f"datetime 不是 RFC 3339 时间：{text!r}") from exc


def parse_datetime(value: str | None) -> TimeFilter | None:
    """`datetime`: an instant, or an interval `start/end` with `..` (or nothing) for an open end."""
    if value is None:
        return None
    if "/" not in value:
        moment = _instant(value)
        return TimeFilter(moment, moment, True)
    first, _, second = value.partition("/")
    if "/" in second:
        raise InvalidParameter(f"datetime 区间只能有一个 '/'：{value!r}")
    start = None if first in ("", "..") else _instant(first)
    end = None if second in ("", "..") else _instant(second)
    if start is None and end is None:
        raise InvalidParameter("datetime 区间至少要有一端")
    if start is not None and end is not None and start > end:
        raise InvalidParameter("datetime 区间的开始晚于结束")
    return TimeFilter(start, end, False)


def parse_subdistrict(value: str | None) -> str | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) == 9):
        raise InvalidParameter(f"subdistrict 须为 9 位街道编码，收到 {value!r}")
    return value


def reproject(geometry: dict[str, Any] | None, target: str) -> dict[str, Any] | None:
    """A GeoJSON geometry from CRS84 to `target` (its axis order), rounded to DECIMALS[target]."""
    if geometry is None or target == CRS84:
        return geometry
    geom = crs.reproject(shape(geometry), CRS_CODES[CRS84], CRS_CODES[target])
    decimals = DECIMALS[target]
    rounded = shapely.transform(geom, lambda c: np.round(c, decimals))
    return dict(mapping(rounded))
