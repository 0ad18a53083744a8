"""GET /grids and GET /grids/{code}: boundaries of any generation, with their people."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from geo_grid.api.deps import SCOPE_CHECK, PrincipalDep, ScopeDep, SessionDep, SessionFactoryDep
from geo_grid.api.presenters import feature, person
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.grids import GridCollection, GridDetailFeature
from geo_grid.repository import grids as grid_repo
from geo_grid.repository.generations import Generation
from geo_grid.repository.grids import Grid
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
    principal: ScopeDep,  # no personal data: not audited as a personal read
    level: Annotated[Literal["tertiary", "micro"] | None, Query()] = None,
    community: Annotated[str | None, Query(max_length=12, description="community code")] = None,
    bbox: Annotated[str | None, Query(max_length=200, description="min_lon,min_lat,max_lon,max_lat")] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    at: AtQuery = None,
    generation: GenerationQuery = None,
    subdistrict: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{9}$",
            description="subdistrict code (default: the caller's own, else the community's, else the only "
            "one; with several: every subdistrict's grids)",
        ),
    ] = None,
) -> dict[str, Any] | Response:
    # Named, the caller's own, the community's, the only one — else the whole district (never a 422).
    gens = grid_service.listing_generations(
        session, at, generation, subdistrict, caller=principal.subdistrict_code, belongs_to=community
    )
    subs = {g.id: g.subdistrict_code for g in gens}
    box = grid_service.parse_bbox(bbox)
    head = {"generation": gens[0].id if len(gens) == 1 else None, "generations": [g.id for g in gens]}
    if limit is None and offset == 0:  # every grid: streamed, never built whole in memory
        return StreamingResponse(
            _stream(factory, _ids(gens), subs, head, level, community, box), media_type="application/json"
        )
    rows = grid_repo.list_grids(session, _ids(gens), level, community, box, limit, offset)
    return {"type": "FeatureCollection", "features": [_listed(g, subs) for g in rows]} | head


def _ids(gens: list[Generation]) -> int | list[int]:
    """One generation's id (the one-subdistrict query as before), or every one's."""
    return gens[0].id if len(gens) == 1 else [g.id for g in gens]


def _listed(grid: Grid, subs: dict[int, str]) -> dict[str, Any]:
    """A grid of a listing, with the subdistrict of its generation."""
    return feature(grid, subdistrict_code=subs[grid.generation_id])


def _stream(
    factory: sessionmaker[Session],
    ids: int | list[int],
    subs: dict[int, str],
    head: dict[str, Any],
    level: str | None,
    community: str | None,
    box: tuple[float, float, float, float] | None,
) -> Iterator[bytes]:
    """The FeatureCollection of list_grids, a few hundred features per chunk, from a session of its own
    (the request's session has ended when the body is sent)."""
    yield b'{"type":"FeatureCollection",' + orjson.dumps(head)[1:-1] + b',"features":['
    first = True
    with factory() as session, session.begin():
        batch: list[bytes] = []
        for grid in grid_repo.iter_grids(session, ids, level, community, box):
            batch.append(orjson.dumps(_listed(grid, subs)))
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
    # The caller's own subdistrict (another's grid is 404 by scope), else the one the code names.
    detail = grid_service.grid_detail_of(session, code, at, generation, caller=principal.subdistrict_code)
    return feature(
        detail.grid,
        subdistrict_code=detail.subdistrict_code,
        parent=asdict(detail.parent) if detail.parent else None,
        children=[asdict(c) for c in detail.children],
        # Phones unmasked only in the caller's own subdistrict (Principal.sees_personal_data_in).
        people=[person(p, principal, detail.subdistrict_code) for p in detail.people],
        community={"code": detail.grid.community_code, "name": detail.community_name},
    )
