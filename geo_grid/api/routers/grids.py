"""GET /grids and GET /grids/{code}: boundaries of any generation, with their people."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from geo_grid.api.deps import PrincipalDep, SessionDep
from geo_grid.api.presenters import feature_collection, person
from geo_grid.repository import communities as community_repo
from geo_grid.repository import grids as grid_repo
from geo_grid.services import grids as grid_service
from geo_grid.timeparse import NAIVE_NOTE, ApiDatetime

router = APIRouter(tags=["grids"])

AtQuery = Annotated[ApiDatetime | None, Query(description=f"answer as of this moment ({NAIVE_NOTE})")]
GenerationQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="a generation id")]


@router.get("/grids", summary="Grids as a GeoJSON FeatureCollection (area_m2 computed in EPSG:4547)")
def list_grids(
    session: SessionDep,
    level: Annotated[Literal["tertiary", "micro"] | None, Query()] = None,
    community: Annotated[str | None, Query(max_length=12, description="community code")] = None,
    bbox: Annotated[str | None, Query(max_length=200, description="min_lon,min_lat,max_lon,max_lat")] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    at: AtQuery = None,
    generation: GenerationQuery = None,
) -> dict[str, Any]:
    gen = grid_service.resolve_generation(session, at, generation)
    rows = grid_repo.list_grids(
        session, gen.id, level, community, grid_service.parse_bbox(bbox), limit, offset
    )
    fc = feature_collection(rows)
    fc["generation"] = gen.id
    return fc


@router.get("/grids/{code}", summary="One grid with its parent, children and people")
def get_grid(
    session: SessionDep,
    principal: PrincipalDep,
    code: Annotated[str, Path(max_length=32)],
    at: AtQuery = None,
    generation: GenerationQuery = None,
) -> dict[str, Any]:
    gen = grid_service.resolve_generation(session, at, generation)
    grid = grid_service.grid_detail(session, gen, code)
    grid["people"] = [person(p, principal) for p in grid["people"]]
    grid["community"] = {
        "code": grid["community_code"],
        "name": community_repo.names(session).get(grid["community_code"]),
    }
    return {
        "type": "Feature",
        "id": grid["code"],
        "properties": {k: v for k, v in grid.items() if k != "geometry"},
        "geometry": grid["geometry"],
    }
