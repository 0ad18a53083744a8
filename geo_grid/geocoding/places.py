"""Geometry of the places people name without a door plate: road centrelines and where two roads meet,
courtyard polygons, distances and offsets in metres. Built once per address book from rows the service
reads from the database; pure (shapely and the project's EPSG:4547 transform), no SQL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import shapely
from shapely.geometry import LineString, Point, shape
from shapely.ops import nearest_points, unary_union

from geo_grid.crs import from_metric, lonlat_to_metric, to_metric

# Two roads whose centrelines come this close meet (the sample's segments are drawn to touch; real
# centreline data may stop a few metres short of the crossing road).
MEET_TOLERANCE_M = 15.0
# Meeting points of one pair of roads closer than this are one crossing (a wide junction drawn twice).
SAME_CROSSING_M = 40.0
_M_PER_DEG_LAT = 110_574.0
_MEMO = 20_000
_M_PER_DEG_LON_EQ = 111_320.0


def metres_between(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Distance in metres (equirectangular; exact to well under 1 % across a subdistrict)."""
    k = math.cos(math.radians((lat1 + lat2) / 2)) * _M_PER_DEG_LON_EQ
    return math.hypot((lon2 - lon1) * k, (lat2 - lat1) * _M_PER_DEG_LAT)


def offset_point(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point `east_m` east and `north_m` north of (lon, lat)."""
    k = math.cos(math.radians(lat)) * _M_PER_DEG_LON_EQ
    return lon + east_m / k, lat + north_m / _M_PER_DEG_LAT


@dataclass(frozen=True, slots=True)
class SegmentLine:
    """One road segment (路段) as the database holds it: id, road name, WGS84 GeoJSON geometry."""

    segment_id: str
    road: str
    geometry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Meeting:
    """Where two roads meet (`points`, WGS84; several when they cross more than once) or, when they
    never meet, their nearest approach (one point midway, `gap_m` apart)."""

    roads: tuple[str, str]
    points: tuple[tuple[float, float], ...]
    meets: bool
    gap_m: float


def _wgs84_point(p: Point) -> tuple[float, float]:
    q = from_metric(p)
    return float(q.x), float(q.y)


class RoadNetwork:
    """Road centrelines (the union of each road's segments, EPSG:4547) and every pair's meeting."""

    def __init__(self, segments: Iterable[SegmentLine]) -> None:
        self.segments: tuple[SegmentLine, ...] = tuple(segments)
        metric = [to_metric(shape(s.geometry)) for s in self.segments]
        by_road: dict[str, list[Any]] = {}
        for seg, geom in zip(self.segments, metric, strict=True):
            by_road.setdefault(seg.road, []).append(geom)
        self.lines: dict[str, Any] = {road: unary_union(parts) for road, parts in by_road.items()}
        self._metric = metric
        self._tree = shapely.STRtree(metric) if metric else None
        # answers name a bounded set of points (places, crossings and their offsets): remembered
        self._nearest_memo: dict[
            tuple[float, float, float, tuple[str, ...]], tuple[str, str, float] | None
        ] = {}
        self.meetings: dict[frozenset[str], Meeting] = {}
        for a, b in combinations(sorted(self.lines), 2):
            self.meetings[frozenset((a, b))] = self._meet(a, b)

    @property
    def roads(self) -> tuple[str, ...]:
        return tuple(sorted(self.lines))

    def _meet(self, a: str, b: str) -> Meeting:
        la, lb = self.lines[a], self.lines[b]
        gap = float(la.distance(lb))
        if gap > MEET_TOLERANCE_M:
            pa, pb = nearest_points(la, lb)
            mid = Point((pa.x + pb.x) / 2, (pa.y + pb.y) / 2)
            return Meeting((a, b), (_wgs84_point(mid),), False, round(gap, 1))
        inter = la.intersection(lb)
        pts: list[Point] = [g for g in getattr(inter, "geoms", [inter]) if isinstance(g, Point)]
        if not pts:  # within the tolerance but not touching, or overlapping lines: the nearest approach
            pa, pb = nearest_points(la, lb)
            pts = [Point((pa.x + pb.x) / 2, (pa.y + pb.y) / 2)]
        clusters: list[list[Point]] = []
        for p in sorted(pts, key=lambda q: (q.x, q.y)):
            for c in clusters:
                if c[0].distance(p) <= SAME_CROSSING_M:
                    c.append(p)
                    break
            else:
                clusters.append([p])
        centres = [Point(sum(p.x for p in c) / len(c), sum(p.y for p in c) / len(c)) for c in clusters]
        return Meeting((a, b), tuple(_wgs84_point(p) for p in centres), True, round(gap, 1))

    def meeting(self, a: str, b: str) -> Meeting | None:
        return self.meetings.get(frozenset((a, b)))

    def nearest_segment(
        self, lon: float, lat: float, max_m: float, prefer: Sequence[str] = ()
    ) -> tuple[str, str, float] | None:
        """(segment_id, road, distance m) answering for a point: within `max_m`, a segment of a road in
        `prefer` first (the roads the caller named), else the nearest; ties → smallest segment_id."""
        if self._tree is None:
            return None
        key = (lon, lat, max_m, tuple(prefer))
        if key not in self._nearest_memo:
            if len(self._nearest_memo) >= _MEMO:
                self._nearest_memo.clear()
            self._nearest_memo[key] = self._nearest_segment(lon, lat, max_m, prefer)
        return self._nearest_memo[key]

    def _nearest_segment(
        self, lon: float, lat: float, max_m: float, prefer: Sequence[str]
    ) -> tuple[str, str, float] | None:
        assert self._tree is not None
        x, y = lonlat_to_metric(lon, lat)
        p = Point(float(x), float(y))
        near = self._tree.query(p, predicate="dwithin", distance=max_m)
        best: tuple[bool, float, str] | None = None
        for i in near:
            seg = self.segments[int(i)]
            d = float(self._metric[int(i)].distance(p))
            key = (seg.road not in prefer, d, seg.segment_id)
            if best is None or key < best:
                best = key
        if best is None:
            return None
        seg_id = best[2]
        road = next(s.road for s in self.segments if s.segment_id == seg_id)
        return seg_id, road, round(best[1], 1)


@dataclass(frozen=True, slots=True)
class CourtyardShape:
    courtyard_id: str
    name: str
    geometry: dict[str, Any]


class CourtyardCover:
    """Which courtyard polygon covers a point (boundary included; smallest courtyard_id on overlaps)."""

    def __init__(self, courtyards: Iterable[CourtyardShape]) -> None:
        self.courtyards = tuple(courtyards)
        geoms = [shape(c.geometry) for c in self.courtyards]
        self._tree = shapely.STRtree(geoms) if geoms else None

    def covering(self, lon: float, lat: float) -> tuple[str, str] | None:
        if self._tree is None:
            return None
        hits = self._tree.query(Point(lon, lat), predicate="covered_by")
        found = sorted((self.courtyards[int(i)].courtyard_id, self.courtyards[int(i)].name) for i in hits)
        return found[0] if found else None


def radius_m(geometry: dict[str, Any], lon: float, lat: float) -> float:
    """How far a place's geometry reaches from its point (lon, lat), in metres (0 for a point)."""
    geom = shape(geometry)
    if geom.geom_type == "Point":
        return 0.0
    coords = shapely.get_coordinates(geom)
    return max((metres_between(lon, lat, float(x), float(y)) for x, y in coords), default=0.0)


def line_from(coords: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """A GeoJSON LineString from WGS84 (lon, lat) pairs (tests and benchmarks build networks so)."""
    return dict(shapely.geometry.mapping(LineString(coords)))
