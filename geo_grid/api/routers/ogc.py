"""/ogc: OGC API – Features (Part 1 Core, Part 2 CRS by reference) over the grids, communities, facilities,
road segments, courtyards and reports; GeoJSON or a small Chinese HTML page (`f=html` or Accept).

Errors of these routes are the OGC exception (`code`, `description`) with the project's fields (`message`,
`detail`); an invalid parameter is a 400, as the standard requires (not the API's usual 422).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from geo_grid import clock
from geo_grid.api.deps import PrincipalDep, SessionDep
from geo_grid.api.schemas.ogc import (
    Collection,
    Collections,
    Conformance,
    Extent,
    LandingPage,
    Link,
    OgcFeature,
    OgcFeatureCollection,
    SpatialExtent,
    TemporalExtent,
    ogc_error_responses,
)
from geo_grid.errors import GeoGridError, InvalidParameter
from geo_grid.render import ogc as pages
from geo_grid.repository.ogc import FeatureRow
from geo_grid.services import ogc as ogc_service
from geo_grid.services import subdistricts

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]


def _title(name: str) -> str:
    """The service's title: the subdistrict's name, or the district's (services/subdistricts.py)."""
    return f"{name}网格数据（OGC API – Features）"


def _error(exc: GeoGridError) -> JSONResponse:
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
                return _error(InvalidParameter(f"参数 {where} 无效：{first.get('msg', '')}", problems))
            except GeoGridError as exc:
                return _error(exc)

        return ogc_handler


router = APIRouter(prefix="/ogc", tags=["ogc"], route_class=OgcRoute)

FQuery = Annotated[
    str | None, Query(max_length=20, description="输出格式：json（默认）或 html；也可用 Accept 请求头")
]
CollectionId = Annotated[
    str,
    Path(alias="collectionId", max_length=40, description=f"集合编号：{'、'.join(ogc_service.COLLECTIONS)}"),
]
SubdistrictQuery = Annotated[
    str | None,
    Query(
        max_length=20,
        description="街道编码：只看该街道的要素；不填：调用者所属的街道、库中唯一的街道，或全区（各街道）",
    ),
]
CrsQuery = Annotated[
    str | None,
    Query(
        max_length=200, description=f"输出坐标系 URI（默认 CRS84）：{'、'.join(ogc_service.SUPPORTED_CRS)}"
    ),
]


def _html_page(status: int = 200) -> dict[int | str, dict[str, Any]]:
    return {status: {"content": {HTML: {"schema": {"type": "string"}}}, "description": "JSON 或 HTML"}}


def _alternatives(media: str, schema: str) -> dict[int | str, dict[str, Any]]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {
        200: {
            "description": f"{media} 或 HTML（f=html）",
            "content": {media: {"schema": ref}, HTML: {"schema": {"type": "string"}}},
        }
    }


def _wants_html(request: Request, f: str | None) -> bool:
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


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _link(href: str, rel: str, type_: str | None = None, title: str | None = None) -> Link:
    values: dict[str, Any] = {"href": href, "rel": rel}
    if type_ is not None:
        values["type"] = type_
    if title is not None:
        values["title"] = title
    return Link(**values)


def _self_links(request: Request, html: bool, media: str = JSON) -> list[Link]:
    """self and alternate links of this resource in JSON and HTML."""
    as_json = str(request.url.include_query_params(f="json"))
    as_html = str(request.url.include_query_params(f="html"))
    return [
        _link(as_html if html else as_json, "self", HTML if html else media, "本页"),
        _link(as_json if html else as_html, "alternate", media if html else HTML, "其他格式"),
    ]


