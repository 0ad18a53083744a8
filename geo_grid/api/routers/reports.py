"""/reports: intake (public), queries (JSON, GeoJSON, CSV) and the dispatcher's workflow actions."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, HttpUrl, TypeAdapter, field_validator

from geo_grid import privacy, reporting
from geo_grid.api import presenters
from geo_grid.api.deps import PrincipalDep, SessionDep, SettingsDep
from geo_grid.api.runtime import runtime_of
from geo_grid.errors import ReportNotFound
from geo_grid.io import csvfile
from geo_grid.repository import reports as report_repo
from geo_grid.services import reports as report_service
from geo_grid.services import workflow
from geo_grid.services.auth import Principal
from geo_grid.services.directory import GridDirectory
from geo_grid.services.grids import parse_bbox
from geo_grid.services.lookup import require
from geo_grid.timeparse import ApiDatetime

router = APIRouter(tags=["reports"])

ReportId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Note = Annotated[str | None, Field(default=None, max_length=2000)]
CrsName = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
DISPATCHER = "dispatcher"
_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _photo_url(value: str) -> str:
    """An http(s) URL only (no `javascript:`, `data:` …), without control characters; kept as given."""
    if _CONTROL.search(value):
        raise ValueError("a photo URL must not contain control characters")
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError("a photo URL must be an http:// or https:// URL")
    _HTTP_URL.validate_python(value)
    return value


class ReportIn(BaseModel):
    category: str = Field(max_length=40, description=f"one of {', '.join(reporting.CATEGORIES)}")
    channel: str = Field(max_length=20, description=f"one of {', '.join(reporting.CHANNELS)}")
    description: str = Field(default="", max_length=reporting.MAX_DESCRIPTION)
    lon: float | None = None
    lat: float | None = None
    crs: CrsName = "wgs84"
    address: str | None = Field(default=None, max_length=300)
    reporter_contact: str | None = Field(default=None, max_length=200, description="personal data")
    photo_urls: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list, max_length=20, description="http(s) URLs only"
    )

    @field_validator("photo_urls")
    @classmethod
    def _http_only(cls, urls: list[str]) -> list[str]:
        return [_photo_url(u) for u in urls]


class TransitionIn(BaseModel):
    to: str = Field(max_length=20)
    note: Note = None
    solved: bool | None = Field(default=None, description="when closing: solved or not (default true)")
    duplicate_of: int | None = Field(default=None, ge=1, le=2**63 - 1)


class DispatchIn(BaseModel):
    kind: Literal["grid_team", "department", "volunteer", "centre"] = "grid_team"
    target: str | None = Field(
        default=None, max_length=100, description="department (default: routing table)"
    )
    note: Note = None


class ClaimIn(BaseModel):
    person_id: str = Field(max_length=20, description="the volunteer's person_id")
    note: Note = None


class MoveIn(BaseModel):
    lon: float
    lat: float
    crs: CrsName = "wgs84"
    note: Note = None


class DuplicateIn(BaseModel):
    action: Literal["confirm", "dismiss"]
    duplicate_of: int | None = Field(default=None, ge=1, le=2**63 - 1)
    note: Note = None


class RatingIn(BaseModel):
    rating: int = Field(ge=reporting.RATING_MIN, le=reporting.RATING_MAX)
    comment: str | None = Field(default=None, max_length=2000)
    by_phone: bool = Field(
        default=False, description="a dispatcher records a rating the reporter gave by phone (audited)"
    )


# The reporter's tracking code (returned once by POST /reports): a header, or a query parameter for links.
TrackingHeader = Annotated[
    str | None, Header(alias="X-Tracking-Code", max_length=100, description="the report's tracking code")
]
TrackingQuery = Annotated[
    str | None, Query(max_length=100, description="the report's tracking code (or X-Tracking-Code)")
]


def present(row: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """A report as the principal may see it (geo_grid/privacy.py via the presenters)."""
    return presenters.report(row, principal)


def _directory(request: Request) -> GridDirectory | None:
    return runtime_of(request.app).directory.current


def _resolver(request: Request, directory: GridDirectory) -> report_service.AddressResolver | None:
    book = runtime_of(request.app).address_book.current
    return report_service.address_resolver(book, directory) if book is not None else None


@router.post("/reports", status_code=201, summary="Report a problem or need at a place (public)")
def create_report(
    body: ReportIn, request: Request, session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> dict[str, Any]:
    """The answer carries `tracking_code`, shown this once: the reporter follows the report with it
    (`GET /reports/{id}` with `X-Tracking-Code` or `?tracking_code=`) and rates it once it is closed."""
    directory = require(_directory(request))
    new = report_service.NewReport(**body.model_dump())
    resolver = _resolver(request, directory) if body.address and body.lon is None else None
    created = report_service.create(session, directory, settings, new, principal.name, resolver)
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
    return csvfile.to_text(CSV_COLUMNS, ([r.get(c) for c in CSV_COLUMNS] for r in rows))


ListQ = Annotated[list[str] | None, Query(max_length=20)]


@router.get(
    "/reports", summary="Reports, filtered and paginated, as JSON, GeoJSON or CSV", response_model=None
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
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    format: Annotated[Literal["json", "geojson", "csv"], Query()] = "json",
) -> dict[str, Any] | Response:
    f = report_repo.ReportFilter(
        status=status, category=category, channel=channel, grid=grid, since=since, until=until,
        bbox=parse_bbox(bbox), overdue=overdue, near_boundary=near_boundary, outside=outside,
        dispatch_kind=dispatch_kind, claimable=claimable,
        exclude_categories=privacy.hidden_categories(principal.role),
    )  # fmt: skip
    rows, total = report_repo.list_reports(session, f, report_service.now(), limit, offset)
    items = [present(r, principal) for r in rows]
    if principal.sees_personal_data:  # which records an unmasked read showed (audit log, services/audit.py)
        request.state.audit_detail = {"format": format, "ids": [r["id"] for r in rows]}
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


@router.get("/reports/{report_id}", summary="One report with its history and responsible people")
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
        elif not privacy.listed(row["category"], principal.role):
            raise ReportNotFound(f"no report {report_id}")
    return present(row, principal)


def _detail(request: Request, session: SessionDep, report_id: int, principal: Principal) -> dict[str, Any]:
    return present(report_service.detail(session, _directory(request), report_id), principal)


@router.post(
    "/reports/{report_id}/transitions", summary="Move a report to an allowed next status (dispatcher)"
)
def transition(
    report_id: ReportId, body: TransitionIn, request: Request, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    principal.require(DISPATCHER)
    workflow.transition(session, _directory(request), report_id, body.to, principal.name, body.note,
                        body.solved, body.duplicate_of)  # fmt: skip
    return _detail(request, session, report_id, principal)


@router.post("/reports/{report_id}/dispatch", summary="Dispatch to the grid team, a department or volunteers")
def dispatch(
    report_id: ReportId, body: DispatchIn, request: Request, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    principal.require(DISPATCHER)
    workflow.dispatch(
        session, _directory(request), report_id, body.kind, body.target, principal.name, body.note
    )
    return _detail(request, session, report_id, principal)


@router.post("/reports/{report_id}/claim", summary="Record a 双报到 volunteer's claim of a volunteer task")
def claim(
    report_id: ReportId, body: ClaimIn, request: Request, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    # Volunteers hold no API token: the community office (dispatcher) records the claim for them.
    principal.require(DISPATCHER)
    workflow.claim(session, report_id, body.person_id, principal.name, body.note)
    return _detail(request, session, report_id, principal)


@router.post("/reports/{report_id}/move", summary="Correct a report's point; grid and people are reassigned")
def move(
    report_id: ReportId, body: MoveIn, request: Request, session: SessionDep, settings: SettingsDep,
    principal: PrincipalDep,
) -> dict[str, Any]:  # fmt: skip
    principal.require(DISPATCHER)
    directory = require(_directory(request))
    workflow.move(
        session, directory, settings, report_id, body.lon, body.lat, body.crs, principal.name, body.note
    )
    return _detail(request, session, report_id, principal)


@router.post("/reports/{report_id}/duplicate", summary="Confirm or dismiss a duplicate (dispatcher)")
def duplicate(
    report_id: ReportId, body: DuplicateIn, request: Request, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    principal.require(DISPATCHER)
    if body.action == "confirm":
        workflow.confirm_duplicate(session, report_id, principal.name, body.note, body.duplicate_of)
    else:
        workflow.dismiss_duplicate(session, report_id, principal.name, body.note)
    return _detail(request, session, report_id, principal)


@router.post(
    "/reports/{report_id}/rating", summary="The resident's rating (1–5 and a comment) of a closed report"
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
    if body.by_phone:
        principal.require(DISPATCHER)
        request.state.audit_detail = {"by_phone": True, "rating": body.rating}
        actor = principal.name
    else:
        actor = "reporter" if not principal.sees_personal_data else f"reporter (via {principal.name})"
    workflow.rate(session, report_id, body.rating, body.comment, actor,
                  tracking_code=x_tracking_code or tracking_code, by_phone=body.by_phone)  # fmt: skip
    return _detail(request, session, report_id, principal)
