"""GET /communities: the communities (社区) as GeoJSON — of the caller's own subdistrict, of the one named,
or (a district-level or anonymous caller naming none) of every subdistrict."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from geo_grid.api.deps import ScopeDep, SessionDep
from geo_grid.api.presenters import feature_collection
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.communities import CommunityCollection
from geo_grid.services import communities as community_service

router = APIRouter(tags=["grids"])


@router.get(
    "/communities",
    summary="Communities (社区) as a GeoJSON FeatureCollection",
    response_model=CommunityCollection,
    responses=error_responses(404),
)
def list_communities(
    session: SessionDep,
    principal: ScopeDep,
    subdistrict: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{9}$",
            description="只列出该街道的社区（省略：调用者所属街道；区级或匿名调用者：所有街道）",
        ),
    ] = None,
) -> dict[str, Any]:
    rows = community_service.listed(session, subdistrict, caller=principal.subdistrict_code)
    return feature_collection(rows)
