"""The Report record is the one list of a report's fields: the SELECT list is built from it, and the API's
response schema, the CSV export, the privacy policy and the stored columns are checked against it here.
The incident map's report query is the reports repository's filter (same rows as the listing)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from geo_grid import db, models, privacy
from geo_grid.api.routers.reports import CSV_COLUMNS
from geo_grid.api.schemas.reports import ReportEventOut, ReportOut
from geo_grid.api.schemas.stats import ChildStatsOut, GridStatsOut, RateOut
from geo_grid.repository import maps as map_repo
from geo_grid.repository import reports as report_repo
from geo_grid.repository.report_records import (
    REPORT_EVENT_FIELDS,
    REPORT_FIELDS,
    GridFields,
    NewReportRow,
    Report,
)
from geo_grid.services import stats as stats_service

# What the presenter (api/presenters.py) adds to a report's fields: labels, next states, detail parts.
PRESENTED = {
    "status_label",
    "channel_label",
    "allowed_next",
    "people",
    "history",
    "stage_label",
}
# Fields of the record computed by the SELECT (or from the work calendar) rather than stored in a column.
COMPUTED = {"lon", "lat", "claimed_by_name", "response_due_at", "overdue", "light", "stage_unit", "category_label",
            "stage_remaining_minutes"}  # fmt: skip


def test_response_schema_declares_exactly_the_record_fields() -> None:
    assert set(ReportOut.model_fields) - PRESENTED == set(REPORT_FIELDS)
    assert set(ReportEventOut.model_fields) == set(REPORT_EVENT_FIELDS)


def test_csv_columns_are_record_fields() -> None:
    assert set(CSV_COLUMNS) <= set(REPORT_FIELDS)
    assert len(set(CSV_COLUMNS)) == len(CSV_COLUMNS)


def test_privacy_rules_name_record_fields() -> None:
    # A rule for a field the record lacks would silently protect nothing.
    assert set(privacy.PUBLIC_REPORT_FIELDS) <= set(REPORT_FIELDS) | {"tracking_code_hash"}


def test_stored_fields_are_table_columns() -> None:
    columns = set(models.Report.__table__.columns.keys())
    assert set(REPORT_FIELDS) - COMPUTED <= columns
    new_fields = {f.name for f in dataclasses.fields(NewReportRow)} - {"grid", "lon", "lat"}
    grid_fields = {f.name for f in dataclasses.fields(GridFields)}
    assert new_fields | grid_fields <= columns
    # Everything a new report stores is a field of the record read back, but its tracking code's hash and
    # who filed it (read only by 我的上报's query, repository/field.reports_filed_by; never an output field).
    write_only = {"tracking_code_hash", "filed_by_user_id", "filed_by_token_id"}
    assert (new_fields | grid_fields) - write_only <= set(REPORT_FIELDS)
    assert not write_only & set(REPORT_FIELDS)


def test_stats_schema_matches_the_stats_records() -> None:
    names = {f.name for f in dataclasses.fields(stats_service.GridStats)}
    assert set(GridStatsOut.model_fields) == names
    assert set(ChildStatsOut.model_fields) == {f.name for f in dataclasses.fields(stats_service.ChildStats)}
    assert set(RateOut.model_fields) == {f.name for f in dataclasses.fields(stats_service.Rate)}


@pytest.fixture(scope="module")
def session(ro_db_url: str) -> Iterator[Session]:
    engine = db.make_engine(ro_db_url, pool_size=1)
    with db.transaction(db.make_session_factory(engine)) as s:
        yield s
    engine.dispose()


def test_repository_returns_records(session: Session) -> None:
    now = datetime(2026, 5, 1, tzinfo=UTC)
    page, total = report_repo.list_reports(session, report_repo.ReportFilter(), now, 5, 0)
    assert total > 5 and len(page) == 5 and all(isinstance(r, Report) for r in page)
    again = report_repo.get(session, page[0].id, now)
    assert again == page[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        page[0].status = "closed"  # type: ignore[misc]


@pytest.mark.parametrize(
    "f",
    [
        report_repo.ReportFilter(),
        report_repo.ReportFilter(status=["closed", "in_progress"], grid="410105012004"),
        report_repo.ReportFilter(category=["noise"], since=datetime(2026, 1, 1, tzinfo=UTC)),
        report_repo.ReportFilter(closed_since=datetime(2026, 4, 1, tzinfo=UTC)),
    ],
)
def test_map_query_is_the_listing_filter(session: Session, f: report_repo.ReportFilter) -> None:
    """The incident map shows exactly the listing's reports that have a point (oldest first)."""
    now = datetime(2026, 5, 1, tzinfo=UTC)
    on_map = map_repo.reports(session, f, now)
    listed, _ = report_repo.list_reports(session, dataclasses.replace(f, has_point=True), now, None, 0)
    assert on_map and [r.id for r in on_map] == [r.id for r in reversed(listed)]
    assert all(r.lon is not None for r in on_map)


def test_closed_since_leaves_out_old_terminal_reports(session: Session) -> None:
    now = datetime(2026, 5, 1, tzinfo=UTC)
    since = now - timedelta(days=30)
    rows = report_repo.select(session, report_repo.ReportFilter(closed_since=since), now)
    everything = report_repo.select(session, report_repo.ReportFilter(), now)
    terminal = {"closed", "rejected", "duplicate"}
    expected = [
        r.id for r in everything if r.status not in terminal or (r.closed_at or r.updated_at) >= since
    ]
    assert [r.id for r in rows] == expected and len(expected) < len(everything)
