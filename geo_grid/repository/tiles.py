"""SQL for Mapbox vector tiles (ST_AsMVT): one layer of one tile, built by PostGIS.

Grids come from one generation; communities and facilities are not versioned. Geometries are clipped to
the tile with a 64-unit buffer (of 4096) so that outlines join seamlessly across tiles.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

EXTENT, BUFFER = 4096, 64

# Whether a micro-grid has a 微网格长 (the coverage map's 无微网格长 layer); a flag, no personal data.
_HAS_LEADER = (
    "EXISTS (SELECT 1 FROM roles r WHERE r.grid_code = src.code AND r.role = 'micro_grid_leader')"
    " AS has_leader"
)
# layer → (its rows, the properties kept: columns of src or SQL expressions over it); :gen is the generation.
_SOURCES = {
    "micro_grids": ("grids WHERE generation_id = :gen AND level = 'micro'",
                    ("src.code", "src.name", "src.level", "src.parent_code", "src.community_code", _HAS_LEADER)),
    "tertiary_grids": ("grids WHERE generation_id = :gen AND level = 'tertiary'",
                       ("src.code", "src.name", "src.level", "src.parent_code", "src.community_code")),
    "communities": ("communities WHERE geom IS NOT NULL", ("src.code", "src.name")),
    "facilities": ("facilities WHERE geom IS NOT NULL",
                   ("src.facility_id", "src.kind", "src.name", "src.micro_code")),
    # The coverage map's 路段长负责路段 and 楼院长负责楼院 (their chiefs come with the popup, not the tile).
    "road_segments": ("road_segments WHERE geom IS NOT NULL",
                      ("src.segment_id AS id", "src.road_name AS name", "src.tertiary_code")),
    "courtyards": ("courtyards WHERE geom IS NOT NULL",
                   ("src.courtyard_id AS id", "src.name", "src.micro_code", "src.tertiary_code")),
}  # fmt: skip
LAYERS = tuple(_SOURCES)


def tile(session: Session, layer: str, z: int, x: int, y: int, generation_id: int | None) -> bytes:
    """The tile (z, x, y) of `layer` as MVT bytes (empty when nothing lies in it)."""
    rows, columns = _SOURCES[layer]
    sql = f"""
        WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS merc),
             src AS (SELECT * FROM {rows}),
             feats AS (
               SELECT ST_AsMVTGeom(ST_Transform(src.geom, 3857), env.merc, {EXTENT}, {BUFFER}, true) AS geom,
                      {", ".join(columns)}
               FROM src, env
               WHERE src.geom && ST_Transform(ST_Expand(env.merc, (ST_XMax(env.merc) - ST_XMin(env.merc))
                                                              * {BUFFER} / {EXTENT}), 4326))
        SELECT ST_AsMVT(feats.*, :layer, {EXTENT}, 'geom') FROM feats WHERE geom IS NOT NULL"""
    value = session.execute(
        text(sql), {"z": z, "x": x, "y": y, "layer": layer, "gen": generation_id}
    ).scalar()
    return bytes(value) if value is not None else b""
