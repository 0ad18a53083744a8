"""The 吹哨报到 workflow: transitions, dispatch, volunteer claims, point corrections, duplicates, ratings.
The branches of 数字城管 (自办自结, 退回, 延期, 挂账, 督办 / 催办) are services/case_branches.py.

Every change is an event (actor = the token's name, time, note) in the report's history; the allowed
status changes are the table in geo_grid.reporting, nowhere else. Every status change ends the stage the
case left and starts the one it entered (services/stages.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from geo_grid import reporting
from geo_grid.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from geo_grid.labels import SUBDISTRICT_CENTRE
from geo_grid.repository import reports as report_repo
from geo_grid.repository.report_records import GridFields, Report
from geo_grid.services import categories as category_service
from geo_grid.services import reports as report_service
from geo_grid.services import stages as stage_service
from geo_grid.services.directory import GridDirectory
from geo_grid.services.lookup import to_wgs84
from geo_grid.settings import Settings


def refuse(report: Report, to: str, why: str | None = None, **extra: Any) -> InvalidTransition:
    allowed = list(reporting.allowed_next(report.status))
    message = why or (
        f"report {report.id} is {report.status} ({reporting.status_label(report.status)}); "
        f"it cannot move to {to!r}"
    )
    detail = {
        "from": report.status,
        "to": to,
        "allowed": allowed,
        "branches": reporting.branches(report.status),
    }
    return InvalidTransition(message, {**detail, **extra})


def _check(report: Report, to: str) -> None:
    if to not in reporting.STATUSES:
        raise InvalidInput(f"unknown status {to!r}", {"allowed": list(reporting.STATUSES)})
    if not reporting.is_allowed(report.status, to):
        raise refuse(report, to)


def move_status(session: Session, report: Report, to: str, actor: str, note: str | None,
                 data: dict[str, Any] | None = None, **fields: Any) -> None:  # fmt: skip
    _check(report, to)
    report_repo.update(session, report.id, status=to, **fields)
    report_repo.add_event(session, report.id, "transition", actor, note, report.status, to, data)
    stage_service.follow(session, report.id, report.status, report_service.now())


def transition(
    session: Session,
    directory: GridDirectory | None,
    report_id: int,
    to: str,
    actor: str,
    note: str | None = None,
    solved: bool | None = None,
    duplicate_of: int | None = None,
) -> Report:
    """Perform one allowed status change (409 with the allowed next states otherwise)."""
    report = report_service.get(session, report_id, lock=True)
    _check(report, to)
    branch = reporting.BRANCH_ROUTES.get((report.status, to))
    if branch is not None:  # a branch needs more than a note: its own route
        raise refuse(
            report, to, f"{reporting.status_label(report.status)} → {reporting.status_label(to)} 须走专门的办理环节：{branch}",
            route=branch.replace("{id}", str(report_id)),
        )  # fmt: skip
    now = report_service.now()
    if report.status == "feedback" and to == "in_progress":  # 返工: verification found it not solved
        report_repo.add_event(session, report_id, "rework", actor, note, data={"stage": "verify"})
    if to == "dispatched":  # without an explicit target: the report's own grid team (or the centre)
        return dispatch(session, directory, report_id, "grid_team" if not report.outside else "centre",
                        None, actor, note)  # fmt: skip
    if to == "duplicate":
        return confirm_duplicate(session, report_id, actor, note, duplicate_of)
    fields: dict[str, Any] = {}
    if to == "accepted":
        fields["accepted_at"] = now
    elif to == "rejected":
        fields["closed_at"] = now
    elif to == "closed":
        fields.update(closed_at=now, solved=True if solved is None else solved)
    move_status(session, report, to, actor, note, {"solved": fields["solved"]} if "solved" in fields else None,
                 **fields)  # fmt: skip
    return report_service.get(session, report_id)


def dispatch(
    session: Session,
    directory: GridDirectory | None,
    report_id: int,
    kind: str,
    target: str | None,
    actor: str,
    note: str | None = None,
) -> Report:
    """Send a registered report to its grid team, a department (routing table), volunteers, or the centre.

    A dispatched report may be re-dispatched (the status stays, an earlier unfinished claim is dropped).
    """
    report = report_service.get(session, report_id, lock=True)
    if report.status not in ("registered", "dispatched"):
        raise refuse(report, "dispatched")
    if kind not in reporting.DISPATCH_KINDS:
        raise InvalidInput(f"unknown dispatch kind {kind!r}", {"allowed": list(reporting.DISPATCH_KINDS)})
    data: dict[str, Any] = {"kind": kind}
    if kind == "grid_team":
        if report.micro_code is None:
            raise InvalidInput(
                "the report lies outside every grid: dispatch it to a department or the centre"
            )
        target = report.micro_code
        people = report_service.people_for(directory, report)
        data["people"] = [{"person_id": p.person_id, "name": p.name, "role": p.role} for p in people]
    elif kind == "department":
        target = target or category_service.table(session).department_for(report.category)
        if target not in reporting.DEPARTMENTS:
            raise InvalidInput(f"unknown department {target!r}", {"allowed": list(reporting.DEPARTMENTS)})
    elif kind == "volunteer":
        if report.community_code is None:
            raise InvalidInput("volunteers claim tasks of their community; this report has none (outside)")
        target = report.community_code
    else:
        target = SUBDISTRICT_CENTRE
    data["target"] = target
    fields = {"dispatch_kind": kind, "dispatch_target": target, "claimed_by": None}
    if report.status == "registered":
        if _was_returned(session, report_id):
            data["second"] = True  # 二次派遣 after a 退回
        move_status(session, report, "dispatched", actor, note, data, **fields)
    else:
        report_repo.update(session, report_id, **fields)
        report_repo.add_event(session, report_id, "redispatch", actor, note, data=data)
        # the handler changed: the 处置 stage starts again for the new unit
        stage_service.enter(session, report_service.get(session, report_id), "handle", report_service.now())
    return report_service.get(session, report_id)


def _was_returned(session: Session, report_id: int) -> bool:
    return any(e.kind == "returned" for e in report_repo.events(session, report_id))


def claim(session: Session, report_id: int, person_id: str, actor: str, note: str | None = None) -> Report:
    """A 双报到 volunteer of the report's community takes an open volunteer task (→ in_progress)."""
    report = report_service.get(session, report_id, lock=True)
    if report.dispatch_kind != "volunteer" or report.status != "dispatched":
        raise Conflict(f"report {report_id} is not an open volunteer task")
    if report.claimed_by is not None:
        raise Conflict(f"report {report_id} was already claimed by {report.claimed_by}")
    volunteer = report_repo.volunteer(session, person_id)
    if volunteer is None:
        raise NotFound(f"no 双报到 volunteer {person_id!r}")
    if volunteer.community_code != report.community_code:
        raise Conflict(
            f"volunteer {person_id} is registered in community {volunteer.community_code}; "
            f"this task belongs to {report.community_code}"
        )
    data = {"person_id": person_id, "name": volunteer.name}
    report_repo.add_event(session, report_id, "claim", actor, note, data=data)
    move_status(session, report, "in_progress", actor, "双报到党员认领", data, claimed_by=volunteer.id)
    return report_service.get(session, report_id)


