"""/facilities CRUD (writes: planner) and GET /grids/{code}/facilities."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from geo_grid.api.deps import DirectoryDep, PlannerDep, SessionDep
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.facilities import FacilityCollection, FacilityFeature
from geo_grid.repository import facilities as facility_repo
from geo_grid.repository.facilities import Facility
from geo_grid.services import facilities as facility_service
from geo_grid.services.facilities import FacilityDetail
from geo_grid.services.stats import check_grid_code

router = APIRouter(tags=["facilities"])

FacilityRef = Annotated[str, Path(max_length=20, description="numeric id or facility_id (F001 …)")]


class FacilityIn(BaseModel):
    kind: str = Field(max_length=40, description="parking, charging_pile, service_centre …")
    name: str = Field(max_length=200)
    geometry: dict[str, Any] = Field(description="GeoJSON Point, Polygon or MultiPolygon in WGS84")
    attributes: dict[str, Any] = Field(default_factory=dict, description="capacity, opening hours …")
    facility_id: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")


class FacilityPatch(BaseModel):
    kind: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=200)
    geometry: dict[str, Any] | None = None
    attributes: dict[str, Any] | None = None


def _feature(f: Facility, detail: FacilityDetail | None = None) -> dict[str, Any]:
    props = {k: v for k, v in asdict(f).items() if k != "geometry"}
    if detail is not None and detail.grids is not None:
        props["grids"] = asdict(detail.grids)
    return {"type": "Feature", "id": f.id, "properties": props, "geometry": f.geometry}


def _detail(d: FacilityDetail) -> dict[str, Any]:
    return _feature(d.facility, d)


def _collection(rows: list[Facility]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [_feature(r) for r in rows]}


# response_model_exclude_unset: `grids` appears only for a polygon facility asked for by itself.


@router.get(
    "/facilities",
    summary="Facilities as a GeoJSON FeatureCollection",
    response_model=FacilityCollection,
    response_model_exclude_unset=True,
)
def list_facilities(
    session: SessionDep, kind: Annotated[str | None, Query(max_length=40)] = None
) -> dict[str, Any]:
    return _collection(facility_repo.list_facilities(session, kind))


@router.get(
    "/facilities/{ref}",
    summary="One facility; a polygon lists the grids it overlaps (m², share)",
    responses=error_responses(404),
    response_model=FacilityFeature,
    response_model_exclude_unset=True,
)
def get_facility(ref: FacilityRef, directory: DirectoryDep, session: SessionDep) -> dict[str, Any]:
    return _detail(facility_service.get(session, directory, ref))


@router.post(
    "/facilities",
    status_code=201,
    summary="Create a facility (planner)",
    responses=error_responses(401, 403, 413, 422, 503),
    response_model=FacilityFeature,
    response_model_exclude_unset=True,
)
def create_facility(
    body: FacilityIn, directory: DirectoryDep, session: SessionDep, principal: PlannerDep
) -> dict[str, Any]:
    new = facility_service.NewFacility(**body.model_dump())
    return _detail(facility_service.create(session, directory, new, principal.name))


@router.patch(
    "/facilities/{ref}",
    summary="Change a facility (planner)",
    responses=error_responses(401, 403, 404, 413, 422, 503),
    response_model=FacilityFeature,
    response_model_exclude_unset=True,
)
def update_facility(
    ref: FacilityRef, body: FacilityPatch, directory: DirectoryDep, session: SessionDep, principal: PlannerDep
) -> dict[str, Any]:
    change = facility_service.FacilityChange(**body.model_dump(exclude_unset=True))
    return _detail(facility_service.update(session, directory, ref, change, principal.name))


@router.delete(
    "/facilities/{ref}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404),
    summary="Delete a facility (planner)",
)
def delete_facility(ref: FacilityRef, session: SessionDep, principal: PlannerDep) -> Response:
    facility_service.delete(session, ref, principal.name)
    return Response(status_code=204)


@router.get(
    "/grids/{code}/facilities",
    summary="Facilities in a grid at any level (GeoJSON)",
    responses=error_responses(404, 503),
    response_model=FacilityCollection,
    response_model_exclude_unset=True,
)
def grid_facilities(
    code: Annotated[str, Path(max_length=18)], directory: DirectoryDep, session: SessionDep
) -> dict[str, Any]:
    check_grid_code(directory, code)
    return _collection(facility_service.in_grid(session, directory, code))
