"""A second subdistrict next to the sample (issue 15): the sample's bounding box grown by ≈ 1 km, minus
the sample's outline, as one community, one tertiary grid and four micro-grids (the ring cut into
quadrants), imported and activated through the API like a planner would."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Polygon, box, mapping

from geo_grid import geometry as geo
from tests.support.accounts import create_token
from tests.support.api import bearer
from tests.support.sql import execute, query

SAMPLE = "410105012"  # 未来路街道, the sample
CODE = "410105013"
NAME = "第二街道"
COMMUNITY = CODE + "001"
TERTIARY = COMMUNITY + "001"
GROW_DEG = 0.01  # ≈ 1 km
_STEP_DEG = 0.0005  # ≈ 50 m
# What add_places puts in the neighbour's first micro-grid, layer → (id, name), and its community's new
# name: names no other text of a page holds.
PLACES = {
    "facilities": ("N-FAC-1", "第二测试便民服务站"),
    "road_segments": ("N-SEG-1", "第二测试大道"),
    "courtyards": ("N-YARD-1", "第二测试家属院"),
}
COMMUNITY_NAME = "第二测试社区"


@dataclass(frozen=True)
class District:
    """The sample and its new neighbour: the sample's outline, the neighbour's micro-grids, its generation."""

    sample_outline: Any  # WGS84, holes filled
    micro: dict[str, Any]  # the neighbour's micro-grids, WGS84
    generation: int


def _filled(geom: Any) -> Any:
    return shapely.union_all([Polygon(p.exterior) for p in geo.parts(geom)])


def sample_outline(url: str) -> Any:
    rows = query(
        url,
        """SELECT ST_AsBinary(g.geom) FROM grids g JOIN generations gen ON gen.id = g.generation_id
           WHERE gen.status = 'active' AND gen.subdistrict_code = '410105012' AND g.level = 'micro'""",
    )
    return _filled(shapely.union_all([shapely.from_wkb(bytes(r[0])) for r in rows]))


def ring_grids(outline: Any) -> tuple[Any, dict[str, Any]]:
    """The ring around the outline and its four quadrant micro-grids."""
    x0, y0, x1, y1 = outline.bounds
    # Densified: areas are measured in EPSG:4547 by projecting vertices, so a km-long straight lon/lat
    # edge and the same edge cut in two would differ by hundreds of m² there.
    outer = box(x0 - GROW_DEG, y0 - GROW_DEG, x1 + GROW_DEG, y1 + GROW_DEG).segmentize(_STEP_DEG)
    ring = geo.polygonal(outer.difference(outline))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    quadrants = [
        box(outer.bounds[0], cy, cx, outer.bounds[3]),
        box(cx, cy, outer.bounds[2], outer.bounds[3]),
        box(outer.bounds[0], outer.bounds[1], cx, cy),
        box(cx, outer.bounds[1], outer.bounds[2], cy),
    ]
    micro = {
        f"{TERTIARY}{i:03d}": geo.to_multipolygon(geo.polygonal(ring.intersection(q.segmentize(_STEP_DEG))))
        for i, q in enumerate(quadrants, start=1)
    }
    return ring, micro


def write_layer(path: Path, grids: dict[str, Any], parent: str) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": f"第二街道{code[-3:]}", "parent_code": parent},
            "geometry": mapping(geom),
        }
        for code, geom in grids.items()
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def upload(client: Any, token: str, path: Path, gen: int | None = None, **form: str) -> Any:
    url = f"/generations/{gen}/import" if gen else "/generations/import"
    with open(path, "rb") as fh:
        return client.post(url, files={"file": (path.name, fh)}, data=form, headers=bearer(token))


def add_second_subdistrict(client: Any, planner: str, url: str, tmp_path: Path) -> District:
    """Insert the neighbour's subdistrict and community rows, import its grids into its first draft and
    activate it (the live directory then holds both subdistricts)."""
    from geo_grid import db
    from geo_grid.io import boundaries as boundary_io
    from geo_grid.repository import subdistricts as subdistrict_repo
    from geo_grid.services import communities as community_service

    outline = sample_outline(url)
    ring, micro = ring_grids(outline)
    communities = write_layer(tmp_path / "communities.geojson", {COMMUNITY: ring}, CODE)
    engine = db.make_engine(url, pool_size=1)
    try:
        with db.transaction(db.make_session_factory(engine)) as session:
            row = subdistrict_repo.Subdistrict(
                CODE, NAME, "410105", "金水区", "410100", "郑州市", "410000", "河南省"
            )
            subdistrict_repo.upsert(session, [row])
            # What `geo-grid import communities FILE --subdistrict CODE` does.
            layer = boundary_io.read_layer(communities, "tertiary", parent_code=CODE)
            community_service.import_layer(session, layer, "test", CODE)
    finally:
        engine.dispose()
    tertiary = write_layer(tmp_path / "tertiary.geojson", {TERTIARY: ring}, COMMUNITY)
    r = upload(client, planner, tertiary, level="tertiary", subdistrict=CODE)
    assert r.status_code == 201, r.text
    gen = r.json()["generation"]
    r = upload(client, planner, write_layer(tmp_path / "micro.geojson", micro, TERTIARY), gen, level="micro")
    assert r.status_code == 200, r.text
    r = client.post(f"/generations/{gen}/activate", headers=bearer(planner))
    assert r.status_code == 200, r.text
    return District(outline, micro, gen)


def add_places(url: str, micro: dict[str, Any]) -> None:
    """A facility, a road segment and a courtyard (PLACES) in the neighbour's first micro-grid, and its
    community renamed COMMUNITY_NAME (add_second_subdistrict names it like its tertiary grid)."""
    code = sorted(micro)[0]
    point = micro[code].representative_point()
    yard = shapely.box(point.x - 0.0003, point.y - 0.0002, point.x + 0.0003, point.y + 0.0002)
    road = shapely.LineString([(point.x - 0.001, point.y - 0.0005), (point.x + 0.001, point.y - 0.0005)])
    where = {"s": CODE, "tertiary": TERTIARY, "community": COMMUNITY}
    execute(url, "UPDATE communities SET name = :n WHERE code = :c", n=COMMUNITY_NAME, c=COMMUNITY)
    (fac, fac_name), (seg, seg_name), (yard_id, yard_name) = (
        PLACES[k] for k in ("facilities", "road_segments", "courtyards")
    )
    execute(
        url,
        """INSERT INTO facilities (facility_id, kind, name, geom, micro_code, subdistrict_code)
           VALUES (:id, 'service_center', :n, ST_GeomFromText(:g, 4326), :micro, :s)""",
        id=fac, n=fac_name, g=point.wkt, micro=code, s=CODE,
    )  # fmt: skip
    execute(
        url,
        """INSERT INTO road_segments (segment_id, road_name, tertiary_code, community_code, geom,
                                      subdistrict_code)
           VALUES (:id, :n, :tertiary, :community, ST_GeomFromText(:g, 4326), :s)""",
        id=seg, n=seg_name, g=road.wkt, **where,
    )  # fmt: skip
    execute(
        url,
        """INSERT INTO courtyards (courtyard_id, name, micro_code, tertiary_code, community_code, geom,
                                   subdistrict_code)
           VALUES (:id, :n, :micro, :tertiary, :community, ST_GeomFromText(:g, 4326), :s)""",
        id=yard_id, n=yard_name, micro=code, g=yard.wkt, **where,
    )  # fmt: skip


def dispatcher_tokens(url: str) -> dict[str, str]:
    """Dispatchers' tokens: "district" (district level), "home" (the sample's), "other" (the neighbour's)."""
    return {
        "district": create_token(url, "dispatcher", "区级调度", subdistrict=None),
        "home": create_token(url, "dispatcher", "未来路调度", subdistrict=SAMPLE),
        "other": create_token(url, "dispatcher", "第二街道调度", subdistrict=CODE),
    }


def active_generations(url: str) -> dict[str, int]:
    """Each subdistrict's active generation, by subdistrict code."""
    rows = query(url, "SELECT subdistrict_code, id FROM generations WHERE status = 'active'")
    return {str(r[0]): int(r[1]) for r in rows}


@contextmanager
def with_neighbour(
    db_factory: Callable[[], str], make_client: Callable[..., Any], tmp_path: Path, **settings: Any
) -> Iterator[tuple[str, Any, str, District]]:
    """A fresh database with the sample and its neighbour, and a client of an app on it (`settings`):
    (url, client, a district-level admin's token, the neighbour as add_second_subdistrict built it)."""
    url = db_factory()
    with make_client(url, **settings) as client:
        admin = create_token(url, "admin", "区级管理员", subdistrict=None)
        yield url, client, admin, add_second_subdistrict(client, admin, url, tmp_path)
