"""GET /subdistricts: the subdistricts (街道) this database holds."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from geo_grid.api.deps import SessionDep
from geo_grid.api.schemas.subdistricts import SubdistrictOut
from geo_grid.repository import subdistricts as subdistrict_repo

router = APIRouter(tags=["grids"])


@router.get(
    "/subdistricts",
    summary="Subdistricts (街道) with their district, city and province",
    response_model=list[SubdistrictOut],
)
def list_subdistricts(session: SessionDep) -> list[SubdistrictOut]:
    return [SubdistrictOut(**asdict(s)) for s in subdistrict_repo.list_all(session)]