def move(
    session: Session,
    directory: GridDirectory,
    settings: Settings,
    report_id: int,
    lon: float,
    lat: float,
    crs_name: str,
    actor: str,
    note: str | None = None,
) -> Report:
    """Correct a report's point: grid and people are reassigned through the lookup rule, the move logged.
    A finished case (closed, rejected, duplicate) keeps its point: its grid's figures are settled."""
    report = report_service.get(session, report_id, lock=True)
    if report.status in reporting.TERMINAL:
        raise refuse(report, report.status, "已办结的上报（结案、不予受理或重复）不能更正位置")
    wlon, wlat = to_wgs84(lon, lat, crs_name)
    placed = report_service.locate(directory, wlon, wlat, settings.near_boundary_m)
    grid = report_service.grid_fields(placed)
    fields = {**grid.as_dict(), **_dispatch_after_move(report, grid)}
    data = {
        "from": {"lon": report.lon, "lat": report.lat, "micro_code": report.micro_code},
        "to": {"lon": wlon, "lat": wlat, "micro_code": grid.micro_code, "crs": crs_name},
    }
    report_repo.set_point(session, report_id, wlon, wlat, input_lon=lon, input_lat=lat, input_crs=crs_name,
                          **fields)  # fmt: skip
    report_repo.add_event(session, report_id, "move", actor, note, data=data)
    return report_service.get(session, report_id)


