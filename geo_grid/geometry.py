"""Pure shapely boundary checks and edits: validity, containment, overlaps, gaps, slivers, split, merge and
moving a shared boundary. No database, no web: geometries in, geometries and figures out.

Coordinates are whatever the caller passes; the edit functions work on stored WGS84 lon/lat (so shared
vertices stay bit-identical), the measuring functions expect EPSG:4547 metres (see geo_grid.crs.to_metric).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import GeometryCollection, LineString, MultiLineString, MultiPolygon, Polygon, shape
from shapely.ops import split as split_op

# Overlay results below this (m²) are floating-point noise of the overlay, not a planner's gap or
# overlap: sample micro-grids are ≈ 8,000 m², a real 1 m² sliver is still reported as a "sliver".
NOISE_M2 = 1.0
# Parts of a grid smaller than this are slivers (a warning): no micro-grid is meant to be smaller.
SLIVER_M2 = 100.0

_REASON = re.compile(r"^(?P<reason>[^\[]*)\[(?P<x>[-0-9.eE+]+) (?P<y>[-0-9.eE+]+)\]")


@dataclass(frozen=True)
class Validity:
    """Result of a validity check: `reason` and `location` ([lon, lat]) are set when invalid."""

    valid: bool
    reason: str | None = None
    location: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "reason": self.reason,
            "location": list(self.location) if self.location else None,
        }


def validity(geom: Any) -> Validity:
    """GEOS validity with its reason and the offending point (e.g. 'Ring Self-intersection' at x y)."""
    if geom is None or geom.is_empty:
        return Validity(False, "Empty geometry", None)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return Validity(False, f"Not a polygon ({geom.geom_type})", None)
    text = shapely.is_valid_reason(geom)
    if text == "Valid Geometry":
        return Validity(True)
    match = _REASON.match(text)
    if match:
        return Validity(False, match["reason"].strip(), (float(match["x"]), float(match["y"])))
    return Validity(False, text, None)


def to_multipolygon(geom: Any) -> MultiPolygon:
    """Polygon/MultiPolygon (or the polygonal parts of a collection) as a MultiPolygon; ValueError else."""
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, GeometryCollection):
        parts: list[Polygon] = []
        for g in geom.geoms:
            if isinstance(g, Polygon | MultiPolygon):
                parts.extend(to_multipolygon(g).geoms)
        if parts:
            return MultiPolygon(parts)
    raise ValueError(
        f"expected a Polygon or MultiPolygon, got {getattr(geom, 'geom_type', type(geom).__name__)}"
    )


def polygonal(geom: Any) -> Any:
    """Only the areal part of an overlay result (drops the lines and points overlays leave behind)."""
    if geom is None or geom.is_empty:
        return Polygon()
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    if isinstance(geom, GeometryCollection):
        parts = [g for g in geom.geoms if isinstance(g, Polygon | MultiPolygon) and not g.is_empty]
        return shapely.union_all(parts) if parts else Polygon()
    return Polygon()


def repaired(geom: Any) -> Any:
    """A valid polygonal version of `geom` for measuring (invalid input is reported separately)."""
    return geom if geom.is_valid else polygonal(shapely.make_valid(geom))


def parts(geom: Any) -> list[Polygon]:
    geom = polygonal(geom)
    if geom.is_empty:
        return []
    return list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]


# ------------------------------------------------------------------------- measuring (metric input)


@dataclass(frozen=True)
class Piece:
    """A measured problem area: the pair or grid it concerns, its area (m²) and geometry (metric)."""

    codes: tuple[str, ...]
    area_m2: float
    geom: Any


def outside(child: Any, parent: Any, min_m2: float = NOISE_M2) -> Piece | None:
    """The part of `child` outside `parent`, if it is more than noise."""
    rest = polygonal(repaired(child).difference(repaired(parent)))
    return Piece((), rest.area, rest) if rest.area >= min_m2 else None


def overlaps(codes: Sequence[str], geoms: Sequence[Any], min_m2: float = NOISE_M2) -> list[Piece]:
    """Every pair of `geoms` whose interiors overlap by at least `min_m2` (STRtree candidate pairs)."""
    fixed = [repaired(g) for g in geoms]
    tree = shapely.STRtree(fixed)
    left, right = tree.query(fixed, predicate="intersects")
    out: list[Piece] = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        inter = polygonal(fixed[i].intersection(fixed[j]))
        if inter.area >= min_m2:
            out.append(Piece((codes[i], codes[j]), inter.area, inter))
    return out


def gaps(parent: Any, children: Sequence[Any], min_m2: float = NOISE_M2) -> list[Piece]:
    """Parts of `parent` covered by none of `children`, each at least `min_m2`."""
    covered = shapely.union_all([repaired(c) for c in children]) if children else Polygon()
    rest = polygonal(repaired(parent).difference(covered))
    return [Piece((), p.area, p) for p in parts(rest) if p.area >= min_m2]


def slivers(geom: Any, max_m2: float = SLIVER_M2) -> list[Piece]:
    """Polygon parts of `geom` smaller than `max_m2` (a whole tiny grid, or a stray fragment of one)."""
    return [Piece((), p.area, p) for p in parts(repaired(geom)) if p.area < max_m2]


# ------------------------------------------------------------------------------ edits (lon/lat input)


class EditError(ValueError):
    """An edit that cannot be done as asked (the service turns it into InvalidBoundary)."""


def split_by_line(geom: Any, line: Any) -> tuple[MultiPolygon, MultiPolygon]:
    """Split a polygon by a line that crosses it into exactly two pieces, the larger first."""
    if not isinstance(line, LineString | MultiLineString):
        raise EditError(f"a split needs a LineString, got {getattr(line, 'geom_type', type(line).__name__)}")
    pieces = [p for p in split_op(geom, line).geoms if isinstance(p, Polygon) and not p.is_empty]
    if len(pieces) < 2:
        raise EditError("the line does not cut the grid in two: it must cross the grid from edge to edge")
    if len(pieces) > 2:
        raise EditError(
            f"the line cuts the grid into {len(pieces)} pieces; draw a line that makes exactly two"
        )
    a, b = sorted(pieces, key=lambda p: p.area, reverse=True)
    return MultiPolygon([a]), MultiPolygon([b])


def shared_edge_length(a: Any, b: Any) -> float:
    """Length of the boundary two polygons share (0 when they only touch at points or not at all)."""
    inter = a.boundary.intersection(b.boundary)
    return float(inter.length) if not inter.is_empty else 0.0


def merge(geoms: Sequence[Any]) -> MultiPolygon:
    """Union of grids that form one edge-connected group; EditError when one is not adjacent."""
    if len(geoms) < 2:
        raise EditError("a merge needs at least two grids")
    joined = {0}
    frontier = [0]
    while frontier:
        i = frontier.pop()
        for j in range(len(geoms)):
            if j not in joined and shared_edge_length(geoms[i], geoms[j]) > 0:
                joined.add(j)
                frontier.append(j)
    if len(joined) != len(geoms):
        missing = sorted(set(range(len(geoms))) - joined)
        raise EditError(f"not adjacent (no shared edge) to the others: positions {missing}")
    return to_multipolygon(polygonal(shapely.union_all(list(geoms))))


@dataclass(frozen=True)
class BoundaryMove:
    """Outcome of moving a grid's boundary: the neighbours' new shapes, what was gained and left over."""

    neighbours: dict[str, MultiPolygon]  # changed neighbours only
    swallowed: list[str]  # neighbours that would vanish entirely
    gained: Any  # area taken from neighbours (lon/lat)
    released: Any  # area the grid gave up (lon/lat); a gap unless assigned
    assigned_to: str | None


def move_shared_boundary(
    old: Any, new: Any, neighbours: Mapping[str, Any], release_to: str | None = None
) -> BoundaryMove:
    """The grid takes `new`; each neighbour gives up exactly its part of `new`, and the area the grid
    releases (`old` minus `new`) goes to `release_to` when named, else it is left as a gap."""
    gained_parts = []
    changed: dict[str, MultiPolygon] = {}
    swallowed: list[str] = []
    for code, geom in neighbours.items():
        if not geom.intersects(new):
            continue
        taken = polygonal(geom.intersection(new))
        if taken.is_empty:
            continue
        rest = polygonal(geom.difference(new))
        if rest.is_empty:
            swallowed.append(code)
            continue
        gained_parts.append(taken)
        changed[code] = to_multipolygon(rest)
    released = polygonal(old.difference(new))
    if release_to is not None:
        if release_to not in neighbours:
            raise EditError(f"{release_to} is not a grid of this draft that can take the released area")
        base = changed.get(release_to, neighbours[release_to])
        if not released.is_empty:
            if shared_edge_length(base, released) == 0:
                raise EditError(f"{release_to} does not border the released area")
            changed[release_to] = to_multipolygon(polygonal(shapely.union_all([base, released])))
    gained = shapely.union_all(gained_parts) if gained_parts else Polygon()
    return BoundaryMove(changed, swallowed, gained, released, release_to)


# ------------------------------------------------------------------------------------ GeoJSON input


def from_geojson(value: Any, kinds: Sequence[str] = ("Polygon", "MultiPolygon")) -> Any:
    """A GeoJSON geometry object from a request as a 2-D shapely geometry; ValueError (Chinese) if bad.

    The one rule for 3-D input: positions may carry a third (or further) number, as RFC 7946 allows; it
    is dropped (grids and facilities are 2-D, and PostGIS would refuse a Z in a 2-D column). Rings must be
    closed (first position = last) and have at least 4 positions, as RFC 7946 requires: shapely would
    close them silently, PostGIS refuses them, so they are refused here with the reason.
    Validity (self-intersections …) and coordinate ranges are for the caller to check.
    """
    if not isinstance(value, Mapping) or value.get("type") not in kinds:
        raise ValueError(f"几何对象必须是 GeoJSON {' 或 '.join(kinds)}")
    coords: Any = value.get("coordinates")
    kind = value["type"]
    depth = {"Point": 0, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}[kind]
    _check_positions(coords, depth, "coordinates")
    if kind == "Polygon":
        _check_rings(coords, "coordinates")
    elif kind == "MultiPolygon":
        for i, poly in enumerate(coords):
            _check_rings(poly, f"coordinates[{i}]")
    flat = _flatten(coords, depth)
    try:
        geom = shape({"type": kind, "coordinates": flat})
    except Exception as exc:  # shapely raises several kinds on malformed input
        raise ValueError(f"无法读取的几何对象：{exc}") from exc
    if geom.is_empty:
        raise ValueError("几何对象为空")
    return geom


def _check_positions(coords: Any, depth: int, where: str) -> None:
    if depth == 0:
        if not isinstance(coords, list | tuple) or len(coords) < 2:
            raise ValueError(f"{where}：坐标必须是至少含经度、纬度两个数的数组")
        for c in coords:
            if isinstance(c, bool) or not isinstance(c, int | float):
                raise ValueError(f"{where}：坐标必须是数字")
        return
    if not isinstance(coords, list | tuple):
        raise ValueError(f"{where}：必须是数组")
    for i, c in enumerate(coords):
        _check_positions(c, depth - 1, f"{where}[{i}]")


def _check_rings(rings: Sequence[Any], where: str) -> None:
    if len(rings) == 0:
        raise ValueError(f"{where}：多边形至少要有一个环")
    for i, ring in enumerate(rings):
        if len(ring) < 4:
            raise ValueError(f"{where}[{i}]：环至少要有 4 个坐标点（首尾相同）")
        if [float(v) for v in ring[0][:2]] != [float(v) for v in ring[-1][:2]]:
            raise ValueError(f"{where}[{i}]：环未闭合，首尾坐标必须相同")


def _flatten(coords: Any, depth: int) -> Any:
    """Positions cut to (lon, lat): the 3-D rule."""
    if depth == 0:
        return [float(coords[0]), float(coords[1])]
    return [_flatten(c, depth - 1) for c in coords]
