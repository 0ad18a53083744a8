"""Loads the generated sample data of sample_boundaries/ into an empty database, in one transaction;
every row belongs to the sample's one subdistrict (subdistricts.csv)."""

from __future__ import annotations

import csv
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy.orm import Session

from geo_grid.errors import Conflict, ImportFailed
from geo_grid.models import (
    SRID,
    Address,
    Community,
    Courtyard,
    Facility,
    Grid,
    Report,
    RoadSegment,
    Role,
)
from geo_grid.repository import assignment, bulk
from geo_grid.repository import facilities as facility_repo
from geo_grid.repository import reports as report_repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.services import sample_cases, subdistricts
from geo_grid.services import stages as stage_service

if TYPE_CHECKING:  # geopandas loads when the sample is read, not with every module that imports this one
    import geopandas as gpd

# The sample boundaries are the first generation, valid since this moment (before every sample report).
SAMPLE_VALID_FROM = datetime.fromisoformat("2025-01-01T00:00:00+08:00")


def _multi(geom: Any) -> MultiPolygon:
    return (
        geom
        if isinstance(geom, MultiPolygon)
        else MultiPolygon([geom])
        if isinstance(geom, Polygon)
        else geom
    )


def _read(sample_dir: Path, name: str) -> gpd.GeoDataFrame:
    path = sample_dir / name
    if not path.exists():
        raise ImportFailed(f"sample file missing: {path}")
    import geopandas as gpd

    return gpd.read_file(path)


