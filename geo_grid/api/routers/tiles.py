"""GET /tiles/{layer}/{z}/{x}/{y}.mvt: Mapbox vector tiles of the grid, community, facility, road segment and
courtyard layers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from geo_grid.api.deps import SCOPE_CHECK, SessionDep
from geo_grid.api.schemas.common import error_responses
from geo_grid.services import tiles as tile_service

router = APIRouter(tags=["maps"], dependencies=[SCOPE_CHECK])  # ?generation=<draft>: planners only
MVT = "application/vnd.mapbox-vector-tile"


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.mvt",
    summary="Vector tile (MVT) of micro_grids, tertiary_grids, communities, facilities, road_segments or "
    "courtyards",
    response_class=Response,
    responses={
        200: {
            "content": {MVT: {"schema": {"type": "string", "format": "binary"}}},
            "description": "Mapbox 矢量瓦片（EPSG:3857，XYZ 瓦片编号）；无要素时为空",
        },
        **error_responses(404, 422),
    },  # fmt: skip
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
    body = tile_service.tile(session, layer, z, x, y, generation)
    cache = "public" if generation is None else "private"  # a draft's tiles: not for shared caches
    return Response(body, media_type=MVT, headers={"Cache-Control": f"{cache}, max-age=60"})
