"""Import many reports at once (CSV/GeoJSON rows already read): placed, flagged and stored whole or not at all."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from geo_grid.errors import GeoGridError, ImportFailed
from geo_grid.io.reports import ImportRow
from geo_grid.repository import audit as audit_repo
from geo_grid.repository import reports as report_repo
from geo_grid.repository.report_records import NewReportRow
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


def import_reports(
    session: Session,
    directory: GridDirectory,
    settings: Settings,
    rows: Sequence[ImportRow],
    actor: str,
    source: str,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Validate, place and insert every row; any bad row raises ImportFailed naming it (caller rolls back)."""
    _check_ids(session, rows)
    deadlines = report_service.clock_for(session)
    prepared: list[NewReportRow] = []
    for n, row in enumerate(rows, start=1):
        new = row.report
        try:
            report_service.validate(new, deadlines.table)
            point = (
                to_wgs84(new.lon, new.lat, new.crs) if new.lon is not None and new.lat is not None else None
            )
        except GeoGridError as exc:
            raise ImportFailed(f"{row.where}: {exc.message}", exc.detail) from exc
        lon, lat = point if point else (None, None)
        prepared.append(
            report_service.row_for(
                new, report_service.locate(directory, lon, lat, settings.near_boundary_m), deadlines
            )
        )
        if progress and n % 500 == 0:
            progress(500)
    if progress and len(rows) % 500:
        progress(len(rows) % 500)
    ids = report_repo.insert_many(session, prepared)
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
    summary = {
        "imported": len(ids),
        "inside": sum(1 for r in prepared if not r.grid.outside),
        "outside": sum(1 for r in prepared if r.grid.outside),
        "without_point": sum(1 for r in prepared if r.lon is None),
        "near_boundary": sum(1 for r in prepared if r.grid.near_boundary),
        "possible_duplicates": duplicates,
        "by_category": dict(Counter(r.category for r in prepared)),
    }
    audit_repo.add(session, actor, "import_reports", {"source": source, **summary})
    return summary