def _csv(sample_dir: Path, name: str) -> list[dict[str, str]]:
    with open(sample_dir / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _opt(value: Any) -> Any:
    return None if value in ("", None) or value != value else value  # NaN != NaN


def time_shift(reports: list[dict[str, str]], now: datetime | None) -> timedelta:
    """How far to move the sample's times so that its newest report falls within the 24 hours before
    `now`: whole days, so that the day's rhythm (night markets at night) stays. None: no shift."""
    if now is None or not reports:
        return timedelta(0)
    newest = max(datetime.fromisoformat(r["created_at"]) for r in reports)
    return timedelta(days=math.floor((now - newest) / timedelta(days=1)))


def _shifted(value: str | None, shift: timedelta) -> str | None:
    return (datetime.fromisoformat(value) + shift).isoformat() if value else value


def sample_subdistrict(sample_dir: Path) -> subdistrict_repo.Subdistrict:
    """The subdistrict the sample draws (its subdistricts.csv holds exactly one)."""
    path = sample_dir / "subdistricts.csv"
    if not path.exists():
        raise ImportFailed(f"sample file missing: {path}")
    rows = subdistricts.parse_csv(path.read_text(encoding="utf-8"))
    if len(rows) != 1:
        raise ImportFailed(f"{path} must name exactly one subdistrict")
    return rows[0]


def load_sample(
    session: Session, sample_dir: Path, near_boundary_m: float, now: datetime | None = None
) -> dict[str, int]:
    """Insert the sample into an empty database; returns the row counts. Caller commits.

    With `now`, every time of the sample (reports, the generation's start) moves by the same whole
    number of days so that the newest report is of the last day: a demo that does not age. Without it,
    the files' times are kept (tests compare with them)."""
    if not bulk.is_empty(session):
        raise Conflict("the database already holds data; the sample is only loaded into an empty one")
    reports = _csv(sample_dir, "reports.csv")
    shift = time_shift(reports, now)

    served = sample_subdistrict(sample_dir)
    subdistrict_repo.upsert(session, [served])
    gen = bulk.add_generation(
        session,
        subdistrict_code=served.code,
        status="active",
        note="生成的示例网格（非真实边界）",
        created_by="sample",
        created_at=SAMPLE_VALID_FROM + shift,
        activated_by="sample",
        activated_at=SAMPLE_VALID_FROM + shift,
    )

    communities = _read(sample_dir, "communities.geojson")
    bulk.insert_rows(
        session,
        Community,
        [
            {
                "code": r.code,
                "name": r.name,
                "geom": from_shape(_multi(r.geometry), srid=SRID),
                "subdistrict_code": served.code,
            }
            for r in communities.itertuples()
        ],
    )
    grid_rows = []
    for name in ("tertiary_grids.geojson", "micro_grids.geojson"):
        for r in _read(sample_dir, name).itertuples():
            grid_rows.append(
                {
                    "generation_id": gen.id,
                    "code": r.code,
                    "level": r.level,
                    "name": r.name,
                    "parent_code": r.parent_code,
                    "community_code": r.community_code,
                    "geom": from_shape(_multi(r.geometry), srid=SRID),
                    "updated_by": "sample",
                }
            )
    bulk.insert_rows(session, Grid, grid_rows)

    segments = _read(sample_dir, "road_segments.geojson")
    bulk.insert_rows(
        session,
        RoadSegment,
        [
            {
                "segment_id": r.segment_id,
                "road_name": r.road_name,
                "tertiary_code": r.tertiary_code,
                "community_code": r.community_code,
                "geom": from_shape(r.geometry, srid=SRID),
                "subdistrict_code": served.code,
            }
            for r in segments.itertuples()
        ],
    )
    courtyards = _read(sample_dir, "courtyards.geojson")
    bulk.insert_rows(
        session,
        Courtyard,
        [
            {
                "courtyard_id": r.courtyard_id,
                "name": r.name,
                "micro_code": r.micro_code,
                "tertiary_code": r.tertiary_code,
                "community_code": r.community_code,
                "geom": from_shape(r.geometry, srid=SRID),
                "subdistrict_code": served.code,
            }
            for r in courtyards.itertuples()
        ],
    )

    people = _csv(sample_dir, "people.csv")
    pk = bulk.insert_people(
        session,
        [
            {
                "person_id": p["person_id"],
                "name": p["name"],
                "phone": _opt(p["phone"]),
                "subdistrict_code": served.code,
            }
            for p in people
        ],
    )
    bulk.insert_rows(
        session,
        Role,
        [
            {
                "person_id": pk[p["person_id"]],
                "role": p["role"],
                "duty": _opt(p["duty"]),
                "grid_code": _opt(p["grid_code"]),
                "community_code": _opt(p["community_code"]),
                "target_id": _opt(p["target_id"]),
            }
            for p in people
        ],
    )

    facilities = _read(sample_dir, "facilities.geojson")
    fixed = {"facility_id", "kind", "name", "geometry"}
    bulk.insert_rows(
        session,
        Facility,
        [
            {
                "facility_id": row["facility_id"],
                "kind": row["kind"],
                "name": row["name"],
                "geom": from_shape(row["geometry"], srid=SRID),
                "attributes": {k: v for k, v in row.items() if k not in fixed and _opt(v) is not None},
                "subdistrict_code": served.code,
            }
            for row in facilities.to_dict("records")
        ],
    )

    addresses = _csv(sample_dir, "addresses.csv")
    bulk.insert_rows(
        session,
        Address,
        [
            {
                "address_id": a["address_id"],
                "address": a["address"],
                "road": _opt(a["road"]),
                "number": _opt(a["number"]),
                "courtyard": _opt(a["courtyard"]),
                "building": _opt(a["building"]),
                "unit": _opt(a["unit"]),
                "community_code": _opt(a["community_code"]),
                "geom": f"SRID={SRID};POINT({a['lon']} {a['lat']})",
                "subdistrict_code": served.code,
            }
            for a in addresses
        ],
    )

    bulk.insert_rows(
        session,
        Report,
        [
            {
                "external_id": r["report_id"],
                "category": r["category"],
                "description": r["description"],
                "channel": r["channel"],
                "status": r["status"],
                "input_crs": "wgs84",
                "input_lon": float(r["lon"]),
                "input_lat": float(r["lat"]),
                "geom": f"SRID={SRID};POINT({r['lon']} {r['lat']})",
                "created_at": _shifted(r["created_at"], shift),
                "updated_at": _shifted(
                    _opt(r["closed_at"]) or _opt(r["accepted_at"]) or r["created_at"], shift
                ),
                "accepted_at": _shifted(_opt(r["accepted_at"]), shift),
                "closed_at": _shifted(_opt(r["closed_at"]), shift),
                "solved": None if _opt(r["solved"]) is None else r["solved"].lower() in ("1", "true", "yes"),
                "rating": int(r["rating"]) if _opt(r["rating"]) else None,
                "subdistrict_code": served.code,
            }
            for r in reports
        ],
    )
    assignment.assign_addresses(session, gen.id)
    assignment.assign_reports(session, gen.id)
    report_repo.flag_near_boundary(session, gen.id, near_boundary_m)
    stage_service.backfill(session, shift)  # deadlines and first stages from the categories table
    assignment.assign_point_facilities(session, gen.id)
    facility_repo.assign_polygon_primaries(session, gen.id)
    sample_cases.exercise_branches(session)  # a few open cases take every 数字城管 branch
    return {
        "communities": len(communities),
        "grids": len(grid_rows),
        "people": len(people),
        "road_segments": len(segments),
        "courtyards": len(courtyards),
        "facilities": len(facilities),
        "addresses": len(addresses),
        "reports": len(reports),
    }
