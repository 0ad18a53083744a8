"""/reports: intake (public), queries (JSON, GeoJSON, CSV) and the dispatcher's workflow actions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response

from geo_grid import privacy
from geo_grid.api import presenters
from geo_grid.api.deps import DispatcherDep, PrincipalDep, SessionDep, SettingsDep
from geo_grid.api.runtime import runtime_of
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.report_inputs import (
    ClaimIn,
    DispatchIn,
    DuplicateIn,
    MoveIn,
    RatingIn,
    ReportIn,
    TransitionIn,
)
from geo_grid.api.schemas.reports import (
    ReportCreated,
    ReportFeatureCollection,
    ReportOut,
    ReportPage,
)
from geo_grid.errors import InvalidInput, ReportNotFound
from geo_grid.io import csvfile
from geo_grid.reporting import NewReport
from geo_grid.repository import reports as report_repo
from geo_grid.repository.report_records import Filer, Report
from geo_grid.services import categories as category_service
from geo_grid.services import exchange, workflow
from geo_grid.services import reports as report_service
from geo_grid.services.auth import Principal
from geo_grid.services.directory import GridDirectory
from geo_grid.services.grids import parse_bbox
from geo_grid.services.lookup import require
from geo_grid.timeparse import ApiDatetime

router = APIRouter(tags=["reports"])

ReportId = Annotated[int, Path(ge=1, le=2**63 - 1)]
DISPATCHER = "dispatcher"


# The reporter's tracking code (returned once by POST /reports): a header, or a query parameter for links.
TrackingHeader = Annotated[
    str | None, Header(alias="X-Tracking-Code", max_length=100, description="上报时获得的追踪码")
]
# A source system's key (the 12345 exchange: geo-grid exchange source add prints it once).
ApiKeyHeader = Annotated[
    str | None, Header(alias="X-Api-Key", max_length=200, description="来源系统的接入密钥")
]
TrackingQuery = Annotated[
    str | None, Query(max_length=100, description="上报时获得的追踪码（或用 X-Tracking-Code 请求头）")
]


# Routes answer with `response_model_exclude_unset`: what the privacy policy drops stays absent (not null).
def present(report: Report | report_service.ReportDetail, principal: Principal) -> dict[str, Any]:
    """A report (or its detail: history and people) as the principal may see it (geo_grid/privacy.py via
    the presenters)."""
    if isinstance(report, report_service.ReportDetail):
        row = {**report.report.as_dict(), "history": [e.as_dict() for e in report.history],
               "people": list(report.people)}  # fmt: skip
    else:
        row = report.as_dict()
    return presenters.report(row, principal)


def _directory(request: Request) -> GridDirectory | None:
    return runtime_of(request.app).directory.current


def _resolver(request: Request, directory: GridDirectory) -> report_service.AddressResolver | None:
    book = runtime_of(request.app).address_book.current
    return report_service.address_resolver(book, directory) if book is not None else None


@router.post(
    "/reports",
    status_code=201,
    summary="Report a problem or need at a place (public)",
    response_model=ReportCreated,
    responses={
        200: {"model": ReportCreated, "description": "来源系统工单已收到过（同一上报）"},
        **error_responses(401, 403, 404, 409, 422, 503),
    },
    response_model_exclude_unset=True,
)
def create_report(
    body: ReportIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep,
    principal: PrincipalDep, x_api_key: ApiKeyHeader = None,
) -> dict[str, Any]:  # fmt: skip
    """The answer carries `tracking_code`, shown this once: the reporter follows the report with it
    (`GET /reports/{id}` with `X-Tracking-Code` or `?tracking_code=`) and rates it once it is closed.

    An order of another system (`source` + `external_id`, with that source's `X-Api-Key` or a
    dispatcher token) is taken once: sent again it answers 200 with the same report (`intake`:
    unchanged, updated with the new text, or cancelled with `cancel: true`, 退单)."""
    directory = require(_directory(request))
    new = NewReport(**body.model_dump(exclude={"cancel", "cancel_reason"}))
    resolver = _resolver(request, directory) if body.address and body.lon is None else None
    # -- the 12345 exchange (services/exchange.py) --
    if body.source is not None or body.external_id is not None or body.cancel:
        if body.source is None or body.external_id is None:
            raise InvalidInput("来源系统的工单需要同时给出 source 和 external_id")
        exchange.authorize_source(session, body.source, principal, x_api_key)
        actor = principal.name if principal.sees_personal_data else f"source:{body.source}"
        got = exchange.intake(session, directory, settings, new, actor, resolver, cancel=body.cancel,
                              cancel_reason=body.cancel_reason)  # fmt: skip
        request.state.audit_subject = f"report:{got.report_id}"
        request.state.audit_detail = {
            "source": body.source,
            "external_id": body.external_id,
            "intake": got.outcome,
        }
        if not got.created:
            response.status_code = 200
        out = present(report_service.detail(session, directory, got.report_id), principal)
        return {**out, "intake": got.outcome} | (
            {"tracking_code": got.tracking_code} if got.tracking_code else {}
        )
    # -- end of the 12345 exchange --
    filer = Filer(principal.user_id, principal.token_id)
    created = report_service.create(session, directory, settings, new, principal.name, resolver, filer)
    request.state.audit_subject = f"report:{created.report_id}"
    # The reporter sees their own report as the public would (a sensitive one included: it is theirs).
    out = present(report_service.detail(session, directory, created.report_id), principal)
    return {**out, "tracking_code": created.tracking_code}


CSV_COLUMNS = (
    "id", "external_id", "category", "status", "channel", "lon", "lat", "micro_code", "tertiary_code",
    "community_code", "outside", "near_boundary", "possible_duplicate_of", "duplicate_of", "dispatch_kind",
    "dispatch_target", "claimed_by", "created_at", "response_due_at", "due_at", "accepted_at", "closed_at",
    "overdue", "solved", "rating", "description",
)  # fmt: skip


def _csv(rows: list[dict[str, Any]]) -> str:
    # Columns are fields of the Report record (tests/db/test_report_records.py); the public's rows lack some.
    return csvfile.to_text(CSV_COLUMNS, ([r.get(c) for c in CSV_COLUMNS] for r in rows))


ListQ = Annotated[list[str] | None, Query(max_length=20)]


@router.get(
    "/reports",
    summary="Reports, filtered and paginated, as JSON, GeoJSON or CSV",
    response_model=ReportPage | ReportFeatureCollection,
    responses={
        200: {
            "description": "format=json：ReportPage；format=geojson：ReportFeatureCollection；format=csv：CSV 文件",
            "content": {"text/csv": {"schema": {"type": "string", "description": "上报 CSV（UTF-8）"}}},
        },
        **error_responses(404, 422),
    },
    response_model_exclude_unset=True,
)
def list_reports(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    status: ListQ = None,
    category: ListQ = None,
    channel: ListQ = None,
    grid: Annotated[str | None, Query(max_length=18, pattern=r"^\d{9}(\d{3}){0,3}$")] = None,
    since: ApiDatetime | None = None,
    until: ApiDatetime | None = None,
    bbox: Annotated[str | None, Query(max_length=200, description="min_lon,min_lat,max_lon,max_lat")] = None,
    overdue: bool | None = None,
    near_boundary: bool | None = None,
    outside: bool | None = None,
    dispatch_kind: Annotated[
        Literal["grid_team", "department", "volunteer", "centre"] | None, Query()
    ] = None,
    claimable: Annotated[bool | None, Query(description="open volunteer tasks (双报到党员认领)")] = None,
    light: Annotated[
        list[Literal["green", "yellow", "red"]] | None,
        Query(max_length=3, description="当前阶段的灯：green、yellow、red"),
    ] = None,
    stage: Annotated[
        list[Literal["accept", "register", "dispatch", "handle", "verify", "close"]] | None,
        Query(
            max_length=6,
            description="当前阶段：accept 受理、register 立案、dispatch 派遣、handle 处置、verify 核查、close 结案",
        ),
    ] = None,
    self_resolved: Annotated[bool | None, Query(description="自办自结的案件")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    format: Annotated[Literal["json", "geojson", "csv"], Query()] = "json",
) -> dict[str, Any] | Response:
    f = report_repo.ReportFilter(
        status=status, category=category, channel=channel, grid=grid, since=since, until=until,
        bbox=parse_bbox(bbox), overdue=overdue, near_boundary=near_boundary, outside=outside,
        dispatch_kind=dispatch_kind, claimable=claimable,
        exclude_categories=privacy.hidden_categories(principal.role, category_service.table(session).sensitive),
        light=light, stage=stage, self_resolved=self_resolved, access=principal.scope,
    )  # fmt: skip
    rows, total = report_service.list_reports(session, f, limit, offset)
    items = [present(r, principal) for r in rows]
    if principal.sees_personal_data:  # which records an unmasked read showed (audit log, services/audit.py)
        request.state.audit_detail = {"format": format, "ids": [r.id for r in rows]}
    if format == "csv":
        return Response(_csv(items), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="reports.csv"', "X-Total-Count": str(total)})  # fmt: skip
    if format == "geojson":
        features = [
            {"type": "Feature", "id": r["id"], "properties": r,
             "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]} if r["lon"] is not None else None}
            for r in items
        ]  # fmt: skip
        return {
            "type": "FeatureCollection",
            "features": features,
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/reports/{report_id}",
    summary="One report with its history and responsible people",
    response_model=ReportOut,
    responses=error_responses(403, 404, 422),
    response_model_exclude_unset=True,
)
def get_report(
    report_id: ReportId,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    tracking_code: TrackingQuery = None,
    x_tracking_code: TrackingHeader = None,
) -> dict[str, Any]:
    """Dispatcher-or-higher: everything (the read is audited). The reporter, with the tracking code: their
    report as the public sees reports. Anyone else: the public view, and 404 for a sensitive category."""
    row = report_service.detail(session, _directory(request), report_id)
    code = x_tracking_code or tracking_code
    if not principal.sees_personal_data:
        if code is not None:
            report_service.check_tracking_code(session, report_id, code)
        elif not privacy.listed(
            row.report.category, principal.role, category_service.table(session).sensitive
        ):
            raise ReportNotFound(f"no report {report_id}")
    return present(row, principal)


def _detail(request: Request, session: SessionDep, report_id: int, principal: Principal) -> dict[str, Any]:
    return present(report_service.detail(session, _directory(request), report_id), principal)


@router.post(
    "/reports/{report_id}/transitions",
    summary="Move a report to an allowed next status (dispatcher)",
    response_model=ReportOut,
    responses=error_responses(401, 403, 404, 409, 422),
    response_model_exclude_unset=True,
)
def transition(
    report_id: ReportId, body: TransitionIn, request: Request, session: SessionDep, principal: DispatcherDep
) -> dict[str, Any]:
    workflow.transition(session, _directory(request), report_id, body.to, principal.name, body.note,
                        body.solved, body.duplicate_of)  # fmt: skip
    return _detail(request, session, report_id, principal)


@router.post(
    "/reports/{report_id}/dispatch",
    summary="Dispatch to the grid team, a department or volunteers",
    response_model=ReportOut,
    responses=error_responses(401, 403, 404, 409, 422),
    response_model_exclude_unset=True,
)
def dispatch(
    report_id: ReportId, body: DispatchIn, request: Request, session: SessionDep, principal: DispatcherDep
) -> dict[str, Any]:
    workflow.dispatch(
        session, _directory(request), report_id, body.kind, body.target, principal.name, body.note
    )
    return _detail(request, session, report_id, principal)


@router.post(
    "/reports/{report_id}/claim",
    summary="Record a 双报到 volunteer's claim of a volunteer task",
    response_model=ReportOut,
    responses=error_responses(401, 403, 404, 409, 422),
    response_model_exclude_unset=True,
)
def claim(
    report_id: ReportId, body: ClaimIn, request: Request, session: SessionDep, principal: DispatcherDep
) -> dict[str, Any]:
    # Volunteers hold no API token: the community office (dispatcher) records the claim for them.
    workflow.claim(session, report_id, body.person_id, principal.name, body.note)
    return _detail(request, session, report_id, principal)


@router.post(
    "/reports/{report_id}/move",
    summary="Correct a report's point; grid and people are reassigned",
    response_model=ReportOut,
    responses=error_responses(401, 403, 404, 409, 422, 503),
    response_model_exclude_unset=True,
)
def move(
    report_id: ReportId, body: MoveIn, request: Request, session: SessionDep, settings: SettingsDep,
    principal: DispatcherDep,
) -> dict[str, Any]:  # fmt: skip
    directory = require(_directory(request))
    workflow.move(
        session, directory, settings, report_id, body.lon, body.lat, body.crs, principal.name, body.note
    )
    return _detail(request, session, report_id, principal)


@router.post(
    "/reports/{report_id}/duplicate",
    summary="Confirm or dismiss a duplicate (dispatcher)",
    response_model=ReportOut,
    responses=error_responses(401, 403, 404, 409, 422),
    response_model_exclude_unset=True,
)
def duplicate(
    report_id: ReportId, body: DuplicateIn, request: Request, session: SessionDep, principal: DispatcherDep
) -> dict[str, Any]:
    if body.action == "confirm":
        workflow.confirm_duplicate(session, report_id, principal.name, body.note, body.duplicate_of)
    else:
        workflow.dismiss_duplicate(session, report_id, principal.name, body.note)
    return _detail(request, session, report_id, principal)


@router.post(
    "/reports/{report_id}/rating",
    summary="The resident's rating (1–5 and a comment) of a closed report",
    response_model=ReportOut,
    responses=error_responses(401, 403, 404, 409, 422),
    response_model_exclude_unset=True,
)
def rate(
    report_id: ReportId,
    body: RatingIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    tracking_code: TrackingQuery = None,
    x_tracking_code: TrackingHeader = None,
) -> dict[str, Any]:
    """Only the reporter rates: with the report's tracking code (`X-Tracking-Code` or `?tracking_code=`),
    or by phone, recorded by a dispatcher with `by_phone: true` (audited as such). Otherwise 403
    `tracking_code_invalid`."""
    if body.by_phone:  # the role depends on the body, so it is checked here, not by a route dependency
        principal.require(DISPATCHER)
        request.state.audit_detail = {"by_phone": True, "rating": body.rating}
        actor = principal.name
    else:
        actor = "reporter" if not principal.sees_personal_data else f"reporter (via {principal.name})"
    workflow.rate(session, report_id, body.rating, body.comment, actor,
                  tracking_code=x_tracking_code or tracking_code, by_phone=body.by_phone)  # fmt: skip
    return _detail(request, session, report_id, principal)
