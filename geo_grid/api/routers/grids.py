"""GET /grids and GET /grids/{code}: boundaries of any generation, with their people."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from geo_grid.api.deps import SCOPE_CHECK, PrincipalDep, SessionDep, SessionFactoryDep
from geo_grid.api.presenters import feature, feature_collection, person
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.grids import GridCollection, GridDetailFeature
from geo_grid.repository import grids as grid_repo
from geo_grid.services import grids as grid_service
from geo_grid.timeparse import NAIVE_NOTE, ApiDatetime

router = APIRouter(tags=["grids"], dependencies=[SCOPE_CHECK])  # ?generation=: one's own drafts

AtQuery = Annotated[ApiDatetime | None, Query(description=f"answer as of this moment ({NAIVE_NOTE})")]
GenerationQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="a generation id")]


@router.get(
    "/grids",
    summary="Grids as a GeoJSON FeatureCollection (area_m2 computed in EPSG:4547); without `limit` it is "
    "streamed",
    response_model=GridCollection,
    responses=error_responses(404, 422),
)
def list_grids(
    session: SessionDep,
    factory: SessionFactoryDep,
    level: Annotated[Literal["tertiary", "micro"] | None, Query()] = None,
    community: Annotated[str | None, Query(max_length=12, description="community code")] = None,
    bbox: Annotated[str | None, Query(max_length=200, description="min_lon,min_lat,max_lon,max_lat")] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    at: AtQuery = None,
    generation: GenerationQuery = None,
) -> dict[str, Any] | Response:
    gen = grid_service.resolve_generation(session, at, generation)
    box = grid_service.parse_bbox(bbox)
    if limit is None and offset == 0:  # every grid: streamed, never built whole in memory
        return StreamingResponse(
            _stream(factory, gen.id, level, community, box), media_type="application/json"
        )
    rows = grid_repo.list_grids(session, gen.id, level, community, box, limit, offset)
    return feature_collection(rows) | {"generation": gen.id}


def _stream(
    factory: sessionmaker[Session],
    generation_id: int,
    level: str | None,
    community: str | None,
    box: tuple[float, float, float, float] | None,
) -> Iterator[bytes]:
    """The FeatureCollection of list_grids, a few hundred features per chunk, from a session of its own
    (the request's session has ended when the body is sent)."""
    yield b'{"type":"FeatureCollection","generation":%d,"features":[' % generation_id
    first = True
    with factory() as session, session.begin():
        batch: list[bytes] = []
        for grid in grid_repo.iter_grids(session, generation_id, level, community, box):
            batch.append(orjson.dumps(feature(grid)))
            if len(batch) == 200:
                yield (b"" if first else b",") + b",".join(batch)
                first, batch = False, []
        if batch:
            yield (b"" if first else b",") + b",".join(batch)
    yield b"]}"


@router.get(
    "/grids/{code}",
    summary="One grid with its parent, children and people",
    response_model=GridDetailFeature,
    responses=error_responses(404, 422),
)
def get_grid(
    session: SessionDep,
    principal: PrincipalDep,
    code: Annotated[str, Path(max_length=32)],
    at: AtQuery = None,
    generation: GenerationQuery = None,
) -> dict[str, Any]:
    gen = grid_service.resolve_generation(session, at, generation)
    detail = grid_service.grid_detail(session, gen, code)
    return feature(
        detail.grid,
        parent=asdict(detail.parent) if detail.parent else None,
        children=[asdict(c) for c in detail.children],
        people=[person(p, principal) for p in detail.people],
        community={"code": detail.grid.community_code, "name": detail.community_name},
    )
