"""SQL for the standard address table (门牌地址): rows for the matcher, the all-or-nothing import, and the
楼院长 / 路段长 that answer for each address point."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.models import METRIC_SRID, SRID
from geo_grid.repository.people import PersonRole, person_role

# A 路段长 answers for an address when their segment is at most this far from the address point (metres,
# EPSG:4547). In the sample every address has a segment of its own road within 256 m (median 58 m;
# segments are 36–236 m long and courtyards reach back from the road), so 300 m finds the door plate's
# road everywhere while still not handing an address to a road several blocks away.
ROAD_SEGMENT_MAX_M = 300.0
# Index pre-filter in degrees before the exact metric distance: 1° of longitude is ≥ 80 km up to 44° N,
# so this box never drops a segment that is within ROAD_SEGMENT_MAX_M.
_M_PER_DEG_MIN = 80_000.0

_COLUMNS = ("address_id", "address", "road", "number", "courtyard", "building", "unit", "community_code")


@dataclass(frozen=True, slots=True)
class Address:
    """One standard address (门牌地址): its parts, community, micro-grid (None outside) and WGS84 point."""

    address_id: str
    address: str
    road: str | None
    number: str | None
    courtyard: str | None
    building: str | None
    unit: str | None
    community_code: str | None
    micro_code: str | None
    lon: float
    lat: float

    def as_row(self) -> dict[str, Any]:
        """The fields by name (what the address matcher reads)."""
        return asdict(self)


def all_rows(session: Session) -> list[Address]:
    """Every standard address with its point (lon/lat) and micro-grid, in address_id order."""
    sql = f"""SELECT {", ".join(_COLUMNS)}, micro_code, ST_X(geom) AS lon, ST_Y(geom) AS lat
              FROM addresses ORDER BY address_id"""
    return [Address(**r._mapping) for r in session.execute(text(sql))]


def count(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM addresses")).scalar_one())


def existing_ids(session: Session) -> set[str]:
    return set(session.execute(text("SELECT address_id FROM addresses")).scalars())


def subdistricts_of_ids(session: Session, ids: Sequence[str]) -> dict[str, str]:
    """address_id → the subdistrict it belongs to, for those of `ids` that exist."""
    sql = "SELECT address_id, subdistrict_code FROM addresses WHERE address_id = ANY(:ids)"
    return {r.address_id: r.subdistrict_code for r in session.execute(text(sql), {"ids": list(ids)})}


def upsert(session: Session, rows: Sequence[dict[str, Any]], replace_all: bool, subdistrict: str) -> int:
    """Insert the rows as addresses of `subdistrict`, replacing those with the same address_id; with
    `replace_all` every address of the subdistrict not in `rows` is deleted first (other subdistricts'
    are never touched). Returns how many were deleted. The caller's transaction makes it whole."""
    deleted = 0
    ids = [r["address_id"] for r in rows]
    if replace_all:
        deleted = session.execute(  # type: ignore[attr-defined]
            text("DELETE FROM addresses WHERE subdistrict_code = :sub AND NOT (address_id = ANY(:ids))"),
            {"ids": ids, "sub": subdistrict},
        ).rowcount
    cols = ", ".join(_COLUMNS)
    values = ", ".join(f":{c}" for c in _COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS if c != "address_id")
    sql = f"""INSERT INTO addresses ({cols}, subdistrict_code, geom)
              VALUES ({values}, :sub, ST_SetSRID(ST_MakePoint(:lon, :lat), {SRID}))
              ON CONFLICT (address_id) DO UPDATE SET {updates}, geom = EXCLUDED.geom, micro_code = NULL"""
    if rows:
        params = [{**{c: r.get(c) for c in (*_COLUMNS, "lon", "lat")}, "sub": subdistrict} for r in rows]
        session.execute(text(sql), params)
    return deleted


def fill_community_codes(session: Session, generation_id: int) -> int:
    """Addresses imported without a community code take the one of their micro-grid."""
    sql = """UPDATE addresses a SET community_code = g.community_code FROM grids g
             WHERE a.community_code IS NULL AND g.generation_id = :gen AND g.level = 'micro'
               AND g.code = a.micro_code"""
    return int(session.execute(text(sql), {"gen": generation_id}).rowcount)  # type: ignore[attr-defined]


def courtyards_of_addresses(session: Session) -> dict[str, tuple[str, str]]:
    """address_id → (courtyard_id, name) of the courtyard polygon covering the address point (boundary
    included; should two overlap, the smallest courtyard_id)."""
    sql = """SELECT a.address_id, c.courtyard_id, c.name FROM addresses a
             JOIN LATERAL (SELECT courtyard_id, name FROM courtyards c WHERE ST_Covers(c.geom, a.geom)
                           ORDER BY courtyard_id LIMIT 1) c ON true"""
    return {r.address_id: (r.courtyard_id, r.name) for r in session.execute(text(sql))}


