"""GET /grids/{code}/stats: report statistics of a grid at any level, rolled up from its children."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from geo_grid.api.deps import SCOPE_CHECK, DirectoryDep, SessionDep
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.stats import GridStatsOut
from geo_grid.services import stats as stats_service
from geo_grid.timeparse import NAIVE_NOTE, ApiDatetime

router = APIRouter(tags=["reports"], dependencies=[SCOPE_CHECK])  # a subdistrict's grids only


@router.get(
    "/grids/{code}/stats",
    summary="Counts by status/category, median time to close, overdue, 响应率/解决率/满意率 (with children)",
    response_model=GridStatsOut,
    responses=error_responses(404, 422),
)
def grid_stats(
    code: Annotated[str, Path(max_length=18)],
    directory: DirectoryDep,
    session: SessionDep,
    since: Annotated[
        ApiDatetime | None, Query(description=f"reports created at or after ({NAIVE_NOTE})")
    ] = None,
    until: Annotated[ApiDatetime | None, Query(description=f"reports created before ({NAIVE_NOTE})")] = None,
) -> stats_service.GridStats:
    return stats_service.grid_stats(session, directory, code, since, until)
