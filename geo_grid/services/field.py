"""The grid worker's phone pages (网格手机终端, issue 13): the open tasks of the grids where the user's person
holds a role, one task with its history, and the worker's actions on it: 到场 (arrival), a note, 办结反馈.

A grid worker may act on a report only when it was dispatched to the team of a grid (micro-grid or its
tertiary grid) where the person the user is linked to (`users.person_id`) holds a role. An admin may act
on any. Every write goes through the API, whose audit records it; every change is an event of the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from geo_grid import privacy, reporting
from geo_grid.errors import InvalidInput, InvalidTransition, NotYourGrid, ReportNotFound
from geo_grid.repository import field as field_repo
from geo_grid.repository import reports as report_repo
from geo_grid.repository.report_records import Report, ReportEvent
from geo_grid.services import categories as category_service
from geo_grid.services import reports as report_service
from geo_grid.services import workflow
from geo_grid.services.auth import Principal
from geo_grid.services.directory import GridDirectory

MAX_TASKS = 200
TASK_STATUSES = field_repo.TASK_STATUSES
ARRIVAL = "arrival"
NOTE = "field_note"


@dataclass(frozen=True, slots=True)
class WorkerGrids:
    """Where a caller may act: the grid codes of their person's roles; `every` for an admin."""

    person_pk: int | None
    codes: tuple[str, ...]
    every: bool = False

    def covers(self, report: Report) -> bool:
        if self.every:
            return True
        return report.dispatch_kind == "grid_team" and (
            report.micro_code in self.codes or report.tertiary_code in self.codes
        )


@dataclass(frozen=True, slots=True)
class Task:
    """One task of the worker: the report, its distance from the worker (metres, when known), the last
    arrival (到场) recorded on it, and its history (on the task's own page only)."""

    report: Report
    distance_m: float | None
    arrived_at: datetime | None
    history: tuple[ReportEvent, ...] = ()


def grids_of(session: Session, principal: Principal) -> WorkerGrids:
    """The grids the caller works in (403 not_your_grid when the user is not linked to a roster person)."""
    if principal.role == "admin":
        return WorkerGrids(None, (), every=True)
    person = field_repo.person_of_user(session, principal.user_id) if principal.user_id else None
    if person is None:
        raise NotYourGrid("此账号未关联花名册人员，没有所属网格的任务；请联系管理员关联人员")
    return WorkerGrids(person, tuple(field_repo.grid_codes_of_person(session, person)))


def _arrived_at(events: list[ReportEvent] | tuple[ReportEvent, ...]) -> datetime | None:
    times = [e.at for e in events if e.kind == ARRIVAL]
    return max(times) if times else None


def tasks(
    session: Session, principal: Principal, lon: float | None, lat: float | None, limit: int = MAX_TASKS
) -> list[Task]:
    """The caller's open tasks (dispatched / in progress, grid team), nearest first when a position is
    given, else newest first. Sensitive categories are not listed to a grid worker (privacy.listed)."""
    if (lon is None) != (lat is None):
        raise InvalidInput("经度 lon 与纬度 lat 须同时给出")
    where = grids_of(session, principal)
    hidden = privacy.hidden_categories(principal.role, category_service.table(session).sensitive)
    if where.every:
        raise InvalidInput("管理员没有所属网格：请用网格员账号查看任务，或在受理台查看全部上报")
    rows = field_repo.open_tasks(session, list(where.codes), hidden, lon, lat, min(limit, MAX_TASKS))
    out = []
    for row in rows:
        report = report_service.get(session, row.report_id)
        events = report_repo.events(session, row.report_id)
        out.append(Task(report, row.distance_m, _arrived_at(events)))
    return out


def _own(session: Session, principal: Principal, report_id: int, lock: bool = False) -> Report:
    """The report, when the caller may act on it (404 if none, or sensitive for a grid worker; 403
    not_your_grid when it is not dispatched to the team of one of their grids)."""
    report = report_service.get(session, report_id, lock=lock)
    if not privacy.listed(report.category, principal.role, category_service.table(session).sensitive):
        raise ReportNotFound(f"no report {report_id}")
    if not grids_of(session, principal).covers(report):
        raise NotYourGrid(f"上报 {report_id} 不是派给您所在网格的任务")
    return report


def task(session: Session, principal: Principal, report_id: int) -> Task:
    """One task with its history (for the caller's grids only)."""
    report = _own(session, principal, report_id)
    events = tuple(report_repo.events(session, report_id))
    return Task(report, None, _arrived_at(events), events)


def arrive(
    session: Session,
    directory: GridDirectory | None,
    principal: Principal,
    report_id: int,
    note: str | None,
    lon: float | None = None,
    lat: float | None = None,
) -> Task:
    """到场: the worker is on site (an `arrival` event with the time, and the phone's position if given).
    A task still `dispatched` starts: → in_progress (开始处置) by the same worker."""
    report = _own(session, principal, report_id, lock=True)
    if report.status not in field_repo.TASK_STATUSES:
        raise InvalidTransition(
            f"此任务当前为“{reporting.status_label(report.status)}”，不能登记到场",
            {"from": report.status, "allowed": list(field_repo.TASK_STATUSES)},
        )
    data: dict[str, object] = {}
    if lon is not None and lat is not None:
        data.update(lon=lon, lat=lat)
    report_repo.add_event(session, report_id, ARRIVAL, principal.name, note, data=data)
    if report.status == "dispatched":
        workflow.transition(
            session, directory, report_id, "in_progress", principal.name, "网格员到场，开始处置"
        )
    return task(session, principal, report_id)


def add_note(session: Session, principal: Principal, report_id: int, note: str) -> Task:
    """A worker's note on their task (a `field_note` event)."""
    if not note.strip():
        raise InvalidInput("备注不能为空")
    _own(session, principal, report_id, lock=True)
    report_repo.add_event(session, report_id, NOTE, principal.name, note.strip())
    return task(session, principal, report_id)


def feedback(
    session: Session, directory: GridDirectory | None, principal: Principal, report_id: int, note: str | None
) -> Task:
    """办结反馈: in_progress → feedback, through the workflow (409 with the allowed states otherwise)."""
    _own(session, principal, report_id, lock=True)
    workflow.transition(session, directory, report_id, "feedback", principal.name, note)
    return task(session, principal, report_id)


# ------------------------------------------------------------------------- 上报 from the worker's phone
# The worker's phone page files a report through the ordinary intake (POST /reports) with this channel
# (labels.CHANNEL_LABELS: 网格手机终端) and adds its photo through the photo service (POST /reports/{id}/photos).
CHANNEL = "grid_phone"
MAX_FILED = 50


def report_categories(session: Session, principal: Principal) -> list[tuple[str, str]]:
    """(code, name) of the categories the worker may report from the phone page: the active ones the
    worker may see (privacy.hidden_categories: a sensitive matter goes to the centre, not a grid worker)."""
    table = category_service.table(session)
    hidden = set(privacy.hidden_categories(principal.role, table.sensitive))
    return [(c.code, c.name) for c in table.categories if c.active and c.code not in hidden]


def filed_reports(session: Session, principal: Principal, limit: int = MAX_FILED) -> list[Report]:
    """The reports the caller filed (我的上报), newest first, as far as the caller may list them."""
    hidden = privacy.hidden_categories(principal.role, category_service.table(session).sensitive)
    ids = field_repo.reports_filed_by(
        session, principal.user_id, principal.token_id, hidden, min(limit, MAX_FILED)
    )
    return [report_service.get(session, i) for i in ids]