def road_segments_of_addresses(
    session: Session, max_m: float = ROAD_SEGMENT_MAX_M
) -> dict[str, tuple[str, str, float]]:
    """address_id → (segment_id, road_name, distance in m) of the road segment that answers for it.

    Among the segments within `max_m` (EPSG:4547 distance) a segment of the address's own road wins
    (the door plate names the road whose 路段长 is responsible), else the nearest one; ties → smallest
    segment_id. Addresses with no segment that close are left out."""
    # The GiST index on the lon/lat geometries picks the few segments near each point (degree box);
    # the exact distance is then measured in EPSG:4547 on segments transformed once.
    sql = f"""
    WITH s AS MATERIALIZED (
        SELECT segment_id, ST_Transform(geom, {METRIC_SRID}) AS g FROM road_segments)
    SELECT DISTINCT ON (a.address_id) a.address_id, r.segment_id, r.road_name, d.dist
    FROM addresses a
    JOIN road_segments r ON ST_DWithin(r.geom, a.geom, :deg)
    JOIN s ON s.segment_id = r.segment_id
    CROSS JOIN LATERAL (SELECT ST_Distance(s.g, ST_Transform(a.geom, {METRIC_SRID})) AS dist) d
    WHERE d.dist <= :max_m
    ORDER BY a.address_id, coalesce(r.road_name = a.road, false) DESC, d.dist, r.segment_id"""
    params = {"deg": max_m / _M_PER_DEG_MIN, "max_m": max_m}
    return {
        r.address_id: (r.segment_id, r.road_name, float(r.dist)) for r in session.execute(text(sql), params)
    }


def people_by_target(session: Session, role: str) -> dict[str, list[PersonRole]]:
    """target_id → the people holding `role` for it (courtyard_chief → courtyard_id, road_section_chief →
    segment_id), by person_id."""
    sql = """SELECT p.person_id, p.name, p.phone, r.role, r.duty, r.target_id
             FROM roles r JOIN people p ON p.id = r.person_id
             WHERE r.role = :role AND r.target_id IS NOT NULL ORDER BY r.target_id, p.person_id"""
    out: dict[str, list[PersonRole]] = {}
    for r in session.execute(text(sql), {"role": role}):
        out.setdefault(r.target_id, []).append(person_role(r._mapping))
    return out


IMPORT_ACTION = "import_addresses"


def import_mark(session: Session) -> int:
    """Id of the newest address import in the audit log (0 when there was none)."""
    sql = "SELECT coalesce(max(id), 0) FROM audit_log WHERE action = :action"
    return int(session.execute(text(sql), {"action": IMPORT_ACTION}).scalar_one())


# -- the places people name without a door plate (read when the address book is built) -----------------


@dataclass(frozen=True, slots=True)
class SegmentLine:
    """A road segment's centreline: id, road name, WGS84 GeoJSON LineString."""

    segment_id: str
    road_name: str
    geometry: dict[str, Any]


def road_segment_lines(session: Session) -> list[SegmentLine]:
    """Every road segment with its WGS84 geometry, by segment_id."""
    sql = "SELECT segment_id, road_name, ST_AsGeoJSON(geom) AS g FROM road_segments ORDER BY segment_id"
    return [SegmentLine(r.segment_id, r.road_name, json.loads(r.g)) for r in session.execute(text(sql))]


@dataclass(frozen=True, slots=True)
class NamedPlace:
    """A place known by name: a facility (kind = its facility kind), a courtyard or a community; its point
    (on its surface) and WGS84 geometry; the community it lies in (None when none covers it)."""

    kind: str
    ref_id: str
    name: str
    lon: float
    lat: float
    geometry: dict[str, Any]
    community_code: str | None


def named_places(
    session: Session, kinds: tuple[str, ...] = ("facility", "courtyard", "community")
) -> list[NamedPlace]:
    """Facilities (by facility_id, else their row id), courtyards and communities, as the address book
    finds them by name; the point is ST_PointOnSurface (inside the polygon, on the line, the point)."""
    parts = {
        "facility": """SELECT f.kind, coalesce(f.facility_id, f.id::text) AS ref_id, f.name, f.geom,
                              (SELECT c.code FROM communities c WHERE ST_Covers(c.geom, ST_PointOnSurface(f.geom))
                               ORDER BY c.code LIMIT 1) AS community_code
                       FROM facilities f""",
        "courtyard": """SELECT 'courtyard' AS kind, courtyard_id AS ref_id, name, geom, community_code
                        FROM courtyards""",
        "community": """SELECT 'community' AS kind, code AS ref_id, name, geom, code AS community_code
                        FROM communities WHERE geom IS NOT NULL""",
    }
    union = " UNION ALL ".join(f"({parts[k]})" for k in kinds)
    sql = f"""SELECT kind, ref_id, name, ST_X(p) AS lon, ST_Y(p) AS lat, ST_AsGeoJSON(geom) AS g, community_code
              FROM (SELECT *, ST_PointOnSurface(geom) AS p FROM ({union}) u) q
              WHERE name IS NOT NULL AND name <> '' ORDER BY kind, ref_id"""
    return [
        NamedPlace(r.kind, r.ref_id, r.name, float(r.lon), float(r.lat), json.loads(r.g), r.community_code)
        for r in session.execute(text(sql))
    ]


def places_mark(session: Session) -> str:
    """A fingerprint of what the address book reads besides the addresses (facilities, courtyards, road
    segments, communities: ids, names, kinds, geometries): a change means the book is rebuilt."""
    sql = """SELECT md5(concat_ws('/',
        (SELECT string_agg(concat_ws('|', id, facility_id, kind, name, md5(ST_AsBinary(geom))), ',' ORDER BY id)
         FROM facilities),
        (SELECT string_agg(concat_ws('|', courtyard_id, name, md5(ST_AsBinary(geom))), ',' ORDER BY courtyard_id)
         FROM courtyards),
        (SELECT string_agg(concat_ws('|', segment_id, road_name, md5(ST_AsBinary(geom))), ',' ORDER BY segment_id)
         FROM road_segments),
        (SELECT string_agg(concat_ws('|', code, name), ',' ORDER BY code) FROM communities)))"""
    return str(session.execute(text(sql)).scalar_one())
