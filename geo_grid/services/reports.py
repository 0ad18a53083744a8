"""Report intake: place the point (or address), flag near-boundary/outside, suggest a duplicate, store."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import shapely
from sqlalchemy.orm import Session

from geo_grid import clock, crs, reporting
from geo_grid.errors import InvalidInput, ReportNotFound, TrackingCodeInvalid
from geo_grid.labels import SUBDISTRICT_CENTRE
from geo_grid.reporting import NewReport
from geo_grid.repository import reports as report_repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.repository.report_records import Filer, GridFields, NewReportRow, Report, ReportEvent
from geo_grid.services import categories as category_service
from geo_grid.services import stages as stage_service
from geo_grid.services.categories import CategoryTable
from geo_grid.services.directory import GridDirectory, PersonRole
from geo_grid.services.lookup import Placement, place, responsible_people, to_wgs84
from geo_grid.settings import Settings
from geo_grid.workcalendar import WorkCalendar

# Resolves an address text to a WGS84 point, or None when it does not match (see address_resolver).
AddressResolver = Callable[[str], tuple[float, float] | None]


def now() -> datetime:
    """The service's clock (geo_grid/clock.py)."""
    return clock.now()


def validate(new: NewReport, table: CategoryTable, *, intake: bool = False) -> None:
    """Refuse what cannot be stored. Live intake takes active categories only; imports of history may
    name a category that is no longer active."""
    allowed = table.active_codes if intake else table.codes
    if new.category not in allowed:
        raise InvalidInput(f"unknown category {new.category!r}", {"allowed": list(allowed)})
    if new.channel not in reporting.CHANNELS:
        raise InvalidInput(f"unknown channel {new.channel!r}", {"allowed": list(reporting.CHANNELS)})
    if new.status not in reporting.STATUSES:
        raise InvalidInput(f"unknown status {new.status!r}", {"allowed": list(reporting.STATUSES)})
    if len(new.description) > reporting.MAX_DESCRIPTION:
        raise InvalidInput(
            f"description has {len(new.description)} characters; at most {reporting.MAX_DESCRIPTION}"
        )
    if new.rating is not None and not reporting.RATING_MIN <= new.rating <= reporting.RATING_MAX:
        raise InvalidInput(f"rating must be {reporting.RATING_MIN}–{reporting.RATING_MAX}")


def distance_to_edge_m(directory: GridDirectory, code: str, lon: float, lat: float) -> float:
    """Distance in metres (EPSG:4547) from a point to the boundary of micro-grid `code`."""
    pos = directory.index.codes.index(code)
    boundary = crs.to_metric(directory.index.polygons[pos]).boundary
    x, y = crs.lonlat_to_metric(lon, lat)
    return float(shapely.distance(boundary, shapely.Point(float(x), float(y))))


@dataclass(frozen=True)
class Placed:
    lon: float | None
    lat: float | None
    placement: Placement | None
    near_boundary: bool

    @property
    def outside(self) -> bool:
        return self.placement is None or self.placement.outside


def locate(directory: GridDirectory, lon: float | None, lat: float | None, near_m: float) -> Placed:
    """Placement of a WGS84 point through the one lookup rule; no point → outside (routed to the centre)."""
    if lon is None or lat is None:
        return Placed(None, None, None, False)
    p = place(directory, lon, lat)
    near = False
    if p.micro is not None:
        near = p.on_boundary or distance_to_edge_m(directory, p.micro.code, lon, lat) <= near_m
    return Placed(lon, lat, p, near)


def grid_fields(placed: Placed) -> GridFields:
    p = placed.placement
    inside = p is not None and not p.outside and p.micro is not None
    return GridFields(
        micro_code=p.micro.code if inside and p and p.micro else None,
        tertiary_code=p.tertiary.code if inside and p and p.tertiary else None,
        community_code=p.community_code if inside and p else None,
        outside=not inside,
        near_boundary=placed.near_boundary,
        # A report outside every grid is still taken: the subdistrict centre handles it.
        dispatch_kind=None if inside else "centre",
        dispatch_target=None if inside else SUBDISTRICT_CENTRE,
        subdistrict_code=subdistrict_of(p),
    )


def subdistrict_of(p: Placement | None) -> str | None:
    """The subdistrict a placed point belongs to: its micro-grid's, outside every grid the nearest one's."""
    if p is None:
        return None
    grid = p.micro if p.micro is not None else p.nearest
    return grid.subdistrict_code if grid is not None else None


