"""The report domain tables in one place: workflow transitions and their branches, stages, departments,
channels (their Chinese labels, and so the codes' vocabulary, are in labels.py). The categories, their
departments and stage time limits are data: the `categories` table (services/categories.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from geo_grid.labels import (
    CHANNEL_LABELS,
    DISPATCH_KIND_LABELS,
    STAGE_LABELS,
    STATUS_LABELS,
)

STATUSES = tuple(STATUS_LABELS)

# The workflow: status → the statuses it may move to. Nothing else may change a report's status.
# The branches of 数字城管 (README "Case handling (数字城管)") are moves of this table too:
#   reported → closed        自办自结: a grid worker's report in a minor category, with an after-photo;
#   dispatched → registered  退回: the department sends the case back with a reason (awaits 二次派遣);
#   feedback → in_progress   返工: verification found the problem not solved;
#   registered | dispatched | in_progress → parked, and parked → the status it was parked from: 挂账.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("accepted", "rejected", "duplicate", "closed"),
    "accepted": ("registered", "rejected", "duplicate"),
    "registered": ("dispatched", "parked"),
    "dispatched": ("in_progress", "registered", "parked"),
    "in_progress": ("feedback", "parked"),
    "feedback": ("verified", "in_progress"),
    "verified": ("closed",),
    "parked": ("registered", "dispatched", "in_progress"),
    "closed": (),
    "rejected": (),
    "duplicate": (),
}
# Moves that are branches with their own route (they need more than a note: a reason, a photo, a date).
BRANCH_ROUTES: dict[tuple[str, str], str] = {
    ("reported", "closed"): "POST /reports/{id}/self-resolve",
    ("dispatched", "registered"): "POST /reports/{id}/return",
    ("registered", "parked"): "POST /reports/{id}/park",
    ("dispatched", "parked"): "POST /reports/{id}/park",
    ("in_progress", "parked"): "POST /reports/{id}/park",
    ("parked", "registered"): "POST /reports/{id}/unpark",
    ("parked", "dispatched"): "POST /reports/{id}/unpark",
    ("parked", "in_progress"): "POST /reports/{id}/unpark",
}
PARKABLE = ("registered", "dispatched", "in_progress")
# Terminal statuses: a report in one of them is no longer open (never overdue, never a duplicate target).
TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)

# The stages of a case (GB/T 30428.8: 受理, 立案, 派遣, 处置, 核查, 结案) and the stage a status is in: the
# stage ends when the case leaves it. A parked case (挂账) and a terminal one are in no stage.
STAGES = tuple(STAGE_LABELS)
STAGE_OF_STATUS: dict[str, str] = {
    "reported": "accept",
    "accepted": "register",
    "registered": "dispatch",
    "dispatched": "handle",
    "in_progress": "handle",
    "feedback": "verify",
    "verified": "close",
}
LIGHTS = ("green", "yellow", "red")
# Not "to handle": the rates' denominators (响应率, 解决率) leave out what was refused or is a repeat.
NOT_HANDLED = frozenset({"rejected", "duplicate"})
OPEN_STATUSES = tuple(s for s in STATUSES if s not in TERMINAL)

CHANNELS = tuple(CHANNEL_LABELS)

# 应急处突队: the departments a report can be dispatched to (a category names the one that handles it).
DEPARTMENTS = ("城市管理", "平安建设", "综合执法", "执法中队", "派出所", "市场监管", "社区卫生服务中心")

DISPATCH_KINDS = tuple(DISPATCH_KIND_LABELS)

RATING_MIN, RATING_MAX = 1, 5
SATISFIED_FROM = 4  # 满意率: a rating of 4 or 5 counts as satisfied
MAX_DESCRIPTION = 4000


@dataclass
class NewReport:
    """What a caller hands in; either lon/lat (in `crs`) or `address`."""

    category: str
    channel: str
    description: str = ""
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    address: str | None = None
    reporter_contact: str | None = None
    photo_urls: list[str] = field(default_factory=list)
    external_id: str | None = None
    created_at: datetime | None = None
    # Only imports of historical data set these; live intake always starts at `reported`.
    status: str = "reported"
    accepted_at: datetime | None = None
    closed_at: datetime | None = None
    solved: bool | None = None
    rating: int | None = None


def allowed_next(status: str) -> tuple[str, ...]:
    """The statuses POST /reports/{id}/transitions may move to (the branches have their own routes)."""
    return tuple(s for s in TRANSITIONS.get(status, ()) if (status, s) not in BRANCH_ROUTES)


def branches(status: str) -> list[str]:
    """The branch routes open to a case in `status` (自办自结, 退回, 挂账 …)."""
    return sorted({route for (a, _), route in BRANCH_ROUTES.items() if a == status})


def is_allowed(current: str, target: str) -> bool:
    """Whether the table has the move (a branch included)."""
    return target in TRANSITIONS.get(current, ())


def status_label(status: str | None) -> str | None:
    return STATUS_LABELS.get(status, status) if status else status


def stage_of(status: str | None) -> str | None:
    """The stage a case in `status` is in (None: parked or terminal)."""
    return STAGE_OF_STATUS.get(status or "")


def stage_label(stage: str | None) -> str | None:
    return STAGE_LABELS.get(stage, stage) if stage else stage


def level_of_code(code: str) -> str | None:
    """The level a grid code names: 9 digits subdistrict, 12 community, 15 tertiary, 18 micro."""
    return (
        {9: "subdistrict", 12: "community", 15: "tertiary", 18: "micro"}.get(len(code))
        if code.isdigit()
        else None
    )


assert set(TRANSITIONS) == set(STATUSES), "every status needs its row in the table"
assert all(b in TRANSITIONS[a] for a, b in BRANCH_ROUTES), "a branch is a move of the table"
