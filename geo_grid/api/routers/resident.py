"""The public resident pages (公众号群众端, issue 13): GET /report (file a report) and GET /track (follow it
and rate it), plus their static JavaScript/CSS under /resident/assets/. The pages only call the public JSON
API (POST /reports, GET /reports/{id} and /rating with X-Tracking-Code, GET /lookup/address, GET /communities);
HTML in geo_grid/render/resident/, scripts and styles in geo_grid/static/resident/.

Each page sets its own Content-Security-Policy (render.resident.page_policy): no inline script or style at all.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from geo_grid.api.deps import SessionDep, SettingsDep
from geo_grid.api.security_headers import tile_sources
from geo_grid.errors import InvalidInput, NotFound
from geo_grid.render import assets as map_assets
from geo_grid.render import resident as pages
from geo_grid.render.basemap import Basemap
from geo_grid.services import categories as category_service
from geo_grid.services import subdistricts
from geo_grid.services.maps import basemap_of
from geo_grid.settings import Settings

router = APIRouter(tags=["resident"])

PAGE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/html": {}}, "description": "HTML 页面"}
}


def _basemap(settings: Settings) -> Basemap:
    try:
        return basemap_of(settings)
    except InvalidInput:  # a misconfigured basemap: the small map falls back to the plain background
        return Basemap()


def _page(body: str, basemap: Basemap | None = None) -> HTMLResponse:
    policy = pages.page_policy(tile_sources(basemap) if basemap is not None else ())
    headers = {"Content-Security-Policy": policy, "Cache-Control": "no-store"}
    return HTMLResponse(body, headers=headers)


@router.get(
    "/report",
    response_class=HTMLResponse,
    responses=PAGE_RESPONSES,
    summary="公众号群众端：我要上报（公开页面，手机尺寸）",
)
def report_page(session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """Active, non-sensitive categories only: a sensitive matter (e.g. 养老诈骗) goes to the hotline."""
    map_assets.check_installed()
    table = category_service.table(session)
    choices = [(c.code, c.name) for c in table.categories if c.active and not c.sensitive]
    basemap = _basemap(settings)
    place = subdistricts.title_of(session)  # the only subdistrict's name, else the district's
    return _page(pages.report_html(choices, pages.map_setup(basemap), place), basemap)


@router.get(
    "/track",
    response_class=HTMLResponse,
    responses=PAGE_RESPONSES,
    summary="公众号群众端：上报进度查询与评价（公开页面，追踪码在地址的 # 之后）",
)
def track_page(session: SessionDep) -> HTMLResponse:
    return _page(pages.track_html(subdistricts.title_of(session)))


@router.get("/resident/assets/{name}", include_in_schema=False, response_class=FileResponse)
def resident_asset(name: str) -> FileResponse:
    """The pages' own JavaScript and CSS (a fixed list of files)."""
    media_type = pages.ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no resident asset {name!r}")
    return FileResponse(
        pages.STATIC_DIR / name, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"}
    )