@dataclass(frozen=True, slots=True)
class Clock:
    """What deadlines are computed with: the categories, the work calendar, the yellow share."""

    table: CategoryTable
    calendar: WorkCalendar
    yellow_share: float


def clock_for(session: Session, subdistrict_code: str | None = None) -> Clock:
    """The deadlines' clock of a subdistrict's reports (its working hours); None: the only subdistrict."""
    return Clock(
        category_service.table(session),
        category_service.calendar(session, subdistrict_code),
        stage_service.yellow_share(),
    )


def row_for(new: NewReport, placed: Placed, deadlines: Clock) -> NewReportRow:
    """The row to store: its overall deadline (every stage's limit in turn over the work calendar) and the
    stage it starts in (services/stages.py)."""
    created = new.created_at or now()
    category = deadlines.table.get(new.category)
    stage, _, planned = stage_service.initial(
        deadlines.calendar, category, new.status, created, new.accepted_at, deadlines.yellow_share
    )
    return NewReportRow(
        external_id=new.external_id,
        category=new.category,
        description=new.description,
        channel=new.channel,
        status=new.status,
        reporter_contact=new.reporter_contact,
        photo_urls=tuple(new.photo_urls),
        address_text=new.address,
        input_crs=new.crs,
        input_lon=new.lon,
        input_lat=new.lat,
        lon=placed.lon,
        lat=placed.lat,
        created_at=created,
        updated_at=created,
        due_at=stage_service.overall_due(deadlines.calendar, category, created),
        accepted_at=new.accepted_at,
        closed_at=new.closed_at,
        solved=new.solved,
        rating=new.rating,
        grid=grid_fields(placed),
        source=new.source,  # the 12345 exchange (services/exchange.py)
        stage=stage,
        stage_due_at=planned.due_at if planned else None,
        stage_yellow_at=planned.yellow_at if planned else None,
    )


def resolve_point(new: NewReport, resolve_address: AddressResolver | None) -> tuple[float, float]:
    if new.lon is not None and new.lat is not None:
        return to_wgs84(new.lon, new.lat, new.crs)
    if new.lon is not None or new.lat is not None:
        raise InvalidInput("give both lon and lat (or an address)")
    if not new.address:
        raise InvalidInput("a report needs a point (lon, lat, crs) or an address")
    if resolve_address is None:
        raise InvalidInput("address intake needs a point until the address service exists; send lon/lat")
    point = resolve_address(new.address)
    if point is None:
        raise InvalidInput(f"the address {new.address!r} matches no standard address; send lon/lat instead")
    return point


def suggest_duplicate(session: Session, settings: Settings, report_id: int, row: NewReportRow) -> int | None:
    if row.lon is None or row.lat is None or row.status in reporting.TERMINAL:
        return None
    dup = report_repo.duplicate_candidate(
        session, report_id, row.category, row.lon, row.lat, row.created_at,
        settings.duplicate_radius_m, settings.duplicate_window_h,
    )  # fmt: skip
    if dup is not None:
        report_repo.update(session, report_id, possible_duplicate_of=dup)
    return dup


def new_tracking_code() -> tuple[str, str]:
    """A report's tracking code (96 random bits, URL-safe) and the SHA-256 that is stored in its place."""
    code = secrets.token_urlsafe(12)
    return code, hash_tracking_code(code)


def hash_tracking_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def check_tracking_code(session: Session, report_id: int, code: str | None) -> None:
    """Refuse (403 tracking_code_invalid) unless `code` is the tracking code of this report."""
    stored = report_repo.tracking_code_hash(session, report_id)
    if not code or stored is None or not hmac.compare_digest(stored, hash_tracking_code(code)):
        raise TrackingCodeInvalid(
            "追踪码缺失或不正确：只有上报人凭上报时获得的追踪码才能查看或评价此上报",
            {"report_id": report_id, "how": "X-Tracking-Code header or ?tracking_code="},
        )


@dataclass(frozen=True)
class Created:
    report_id: int
    tracking_code: str  # shown once to the reporter; only its hash is stored


