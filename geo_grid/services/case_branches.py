"""The branches of 数字城管 beside the main loop (README "Case handling (数字城管)"): 自办自结, 退回 (and
二次派遣 through the workflow's dispatch), 延期 requests and decisions, 挂账 and its return, 督办 / 催办 orders
and their outcomes, and a case's stages. Status changes go through services/workflow.py (the table in
geo_grid.reporting), so every one is an event and ends / starts a stage there.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from geo_grid import reporting
from geo_grid.errors import Conflict, InvalidInput, NotFound
from geo_grid.repository import reports as report_repo
from geo_grid.repository import stages as stage_repo
from geo_grid.repository.report_records import Report
from geo_grid.repository.scope import EVERYTHING, Scope
from geo_grid.repository.stages import SupervisionOrder
from geo_grid.services import categories as category_service
from geo_grid.services import reports as report_service
from geo_grid.services import stages as stage_service
from geo_grid.services.workflow import move_status, refuse
from geo_grid.workcalendar import TZ


def self_resolve(
    session: Session, report_id: int, after_photo_url: str, actor: str, note: str | None = None
) -> Report:
    """自办自结: a grid worker's report (channel grid_phone) in a `minor` category, solved on the spot with
    an after-photo, closes at once as self-resolved (counted as 自行处置, not as 立案)."""
    report = report_service.get(session, report_id, lock=True)
    if report.status != "reported":
        raise refuse(
            report, "closed", f"只有刚上报的案件可以自办自结；此案件为{reporting.status_label(report.status)}"
        )
    category = category_service.table(session).get(report.category)
    if not category.minor:
        raise refuse(report, "closed", f"类别“{category.name}”不属于可当场处置的简易类别，不能自办自结")
    if report.channel != "grid_phone":
        raise refuse(report, "closed", "只有网格员（网格手机终端）上报的案件可以自办自结")
    now = report_service.now()
    photos = [*report.photo_urls, after_photo_url]
    data = {"after_photo_url": after_photo_url}
    report_repo.add_event(session, report_id, "self_resolved", actor, note, data=data)
    move_status(session, report, "closed", actor, note, {"solved": True, "self_resolved": True},
                 closed_at=now, solved=True, self_resolved=True, photo_urls=json.dumps(photos))  # fmt: skip
    return report_service.get(session, report_id)


def return_case(session: Session, report_id: int, reason: str, actor: str) -> Report:
    """退回: the department a case was dispatched to sends it back with a reason; it returns to 立案
    (registered), awaiting 二次派遣 (counted per case and per department)."""
    report = report_service.get(session, report_id, lock=True)
    if report.status != "dispatched" or report.dispatch_kind != "department":
        raise refuse(report, "registered", "只有已派遣给部门、尚未开始处置的案件可以退回")
    if not reason.strip():
        raise InvalidInput("退回须写明理由")
    data = {"department": report.dispatch_target, "reason": reason}
    report_repo.add_event(session, report_id, "returned", actor, reason, data=data)
    move_status(session, report, "registered", actor, reason, data, claimed_by=None)
    return report_service.get(session, report_id)


def request_extension(session: Session, report_id: int, hours: float, reason: str, actor: str) -> int:
    """延期申请: more time for the current stage (`hours` in the stage's own clock: working hours for 工作时
    / 工作日 stages); returns the request's id (its event's id)."""
    report = report_service.get(session, report_id, lock=True)
    if report.stage is None:
        raise refuse(report, report.status, "此案件不在任何办理阶段，不能申请延期")
    if not reason.strip():
        raise InvalidInput("延期申请须写明理由")
    if stage_repo.pending_extension(session, report_id) is not None:
        raise Conflict("此案件已有待审批的延期申请")
    data = {"hours": hours, "reason": reason, "stage": report.stage}
    return stage_repo.add_event(session, report_id, "extension_requested", actor, reason, data)


def decide_extension(
    session: Session, report_id: int, request_id: int, approve: bool, actor: str, note: str | None = None
) -> Report:
    """A dispatcher approves (the current stage's deadline moves by the hours asked) or refuses."""
    report = report_service.get(session, report_id, lock=True)
    request = stage_repo.event(session, request_id)
    if request is None or request.report_id != report_id or request.kind != "extension_requested":
        raise NotFound(f"案件 {report_id} 没有编号为 {request_id} 的延期申请")
    if stage_repo.decided(session, report_id, request_id):
        raise Conflict(f"延期申请 {request_id} 已审批")
    hours = float(request.data["hours"])
    data: dict[str, Any] = {"request_id": request_id, "hours": hours, "reason": request.data.get("reason")}
    if not approve:
        report_repo.add_event(session, report_id, "extension_refused", actor, note, data=data)
        return report_service.get(session, report_id)
    current = stage_repo.open_stage(session, report_id)
    if current is None or current.stage != request.data.get("stage"):
        raise refuse(report, report.status, "申请延期的阶段已经结束，不能再批准")
    cal = category_service.calendar(session, report.subdistrict_code)
    unit = "natural_hours" if current.limit_unit == "natural_hours" else "working_hours"
    due = cal.deadline(current.due_at, hours, unit)
    share = stage_service.yellow_share()
    yellow = cal.yellow(current.started_at, due, current.limit_unit, share)
    stage_repo.move_deadline(session, current.id, due, yellow)
    data["until"] = due.isoformat()
    report_repo.add_event(session, report_id, "extension_approved", actor, note, data=data)
    return report_service.get(session, report_id)


def park(session: Session, report_id: int, reason: str, review_on: date, actor: str) -> Report:
    """挂账: a case that cannot be solved now (funds, planning) is parked with a reason and a review date;
    it is listed, excluded from the on-time figures, and comes back on its review date (the sweep)."""
    report = report_service.get(session, report_id, lock=True)
    if report.status not in reporting.PARKABLE:
        raise refuse(report, "parked", "只有已立案、未办结的案件可以挂账")
    if not reason.strip():
        raise InvalidInput("挂账须写明理由")
    today = report_service.now().astimezone(TZ).date()
    if review_on <= today:
        raise InvalidInput(f"复核日期须在今天（{today}）之后")
    data = {"reason": reason, "review_on": review_on.isoformat()}
    report_repo.add_event(session, report_id, "parked", actor, reason, data=data)
    move_status(session, report, "parked", actor, reason, data, parked_until=review_on,
                 parked_from_status=report.status)  # fmt: skip
    return report_service.get(session, report_id)


def unpark(session: Session, report_id: int, actor: str, note: str | None = None) -> Report:
    """The case comes back to the status it was parked from; its stage starts again with a fresh limit."""
    report = report_service.get(session, report_id, lock=True)
    if report.status != "parked" or report.parked_from_status is None:
        raise refuse(report, "registered", "此案件没有挂账")
    back = report.parked_from_status
    data = {"reason": note, "review_on": report.parked_until.isoformat() if report.parked_until else None,
            "to": back}  # fmt: skip
    report_repo.add_event(session, report_id, "unparked", actor, note, data=data)
    move_status(session, report, back, actor, note, data, parked_until=None, parked_from_status=None)
    return report_service.get(session, report_id)


SUPERVISION_KINDS = ("supervise", "urge")


def supervise(
    session: Session, report_id: int, kind: str, target: str | None, reason: str, due_at: datetime | None,
    actor: str, hours: float | None = None,
) -> SupervisionOrder:  # fmt: skip
    """督办 (supervise) / 催办 (urge): an order on an open case with its own deadline (`due_at`, or `hours`
    working hours from now); the target defaults to the supervisor of whoever holds the case now."""
    report = report_service.get(session, report_id, lock=True)
    if report.status in reporting.TERMINAL:
        raise refuse(report, report.status, "已办结的案件不能督办或催办")
    if kind not in SUPERVISION_KINDS:
        raise InvalidInput(f"kind 须为 {'、'.join(SUPERVISION_KINDS)}")
    now = report_service.now()
    if due_at is None and hours is not None:
        due_at = category_service.calendar(session, report.subdistrict_code).deadline(
            now, hours, "working_hours"
        )
    if due_at is not None and due_at <= now:
        raise InvalidInput("督办期限须在现在之后")
    if not target:
        current = stage_repo.open_stage(session, report_id)
        kind_code = (current.unit_kind, current.unit_code) if current else (None, None)
        target = stage_service.supervisor_of(*kind_code, report.tertiary_code)
    order = stage_repo.add_order(session, report_id, kind, actor, target, reason, due_at)
    report_repo.add_event(session, report_id, "supervision" if kind == "supervise" else "urge", actor, reason,
                          data={"order_id": order.id, "target": target, "automatic": False,
                                "due_at": due_at.isoformat() if due_at else None})  # fmt: skip
    return order


def record_outcome(
    session: Session, report_id: int, order_id: int, outcome: str, actor: str
) -> SupervisionOrder:
    """The outcome of a supervision order (once)."""
    order = stage_repo.order(session, order_id)
    if order is None or order.report_id != report_id:
        raise NotFound(f"案件 {report_id} 没有编号为 {order_id} 的督办单")
    if order.resolved_at is not None:
        raise Conflict(f"督办单 {order_id} 已记录办理结果")
    stage_repo.resolve_order(session, order_id, outcome)
    report_repo.add_event(session, report_id, "supervision" if order.kind == "supervise" else "urge", actor,
                          outcome, data={"order_id": order_id, "outcome": outcome})  # fmt: skip
    resolved = stage_repo.order(session, order_id)
    assert resolved is not None
    return resolved


def orders(
    session: Session,
    report_id: int | None = None,
    open_only: bool = False,
    limit: int = 1000,
    access: Scope = EVERYTHING,
) -> list[SupervisionOrder]:
    """Supervision orders: of one case (404 when it does not exist), or the queue of all open ones (swept
    first, so that the automatic 催办 of stages that just went red are in it); in the caller's scope."""
    if report_id is not None:
        report_service.get(session, report_id)
    else:
        stage_service.sweep(session, report_service.now())
    return stage_repo.orders(session, report_id, open_only, limit, access)


def stages(session: Session, report_id: int) -> list[stage_repo.StageRow]:
    """The stages a case went through, oldest first (404 when it does not exist)."""
    report_service.get(session, report_id)
    return stage_repo.stages(session, report_id)
