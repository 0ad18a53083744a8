"""网格手机终端 (issue 13): the grid worker's phone pages and their JSON API.

GET /m lists the worker's open tasks (the reports dispatched to the team of a grid where the user's roster
person holds a role) and the reports they filed, GET /m/tasks/{id} shows one with a small map and the actions
到场, 备注, 照片 and 办结反馈, GET /m/report files a new problem (POST /reports, channel grid_phone). The pages are shells (geo_grid/render/field/) whose scripts (geo_grid/static/field/) call the JSON
routes below with the session and its CSRF token; the audit records every write."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from geo_grid import privacy, reporting
from geo_grid.api.deps import DirectoryDep, PrincipalDep, SessionDep, require_role
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.field import (
    ArrivalIn,
    FeedbackIn,
    FiledReportListOut,
    NoteIn,
    TaskDetailOut,
    TaskListOut,
)
from geo_grid.api.staff_pages import staff_page
from geo_grid.errors import NotFound
from geo_grid.labels import STAGE_LABELS
from geo_grid.render.field import pages
from geo_grid.services import field as field_service
from geo_grid.services.auth import Principal

router = APIRouter(tags=["field"])

WorkerDep = Annotated[Principal, Depends(require_role("grid_worker"))]
ReportId = Annotated[int, Path(ge=1, le=2_147_483_647, description="上报编号")]

HTML_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/html": {"schema": {"type": "string"}}},
        "description": "网格手机终端页面（HTML）",
    },
    303: {"description": "未登录的浏览器（Accept: text/html）：转到 /login?next=…"},
    **error_responses(401, 403, 422),
}


def _page(request: Request, principal: Principal, body: str) -> Response:
    return staff_page(request, principal, body, "grid_worker", pages.POLICY)


def _task(task: field_service.Task, principal: Principal) -> dict[str, Any]:
    """A task as the worker may see it (privacy.assigned_task), with labels and, on its page, history."""
    r = task.report
    out = privacy.assigned_task(r.as_dict(), principal.role)
    out.update(
        status_label=reporting.status_label(r.status),
        stage_label=STAGE_LABELS.get(r.stage) if r.stage else None,
        distance_m=None if task.distance_m is None else round(task.distance_m, 1),
        arrived_at=task.arrived_at,
    )
    return out


def _detail(task: field_service.Task, principal: Principal) -> dict[str, Any]:
    out = _task(task, principal)
    status = task.report.status
    actions = []
    if status in field_service.TASK_STATUSES:
        actions += ["arrival", "note", "photo"]
    if status == "in_progress":
        actions.append("feedback")
    out["allowed_actions"] = actions
    out["history"] = [privacy.history_event(e.as_dict(), principal.role) for e in task.history]
    return out


@router.get(
    "/m",
    response_class=HTMLResponse,
    responses=HTML_RESPONSES,
    summary="网格手机终端: the grid worker's open tasks (HTML; grid worker, via the session)",
)
def tasks_page(request: Request, principal: PrincipalDep) -> Response:
    return _page(request, principal, pages.tasks_html())


@router.get(
    "/m/tasks/{report_id}",
    response_class=HTMLResponse,
    responses=HTML_RESPONSES,
    summary="One task of the grid worker: description, map and actions (HTML)",
)
def task_page(request: Request, principal: PrincipalDep, report_id: ReportId) -> Response:
    return _page(request, principal, pages.task_html(report_id))


@router.get(
    "/m/report",
    response_class=HTMLResponse,
    responses=HTML_RESPONSES,
    summary="上报 from the grid worker's phone: category, description, position or map tap, photo (HTML)",
)
def report_page(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    categories = field_service.report_categories(session, principal)
    return _page(request, principal, pages.report_html(categories))


@router.get("/m/assets/{name}", include_in_schema=False, response_class=FileResponse)
def asset(name: str) -> FileResponse:
    """The phone pages' own scripts and styles (geo_grid/static/field/)."""
    path = pages.asset_path(name)
    if path is None:
        raise NotFound(f"没有网格手机终端资源文件 {name}")
    return FileResponse(path, media_type=pages.ASSET_TYPES[path.suffix],
                        headers={"Cache-Control": "no-cache"})  # fmt: skip


@router.get(
    "/m/tasks",
    response_model=TaskListOut,
    responses=error_responses(401, 403, 422),
    summary="The grid worker's open tasks: nearest first with lon/lat, else newest first (grid worker)",
)
def list_tasks(
    session: SessionDep,
    principal: WorkerDep,
    lon: Annotated[float | None, Query(ge=-180, le=180, description="当前位置经度（WGS84）")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="当前位置纬度（WGS84）")] = None,
) -> dict[str, Any]:
    found = field_service.tasks(session, principal, lon, lat)
    items = [_task(t, principal) for t in found]
    grids = field_service.grids_of(session, principal)
    return {"items": items, "total": len(items), "order": "nearest" if lon is not None else "newest",
            "grid_codes": list(grids.codes)}  # fmt: skip


@router.get(
    "/m/reports",
    response_model=FiledReportListOut,
    responses=error_responses(401, 403, 422),
    summary="我的上报: the reports the caller filed, newest first (grid worker)",
)
def filed_reports(session: SessionDep, principal: WorkerDep) -> dict[str, Any]:
    items = []
    for r in field_service.filed_reports(session, principal):
        out = privacy.assigned_task(r.as_dict(), principal.role)
        out["status_label"] = reporting.status_label(r.status)
        items.append(out)
    return {"items": items, "total": len(items)}


@router.get(
    "/m/tasks/{report_id}/detail",
    response_model=TaskDetailOut,
    responses=error_responses(401, 403, 404, 422),
    summary="One task of the grid worker with its history (the worker's own grids only)",
)
def get_task(session: SessionDep, principal: WorkerDep, report_id: ReportId) -> dict[str, Any]:
    return _detail(field_service.task(session, principal, report_id), principal)


@router.post(
    "/reports/{report_id}/arrival",
    response_model=TaskDetailOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="到场: the grid worker of the report's grid is on site (a dispatched task starts)",
)
def arrival(
    session: SessionDep, directory: DirectoryDep, principal: WorkerDep, report_id: ReportId, body: ArrivalIn
) -> dict[str, Any]:
    task = field_service.arrive(session, directory, principal, report_id, body.note, body.lon, body.lat)
    return _detail(task, principal)


@router.post(
    "/m/tasks/{report_id}/notes",
    response_model=TaskDetailOut,
    responses=error_responses(401, 403, 404, 422),
    summary="A note of the grid worker on their task",
)
def add_note(session: SessionDep, principal: WorkerDep, report_id: ReportId, body: NoteIn) -> dict[str, Any]:
    return _detail(field_service.add_note(session, principal, report_id, body.note), principal)


@router.post(
    "/m/tasks/{report_id}/feedback",
    response_model=TaskDetailOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="办结反馈: in_progress → feedback, by the grid worker of the report's grid",
)
def feedback(
    session: SessionDep, directory: DirectoryDep, principal: WorkerDep, report_id: ReportId, body: FeedbackIn
) -> dict[str, Any]:
    return _detail(field_service.feedback(session, directory, principal, report_id, body.note), principal)
