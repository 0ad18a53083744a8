"""GET /grids/{code}/stats: report statistics of a grid at any level, rolled up from its children; GET /stats:
of a subdistrict, or of the whole district by subdistrict."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from geo_grid.api.deps import SCOPE_CHECK, DirectoryDep, ScopeDep, SessionDep
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


@router.get(
    "/stats",
    summary="Report statistics of a subdistrict, or of the whole district with one child per subdistrict",
    response_model=GridStatsOut,
    responses=error_responses(404, 409, 422),
)
def stats(
    directory: DirectoryDep,
    session: SessionDep,
    principal: ScopeDep,
    subdistrict: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{9}$",
            description="街道编码；不填：调用者所属的街道，或库中唯一的街道；多个街道时为全区（按街道分项）",
        ),
    ] = None,
    since: Annotated[
        ApiDatetime | None, Query(description=f"reports created at or after ({NAIVE_NOTE})")
    ] = None,
    until: Annotated[ApiDatetime | None, Query(description=f"reports created before ({NAIVE_NOTE})")] = None,
) -> stats_service.GridStats:
    """Like GET /grids/{code}/stats for the subdistrict meant; for the whole district `level` is `district`,
    `code` the district's code and the children are the subdistricts (a subdistrict's caller: its own)."""
    return stats_service.overview(session, directory, since, until, subdistrict, principal.subdistrict_code)
