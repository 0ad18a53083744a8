"""The 数字城管 branches of a case under /reports/{id}/…: 自办自结, 退回, 延期, 挂账, 督办 / 催办, and its stages
(README "Case handling (数字城管)"). Every route here is a dispatcher's (handlers and departments hold no
token: the centre records for them); a move the workflow table does not allow is 409 invalid_transition
with the allowed next steps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from geo_grid import reporting
from geo_grid.api import presenters
from geo_grid.api.deps import DirectoryDep, DispatcherDep, SessionDep
from geo_grid.api.schemas.cases import (
    DecisionIn,
    ExtensionCreated,
    ExtensionIn,
    OutcomeIn,
    ParkIn,
    ReturnIn,
    SelfResolveIn,
    StageList,
    SupervisionIn,
    SupervisionList,
    SupervisionOut,
    UnparkIn,
)
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.report_inputs import photo_url
from geo_grid.api.schemas.reports import ReportOut
from geo_grid.errors import InvalidInput
from geo_grid.repository.stages import SupervisionOrder
from geo_grid.services import case_branches
from geo_grid.services import reports as report_service
from geo_grid.services.auth import Principal

router = APIRouter(tags=["case handling"])

ReportId = Annotated[int, Path(ge=1, le=2**63 - 1)]
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1)]
KIND_LABELS = {"supervise": "督办", "urge": "催办"}
_WRITE = error_responses(401, 403, 404, 409, 422)


def _report(
    session: SessionDep, directory: DirectoryDep, report_id: int, principal: Principal
) -> dict[str, Any]:
    d = report_service.detail(session, directory, report_id)
    row = {**d.report.as_dict(), "history": [e.as_dict() for e in d.history], "people": list(d.people)}
    return presenters.report(row, principal)


def _order(o: SupervisionOrder) -> dict[str, Any]:
    return {**o.as_dict(), "kind_label": KIND_LABELS.get(o.kind, o.kind)}


@router.post("/reports/{report_id}/self-resolve", summary="自办自结: close a grid worker's minor case on the spot",
             response_model=ReportOut, responses=_WRITE, response_model_exclude_unset=True)  # fmt: skip
def self_resolve(
    report_id: ReportId,
    body: SelfResolveIn,
    session: SessionDep,
    directory: DirectoryDep,
    principal: DispatcherDep,
) -> dict[str, Any]:
    """A report from a grid phone (网格手机终端) in a `minor` category, with the after-photo: closed at once,
    `self_resolved` (counted as 自行处置, not as 立案)."""
    try:
        url = photo_url(body.after_photo_url)
    except ValueError as exc:
        raise InvalidInput(f"处置后照片链接无效：{exc}") from exc
    case_branches.self_resolve(session, report_id, url, principal.name, body.note)
    return _report(session, directory, report_id, principal)


@router.post("/reports/{report_id}/return", summary="退回: the department sends a dispatched case back",
             response_model=ReportOut, responses=_WRITE, response_model_exclude_unset=True)  # fmt: skip
def return_case(
    report_id: ReportId,
    body: ReturnIn,
    session: SessionDep,
    directory: DirectoryDep,
    principal: DispatcherDep,
) -> dict[str, Any]:
    """The case goes back to 立案 (registered), awaiting 二次派遣; the event names the department."""
    case_branches.return_case(session, report_id, body.reason, principal.name)
    return _report(session, directory, report_id, principal)


@router.post("/reports/{report_id}/extensions", status_code=201, summary="延期: apply for more time",
             response_model=ExtensionCreated, responses=_WRITE)  # fmt: skip
def request_extension(
    report_id: ReportId, body: ExtensionIn, session: SessionDep, principal: DispatcherDep
) -> dict[str, Any]:
    request_id = case_branches.request_extension(session, report_id, body.hours, body.reason, principal.name)
    return {"request_id": request_id, "report_id": report_id}


@router.post("/reports/{report_id}/extensions/{request_id}/decision", summary="延期审批: approve or refuse",
             response_model=ReportOut, responses=_WRITE, response_model_exclude_unset=True)  # fmt: skip
def decide_extension(
    report_id: ReportId, request_id: ItemId, body: DecisionIn, session: SessionDep, directory: DirectoryDep,
    principal: DispatcherDep,
) -> dict[str, Any]:  # fmt: skip
    """Approved: the current stage's deadline moves by the hours asked (working hours for 工作时 / 工作日
    stages)."""
    case_branches.decide_extension(session, report_id, request_id, body.approve, principal.name, body.note)
    return _report(session, directory, report_id, principal)


@router.post("/reports/{report_id}/park", summary="挂账: park a case with a reason and a review date",
             response_model=ReportOut, responses=_WRITE, response_model_exclude_unset=True)  # fmt: skip
def park(
    report_id: ReportId, body: ParkIn, session: SessionDep, directory: DirectoryDep, principal: DispatcherDep
) -> dict[str, Any]:
    case_branches.park(session, report_id, body.reason, body.review_on, principal.name)
    return _report(session, directory, report_id, principal)


@router.post("/reports/{report_id}/unpark", summary="挂账恢复: bring a parked case back",
             response_model=ReportOut, responses=_WRITE, response_model_exclude_unset=True)  # fmt: skip
def unpark(
    report_id: ReportId,
    body: UnparkIn,
    session: SessionDep,
    directory: DirectoryDep,
    principal: DispatcherDep,
) -> dict[str, Any]:
    case_branches.unpark(session, report_id, principal.name, body.note)
    return _report(session, directory, report_id, principal)


@router.post("/reports/{report_id}/supervision", status_code=201, summary="督办 / 催办 an open case",
             response_model=SupervisionOut, responses=_WRITE)  # fmt: skip
def supervise(
    report_id: ReportId, body: SupervisionIn, session: SessionDep, principal: DispatcherDep
) -> dict[str, Any]:
    order = case_branches.supervise(session, report_id, body.kind, body.target, body.reason, body.due_at,
                               principal.name, body.hours)  # fmt: skip
    return _order(order)


@router.get("/reports/{report_id}/supervision", summary="A case's supervision orders",
            response_model=SupervisionList, responses=error_responses(401, 403, 404, 422))  # fmt: skip
def case_orders(report_id: ReportId, session: SessionDep, principal: DispatcherDep) -> dict[str, Any]:
    return {"items": [_order(o) for o in case_branches.orders(session, report_id)]}


@router.post("/reports/{report_id}/supervision/{order_id}/outcome", summary="Record a supervision order's outcome",
             response_model=SupervisionOut, responses=_WRITE)  # fmt: skip
def outcome(
    report_id: ReportId, order_id: ItemId, body: OutcomeIn, session: SessionDep, principal: DispatcherDep
) -> dict[str, Any]:
    return _order(case_branches.record_outcome(session, report_id, order_id, body.outcome, principal.name))


@router.get("/supervision", summary="The supervision queue: open orders, oldest first",
            response_model=SupervisionList, responses=error_responses(401, 403, 422))  # fmt: skip
def queue(
    session: SessionDep, principal: DispatcherDep,
    open_only: Annotated[bool, Query(alias="open", description="只列未办结的督办单")] = True,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:  # fmt: skip
    found = case_branches.orders(session, open_only=open_only, limit=limit, access=principal.scope)
    return {"items": [_order(o) for o in found]}


@router.get("/reports/{report_id}/stages", summary="The stages a case went through, with deadlines",
            response_model=StageList, responses=error_responses(401, 403, 404, 422))  # fmt: skip
def stages(report_id: ReportId, session: SessionDep, principal: DispatcherDep) -> dict[str, Any]:
    return {"items": [{**s.as_dict(), "stage_label": reporting.stage_label(s.stage) or s.stage}
                      for s in case_branches.stages(session, report_id)]}  # fmt: skip
