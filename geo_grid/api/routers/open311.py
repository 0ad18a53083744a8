"""/open311/v2: Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), JSON and XML.

Services are the report categories, service requests are reports (services/open311.py). Every error of
these routes — domain errors and request validation alike — is the specification's array of
{code, description}, in the format the path asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from geo_grid.api.deps import PrincipalDep, SessionDep, SettingsDep
from geo_grid.api.runtime import runtime_of
from geo_grid.api.schemas.open311 import (
    Discovery,
    Open311Error,
    RequestCreated,
    Service,
    ServiceDefinition,
    ServiceRequest,
    TokenAnswer,
)
from geo_grid.api.schemas.report_inputs import photo_url
from geo_grid.errors import GeoGridError, InvalidInput, SubdistrictNotFound
from geo_grid.reporting import NewReport
from geo_grid.repository.subdistricts import Subdistrict
from geo_grid.services import exchange, open311, open311_wire, subdistricts
from geo_grid.services import reports as report_service
from geo_grid.services.auth import Principal
from geo_grid.services.lookup import place, require

Format = Literal["json", "xml"]
XML = "text/xml; charset=utf-8"


def _status(exc: GeoGridError) -> int:
    """GeoReport's error statuses: 400 for input, 403 for keys and roles, 404, else the service's own."""
    if exc.status in (401, 403):
        return 403
    if exc.status == 422:
        return 400
    return exc.status


def error_response(request: Request, status: int, messages: list[str]) -> Response:
    body = open311_wire.errors_body(status, messages)
    if request.path_params.get("format") == "xml" or request.url.path.endswith(".xml"):
        return Response(open311_wire.to_xml("errors", body), status_code=status, media_type=XML)
    return JSONResponse(body, status_code=status)


class Open311Route(APIRoute):
    """Errors in the specification's format (the app's handlers answer {code, message} elsewhere)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                messages = [
                    f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()
                ]
                return error_response(request, 400, messages or ["请求参数不正确"])
            except GeoGridError as exc:
                return error_response(request, _status(exc), [exc.message])

        return run


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "model": list[Open311Error],
        "description": "错误：{code, description} 数组（XML：<errors><error>…）",
        "content": {"text/xml": {"schema": {"type": "string"}}},
    }
    for status in (400, 403, 404)
}


def _xml_too(description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": description, "content": {"text/xml": {"schema": {"type": "string"}}}},
        **_ERRORS,
    }


FormatPath = Annotated[Format, Path(description="json 或 xml")]
Jurisdiction = Annotated[
    str | None,
    Query(
        max_length=20,
        description="辖区编号：街道的统计用区划代码（如 410105012）；不填：调用者所属的街道、唯一的街道或全区",
    ),
]


def _check_jurisdiction(
    session: Session, value: str | None, principal: Principal | None = None
) -> Subdistrict | None:
    """The jurisdiction named (a subdistrict's code; unknown, or another than a subdistrict caller's: 400),
    else the caller's own or the only one; None: the whole district (services/open311.py)."""
    if value is not None and not (value.isascii() and value.isdigit() and len(value) == 9):
        raise InvalidInput(f"jurisdiction_id 应为 9 位街道编码，不是 {value!r}")
    try:
        return open311.jurisdiction(session, value, principal.subdistrict_code if principal else None)
    except SubdistrictNotFound as exc:  # GeoReport: an unknown jurisdiction_id is a 400
        raise InvalidInput(f"没有辖区 {value!r}（jurisdiction_id 为街道编码）") from exc


def _answer(fmt: Format, root: str, content: list[Any] | dict[str, Any], status: int = 200) -> Any:
    if fmt == "xml":
        return Response(open311_wire.to_xml(root, content), status_code=status, media_type=XML)
    return content


@router.get("/discovery.{format}", summary="Open311 service discovery", response_model=Discovery,
            responses=_xml_too("服务发现"))  # fmt: skip
def discovery(
    format: FormatPath, request: Request, session: SessionDep, jurisdiction_id: Jurisdiction = None
) -> Any:
    sub = _check_jurisdiction(session, jurisdiction_id)
    title = subdistricts.title_of(session) if sub is None else None
    return _answer(format, "discovery", open311.discovery(str(request.base_url), sub, title))


