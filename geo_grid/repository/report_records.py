"""The typed records of reports: the one definition of a report's fields.

`Report` is what the repository reads (its SELECT list is built from these fields, repository/reports.py),
what the services take and return, and what the API's response schema (api/schemas/reports.py) and the
CSV export are checked against (tests/db/test_report_records.py). `NewReportRow` is what an intake or an
import stores; `ReportEvent` is one entry of a report's history.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Report:
    """One report as stored, with its SLA-derived deadlines and `overdue` judged at the read's `now`."""

    id: int
    external_id: str | None
    source: str | None  # the system the order came from (the 12345 exchange), or None
    category: str
    description: str
    channel: str
    status: str
    reporter_contact: str | None
    photo_urls: tuple[str, ...]
    address_text: str | None
    input_crs: str | None
    input_lon: float | None
    input_lat: float | None
    lon: float | None
    lat: float | None
    micro_code: str | None
    tertiary_code: str | None
    community_code: str | None
    subdistrict_code: str | None  # whose 街道中心 answers (migration 0009_district); None: the district level
    outside: bool
    near_boundary: bool
    possible_duplicate_of: int | None
    duplicate_of: int | None
    dispatch_kind: str | None
    dispatch_target: str | None
    claimed_by: str | None  # the volunteer's person_id
    claimed_by_name: str | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    response_due_at: datetime
    accepted_at: datetime | None
    closed_at: datetime | None
    solved: bool | None
    rating: int | None
    rating_comment: str | None
    overdue: bool
    # Case handling (README "Case handling (数字城管)"): the current stage, its deadline and light.
    stage: str | None
    stage_due_at: datetime | None
    stage_yellow_at: datetime | None
    stage_unit: str | None  # the current stage's limit unit: natural_hours | working_hours | working_days
    light: str | None  # green | yellow | red at the read's `now`; None when in no stage (parked, terminal)
    self_resolved: bool
    parked_until: date | None
    parked_from_status: str | None
    category_label: str  # the category's name in the categories table (its code if it has none)
    # Time left in the current stage in its own clock (working minutes for 工作时 / 工作日, clock minutes
    # for 自然时), negative once overdue; filled by services/reports.py from the work calendar.
    stage_remaining_minutes: float | None = None

    @classmethod
    def from_row(cls, row: Any) -> Report:
        """From a result row selected with the columns named after the fields."""
        m = row._mapping
        values = {f: m[f] for f in REPORT_SELECTED}
        values["photo_urls"] = tuple(values["photo_urls"] or ())
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


REPORT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Report))
# The fields the SELECT reads (the remaining time needs the work calendar: computed in Python).
REPORT_SELECTED: tuple[str, ...] = tuple(f for f in REPORT_FIELDS if f != "stage_remaining_minutes")


@dataclass(frozen=True, slots=True)
class ReportEvent:
    """One entry of a report's history (every change is one)."""

    kind: str
    from_status: str | None
    to_status: str | None
    actor: str
    note: str | None
    data: dict[str, Any]
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


REPORT_EVENT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ReportEvent))


@dataclass(frozen=True, slots=True)
class GridFields:
    """Where a placed point puts a report: its grid chain, flags and the default routing."""

    micro_code: str | None
    tertiary_code: str | None
    community_code: str | None
    outside: bool
    near_boundary: bool
    dispatch_kind: str | None
    dispatch_target: str | None
    # The subdistrict whose 街道中心 answers for the report: of its micro-grid, outside every grid of the
    # nearest one; None without a point (the database's rule decides: migration 0009_district).
    subdistrict_code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Filer:
    """Who filed a report: a console user, an API token, or neither (the public, imports)."""

    user_id: int | None = None
    token_id: int | None = None


@dataclass(frozen=True, slots=True)
class NewReportRow:
    """A report to insert (intake or import). `lon`/`lat` (WGS84) become the point; None: no point."""

    external_id: str | None
    category: str
    description: str
    channel: str
    status: str
    reporter_contact: str | None
    photo_urls: tuple[str, ...]
    address_text: str | None
    input_crs: str | None
    input_lon: float | None
    input_lat: float | None
    lon: float | None
    lat: float | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    accepted_at: datetime | None
    closed_at: datetime | None
    solved: bool | None
    rating: int | None
    grid: GridFields
    tracking_code_hash: str | None = None
    source: str | None = None  # the system an order came from (the 12345 exchange), with its external_id
    # The stage a new report starts in (services/stages.py), None for a closed or refused import.
    stage: str | None = None
    stage_due_at: datetime | None = None
    stage_yellow_at: datetime | None = None
    # Who filed it (migration 0011_report_filer): the console user or the API token behind the intake.
    filed_by_user_id: int | None = None
    filed_by_token_id: int | None = None

    def columns(self) -> dict[str, Any]:
        """The stored columns (without the point), the grid fields flattened in."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("grid", "lon", "lat")}
        out["photo_urls"] = list(self.photo_urls)
        return {**out, **self.grid.as_dict()}


@dataclass(frozen=True, slots=True)
class Volunteer:
    """A 双报到 volunteer (role `volunteer`) and the community they registered in."""

    id: int
    person_id: str
    name: str
    community_code: str | None
