"""GET /maps/…: the coverage, grid, incident and editor pages (HTML), and their vendored JS/CSS."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse, HTMLResponse

from geo_grid import clock
from geo_grid.api.deps import SCOPE_CHECK, PrincipalDep, ScopeDep, SessionDep, SettingsDep
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.maps import DutyPopupOut, GridHitOut, GridLabelOut, GridPopupOut, ReportPopupOut
from geo_grid.errors import GenerationNotFound, NotFound
from geo_grid.render import assets
from geo_grid.repository import scope as scope_repo
from geo_grid.services import auth, incident_maps
from geo_grid.services import generations as generation_service
from geo_grid.services import grids as grid_service
from geo_grid.services import maps as map_service
from geo_grid.timeparse import NAIVE_NOTE, ApiDatetime

router = APIRouter(prefix="/maps", tags=["maps"], dependencies=[SCOPE_CHECK])  # ?generation=<draft>: planners

GenerationQuery = Annotated[
    int | None, Query(ge=1, le=2**31 - 1, description="a generation id (a draft shows its problems)")
]
SubdistrictQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{9}$",
        description="whose boundaries (default: the caller's subdistrict, the only one, else the whole district)",
    ),
]
ListQuery = Annotated[
    list[str] | None, Query(max_length=200, description="one or more values, repeated or comma-separated")
]


# An HTML page (no JSON model); errors are the common JSON error body.
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "HTML 地图页面"},
    **error_responses(404, 422, 503),
}


def _html(fmap: object) -> HTMLResponse:
    # Pages are built per request from the database; never cache them (phones depend on the token).
    return HTMLResponse(assets.html_of(fmap), headers={"Cache-Control": "no-store"})


def _personal(principal: auth.Principal, subdistrict: str | None) -> bool:
    """Phones on a coverage page: for whom the policy allows, and of a subdistrict's own people only."""
    return principal.sees_personal_data_in(subdistrict)


def _split(values: list[str] | None) -> list[str] | None:
    out = [v.strip() for item in values or [] for v in item.split(",") if v.strip()]
    return out or None


@router.get(
    "/coverage",
    response_class=HTMLResponse,
    responses=PAGE_RESPONSES,
    summary="Coverage map: grids, people, facilities, draft problems",
)
def coverage(
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    generation: GenerationQuery = None,
    subdistrict: SubdistrictQuery = None,
) -> HTMLResponse:
    assets.check_installed()
    sub = map_service.page_subdistrict(session, subdistrict, principal.subdistrict_code)
    fmap = map_service.coverage_map(
        session,
        map_service.basemap_of(settings),
        _personal(principal, sub),
        generation,
        tiles_above=settings.map_tiles_above,
        subdistrict=sub,
    )
    return _html(fmap)


@router.get(
    "/grids/{code}",
    response_class=HTMLResponse,
    responses=PAGE_RESPONSES,
    summary="The coverage map opened zoomed on one grid",
)
def grid(
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    code: Annotated[str, Path(max_length=32, pattern=r"^\d{1,32}$")],
    generation: GenerationQuery = None,
) -> HTMLResponse:
    assets.check_installed()
    sub = grid_service.subdistrict_hint(session, code)  # codes name their subdistrict
    fmap = map_service.coverage_map(
        session,
        map_service.basemap_of(settings),
        _personal(principal, sub),
        generation,
        focus=code,
        tiles_above=settings.map_tiles_above,
        subdistrict=sub,
    )
    return _html(fmap)


@router.get(
    "/search",
    response_model=list[GridHitOut],
    responses=error_responses(404, 422),
    summary="Grids by code or part of the name (the search box of a tiled coverage map)",
)
def search(
    session: SessionDep,
    principal: PrincipalDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="网格编码（或其开头）或名称的一部分")],
    generation: GenerationQuery = None,
    limit: Annotated[int, Query(ge=1, le=50, description="最多返回条数")] = 20,
) -> list[GridHitOut]:
    hits = map_service.search_grids(session, q, generation, limit, principal.subdistrict_code)
    return [
        GridHitOut(code=h.code, name=h.name, level=h.level, bounds=list(h.bounds), point=list(h.point))
        for h in hits
    ]


@router.get(
    "/labels",
    response_model=list[GridLabelOut],
    responses=error_responses(404, 422),
    summary="Grid labels (name and code) in a bounding box (the zoom-in labels of a tiled coverage map)",
)
def labels(
    session: SessionDep,
    principal: PrincipalDep,
    level: Annotated[Literal["tertiary", "micro"], Query(description="网格层级")],
    bbox: Annotated[str, Query(max_length=200, description="min_lon,min_lat,max_lon,max_lat")],
    generation: GenerationQuery = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="最多返回条数")] = 2000,
) -> list[GridLabelOut]:
    found = map_service.grid_labels(session, level, bbox, generation, limit, principal.subdistrict_code)
    return [GridLabelOut(lat=x.lat, lon=x.lon, text=x.text) for x in found]


