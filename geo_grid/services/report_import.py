"""Import many reports at once (CSV/GeoJSON rows already read): placed, flagged and stored whole or not at all."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from geo_grid.errors import GeoGridError, ImportFailed
from geo_grid.io.reports import ImportRow
from geo_grid.repository import audit as audit_repo
from geo_grid.repository import exchange_sources as source_repo
from geo_grid.repository import reports as report_repo
from geo_grid.repository.report_records import NewReportRow
from geo_grid.services import categories as category_service
from geo_grid.services import exchange
from geo_grid.services import reports as report_service
from geo_grid.services import stages as stage_service
from geo_grid.services.directory import GridDirectory
from geo_grid.services.lookup import to_wgs84
from geo_grid.settings import Settings

Progress = Callable[[int], None]  # called with the number of rows just handled


def _check_ids(session: Session, rows: Sequence[ImportRow]) -> None:
    seen: dict[str, str] = {}
    for row in rows:
        eid = row.report.external_id
        if eid is None:
            continue
        if eid in seen:
            raise ImportFailed(f"{row.where}: report_id {eid!r} appears twice (first at {seen[eid]})")
        seen[eid] = row.where
    taken = report_repo.existing_external_ids(session, list(seen))
    if taken:
        first = min(taken, key=lambda e: seen[e])
        raise ImportFailed(
            f"{seen[first]}: report_id {first!r} is already in the database ({len(taken)} such rows)",
            {"already_imported": sorted(taken)[:20]},
        )


def _orders(session: Session, rows: Sequence[ImportRow], order_source: str) -> dict[str, int]:
    """`--source NAME` (the 12345 exchange): every row names its order; the orders already taken."""
    seen: dict[str, str] = {}
    for row in rows:
        eid = row.report.external_id
        if eid is None:
            raise ImportFailed(
                f"{row.where}: --source {order_source} needs a report_id (the order's number) on every row"
            )
        if eid in seen:
            raise ImportFailed(f"{row.where}: report_id {eid!r} appears twice (first at {seen[eid]})")
        seen[eid] = row.where
    return source_repo.orders(session, order_source, list(seen))


@dataclass(frozen=True, slots=True)
class ReportImportSummary:
    """What an import did (printed by `geo-grid import reports`, kept in the audit log)."""

    imported: int
    inside: int
    outside: int
    without_point: int
    near_boundary: int
    possible_duplicates: int
    by_category: dict[str, int]
    # Only with `--source NAME`: orders taken before (not imported again) and those whose text changed.
    already_imported: int | None = None
    updated: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def import_reports(
    session: Session,
    directory: GridDirectory,
    settings: Settings,
    rows: Sequence[ImportRow],
    actor: str,
    source: str,
    progress: Progress | None = None,
    order_source: str | None = None,
) -> ReportImportSummary:
    """Validate, place and insert every row; any bad row raises ImportFailed naming it (caller rolls back).

    With `order_source` (`geo-grid import reports --source NAME`) the rows are orders of that system:
    an order already taken is not imported again; its new text, if any, is applied to its report."""
    taken: dict[str, int] = {}
    updated = 0
    if order_source is None:
        _check_ids(session, rows)
    else:
        taken = _orders(session, rows, order_source)
        for row in rows:
            if row.report.external_id in taken:
                again = replace(row.report, source=order_source)
                updated += (
                    exchange.apply_update(session, taken[row.report.external_id], again, actor) == "updated"
                )
        rows = [replace(r, report=replace(r.report, source=order_source)) for r in rows
                if r.report.external_id not in taken]  # fmt: skip
    table = category_service.table(session)
    clocks: dict[str | None, report_service.Clock] = {}  # per subdistrict: its working hours
    prepared: list[NewReportRow] = []
    for n, row in enumerate(rows, start=1):
        new = row.report
        try:
            report_service.validate(new, table)
            point = (
                to_wgs84(new.lon, new.lat, new.crs) if new.lon is not None and new.lat is not None else None
            )
        except GeoGridError as exc:
            raise ImportFailed(f"{row.where}: {exc.message}", exc.detail) from exc
        lon, lat = point if point else (None, None)
        placed = report_service.locate(directory, lon, lat, settings.near_boundary_m)
        sub = report_service.subdistrict_of(placed.placement)
        if sub not in clocks:
            clocks[sub] = report_service.clock_for(session, sub)
        prepared.append(report_service.row_for(new, placed, clocks[sub]))
        if progress and n % 500 == 0:
            progress(500)
    if progress and len(rows) % 500:
        progress(len(rows) % 500)
    ids = report_repo.insert_many(session, prepared) if prepared else []  # --source: all taken already
    stage_service.insert_initial(session, ids, prepared)
    report_repo.add_events(
        session,
        [
            report_repo.NewEvent(report_id=i, kind="imported", actor=actor, to_status=r.status, at=r.created_at,
                                 data={"source": source, "micro_code": r.grid.micro_code, "outside": r.grid.outside})
            for i, r in zip(ids, prepared, strict=True)
        ],
    )  # fmt: skip
    duplicates = report_repo.suggest_duplicates(
        session, ids, settings.duplicate_radius_m, settings.duplicate_window_h
    )
    summary = ReportImportSummary(
        imported=len(ids),
        inside=sum(1 for r in prepared if not r.grid.outside),
        outside=sum(1 for r in prepared if r.grid.outside),
        without_point=sum(1 for r in prepared if r.lon is None),
        near_boundary=sum(1 for r in prepared if r.grid.near_boundary),
        possible_duplicates=duplicates,
        by_category=dict(Counter(r.category for r in prepared)),
        already_imported=len(taken) if order_source is not None else None,
        updated=updated if order_source is not None else None,
    )
    audit_repo.add(
        session,
        actor,
        "import_reports",
        {"source": source, "order_source": order_source, **summary.as_dict()},
    )
    return summary
