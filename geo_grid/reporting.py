"""The report domain tables in one place: workflow transitions, SLA, department routing, channels (their
Chinese labels, and so the codes' vocabulary, are in labels.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from geo_grid.labels import (
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    DISPATCH_KIND_LABELS,
    STATUS_LABELS,
    SUBDISTRICT_CENTRE,
)

STATUSES = tuple(STATUS_LABELS)

# The workflow: status → the statuses it may move to. Nothing else may change a report's status.
# feedback → in_progress: verification found the problem not solved, so the handler goes back to work.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("accepted", "rejected", "duplicate"),
    "accepted": ("registered", "rejected", "duplicate"),
    "registered": ("dispatched",),
    "dispatched": ("in_progress",),
    "in_progress": ("feedback",),
    "feedback": ("verified", "in_progress"),
    "verified": ("closed",),
    "closed": (),
    "rejected": (),
    "duplicate": (),
}
# Terminal statuses: a report in one of them is no longer open (never overdue, never a duplicate target).
TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
# Not "to handle": the rates' denominators (响应率, 解决率) leave out what was refused or is a repeat.
NOT_HANDLED = frozenset({"rejected", "duplicate"})
OPEN_STATUSES = tuple(s for s in STATUSES if s not in TERMINAL)

CHANNELS = tuple(CHANNEL_LABELS)

CATEGORIES = tuple(CATEGORY_LABELS)

# Sensitive categories: their reports are never listed to the public, only counted (geo_grid/privacy.py).
# 养老诈骗 names an old person living alone, at a door plate; a later issue moves categories to a table.
SENSITIVE_CATEGORIES = frozenset({"elderly_fraud"})

# 应急处突队: the departments a report can be dispatched to.
DEPARTMENTS = ("城市管理", "平安建设", "综合执法", "执法中队", "派出所", "市场监管", "社区卫生服务中心")

# Category → the department that handles it when a dispatcher sends it to the emergency team.
ROUTING = {
    "parking": "执法中队",
    "elderly_fraud": "派出所",
    "illegal_construction": "综合执法",
    "road_occupation": "城市管理",
    "littering": "城市管理",
    "illegal_advertising": "城市管理",
    "night_street_order": "平安建设",
    "noise": "综合执法",
    "childcare": "社区卫生服务中心",
    "facility_repair": "城市管理",
}

DISPATCH_KINDS = tuple(DISPATCH_KIND_LABELS)


@dataclass(frozen=True)
class Sla:
    """Deadlines counted from the report's creation: accept within `response_h`, close within `resolution_h`."""

    response_h: float
    resolution_h: float


# Urgent safety matters get the shortest deadlines; needs such as childcare get a week to arrange.
SLA = {
    "parking": Sla(1, 24),
    "elderly_fraud": Sla(1, 48),
    "illegal_construction": Sla(4, 168),
    "road_occupation": Sla(2, 24),
    "littering": Sla(2, 24),
    "illegal_advertising": Sla(4, 72),
    "night_street_order": Sla(1, 12),
    "noise": Sla(1, 24),
    "childcare": Sla(24, 168),
    "facility_repair": Sla(4, 72),
}

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
    source: str | None = None  # another system's name (exchange_sources): (source, external_id) is one order
    created_at: datetime | None = None
    # Only imports of historical data set these; live intake always starts at `reported`.
    status: str = "reported"
    accepted_at: datetime | None = None
    closed_at: datetime | None = None
    solved: bool | None = None
    rating: int | None = None


def allowed_next(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def is_allowed(current: str, target: str) -> bool:
    return target in allowed_next(current)


def status_label(status: str | None) -> str | None:
    return STATUS_LABELS.get(status, status) if status else status


def department_for(category: str) -> str:
    return ROUTING.get(category, SUBDISTRICT_CENTRE)


def level_of_code(code: str) -> str | None:
    """The level a grid code names: 9 digits subdistrict, 12 community, 15 tertiary, 18 micro."""
    return (
        {9: "subdistrict", 12: "community", 15: "tertiary", 18: "micro"}.get(len(code))
        if code.isdigit()
        else None
    )


assert set(SLA) == set(CATEGORIES) == set(ROUTING), "every category needs an SLA and a department"
assert set(ROUTING.values()) <= set(DEPARTMENTS)
