"""Edits on a draft's grids (planner tokens, If-Match ETags) and a grid's history across generations."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Header, Path, Request, Response
from pydantic import BaseModel, Field

from geo_grid.api.deps import SCOPE_CHECK, PlannerDep, ScopeDep, SessionDep
from geo_grid.api.runtime import runtime_of
from geo_grid.api.schemas.boundary_edits import (
    BoundaryMoveOut,
    DraftGridFeature,
    EditOut,
    GridHistoryOut,
    RetiringEditOut,
)
from geo_grid.api.schemas.common import error_responses
from geo_grid.errors import GridNotFound
from geo_grid.repository import grid_edits as grid_edit_repo
from geo_grid.repository import scope as scope_repo
from geo_grid.services import boundary_edits as edits
from geo_grid.services import generations as generation_service
from geo_grid.services.boundary_edits import BoundaryMove, Edit, RetiringEdit
from geo_grid.services.generations import GridHistory

router = APIRouter(tags=["boundary edits"], dependencies=[SCOPE_CHECK])  # drafts of one's subdistrict

GenId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Code = Annotated[str, Path(max_length=32)]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="the grid's ETag (several for a merge)")]
GeoJSON = dict[str, Any]


class GeometryBody(BaseModel):
    geometry: GeoJSON = Field(description="GeoJSON Polygon or MultiPolygon, WGS84 lon/lat")


class MoveBody(GeometryBody):
    release_to: str | None = Field(
        default=None,
        max_length=32,
        description="neighbour that takes the area the grid gives up (else a gap)",
    )


class CreateBody(GeometryBody):
    level: Literal["micro", "tertiary"]
    parent_code: str = Field(max_length=32)
    name: str | None = Field(default=None, max_length=200)
    code: str | None = Field(default=None, max_length=32, pattern=r"^\d+$")


class ReparentBody(BaseModel):
    parent_code: str = Field(max_length=32)


class SplitBody(BaseModel):
    line: GeoJSON = Field(description="GeoJSON LineString crossing the grid from edge to edge")
    name: str | None = Field(default=None, max_length=200, description="name of the new part")


class MergeBody(BaseModel):
    codes: list[str] = Field(min_length=2, max_length=50)
    name: str | None = Field(default=None, max_length=200)


def _edited(request: Request, generation_id: int) -> None:
    """Drop the draft's cached lookup directory (GET /lookup?generation=…); the cache also notices the
    draft's edit stamp, which covers edits by other processes (services/past_directories)."""
    runtime_of(request.app).after_draft_edit(generation_id)


Result = TypeVar("Result", Edit, RetiringEdit, BoundaryMove)

# Every edit: 401/403 (role), 404 (generation, grid), 409 (not a draft), 412/428 (If-Match), 422 (input,
# an invalid result geometry).
EDIT_ERRORS = error_responses(401, 403, 404, 409, 412, 422, 428)


def _with_etag(response: Response, result: Result) -> Result:
    """The first changed grid's ETag as the response's ETag header."""
    if result.grids:
        response.headers["ETag"] = result.grids[0].etag
    return result


@router.get(
    "/generations/{generation_id}/grids/{code}",
    summary="A grid of any generation, with its ETag",
    response_model=DraftGridFeature,
    responses={
        200: {
            "headers": {
                "ETag": {"description": "网格的 ETag（修改时放进 If-Match）", "schema": {"type": "string"}}
            }
        },
        **error_responses(404),
    },
)
def get_grid(session: SessionDep, response: Response, generation_id: GenId, code: Code) -> dict[str, Any]:
    generation_service.get(session, generation_id)
    grid = grid_edit_repo.grid_feature(session, generation_id, code)
    if grid is None:
        raise GridNotFound(f"no grid {code} in generation {generation_id}")
    tag = edits.etag(generation_id, code, grid.version)
    response.headers["ETag"] = tag
    props = {k: v for k, v in asdict(grid).items() if k != "geometry"} | {"etag": tag}
    return {"type": "Feature", "id": code, "properties": props, "geometry": grid.geometry}


@router.put(
    "/generations/{generation_id}/grids/{code}",
    summary="Replace a grid's geometry (planner, If-Match)",
    response_model=EditOut,
    responses=EDIT_ERRORS,
)
def replace(
    request: Request,
    session: SessionDep,
    principal: PlannerDep,
    response: Response,
    generation_id: GenId,
    code: Code,
    body: GeometryBody,
    if_match: IfMatch = None,
) -> Edit:
    _edited(request, generation_id)
    return _with_etag(
        response,
        edits.replace_geometry(session, generation_id, code, body.geometry, principal.name, if_match),
    )


