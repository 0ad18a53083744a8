"""GET /communities: the 11 communities as GeoJSON."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from geo_grid.api.deps import SessionDep
from geo_grid.api.presenters import feature_collection
from geo_grid.api.schemas.communities import CommunityCollection
from geo_grid.repository import communities as community_repo

router = APIRouter(tags=["grids"])


@router.get(
    "/communities",
    summary="Communities (社区) as a GeoJSON FeatureCollection",
    response_model=CommunityCollection,
)
def list_communities(session: SessionDep) -> dict[str, Any]:
    return feature_collection(community_repo.list_communities(session))
