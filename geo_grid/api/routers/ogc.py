"""/ogc: OGC API – Features (Part 1 Core, Part 2 CRS by reference) over the grids, communities, facilities,
road segments, courtyards and reports; GeoJSON or a small Chinese HTML page (`f=html` or Accept).

Errors of these routes are the OGC exception (`code`, `description`) with the project's fields (`message`,
`detail`); an invalid parameter is a 400, as the standard requires (not the API's usual 422).
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from geo_grid import clock
from geo_grid.api.deps import PrincipalDep, SessionDep
from geo_grid.api.ogc_http import (
    GEOJSON,
    HTML,
    JSON,
    OPENAPI,
    OgcRoute,
    alternatives,
    breadcrumbs,
    cell_text,
    collection_of,
    feature_of,
    html_alternative,
    html_response,
    json_response,
    link,
    ogc_base,
    page_links,
    self_links,
    wants_html,
)
from geo_grid.api.schemas.ogc import (
    Collection,
    Collections,
    Conformance,
    LandingPage,
    OgcFeature,
    OgcFeatureCollection,
    ogc_error_responses,
)
from geo_grid.errors import InvalidParameter
from geo_grid.render import ogc as pages
from geo_grid.services import ogc as ogc_service
from geo_grid.services import ogc_params, subdistricts

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
    Query(max_length=200, description=f"输出坐标系 URI（默认 CRS84）：{'、'.join(ogc_params.SUPPORTED_CRS)}"),
]


@router.get(
    "",
    summary="OGC API – Features landing page",
    response_model=LandingPage,
    responses={**html_alternative(), **ogc_error_responses(400)},
)
def landing(request: Request, session: SessionDep, f: FQuery = None) -> Response:
    html = wants_html(request, f)
    name = subdistricts.title_of(session)
    place = subdistricts.place_of(session)
    base = ogc_base(request)
    root = str(request.base_url).rstrip("/")
    links = self_links(request, html) + [
        link(f"{base}/api", "service-desc", OPENAPI, "API 定义（OpenAPI 3.0）"),
        link(f"{root}/docs", "service-doc", HTML, "API 文档"),
        link(f"{base}/conformance", "conformance", JSON, "一致性类"),
        link(f"{base}/collections", "data", JSON, "数据集合"),
    ]
    body = LandingPage(
        title=_title(name),
        description=f"{place}的社区、三级网格、微网格、设施、路段、楼院和群众上报，"
        "按 OGC API – Features 标准提供（GeoJSON，CRS84 / CGCS2000 / EPSG:4547）；"
        "要素查询可用 subdistrict=街道编码 只看一个街道。",
        links=links,
    )
    if html:
        return html_response(
            pages.Page(body.title, body.description, breadcrumbs(request)[:1], links=page_links(links))
        )
    return json_response(body)


@router.get(
    "/conformance",
    summary="OGC API – Features conformance classes",
    response_model=Conformance,
    responses={**html_alternative(), **ogc_error_responses(400)},
)
def conformance(request: Request, f: FQuery = None) -> Response:
    body = Conformance(conformsTo=CONFORMANCE)
    if wants_html(request, f):
        rows = [[pages.Cell(uri, uri)] for uri in CONFORMANCE]
        return html_response(
            pages.Page(
                "一致性类", "本服务实现的 OGC 一致性类", breadcrumbs(request)[:1], headers=["URI"], rows=rows
            )
        )
    return json_response(body)


@router.get(
    "/api",
    summary="The API definition (this service's OpenAPI 3 document)",
    response_model=dict[str, Any],
    responses={200: {"content": {OPENAPI: {"schema": {"type": "object"}}}, "description": "OpenAPI 文档"}},
)
def api_definition(request: Request) -> Response:
    return JSONResponse(request.app.openapi(), media_type=OPENAPI)


# ---------------------------------------------------------------------------------------- collections


@router.get(
    "/collections",
    summary="OGC API – Features collections",
    response_model=Collections,
    responses={**html_alternative(), **ogc_error_responses(400, 404)},
)
def collections(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    f: FQuery = None,
    subdistrict: SubdistrictQuery = None,
) -> Response:
    html = wants_html(request, f)
    sub = ogc_params.parse_subdistrict(subdistrict)
    infos = [
        ogc_service.describe(session, cid, principal.role, principal.scope, sub)
        for cid in ogc_service.COLLECTIONS
    ]
    body = Collections(
        links=self_links(request, html), collections=[collection_of(request, i, html, False) for i in infos]
    )
    if html:
        base = ogc_base(request)
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
            breadcrumbs(request)[:1],
            headers=["名称", "编号", "说明", "要素"],
            rows=rows,
        )
        return html_response(page)
    return json_response(body)


@router.get(
    "/collections/{collectionId}",
    summary="One OGC API – Features collection",
    response_model=Collection,
    responses={**html_alternative(), **ogc_error_responses(400, 404)},
)
def collection(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    collection_id: CollectionId,
    f: FQuery = None,
    subdistrict: SubdistrictQuery = None,
) -> Response:
    html = wants_html(request, f)
    sub = ogc_params.parse_subdistrict(subdistrict)
    info = ogc_service.describe(session, collection_id, principal.role, principal.scope, sub)
    body = collection_of(request, info, html, True)
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
            body.title, body.description, breadcrumbs(request), facts=facts, links=page_links(body.links)
        )
        return html_response(page)
    return json_response(body)


# ----------------------------------------------------------------------------------------------- items


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
    responses={**alternatives(GEOJSON, "OgcFeatureCollection"), **ogc_error_responses(400, 404)},
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
    html = wants_html(request, f)
    params = dict(request.query_params)
    req = ogc_service.parse_items(collection_id, params)
    meta = ogc_service.collection(collection_id)
    page = ogc_service.items(session, collection_id, req, principal.role, principal.scope)
    if collection_id == "reports" and principal.sees_personal_data:
        request.state.audit_detail = {"ids": [r.id for r in page.features]}
    media = HTML if html else GEOJSON
    links = self_links(request, html, GEOJSON)
    returned = len(page.features)
    if req.offset + returned < page.matched:
        nxt = request.url.include_query_params(offset=req.offset + returned, limit=req.limit)
        links.append(link(str(nxt), "next", media, "下一页"))
    if req.offset > 0:
        prev = request.url.include_query_params(offset=max(0, req.offset - req.limit), limit=req.limit)
        links.append(link(str(prev), "prev", media, "上一页"))
    links.append(link(f"{ogc_base(request)}/collections/{collection_id}", "collection", JSON, meta.title))
    headers = {"Content-Crs": f"<{req.crs}>"}
    body = OgcFeatureCollection(
        type="FeatureCollection",
        features=[feature_of(request, collection_id, r, False) for r in page.features],
        links=links,
        numberMatched=page.matched,
        numberReturned=returned,
        timeStamp=clock.now().astimezone(UTC).isoformat().replace("+00:00", "Z"),
    )
    if html:
        base = f"{ogc_base(request)}/collections/{collection_id}/items"
        names = list(page.features[0].properties)[:5] if page.features else []
        rows = [
            [pages.Cell(str(r.id), f"{base}/{r.id}?f=html")]
            + [pages.Cell(cell_text(r.properties.get(n))) for n in names]
            for r in page.features
        ]
        description = f"共 {page.matched} 个要素，本页第 {req.offset + 1} 至 {req.offset + returned} 个。"
        trail = breadcrumbs(request, (meta.title, f"{ogc_base(request)}/collections/{collection_id}?f=html"))
        page_html = pages.Page(
            f"{meta.title}：要素",
            description,
            trail,
            headers=["编号", *names],
            rows=rows,
            links=page_links(links),
        )
        return html_response(page_html, headers)
    return json_response(body, GEOJSON, headers)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature of a collection",
    response_model=OgcFeature,
    responses={**alternatives(GEOJSON, "OgcFeature"), **ogc_error_responses(400, 404)},
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
    html = wants_html(request, f)
    known = ("f", "crs", "subdistrict")
    unknown = sorted(k for k in request.query_params if k not in known)
    if unknown:
        raise InvalidParameter(f"未知的查询参数：{'、'.join(unknown)}", {"parameters": list(known)})
    target = ogc_params.parse_crs(crs)
    row = ogc_service.item(
        session, collection_id, feature_id, target, principal.role, principal.scope,
        ogc_params.parse_subdistrict(subdistrict),
    )  # fmt: skip
    if collection_id == "reports" and principal.sees_personal_data:
        request.state.audit_subject = f"report:{row.id}"
    headers = {"Content-Crs": f"<{target}>"}
    body = feature_of(request, collection_id, row, True)
    if html:
        meta = ogc_service.COLLECTIONS[collection_id]
        facts = [(k, cell_text(v)) for k, v in row.properties.items()]
        facts.append(("几何类型", str(row.geometry["type"]) if row.geometry else "无"))
        trail = breadcrumbs(
            request,
            (meta.title, f"{ogc_base(request)}/collections/{collection_id}?f=html"),
            ("要素", f"{ogc_base(request)}/collections/{collection_id}/items?f=html"),
        )
        page = pages.Page(
            f"{meta.title} {row.id}", "", trail, facts=facts, links=page_links(body.links or [])
        )
        return html_response(page, headers)
    return json_response(body, GEOJSON, headers)