def create(
    session: Session,
    directory: GridDirectory,
    settings: Settings,
    new: NewReport,
    actor: str,
    resolve_address: AddressResolver | None = None,
    filed_by: Filer = Filer(),
) -> Created:
    """Intake one report; returns its id and its tracking code. `filed_by`: the console user or API token
    behind it (我的上报), none for the public. Caller commits (one transaction per request)."""
    validate(new, category_service.table(session), intake=True)
    lon, lat = resolve_point(new, resolve_address)
    placed = locate(directory, lon, lat, settings.near_boundary_m)
    # The working hours of the subdistrict whose 街道中心 answers for the report.
    deadlines = clock_for(session, subdistrict_of(placed.placement))
    code, code_hash = new_tracking_code()
    row = replace(
        row_for(new, placed, deadlines), tracking_code_hash=code_hash,
        filed_by_user_id=filed_by.user_id, filed_by_token_id=filed_by.token_id,
    )  # fmt: skip
    (report_id,) = report_repo.insert_many(session, [row])
    stage_service.insert_initial(session, [report_id], [row])
    report_repo.add_event(
        session, report_id, "reported", actor, note=None, to_status=row.status,
        data={"channel": new.channel, "micro_code": row.grid.micro_code, "outside": row.grid.outside,
              "near_boundary": row.grid.near_boundary},
    )  # fmt: skip
    dup = suggest_duplicate(session, settings, report_id, row)
    if dup is not None:
        report_repo.add_event(session, report_id, "duplicate_suggested", "system", data={"of": dup})
    return Created(report_id, code)


def get(session: Session, report_id: int, lock: bool = False) -> Report:
    report = report_repo.get(session, report_id, now(), lock=lock)
    if report is None:
        raise ReportNotFound(f"no report {report_id}")
    return remaining(session, [report], now())[0]


def remaining(session: Session, reports: list[Report], at: datetime) -> list[Report]:
    """`with_remaining` in each report's own subdistrict's working hours (a report of no subdistrict, the
    district level, counts in those of the first subdistrict)."""
    if not reports:
        return reports
    owners = report_repo.subdistricts_of(session, [r.id for r in reports])
    first = next((s.code for s in subdistrict_repo.list_all(session)), None)
    calendars: dict[str | None, WorkCalendar] = {}
    out: list[Report] = []
    for r in reports:
        code = owners.get(r.id) or first
        if code not in calendars:
            calendars[code] = category_service.calendar(session, code)
        out.extend(with_remaining(calendars[code], [r], at))
    return out


def with_remaining(cal: WorkCalendar, reports: list[Report], at: datetime) -> list[Report]:
    """The reports with `stage_remaining_minutes` filled in: the time left in the current stage in its
    own clock (working minutes for 工作时 / 工作日 stages, clock minutes for 自然时)."""
    return [
        replace(
            r, stage_remaining_minutes=round(cal.remaining_minutes(at, r.stage_due_at, r.stage_unit), 1) + 0.0
        )
        if r.stage_due_at is not None and r.stage_unit is not None
        else r
        for r in reports
    ]


def list_reports(
    session: Session, f: report_repo.ReportFilter, limit: int | None, offset: int
) -> tuple[list[Report], int]:
    """A page of reports (newest first), with their remaining stage time, and how many `f` selects."""
    at = now()
    rows, total = report_repo.list_reports(session, f, at, limit, offset)
    return remaining(session, rows, at), total


@dataclass(frozen=True, slots=True)
class ReportDetail:
    """A report with its history and the people responsible for its grid."""

    report: Report
    history: tuple[ReportEvent, ...]
    people: tuple[PersonRole, ...]


def detail(session: Session, directory: GridDirectory | None, report_id: int) -> ReportDetail:
    """A report with its history and the people responsible for its grid."""
    report = get(session, report_id)
    history = tuple(report_repo.events(session, report_id))
    return ReportDetail(report, history, tuple(people_for(directory, report)))


def people_for(directory: GridDirectory | None, report: Report) -> list[PersonRole]:
    """The people responsible for the report's grid (the lookup rule, from its stored grid codes)."""
    if directory is None or report.micro_code is None:
        return []
    micro = directory.grids.get(report.micro_code)
    tertiary = directory.grids.get(report.tertiary_code or "")
    placement = Placement(
        lon=report.lon or 0.0, lat=report.lat or 0.0, micro=micro, tertiary=tertiary,
        community_code=report.community_code, community_name=None, outside=False, on_boundary=False,
    )  # fmt: skip
    return responsible_people(directory, placement)


def address_resolver(book: Any, directory: GridDirectory) -> AddressResolver:
    """Address → point through the address service (services/addresses.py): the matched door plate's point,
    or None when the address is not matched confidently (nothing is guessed)."""
    from geo_grid.services import addresses as address_service

    def resolve(address: str) -> tuple[float, float] | None:
        point = address_service.resolve(book, directory, address).point
        return (point.lon, point.lat) if point is not None else None

    return resolve
