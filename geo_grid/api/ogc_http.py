"""How the /ogc routes answer (OGC API – Features; api/routers/ogc.py): the OGC exception for errors (a
failed validation is a 400), JSON or HTML by `f` or the Accept header, links, a collection's and a feature's
body, and the HTML pages' parts."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from geo_grid.api.schemas.ogc import Collection, Extent, Link, OgcFeature, SpatialExtent, TemporalExtent
from geo_grid.errors import GeoGridError, InvalidParameter
from geo_grid.render import ogc as pages
from geo_grid.repository.ogc import FeatureRow
from geo_grid.services import ogc as ogc_service
from geo_grid.services import ogc_params

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


def ogc_error(exc: GeoGridError) -> JSONResponse:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message, "description": exc.message}
    if exc.detail is not None:
        body["detail"] = exc.detail
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(body, status_code=exc.status, headers=headers)


class OgcRoute(APIRoute):
    """Answers errors as the OGC exception; a request that fails validation is a 400 (OGC), not a 422."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def ogc_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "参数"
                problems = [
                    {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
                    for e in exc.errors()
                ]
                return ogc_error(InvalidParameter(f"参数 {where} 无效：{first.get('msg', '')}", problems))
            except GeoGridError as exc:
                return ogc_error(exc)

        return ogc_handler


def html_alternative(status: int = 200) -> dict[int | str, dict[str, Any]]:
    return {status: {"content": {HTML: {"schema": {"type": "string"}}}, "description": "JSON 或 HTML"}}


def alternatives(media: str, schema: str) -> dict[int | str, dict[str, Any]]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {
        200: {
            "description": f"{media} 或 HTML（f=html）",
            "content": {media: {"schema": ref}, HTML: {"schema": {"type": "string"}}},
        }
    }


def wants_html(request: Request, f: str | None) -> bool:
    """`f` decides; without it, the Accept header (text/html before any JSON type means HTML)."""
    if f is not None:
        if f in ("json", "geojson"):
            return False
        if f == "html":
            return True
        raise InvalidParameter(f"f 只能是 json 或 html，收到 {f!r}")
    accept = request.headers.get("accept", "").lower()
    if HTML not in accept:
        return False
    json_at = min((i for i in (accept.find("json"),) if i >= 0), default=len(accept))
    return accept.find(HTML) < json_at


def ogc_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def link(href: str, rel: str, type_: str | None = None, title: str | None = None) -> Link:
    values: dict[str, Any] = {"href": href, "rel": rel}
    if type_ is not None:
        values["type"] = type_
    if title is not None:
        values["title"] = title
    return Link(**values)


def self_links(request: Request, html: bool, media: str = JSON) -> list[Link]:
    """self and alternate links of this resource in JSON and HTML."""
    as_json = str(request.url.include_query_params(f="json"))
    as_html = str(request.url.include_query_params(f="html"))
    return [
        link(as_html if html else as_json, "self", HTML if html else media, "本页"),
        link(as_json if html else as_html, "alternate", media if html else HTML, "其他格式"),
    ]


def json_response(model: BaseModel, media: str = JSON, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(model.model_dump(mode="json", exclude_unset=True), media_type=media, headers=headers)


def html_response(page: pages.Page, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(pages.render(page), headers=headers)


def page_links(links: list[Link]) -> list[pages.PageLink]:
    return [pages.PageLink(lk.href, lk.rel, lk.title or lk.rel, lk.type) for lk in links]


def breadcrumbs(request: Request, *more: tuple[str, str]) -> list[pages.Cell]:
    base = ogc_base(request)
    out = [pages.Cell("首页", f"{base}?f=html"), pages.Cell("数据集合", f"{base}/collections?f=html")]
    return out + [pages.Cell(text, href) for text, href in more]


# -------------------------------------------------------------------------------------------- landing


def collection_of(request: Request, info: ogc_service.CollectionInfo, html: bool, own: bool) -> Collection:
    base = f"{ogc_base(request)}/collections/{info.meta.id}"
    links = self_links(request, html) if own else [link(base, "self", JSON, info.meta.title)]
    links += [
        link(f"{base}/items", "items", GEOJSON, f"{info.meta.title}（GeoJSON）"),
        link(f"{base}/items?f=html", "items", HTML, f"{info.meta.title}（HTML）"),
    ]
    extent: dict[str, Any] = {}
    if info.extent.bbox is not None:
        extent["spatial"] = SpatialExtent(bbox=[list(info.extent.bbox)], crs=ogc_params.CRS84)
    interval = ogc_service.temporal_interval(info)
    if interval is not None:
        extent["temporal"] = TemporalExtent(
            interval=[interval], trs="http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
        )
    return Collection(
        id=info.meta.id,
        title=info.meta.title,
        description=info.meta.description,
        links=links,
        extent=Extent(**extent),
        itemType="feature",
        crs=ogc_params.SUPPORTED_CRS,
        storageCrs=ogc_params.STORAGE_CRS,
    )


def feature_of(request: Request, cid: str, row: FeatureRow, with_links: bool) -> OgcFeature:
    values: dict[str, Any] = {
        "type": "Feature",
        "id": row.id,
        "geometry": row.geometry,
        "properties": row.properties,
    }
    if with_links:
        base = f"{ogc_base(request)}/collections/{cid}"
        values["links"] = self_links(request, False, GEOJSON) + [
            link(base, "collection", JSON, ogc_service.COLLECTIONS[cid].title)
        ]
    return OgcFeature(**values)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return str(value)
    return str(value)
