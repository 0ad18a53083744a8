"""Shared helpers of the report tests: points chosen from the sample boundaries, volunteers by community."""

from __future__ import annotations

import csv
import json
from functools import cache
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.ops import polylabel

from geo_grid import crs
from geo_grid.settings import SAMPLE_DIR


@cache
def micro_grids() -> dict[str, Any]:
    data = json.loads((SAMPLE_DIR / "micro_grids.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["code"]: shape(f["geometry"]) for f in data["features"]}


def edge_distance_m(code: str, lon: float, lat: float) -> float:
    boundary = crs.to_metric(micro_grids()[code]).boundary
    x, y = crs.lonlat_to_metric(lon, lat)
    return float(shapely.distance(boundary, shapely.Point(float(x), float(y))))


def interior_point(code: str, min_edge_m: float = 25.0) -> tuple[float, float]:
    """A point of micro-grid `code` at least min_edge_m from its edge (the pole of inaccessibility)."""
    poly = micro_grids()[code]
    metric = crs.to_metric(poly)
    pole = polylabel(metric.geoms[0] if metric.geom_type == "MultiPolygon" else metric, tolerance=0.5)
    p = crs.from_metric(pole)
    lon, lat = float(p.x), float(p.y)
    assert edge_distance_m(code, lon, lat) >= min_edge_m
    return lon, lat


def near_edge_point(code: str, inside_m: float = 3.0) -> tuple[float, float]:
    """A point inside micro-grid `code`, about `inside_m` metres from its edge."""
    metric = crs.to_metric(micro_grids()[code])
    inner = metric.buffer(-inside_m)
    ring = inner.exterior if inner.geom_type == "Polygon" else inner.geoms[0].exterior
    p = crs.from_metric(ring.interpolate(0.37, normalized=True))
    return float(p.x), float(p.y)


@cache
def volunteers() -> dict[str, list[str]]:
    """community code → person_ids of its 双报到 volunteers."""
    out: dict[str, list[str]] = {}
    with open(SAMPLE_DIR / "people.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["role"] == "volunteer":
                out.setdefault(row["community_code"], []).append(row["person_id"])
    return out
