"""The sample's case history beyond the straight path: after the sample reports are stored, a few of its
open cases take every branch of 数字城管 through the workflow services (退回 and 二次派遣, 返工, 延期 approved
and refused, 挂账, 督办 and 催办), and the sweep turns the late ones red (with their automatic 催办), so that
the demo, the lights and the assessment (考核) have every kind of case to show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.services import case_branches, workflow
from geo_grid.services import reports as report_service
from geo_grid.services import stages as stage_service
from geo_grid.workcalendar import TZ

ACTOR = "示例数据"
DEPARTMENT = "城市管理"


@dataclass(frozen=True, slots=True)
class BranchCounts:
    returned: int = 0
    reworked: int = 0
    extended: int = 0
    extension_refused: int = 0
    parked: int = 0
    supervised: int = 0
    urged: int = 0
    red: int = 0


def _open(session: Session, status: str, n: int) -> list[int]:
    """The `n` oldest sample cases in `status` (by their file id: the same cases on every load)."""
    sql = "SELECT id FROM reports WHERE status = :status ORDER BY external_id LIMIT :n"
    return [int(i) for i in session.execute(text(sql), {"status": status, "n": n}).scalars()]


def exercise_branches(session: Session) -> BranchCounts:
    """Take a handful of the sample's open cases down every branch; returns how many of each."""
    now = report_service.now()
    accepted = _open(session, "accepted", 6)
    in_progress = _open(session, "in_progress", 9)
    returned = reworked = extended = refused = parked = supervised = urged = 0

    # 退回 and 二次派遣: registered, sent to a department, sent back with a reason, sent out again.
    for rid in accepted[:3]:
        workflow.transition(session, None, rid, "registered", ACTOR, "立案")
        workflow.dispatch(session, None, rid, "department", DEPARTMENT, ACTOR, "派遣至城市管理")
        case_branches.return_case(session, rid, "不属本部门职责，请重新派遣", ACTOR)
        workflow.dispatch(session, None, rid, "department", None, ACTOR, "二次派遣")
        returned += 1
    # 返工: the handler reports back, verification finds the problem not solved.
    for rid in in_progress[:3]:
        workflow.transition(session, None, rid, "feedback", ACTOR, "已处置")
        workflow.transition(session, None, rid, "in_progress", ACTOR, "核查未通过，返工")
        reworked += 1
    # 延期: two requests approved, one refused.
    for i, rid in enumerate(in_progress[3:6]):
        request = case_branches.request_extension(session, rid, 8, "需协调物业共同处置", ACTOR)
        case_branches.decide_extension(session, rid, request, approve=i < 2, actor=ACTOR)
        extended, refused = extended + (i < 2), refused + (i >= 2)
    # 挂账: waiting for funds, reviewed in a month.
    review_on = (now + timedelta(days=30)).astimezone(TZ).date()
    for rid in in_progress[6:8]:
        case_branches.park(session, rid, "需列入年度维修资金计划", review_on, ACTOR)
        parked += 1
    # 督办 with its own deadline, and a manual 催办.
    for rid, kind in ((in_progress[8], "supervise"), (accepted[3], "supervise"), (accepted[4], "urge")):
        case_branches.supervise(
            session, rid, kind, None, "群众反复反映，限期办结", now + timedelta(days=3), ACTOR
        )
        supervised, urged = supervised + (kind == "supervise"), urged + (kind == "urge")
    # Red lights: the sweep records every stage past its deadline (and its automatic 催办).
    red = stage_service.sweep(session, now).red
    return BranchCounts(returned, reworked, extended, refused, parked, supervised, urged, red)