@router.get(
    "/popups/grids/{code}",
    response_model=GridPopupOut,
    responses=error_responses(404, 422),
    summary="One grid's popup, as the coverage map shows it (what a tiled coverage map opens on click)",
)
def grid_popup(
    session: SessionDep,
    principal: PrincipalDep,
    code: Annotated[str, Path(max_length=32, pattern=r"^\d{1,32}$")],
    generation: GenerationQuery = None,
) -> GridPopupOut:
    popup = map_service.grid_popup(
        session, code, generation, principal.sees_personal_data_in(code), principal.scope
    )
    return GridPopupOut(code=popup.code, name=popup.name, level=popup.level, html=popup.html)


# Declared before /popups/{kind}/{area_id}, which would otherwise take "reports" as a kind (and refuse it).
@router.get(
    "/popups/reports/{report_id}",
    response_model=ReportPopupOut,
    responses=error_responses(404, 422),
    summary="One report's popup, as the incident map shows it (what a tiled incident map opens on click)",
)
def report_popup(
    session: SessionDep,
    principal: PrincipalDep,
    report_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="上报编号")],
) -> ReportPopupOut:
    popup = incident_maps.report_popup(
        session, report_id, principal.sees_personal_data, clock.now(), principal.scope
    )
    return ReportPopupOut(id=popup.id, html=popup.html)


@router.get(
    "/popups/{kind}/{area_id}",
    response_model=DutyPopupOut,
    responses=error_responses(404, 422),
    summary="A road segment's or courtyard's popup, as the coverage map shows it (tiled coverage map)",
)
def duty_popup(
    session: SessionDep,
    principal: PrincipalDep,
    kind: Annotated[Literal["road_segments", "courtyards"], Path(description="road_segments | courtyards")],
    area_id: Annotated[str, Path(max_length=64, description="路段编号或楼院编号")],
) -> DutyPopupOut:
    popup = map_service.duty_popup(session, kind, area_id, principal.scope)
    return DutyPopupOut(id=popup.code, name=popup.name, html=popup.html)


@router.get(
    "/incidents",
    response_class=HTMLResponse,
    responses=PAGE_RESPONSES,
    summary="Incident map: reports by state, heat map, choropleth",
)
def incidents(
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    status: ListQuery = None,
    category: ListQuery = None,
    since: Annotated[
        ApiDatetime | None, Query(description=f"reports created at or after ({NAIVE_NOTE})")
    ] = None,
    until: Annotated[ApiDatetime | None, Query(description=f"reports created before ({NAIVE_NOTE})")] = None,
    grid: Annotated[
        str | None, Query(max_length=32, pattern=r"^\d{9,18}$", description="a grid code, any level")
    ] = None,
    include_closed: Annotated[
        bool, Query(description="also show reports closed more than 30 days ago")
    ] = False,
    subdistrict: SubdistrictQuery = None,
) -> HTMLResponse:
    assets.check_installed()
    f = incident_maps.IncidentFilter(
        _split(status), _split(category), since, until, grid, include_closed, access=principal.scope,
        subdistrict=subdistrict or principal.subdistrict_code,
    )  # fmt: skip
    fmap = incident_maps.incident_map(
        session,
        map_service.basemap_of(settings),
        principal.sees_personal_data,
        f,
        clock.now(),
        tiles_above=settings.map_reports_tiled_above,
    )
    return _html(fmap)


@router.get(
    "/editor",
    response_class=HTMLResponse,
    responses=PAGE_RESPONSES,
    summary="Planner's editor page for a draft generation",
)
def editor(
    session: SessionDep, settings: SettingsDep, principal: ScopeDep, generation: GenerationQuery = None
) -> HTMLResponse:
    assets.check_installed()
    if generation is None:  # the default: the current draft of one's subdistrict (drafts are the planners')
        own = generation_service.drafts(session, principal.subdistrict_code)
        if not own or not scope_repo.reads_drafts(principal.role):
            raise GenerationNotFound("没有草稿代次：请先新建草稿（POST /generations）")
        generation = own[-1].id
    return _html(map_service.editor_map(session, map_service.basemap_of(settings), generation))


@router.get("/static/{path:path}", include_in_schema=False, response_class=FileResponse)
def static(path: str) -> FileResponse:
    """The pages' JavaScript/CSS/images, from maps/node_modules (installed by `make setup`)."""
    found = assets.resolve(path)
    if found is None:
        raise NotFound(f"no map asset {path!r}")
    return FileResponse(found, headers={"Cache-Control": "public, max-age=86400"})
