"""Shared helpers of the boundary-editing tests: drafts, ETags and geometry built from the sample grids."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import box, mapping, shape

from tests.support.api import bearer

# Two adjacent micro-grids of the same tertiary grid in the sample (they share a ~80 m edge).
A = "410105012001001001"
B = "410105012001001002"
PARENT = "410105012001001"


def open_draft(client: Any, token: str) -> int:
    r = client.post("/generations", json={"note": "test"}, headers=bearer(token))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def read(client: Any, gen: int, code: str, token: str) -> tuple[Any, str]:
    """The grid's shapely geometry and its ETag, read with `token` (a draft: a planner's or admin's)."""
    r = client.get(f"/generations/{gen}/grids/{code}", headers=bearer(token))
    assert r.status_code == 200, r.text
    return shape(r.json()["geometry"]), r.headers["ETag"]


def write_headers(token: str, etag: str | None) -> dict[str, str]:
    h = bearer(token)
    if etag is not None:
        h["If-Match"] = etag
    return h


def shared_edge_box(a: Any, b: Any, half_deg: float = 0.00012) -> Any:
    """A small square centred on the middle of the edge a and b share."""
    edge = a.boundary.intersection(b.boundary)
    mid = edge.interpolate(0.5, normalized=True)
    return box(mid.x - half_deg, mid.y - half_deg, mid.x + half_deg, mid.y + half_deg)


def horizontal_line(geom: Any, frac: float = 0.5) -> dict[str, Any]:
    """A line crossing `geom` from west to east at `frac` of its height."""
    x0, y0, x1, y1 = geom.bounds
    y = y0 + (y1 - y0) * frac
    return mapping(shapely.LineString([(x0 - 1e-4, y), (x1 + 1e-4, y)]))


def metric_area(geom: Any) -> float:
    from geo_grid import crs

    return float(crs.to_metric(geom).area)