@router.post(
    "/generations/{generation_id}/grids/{code}/move-boundary",
    summary="Redraw a grid; neighbours give up exactly what it gains (planner, If-Match)",
    response_model=BoundaryMoveOut,
    responses=EDIT_ERRORS,
)
def move_boundary(
    request: Request,
    session: SessionDep,
    principal: PlannerDep,
    response: Response,
    generation_id: GenId,
    code: Code,
    body: MoveBody,
    if_match: IfMatch = None,
) -> BoundaryMove:
    _edited(request, generation_id)
    return _with_etag(
        response,
        edits.move_boundary(
            session, generation_id, code, body.geometry, principal.name, if_match, body.release_to
        ),
    )


@router.post(
    "/generations/{generation_id}/grids",
    status_code=201,
    summary="Create a grid in a draft (planner)",
    response_model=EditOut,
    responses=EDIT_ERRORS,
)
def create(
    request: Request,
    session: SessionDep,
    principal: PlannerDep,
    response: Response,
    generation_id: GenId,
    body: CreateBody,
) -> Edit:
    _edited(request, generation_id)
    new = edits.NewGridRequest(body.level, body.parent_code, body.geometry, body.name, body.code)
    return _with_etag(response, edits.create_grid(session, generation_id, new, principal.name))


@router.delete(
    "/generations/{generation_id}/grids/{code}",
    summary="Retire a grid from a draft (planner, If-Match)",
    response_model=RetiringEditOut,
    responses=EDIT_ERRORS,
)
def retire(
    request: Request,
    session: SessionDep,
    principal: PlannerDep,
    generation_id: GenId,
    code: Code,
    if_match: IfMatch = None,
) -> RetiringEdit:
    _edited(request, generation_id)
    return edits.retire_grid(session, generation_id, code, principal.name, if_match)


@router.post(
    "/generations/{generation_id}/grids/{code}/reparent",
    summary="Move a micro-grid under another tertiary grid (planner, If-Match)",
    response_model=EditOut,
    responses=EDIT_ERRORS,
)
def reparent(
    request: Request,
    session: SessionDep,
    principal: PlannerDep,
    response: Response,
    generation_id: GenId,
    code: Code,
    body: ReparentBody,
    if_match: IfMatch = None,
) -> Edit:
    _edited(request, generation_id)
    return _with_etag(
        response, edits.reparent(session, generation_id, code, body.parent_code, principal.name, if_match)
    )


@router.post(
    "/generations/{generation_id}/grids/{code}/split",
    summary="Split a micro-grid in two along a line (planner, If-Match)",
    response_model=EditOut,
    responses=EDIT_ERRORS,
)
def split(
    request: Request,
    session: SessionDep,
    principal: PlannerDep,
    response: Response,
    generation_id: GenId,
    code: Code,
    body: SplitBody,
    if_match: IfMatch = None,
) -> Edit:
    _edited(request, generation_id)
    return _with_etag(
        response, edits.split(session, generation_id, code, body.line, principal.name, if_match, body.name)
    )


@router.post(
    "/generations/{generation_id}/merge",
    summary="Merge adjacent micro-grids of one tertiary grid (planner, If-Match with every ETag)",
    response_model=RetiringEditOut,
    responses=EDIT_ERRORS,
)
def merge(
    request: Request,
    session: SessionDep,
    principal: PlannerDep,
    response: Response,
    generation_id: GenId,
    body: MergeBody,
    if_match: IfMatch = None,
) -> RetiringEdit:
    _edited(request, generation_id)
    return _with_etag(
        response, edits.merge(session, generation_id, body.codes, principal.name, if_match, body.name)
    )


@router.get(
    "/grids/{code}/history",
    summary="Every generation's version of a grid, and its audit entries",
    response_model=GridHistoryOut,
    responses=error_responses(404),
)
def history(session: SessionDep, principal: ScopeDep, code: Code) -> GridHistory:
    """A draft's version and audit entries: for planners and admins only (repository/scope.reads_drafts)."""
    return generation_service.history(session, code, scope_repo.reads_drafts(principal.role))