def _dispatch_after_move(report: Report, grid: GridFields) -> dict[str, Any]:
    """Where a moved report is routed: a grid-team dispatch follows the new grid, a department or
    volunteer dispatch stays, an undispatched report goes where a new one at that point would."""
    kind = report.dispatch_kind
    inside = not grid.outside
    if kind == "grid_team":
        if inside:
            return {"dispatch_kind": "grid_team", "dispatch_target": grid.micro_code}
        return {"dispatch_kind": "centre", "dispatch_target": SUBDISTRICT_CENTRE}
    if kind in ("department", "volunteer"):
        return {"dispatch_kind": kind, "dispatch_target": report.dispatch_target}
    if kind == "centre" and report.status in (
        "dispatched",
        "in_progress",
        "feedback",
        "verified",
        "closed",
    ):
        return {"dispatch_kind": kind, "dispatch_target": report.dispatch_target}
    return {"dispatch_kind": grid.dispatch_kind, "dispatch_target": grid.dispatch_target}


def confirm_duplicate(
    session: Session, report_id: int, actor: str, note: str | None = None, of: int | None = None
) -> Report:
    report = report_service.get(session, report_id, lock=True)
    original = of or report.possible_duplicate_of
    if original is None:
        raise InvalidInput("name the original report (duplicate_of); no duplicate was suggested")
    if original == report_id:
        raise InvalidInput("a report cannot duplicate itself")
    report_service.get(session, original)  # 404 when it does not exist
    move_status(session, report, "duplicate", actor, note, {"duplicate_of": original},
                 duplicate_of=original, possible_duplicate_of=None)  # fmt: skip
    return report_service.get(session, report_id)


def dismiss_duplicate(session: Session, report_id: int, actor: str, note: str | None = None) -> Report:
    report = report_service.get(session, report_id, lock=True)
    if report.possible_duplicate_of is None:
        raise Conflict(f"report {report_id} has no duplicate suggestion to dismiss")
    report_repo.update(session, report_id, possible_duplicate_of=None)
    report_repo.add_event(session, report_id, "duplicate_dismissed", actor, note,
                          data={"of": report.possible_duplicate_of})  # fmt: skip
    return report_service.get(session, report_id)


def rate(
    session: Session,
    report_id: int,
    rating: int,
    comment: str | None,
    actor: str,
    *,
    tracking_code: str | None = None,
    by_phone: bool = False,
) -> Report:
    """The reporter's 评价 (1–5 and a comment), once, after the report is closed. Only the reporter may
    rate: with the report's tracking code, or by phone, recorded by a dispatcher (the caller checks the
    role; `by_phone` is kept in the event). Without either → 403 tracking_code_invalid."""
    report = report_service.get(session, report_id, lock=True)
    if not by_phone:
        report_service.check_tracking_code(session, report_id, tracking_code)
    if not reporting.RATING_MIN <= rating <= reporting.RATING_MAX:
        raise InvalidInput(f"rating must be {reporting.RATING_MIN}–{reporting.RATING_MAX}")
    if report.status != "closed":
        raise Conflict(f"only a closed report can be rated; report {report_id} is {report.status}")
    if report.rating is not None:
        raise Conflict(f"report {report_id} was already rated")
    report_repo.update(session, report_id, rating=rating, rating_comment=comment)
    data: dict[str, Any] = {"rating": rating, "by_phone": by_phone}
    report_repo.add_event(session, report_id, "rating", actor, comment, data=data)
    return report_service.get(session, report_id)
