"""GET /docs (Swagger UI), /docs/oauth2-redirect and /redoc, built from the copies in maps/node_modules
(GET /docs/static/…) instead of FastAPI's CDN defaults: the pages work on an intranet and reference no
outside URL (favicon included). /openapi.json stays FastAPI's own."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

from geo_grid.errors import NotFound
from geo_grid.render import assets

router = APIRouter(include_in_schema=False)

STATIC = "/docs/static"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _openapi_url(request: Request) -> str:
    return _root(request) + (request.app.openapi_url or "/openapi.json")


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    assets.check_installed(files=assets.DOCS_ASSETS.values())
    root, app = _root(request), request.app
    return get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{root}{STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{STATIC}/swagger-ui.css",
        swagger_favicon_url=f"{root}{STATIC}/favicon.png",
        oauth2_redirect_url=root + OAUTH2_REDIRECT,
        init_oauth=app.swagger_ui_init_oauth,
        # No badge fetched from validator.swagger.io (Swagger UI's default for a non-localhost host).
        swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
    )


@router.get(OAUTH2_REDIRECT, response_class=HTMLResponse)
def swagger_ui_oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    assets.check_installed(files=assets.DOCS_ASSETS.values())
    root = _root(request)
    return get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{STATIC}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{STATIC}/favicon.png",
        with_google_fonts=False,
    )


@router.get(STATIC + "/{name}", response_class=FileResponse)
def static(name: str) -> FileResponse:
    """Swagger UI's and Redoc's JavaScript/CSS/favicon, from maps/node_modules (installed by `make setup`)."""
    found = assets.resolve_docs(name)
    if found is None:
        raise NotFound(f"no docs asset {name!r}")
    return FileResponse(found, headers={"Cache-Control": "public, max-age=86400"})
