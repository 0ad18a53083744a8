"""GET /tiles/{layer}/{z}/{x}/{y}.mvt: Mapbox vector tiles of the grid, community, facility, road segment and
courtyard layers; GET /tiles/reports/{z}/{x}/{y}.mvt: the incident map's reports (its filter, as the caller
may see them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from geo_grid import clock
from geo_grid.api.audit_rule import personal_shown
from geo_grid.api.deps import SCOPE_CHECK, PersonalShownDep, SessionDep
from geo_grid.api.schemas.common import error_responses
from geo_grid.services import incident_maps
from geo_grid.services import tiles as tile_service
from geo_grid.timeparse import NAIVE_NOTE, ApiDatetime

router = APIRouter(tags=["maps"], dependencies=[SCOPE_CHECK])  # ?generation=<draft>: planners only
MVT = "application/vnd.mapbox-vector-tile"
MVT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {MVT: {"schema": {"type": "string", "format": "binary"}}},
        "description": "Mapbox 矢量瓦片（EPSG:3857，XYZ 瓦片编号）；无要素时为空",
    },
    **error_responses(404, 422),
}
ListQuery = Annotated[
    list[str] | None, Query(max_length=200, description="一个或多个值（重复参数或逗号分隔）")
]


def _split(values: list[str] | None) -> list[str] | None:
    out = [v.strip() for item in values or [] for v in item.split(",") if v.strip()]
    return out or None


# Declared before /tiles/{layer}/…, which would otherwise take the path "reports" as a layer name.
@router.get(
    "/tiles/reports/{z}/{x}/{y}.mvt",
    summary="Vector tile (MVT) of the incident map's reports: counts per cell zoomed out, single reports "
    "zoomed in (the filter of GET /maps/incidents; as the caller may see them)",
    response_class=Response,
    responses=MVT_RESPONSES,
)
def get_report_tile(
    request: Request,
    session: SessionDep,
    principal: PersonalShownDep,
    z: Annotated[int, Path(ge=0, le=tile_service.MAX_ZOOM)],
    x: Annotated[int, Path(ge=0, le=2**tile_service.MAX_ZOOM)],
    y: Annotated[int, Path(ge=0, le=2**tile_service.MAX_ZOOM)],
    status: ListQuery = None,
    category: ListQuery = None,
    since: Annotated[ApiDatetime | None, Query(description=f"此时刻及之后上报的（{NAIVE_NOTE}）")] = None,
    until: Annotated[ApiDatetime | None, Query(description=f"此时刻之前上报的（{NAIVE_NOTE}）")] = None,
    grid: Annotated[
        str | None, Query(max_length=32, pattern=r"^\d{9,18}$", description="任一层级的网格编码")
    ] = None,
    include_closed: Annotated[bool, Query(description="也显示30天前办结的上报")] = False,
    subdistrict: Annotated[
        str | None, Query(pattern=r"^[0-9]{9}$", description="哪个街道（默认调用者所属或唯一的街道）")
    ] = None,
) -> Response:
    f = incident_maps.IncidentFilter(
        _split(status), _split(category), since, until, grid, include_closed, access=principal.scope,
        subdistrict=subdistrict or principal.subdistrict_code,
    )  # fmt: skip
    found = tile_service.report_tile(session, f, principal.sees_personal_data, clock.now(), z, x, y)
    personal_shown(request, found.named_ids)  # audited only when it draws a sensitive report (privacy.py)
    # What a reports tile holds depends on the caller (scope, role) and changes with every report.
    return Response(found.body, media_type=MVT, headers={"Cache-Control": "private, max-age=30"})


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.mvt",
    summary="Vector tile (MVT) of micro_grids, tertiary_grids, communities, facilities, road_segments or "
    "courtyards",
    response_class=Response,
    responses=MVT_RESPONSES,
)
def get_tile(
    session: SessionDep,
    layer: Annotated[
        str,
        Path(
            max_length=20,
            description="micro_grids | tertiary_grids | communities | facilities | road_segments | courtyards",
        ),
    ],
    z: Annotated[int, Path(ge=0, le=tile_service.MAX_ZOOM)],
    x: Annotated[int, Path(ge=0, le=2**tile_service.MAX_ZOOM)],
    y: Annotated[int, Path(ge=0, le=2**tile_service.MAX_ZOOM)],
    generation: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="网格代次（默认现行代次）")
    ] = None,
) -> Response:
    # No principal (the router's SCOPE_CHECK only): these layers hold no personal data, so no read of them
    # is audited (api/audit_rule.audited_read).
    body = tile_service.tile(session, layer, z, x, y, generation)
    cache = "public" if generation is None else "private"  # a draft's tiles: not for shared caches
    return Response(body, media_type=MVT, headers={"Cache-Control": f"{cache}, max-age=60"})
