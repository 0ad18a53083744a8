"""Stage deadlines, lights and the sweep (README "Case handling (数字城管)").

When a case enters a stage (受理, 立案, 派遣, 处置, 核查, 结案) a report_stages row is written with its due
and yellow moments, computed by geo_grid/workcalendar.py from the category's limit in force at that moment
(copied into the row: editing categories never rewrites history); the report's `stage`, `stage_due_at`
and `stage_yellow_at` follow the open row. The stage ends when the case leaves it (`on_time`).

The sweep (`sweep`): run by the runtime's periodic task and by `geo-grid sweep`. For each open stage past
its deadline it records a `red_light` event and an automatic 催办 order to the responsible unit's
supervisor, once per stage; it brings parked cases (挂账) back on their review date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from geo_grid import reporting
from geo_grid.labels import SUBDISTRICT_CENTRE
from geo_grid.repository import reports as report_repo
from geo_grid.repository import stages as repo
from geo_grid.repository.categories import Category
from geo_grid.repository.report_records import NewReportRow, Report
from geo_grid.services import categories as category_service
from geo_grid.settings import Settings
from geo_grid.workcalendar import TZ, WorkCalendar

SYSTEM = "system"  # the actor of what the sweep records


def yellow_share() -> float:
    return Settings().yellow_share


@dataclass(frozen=True, slots=True)
class Planned:
    due_at: datetime
    yellow_at: datetime
    limit_value: float
    limit_unit: str


def plan(cal: WorkCalendar, category: Category, stage: str, start: datetime, share: float) -> Planned:
    """The deadline and yellow mark of `stage` of a case in `category` that enters it at `start`."""
    lim = category.stage_limits[stage]
    due = cal.deadline(start, lim.value, lim.unit)
    return Planned(due, cal.yellow(start, due, lim.unit, share), lim.value, lim.unit)


def overall_due(cal: WorkCalendar, category: Category, start: datetime) -> datetime:
    """The case's overall deadline (`due_at`): every stage from 受理 to 结案 taking its full limit in turn."""
    at = start
    for stage in reporting.STAGES:
        lim = category.stage_limits[stage]
        at = cal.deadline(at, lim.value, lim.unit)
    return at


def responsible(
    stage: str, dispatch_kind: str | None, dispatch_target: str | None, micro_code: str | None
) -> tuple[str, str]:
    """Who is responsible for a stage (unit_kind, unit_code): the handler in 处置, else the centre."""
    if stage == "handle" and dispatch_kind:
        if dispatch_kind == "grid_team" and micro_code:
            return "grid_team", micro_code
        if dispatch_kind == "department" and dispatch_target:
            return "department", dispatch_target
        if dispatch_kind == "volunteer" and dispatch_target:
            return "volunteer", dispatch_target
    return "centre", SUBDISTRICT_CENTRE


def supervisor_of(unit_kind: str | None, unit_code: str | None, tertiary_code: str | None) -> str:
    """Who an automatic 催办 goes to: a department's own head, the 网格长 of the tertiary grid above a grid
    team, the community of a volunteer task, or the centre's duty leader."""
    if unit_kind == "department" and unit_code:
        return f"{unit_code}负责人"
    if unit_kind == "grid_team":
        return f"网格长（{tertiary_code or unit_code}）"
    if unit_kind == "volunteer" and unit_code:
        return f"社区（{unit_code}）"
    return f"{SUBDISTRICT_CENTRE}值班长"


def enter(session: Session, report: Report, stage: str, at: datetime, share: float | None = None) -> None:
    """End the open stage (if any) and start `stage` at `at` with the category's current limit."""
    repo.end_open(session, report.id, at)
    table = category_service.table(session)
    cal = category_service.calendar(session, report.subdistrict_code)  # its 街道中心's working hours
    p = plan(cal, table.get(report.category), stage, at, yellow_share() if share is None else share)
    kind, code = responsible(stage, report.dispatch_kind, report.dispatch_target, report.micro_code)
    repo.insert_stages(
        session,
        [repo.NewStage(report.id, stage, at, p.due_at, p.yellow_at, p.limit_value, p.limit_unit, kind, code)],
    )


def follow(session: Session, report_id: int, old_status: str, at: datetime) -> None:
    """After a status change: end the stage the case left and start the one it entered (same stage, e.g.
    派遣 → 处置中 both 处置: nothing changes). Call after the report's row was updated."""
    report = report_repo.get(session, report_id, at)
    if report is None:
        return
    new_stage = reporting.stage_of(report.status)
    if new_stage == reporting.stage_of(old_status) and report.stage == new_stage and new_stage is not None:
        return
    if new_stage is None:
        repo.end_open(session, report_id, at, count_on_time=report.status != "parked")
    else:
        enter(session, report, new_stage, at)