@router.get("/services.{format}", summary="Open311 services (the report categories)", response_model=list[Service],
            responses=_xml_too("服务列表"))  # fmt: skip
def services(format: FormatPath, session: SessionDep, jurisdiction_id: Jurisdiction = None) -> Any:
    _check_jurisdiction(session, jurisdiction_id)
    return _answer(format, "services", open311.service_list(session))


@router.get("/services/{service_code}.{format}", summary="Open311 service definition (attributes)",
            response_model=ServiceDefinition, responses=_xml_too("服务定义"))  # fmt: skip
def service_definition(
    service_code: Annotated[str, Path(max_length=40)],
    format: FormatPath,
    session: SessionDep,
    jurisdiction_id: Jurisdiction = None,
) -> Any:
    _check_jurisdiction(session, jurisdiction_id)
    return _answer(format, "service_definition", open311.service_definition(session, service_code))


def _directory(request: Request) -> Any:
    return runtime_of(request.app).directory.current


@router.get("/requests.{format}", summary="Open311 service requests (reports)", response_model=list[ServiceRequest],
            responses=_xml_too("服务请求列表"))  # fmt: skip
def list_requests(
    format: FormatPath,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    jurisdiction_id: Jurisdiction = None,
    service_request_id: Annotated[str | None, Query(max_length=2000, description="编号（逗号分隔）")] = None,
    service_code: Annotated[str | None, Query(max_length=500, description="服务代码（逗号分隔）")] = None,
    start_date: Annotated[str | None, Query(max_length=40, description="起始时间 ISO 8601")] = None,
    end_date: Annotated[str | None, Query(max_length=40, description="截止时间 ISO 8601")] = None,
    status: Annotated[str | None, Query(max_length=20, description="open、closed（逗号分隔）")] = None,
) -> Any:
    """Without dates: the last 90 days; at most 1000 requests, newest first. Public: sensitive categories
    are left out, locations coarsened (geo_grid/privacy.py)."""
    sub = _check_jurisdiction(session, jurisdiction_id, principal)
    found = open311.find_requests(
        session, _directory(request), principal.role, report_service.now(), service_request_id, service_code,
        open311_wire.parse_time(start_date, "start_date"), open311_wire.parse_time(end_date, "end_date"), status,
        open311.jurisdiction_access(sub, principal.scope),
    )  # fmt: skip
    if principal.sees_personal_data:
        request.state.audit_detail = {"ids": [int(r["service_request_id"]) for r in found]}
    return _answer(format, "service_requests", found)


@router.get("/requests/{service_request_id}.{format}", summary="One Open311 service request",
            response_model=list[ServiceRequest], responses=_xml_too("服务请求"))  # fmt: skip
def get_request(
    service_request_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    format: FormatPath,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    jurisdiction_id: Jurisdiction = None,
) -> Any:
    sub = _check_jurisdiction(session, jurisdiction_id, principal)
    one = open311.one_request(
        session,
        _directory(request),
        principal.role,
        report_service.now(),
        service_request_id,
        open311.jurisdiction_access(sub, principal.scope),
    )
    return _answer(format, "service_requests", [one])


@router.get("/tokens/{token}.{format}", summary="The Open311 service request of a token",
            response_model=list[TokenAnswer], responses=_xml_too("token 对应的服务请求"))  # fmt: skip
def token(
    token: Annotated[str, Path(max_length=100)], format: FormatPath, session: SessionDep,
    jurisdiction_id: Jurisdiction = None,
) -> Any:  # fmt: skip
    _check_jurisdiction(session, jurisdiction_id)
    return _answer(format, "service_requests", [open311.request_for_token(session, token)])


async def _attributes(request: Request) -> dict[str, str]:
    """The `attribute[code]` fields of the form (the specification's way of answering attributes)."""
    form = await request.form()
    out = {}
    for key, value in form.multi_items():
        if key.startswith("attribute[") and key.endswith("]") and isinstance(value, str):
            out[key[len("attribute[") : -1]] = value[:500]
    return out


