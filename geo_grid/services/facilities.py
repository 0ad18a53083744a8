"""Facility use cases: CRUD, a point's micro-grid, a polygon's overlapping grids with areas and shares."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import shapely
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from geo_grid import geometry as geo
from geo_grid.errors import FacilityNotFound, InvalidInput
from geo_grid.repository import audit as audit_repo
from geo_grid.repository import facilities as facility_repo
from geo_grid.repository.facilities import Facility, GridOverlap
from geo_grid.services.directory import GridDirectory
from geo_grid.services.lookup import check_coordinates, place, require

GEOMETRY_TYPES = ("Point", "Polygon", "MultiPolygon")


@dataclass(frozen=True, slots=True)
class TertiaryShare:
    """A polygon facility's overlaps rolled up to one tertiary grid."""

    code: str
    name: str | None
    area_m2: float
    share: float


@dataclass(frozen=True, slots=True)
class GridShares:
    """The grids a polygon facility overlaps; `primary` is the micro-grid of the largest overlap."""

    primary: str | None
    micro: tuple[GridOverlap, ...]
    tertiary: tuple[TertiaryShare, ...]
    outside_share: float  # the share outside every grid (0 when the grids cover it whole)


@dataclass(frozen=True, slots=True)
class FacilityDetail:
    """One facility; a polygon's grid shares when a directory is loaded (None for points)."""

    facility: Facility
    grids: GridShares | None = None


def check_geometry(geometry: dict[str, Any]) -> Any:
    """A GeoJSON Point/Polygon/MultiPolygon in WGS84 that PostGIS will accept (valid, finite, in range)."""
    try:
        geom = geo.from_geojson(geometry, GEOMETRY_TYPES)  # Z dropped, unclosed rings refused
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    coords = shapely.get_coordinates(geom)
    for lon, lat in coords:
        check_coordinates(float(lon), float(lat))
    if not geom.is_valid:
        raise InvalidInput(f"invalid geometry: {shapely.is_valid_reason(geom)}")
    return geom


def _primary_micro(session: Session, directory: GridDirectory, facility_pk: int, geom: Any) -> str | None:
    if geom.geom_type == "Point":
        p = place(directory, geom.x, geom.y)
        return p.micro.code if p.micro else None
    shares = facility_repo.overlaps(session, directory.generation_ids, facility_pk)
    return shares[0].code if shares else None


def _facility(session: Session, ref: str) -> Facility:
    row = facility_repo.get(session, ref)
    if row is None:
        raise FacilityNotFound(f"no facility {ref!r}")
    return row


def get(session: Session, directory: GridDirectory | None, ref: str) -> FacilityDetail:
    row = _facility(session, ref)
    if row.geometry_type != "POINT" and directory is not None:
        return FacilityDetail(row, grid_shares(session, directory, row.id))
    return FacilityDetail(row)


def grid_shares(session: Session, directory: GridDirectory, facility_pk: int) -> GridShares:
    """Micro-grids overlapped (area m², share), the tertiary grids they roll up to, and the primary grid."""
    micro = facility_repo.overlaps(session, directory.generation_ids, facility_pk)
    area: dict[str, float] = defaultdict(float)
    share: dict[str, float] = defaultdict(float)
    for m in micro:
        area[m.parent_code] += m.area_m2
        share[m.parent_code] += m.share or 0.0
    tertiary = tuple(
        TertiaryShare(
            code, getattr(directory.grids.get(code), "name", None), round(a, 1), round(share[code], 6)
        )
        for code, a in sorted(area.items(), key=lambda kv: -kv[1])
    )
    outside = round(max(0.0, 1.0 - sum(m.share or 0.0 for m in micro)), 6)
    rounded = tuple(replace(m, share=round(m.share, 6) if m.share is not None else None) for m in micro)
    return GridShares(micro[0].code if micro else None, rounded, tertiary, outside)


@dataclass(frozen=True, slots=True)
class NewFacility:
    """A facility to add; `geometry` is GeoJSON (Point, Polygon or MultiPolygon, WGS84)."""

    kind: str
    name: str
    geometry: dict[str, Any]
    attributes: dict[str, Any] = field(default_factory=dict)
    facility_id: str | None = None


@dataclass(frozen=True, slots=True)
class FacilityChange:
    """What a planner changes in a facility: None leaves a field as it is."""

    kind: str | None = None
    name: str | None = None
    geometry: dict[str, Any] | None = None
    attributes: dict[str, Any] | None = None


def create(session: Session, directory: GridDirectory | None, new: NewFacility, actor: str) -> FacilityDetail:
    directory = require(directory)
    kind, name = new.kind.strip(), new.name.strip()
    if not kind or not name:
        raise InvalidInput("a facility needs a kind and a name")
    geom = check_geometry(new.geometry)
    facility_id = new.facility_id
    if facility_id and facility_repo.facility_id_taken(session, facility_id):
        raise InvalidInput(f"facility_id {facility_id!r} is taken")
    pk = facility_repo.insert(session, facility_id, kind, name, mapping(geom), new.attributes)
    facility_repo.update(session, pk, {"micro_code": _primary_micro(session, directory, pk, geom)})
    audit_repo.add(session, actor, "facility_create", {"id": pk, "kind": kind, "name": name})
    return get(session, directory, str(pk))


def update(session: Session, directory: GridDirectory | None, ref: str, change: FacilityChange,
           actor: str) -> FacilityDetail:  # fmt: skip
    directory = require(directory)
    row = _facility(session, ref)
    fields: dict[str, Any] = {}
    for key, value in (("kind", change.kind), ("name", change.name)):
        if value is not None:
            if not value.strip():
                raise InvalidInput(f"{key} may not be empty")
            fields[key] = value.strip()
    if change.attributes is not None:
        fields["attributes"] = change.attributes
    geom = None
    if change.geometry is not None:
        geom = check_geometry(change.geometry)
        fields["geometry"] = mapping(geom)
    if fields:
        facility_repo.update(session, row.id, fields)
    if geom is not None:  # a new shape: its grid(s) again
        facility_repo.update(
            session, row.id, {"micro_code": _primary_micro(session, directory, row.id, geom)}
        )
    audit_repo.add(session, actor, "facility_update", {"id": row.id, "fields": sorted(fields)})
    return get(session, directory, str(row.id))


def delete(session: Session, ref: str, actor: str) -> None:
    row = _facility(session, ref)
    facility_repo.delete(session, row.id)
    audit_repo.add(session, actor, "facility_delete", {"id": row.id, "name": row.name})


def in_grid(session: Session, directory: GridDirectory | None, code: str) -> list[Facility]:
    directory = require(directory)
    return facility_repo.in_grid(session, directory.generation_ids, code)