def initial(cal: WorkCalendar, category: Category, status: str, created_at: datetime,
            accepted_at: datetime | None, share: float) -> tuple[str | None, datetime, Planned | None]:  # fmt: skip
    """The stage a new report starts in, when it started and its deadlines (None for a closed, refused
    or parked one). An imported case entered its current stage, as far as its file says, when it was
    accepted (stages after 受理, when known), else when it was reported."""
    stage = reporting.stage_of(status)
    start = accepted_at if stage != "accept" and accepted_at is not None else created_at
    if stage is None:
        return None, start, None
    return stage, start, plan(cal, category, stage, start, share)


def insert_initial(session: Session, ids: list[int], rows: list[NewReportRow]) -> None:
    """The first stage row of each freshly stored report (intake, import) that is in a stage."""
    table = category_service.table(session)
    new = []
    for report_id, r in zip(ids, rows, strict=True):
        if r.stage is None or r.stage_due_at is None or r.stage_yellow_at is None:
            continue
        lim = table.limit(r.category, r.stage)
        start = r.accepted_at if r.stage != "accept" and r.accepted_at is not None else r.created_at
        kind, code = responsible(r.stage, r.grid.dispatch_kind, r.grid.dispatch_target, r.grid.micro_code)
        new.append(repo.NewStage(report_id, r.stage, start, r.stage_due_at, r.stage_yellow_at, lim.value,
                                 lim.unit, kind, code))  # fmt: skip
    repo.insert_stages(session, new, update_reports=False)


# ------------------------------------------------------------------------------------------ sweep
@dataclass(frozen=True, slots=True)
class SweepResult:
    red: int  # stages that went red since the last sweep (each got a red_light event and a 催办)
    unparked: int  # parked cases brought back on their review date


def sweep(session: Session, now: datetime) -> SweepResult:
    """Record what time has done: red lights (with their automatic 催办, once per stage) and the return of
    parked cases whose review date has come. Idempotent: a second run at the same moment records nothing;
    while another transaction sweeps, this one does nothing (an advisory lock)."""
    if not repo.try_sweep_lock(session):
        return SweepResult(red=0, unparked=0)
    late = repo.late_stages(session, now)
    for s in late:
        target = supervisor_of(s.unit_kind, s.unit_code, s.tertiary_code)
        label = reporting.stage_label(s.stage)
        repo.add_event(session, s.report_id, "red_light", SYSTEM, f"{label}阶段已超期（期限 {s.due_at.astimezone(TZ):%Y-%m-%d %H:%M}）",
                       {"stage": s.stage, "stage_id": s.stage_id, "due_at": s.due_at.isoformat()})  # fmt: skip
        order = repo.add_order(session, s.report_id, "urge", SYSTEM, target, f"{label}阶段超期，自动催办", None,
                               automatic=True)  # fmt: skip
        repo.add_event(session, s.report_id, "urge", SYSTEM, order.reason,
                       {"order_id": order.id, "target": target, "automatic": True, "stage": s.stage})  # fmt: skip
    from geo_grid.services import case_branches  # the unpark is a workflow move (which imports this module)

    unparked = 0
    for report_id in repo.parked_due(session, now.astimezone(TZ).date()):
        case_branches.unpark(session, report_id, SYSTEM, "到复核日期，自动恢复办理")
        unparked += 1
    return SweepResult(red=len(late), unparked=unparked)


def backfill(session: Session, shift: timedelta = timedelta(0)) -> int:
    """Deadlines for reports stored without them (the sample loader's bulk insert): the overall `due_at`
    and the first stage row of each open one, from the categories and the calendar; returns how many.

    `shift`: how far the rows' times were moved from when they happened (the sample demo moves its whole
    recording so that it does not age): deadlines are computed at the original times, over the calendar
    of those days, and moved by the same amount, so the demo shows the same lights on any day."""
    rows = repo.without_deadlines(session)
    if not rows:
        return 0
    table = category_service.table(session)
    calendars: dict[str | None, WorkCalendar] = {}
    share = yellow_share()
    updates: list[dict[str, object]] = []
    new: list[repo.NewStage] = []
    for r in rows:
        cal = calendars.get(r.subdistrict_code)
        if cal is None:
            cal = calendars[r.subdistrict_code] = category_service.calendar(session, r.subdistrict_code)
        cat = table.get(r.category)
        created = r.created_at - shift
        accepted = r.accepted_at - shift if r.accepted_at is not None else None
        stage, start, planned = initial(cal, cat, r.status, created, accepted, share)
        updates.append({"id": r.id, "due_at": overall_due(cal, cat, created) + shift, "stage": stage,
                        "stage_due_at": planned.due_at + shift if planned else None,
                        "stage_yellow_at": planned.yellow_at + shift if planned else None})  # fmt: skip
        if stage is not None and planned is not None:
            kind, code = responsible(stage, r.dispatch_kind, r.dispatch_target, r.micro_code)
            new.append(repo.NewStage(r.id, stage, start + shift, planned.due_at + shift, planned.yellow_at + shift,
                                     planned.limit_value, planned.limit_unit, kind, code))  # fmt: skip
    repo.set_deadlines(session, updates)
    repo.insert_stages(session, new, update_reports=False)
    return len(rows)