Text = Annotated[str | None, Form(max_length=200)]


@router.post("/requests.{format}", status_code=201, summary="Submit an Open311 service request (api_key)",
             response_model=list[RequestCreated],
             responses={**_xml_too("已收到（同一来源工单再次提交：200，同一编号）"),
                        201: {"description": "已创建", "content": {"text/xml": {"schema": {"type": "string"}}}}})  # fmt: skip
def post_request(
    format: FormatPath,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    attributes: Annotated[dict[str, str], Depends(_attributes)],
    api_key: Annotated[str, Form(max_length=200, description="接入密钥（geo-grid exchange source add）")],
    service_code: Annotated[str, Form(max_length=40, description="服务代码")],
    jurisdiction_id: Text = None,
    lat: Annotated[float | None, Form(ge=-90, le=90, description="纬度 WGS84")] = None,
    long: Annotated[float | None, Form(ge=-180, le=180, description="经度 WGS84")] = None,
    address_string: Annotated[
        str | None, Form(max_length=300, description="地址（无坐标时按标准地址定位）")
    ] = None,
    address_id: Text = None,
    email: Text = None,
    device_id: Text = None,
    account_id: Text = None,
    first_name: Annotated[str | None, Form(max_length=50)] = None,
    last_name: Annotated[str | None, Form(max_length=50)] = None,
    phone: Annotated[str | None, Form(max_length=30)] = None,
    description: Annotated[str | None, Form(max_length=4000, description="描述")] = None,
    media_url: Annotated[str | None, Form(max_length=500, description="照片链接（http/https）")] = None,
    external_id: Annotated[
        str | None, Form(max_length=40, description="扩展：来源系统的工单编号（同一工单只生成一条上报）")
    ] = None,
) -> Any:
    """A source system (its `api_key`) submits a report; contact fields become the reporter's contact
    (personal data, never shown to the public). With `external_id` the submission is idempotent."""
    named = _check_jurisdiction(session, jurisdiction_id) if jurisdiction_id is not None else None
    source = exchange.source_for_api_key(session, api_key)
    directory = require(_directory(request))
    cat = open311.category(session, service_code)
    if (lat is None) != (long is None):
        raise InvalidInput("lat 和 long 须同时给出")
    if named is not None and lat is not None and long is not None:
        # The position decides the request's subdistrict; a jurisdiction named with it must agree.
        at = report_service.subdistrict_of(place(directory, long, lat))
        if at is not None and at != named.code:
            raise InvalidInput(f"位置在辖区 {at} 内，不在 jurisdiction_id {named.code} 内")
    if lat is None and not address_string:
        raise InvalidInput(
            "需要位置：lat/long 或 address_string" + ("（暂不支持 address_id）" if address_id else "")
        )
    extra = open311.attribute_text(cat, attributes)
    text = "\n".join(p for p in ((description or "").strip(), extra) if p)
    photos = [photo_url(media_url)] if media_url else []
    new = NewReport(
        category=cat.code, channel="hotline", description=text, lon=long, lat=lat, address=address_string,
        reporter_contact=open311.contact(first_name, last_name, phone, email), photo_urls=photos,
        external_id=external_id, source=source.name,
    )  # fmt: skip
    book = runtime_of(request.app).address_book.current
    resolver = report_service.address_resolver(book, directory) if lat is None and book is not None else None
    actor = f"source:{source.name}"
    if external_id:
        got = exchange.intake(session, directory, settings, new, actor, resolver)
        report_id, code, created = got.report_id, got.tracking_code, got.created
    else:
        made = report_service.create(session, directory, settings, new, actor, resolver)
        report_id, code, created = made.report_id, made.tracking_code, True
    request.state.audit_subject = f"report:{report_id}"
    answer: dict[str, Any] = {"service_request_id": str(report_id), "token": code,
                              "service_notice": "已受理" if created else "该工单已收到过", "account_id": account_id}  # fmt: skip
    status = 201 if created else 200
    response.status_code = status
    return _answer(format, "service_requests", [answer], status)