def _json(model: BaseModel, media: str = JSON, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(model.model_dump(mode="json", exclude_unset=True), media_type=media, headers=headers)


def _html(page: pages.Page, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(pages.render(page), headers=headers)


def _page_links(links: list[Link]) -> list[pages.PageLink]:
    return [pages.PageLink(lk.href, lk.rel, lk.title or lk.rel, lk.type) for lk in links]


def _crumbs(request: Request, *more: tuple[str, str]) -> list[pages.Cell]:
    base = _base(request)
    out = [pages.Cell("首页", f"{base}?f=html"), pages.Cell("数据集合", f"{base}/collections?f=html")]
    return out + [pages.Cell(text, href) for text, href in more]


# -------------------------------------------------------------------------------------------- landing


@router.get(
    "",
    summary="OGC API – Features landing page",
    response_model=LandingPage,
    responses={**_html_page(), **ogc_error_responses(400)},
)
def landing(request: Request, session: SessionDep, f: FQuery = None) -> Response:
    html = _wants_html(request, f)
    name = subdistricts.title_of(session)
    place = subdistricts.place_of(session)
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    links = _self_links(request, html) + [
        _link(f"{base}/api", "service-desc", OPENAPI, "API 定义（OpenAPI 3.0）"),
        _link(f"{root}/docs", "service-doc", HTML, "API 文档"),
        _link(f"{base}/conformance", "conformance", JSON, "一致性类"),
        _link(f"{base}/collections", "data", JSON, "数据集合"),
    ]
    body = LandingPage(
        title=_title(name),
        description=f"{place}的社区、三级网格、微网格、设施、路段、楼院和群众上报，"
        "按 OGC API – Features 标准提供（GeoJSON，CRS84 / CGCS2000 / EPSG:4547）；"
        "要素查询可用 subdistrict=街道编码 只看一个街道。",
        links=links,
    )
    if html:
        return _html(pages.Page(body.title, body.description, _crumbs(request)[:1], links=_page_links(links)))
    return _json(body)


@router.get(
    "/conformance",
    summary="OGC API – Features conformance classes",
    response_model=Conformance,
    responses={**_html_page(), **ogc_error_responses(400)},
)
def conformance(request: Request, f: FQuery = None) -> Response:
    body = Conformance(conformsTo=CONFORMANCE)
    if _wants_html(request, f):
        rows = [[pages.Cell(uri, uri)] for uri in CONFORMANCE]
        return _html(
            pages.Page(
                "一致性类", "本服务实现的 OGC 一致性类", _crumbs(request)[:1], headers=["URI"], rows=rows
            )
        )
    return _json(body)


@router.get(
    "/api",
    summary="The API definition (this service's OpenAPI 3 document)",
    response_model=dict[str, Any],
    responses={200: {"content": {OPENAPI: {"schema": {"type": "object"}}}, "description": "OpenAPI 文档"}},
)
def api_definition(request: Request) -> Response:
    return JSONResponse(request.app.openapi(), media_type=OPENAPI)


# ---------------------------------------------------------------------------------------- collections


def _collection(request: Request, info: ogc_service.CollectionInfo, html: bool, own: bool) -> Collection:
    base = f"{_base(request)}/collections/{info.meta.id}"
    links = _self_links(request, html) if own else [_link(base, "self", JSON, info.meta.title)]
    links += [
        _link(f"{base}/items", "items", GEOJSON, f"{info.meta.title}（GeoJSON）"),
        _link(f"{base}/items?f=html", "items", HTML, f"{info.meta.title}（HTML）"),
    ]
    extent: dict[str, Any] = {}
    if info.extent.bbox is not None:
        extent["spatial"] = SpatialExtent(bbox=[list(info.extent.bbox)], crs=ogc_service.CRS84)
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
        crs=ogc_service.SUPPORTED_CRS,
        storageCrs=ogc_service.STORAGE_CRS,
    )


@router.get(
    "/collections",
    summary="OGC API – Features collections",
    response_model=Collections,
    responses={**_html_page(), **ogc_error_responses(400, 404)},
)
def collections(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    f: FQuery = None,
    subdistrict: SubdistrictQuery = None,
) -> Response:
    html = _wants_html(request, f)
    sub = ogc_service.parse_subdistrict(subdistrict)
    infos = [
        ogc_service.describe(session, cid, principal.role, principal.scope, sub)
        for cid in ogc_service.COLLECTIONS
    ]
    body = Collections(
        links=_self_links(request, html), collections=[_collection(request, i, html, False) for i in infos]
    )
    if html:
        base = _base(request)
        rows = [
            [
                pages.Cell(c.title, f"{base}/collections/{c.id}?f=html"),
                pages.Cell(c.id),
                pages.Cell(c.description),
                pages.Cell("要素", f"{base}/collections/{c.id}/items?f=html"),
            ]
            for c in body.collections
        ]
        page = pages.Page(
            "数据集合",
            _title(subdistricts.title_of(session, sub)),
            _crumbs(request)[:1],
            headers=["名称", "编号", "说明", "要素"],
            rows=rows,
        )
        return _html(page)
    return _json(body)


@router.get(
    "/collections/{collectionId}",
    summary="One OGC API – Features collection",
    response_model=Collection,
    responses={**_html_page(), **ogc_error_responses(400, 404)},
)
def collection(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    collection_id: CollectionId,
    f: FQuery = None,
    subdistrict: SubdistrictQuery = None,
) -> Response:
    html = _wants_html(request, f)
    sub = ogc_service.parse_subdistrict(subdistrict)
    info = ogc_service.describe(session, collection_id, principal.role, principal.scope, sub)
    body = _collection(request, info, html, True)
    if html:
        facts = [("编号", body.id), ("说明", body.description), ("可用坐标系", "、".join(body.crs))]
        if info.extent.bbox is not None:
            facts.append(("范围（CRS84）", ", ".join(f"{v:.6f}" for v in info.extent.bbox)))
        interval = ogc_service.temporal_interval(info)
        if interval is not None:
            facts.append(("时间范围", f"{interval[0] or '…'} 至 {interval[1] or '…'}"))
        if info.meta.filterable:
            facts.append(("可筛选属性", "、".join(info.meta.filterable)))
        page = pages.Page(
            body.title, body.description, _crumbs(request), facts=facts, links=_page_links(body.links)
        )
        return _html(page)
    return _json(body)


# ----------------------------------------------------------------------------------------------- items


def _feature(request: Request, cid: str, row: FeatureRow, with_links: bool) -> OgcFeature:
    values: dict[str, Any] = {
        "type": "Feature",
        "id": row.id,
        "geometry": row.geometry,
        "properties": row.properties,
    }
    if with_links:
        base = f"{_base(request)}/collections/{cid}"
        values["links"] = _self_links(request, False, GEOJSON) + [
            _link(base, "collection", JSON, ogc_service.COLLECTIONS[cid].title)
        ]
    return OgcFeature(**values)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return str(value)
    return str(value)


@router.get(
    "/collections/{collectionId}/items",
    summary="Features of a collection (bbox, datetime, property filters, limit and next links)",
    description=(
        "属性筛选：在查询字符串中写 `属性名=值`（精确匹配），每个集合可筛选的属性见集合说明页，"
        "例如 micro_grids 的 community_code、level、parent_code，reports 的 category、status。"
        "网格集合的 datetime 为一个时刻：返回那一刻生效的边界代次；reports 的 datetime 按上报时间"
        "（created_at）筛选，可为时刻或区间（`开始/结束`，`..` 表示无界）。"
    ),
    response_model=OgcFeatureCollection,
    responses={**_alternatives(GEOJSON, "OgcFeatureCollection"), **ogc_error_responses(400, 404)},
)
def items(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    collection_id: CollectionId,
    f: FQuery = None,
    limit: Annotated[
        int | None, Query(ge=1, le=ogc_service.MAX_LIMIT, description="每页要素数（默认 100）")
    ] = None,
    offset: Annotated[
        int | None, Query(ge=0, le=ogc_service.MAX_OFFSET, description="跳过的要素数（next 链接使用）")
    ] = None,
    bbox: Annotated[
        str | None, Query(max_length=200, description="范围框：4 个数，按 bbox-crs 的轴序")
    ] = None,
    bbox_crs: Annotated[
        str | None, Query(alias="bbox-crs", max_length=200, description="bbox 的坐标系 URI（默认 CRS84）")
    ] = None,
    crs: CrsQuery = None,
    datetime: Annotated[str | None, Query(max_length=100, description="RFC 3339 时刻或区间")] = None,
    subdistrict: SubdistrictQuery = None,
) -> Response:
    html = _wants_html(request, f)
    params = dict(request.query_params)
    req = ogc_service.parse_items(collection_id, params)
    meta = ogc_service.collection(collection_id)
    page = ogc_service.items(session, collection_id, req, principal.role, principal.scope)
    if collection_id == "reports" and principal.sees_personal_data:
        request.state.audit_detail = {"ids": [r.id for r in page.features]}
    media = HTML if html else GEOJSON
    links = _self_links(request, html, GEOJSON)
    returned = len(page.features)
    if req.offset + returned < page.matched:
        nxt = request.url.include_query_params(offset=req.offset + returned, limit=req.limit)
        links.append(_link(str(nxt), "next", media, "下一页"))
    if req.offset > 0:
        prev = request.url.include_query_params(offset=max(0, req.offset - req.limit), limit=req.limit)
        links.append(_link(str(prev), "prev", media, "上一页"))
    links.append(_link(f"{_base(request)}/collections/{collection_id}", "collection", JSON, meta.title))
    headers = {"Content-Crs": f"<{req.crs}>"}
    body = OgcFeatureCollection(
        type="FeatureCollection",
        features=[_feature(request, collection_id, r, False) for r in page.features],
        links=links,
        numberMatched=page.matched,
        numberReturned=returned,
        timeStamp=clock.now().astimezone(UTC).isoformat().replace("+00:00", "Z"),
    )
    if html:
        base = f"{_base(request)}/collections/{collection_id}/items"
        names = list(page.features[0].properties)[:5] if page.features else []
        rows = [
            [pages.Cell(str(r.id), f"{base}/{r.id}?f=html")]
            + [pages.Cell(_cell(r.properties.get(n))) for n in names]
            for r in page.features
        ]
        description = f"共 {page.matched} 个要素，本页第 {req.offset + 1} 至 {req.offset + returned} 个。"
        crumbs = _crumbs(request, (meta.title, f"{_base(request)}/collections/{collection_id}?f=html"))
        page_html = pages.Page(
            f"{meta.title}：要素",
            description,
            crumbs,
            headers=["编号", *names],
            rows=rows,
            links=_page_links(links),
        )
        return _html(page_html, headers)
    return _json(body, GEOJSON, headers)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature of a collection",
    response_model=OgcFeature,
    responses={**_alternatives(GEOJSON, "OgcFeature"), **ogc_error_responses(400, 404)},
)
def item(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    collection_id: CollectionId,
    feature_id: Annotated[str, Path(alias="featureId", max_length=40, description="要素编号")],
    f: FQuery = None,
    crs: CrsQuery = None,
    subdistrict: SubdistrictQuery = None,
) -> Response:
    html = _wants_html(request, f)
    known = ("f", "crs", "subdistrict")
    unknown = sorted(k for k in request.query_params if k not in known)
    if unknown:
        raise InvalidParameter(f"未知的查询参数：{'、'.join(unknown)}", {"parameters": list(known)})
    target = ogc_service.parse_crs(crs)
    row = ogc_service.item(
        session, collection_id, feature_id, target, principal.role, principal.scope,
        ogc_service.parse_subdistrict(subdistrict),
    )  # fmt: skip
    if collection_id == "reports" and principal.sees_personal_data:
        request.state.audit_subject = f"report:{row.id}"
    headers = {"Content-Crs": f"<{target}>"}
    body = _feature(request, collection_id, row, True)
    if html:
        meta = ogc_service.COLLECTIONS[collection_id]
        facts = [(k, _cell(v)) for k, v in row.properties.items()]
        facts.append(("几何类型", str(row.geometry["type"]) if row.geometry else "无"))
        crumbs = _crumbs(
            request,
            (meta.title, f"{_base(request)}/collections/{collection_id}?f=html"),
            ("要素", f"{_base(request)}/collections/{collection_id}/items?f=html"),
        )
        page = pages.Page(
            f"{meta.title} {row.id}", "", crumbs, facts=facts, links=_page_links(body.links or [])
        )
        return _html(page, headers)
    return _json(body, GEOJSON, headers)
