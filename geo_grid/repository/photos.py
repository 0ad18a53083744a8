"""SQL for report photos (migration 0006_accounts); the files themselves are on disk (services/photos.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from geo_grid.models import Photo as PhotoRow
from geo_grid.models import Report as ReportRow


@dataclass(frozen=True, slots=True)
class Photo:
    id: int
    report_id: int | None
    sha256: str
    content_type: str
    width: int
    height: int
    bytes: int
    path: str  # relative to settings.photos_path()
    thumb_path: str
    uploaded_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PhotoWithReport:
    """A photo and the category of its report (what the privacy policy decides on)."""

    photo: Photo
    category: str | None


_COLUMNS = [getattr(PhotoRow, f) for f in Photo.__dataclass_fields__]


def add(
    session: Session,
    *,
    report_id: int | None,
    sha256: str,
    content_type: str,
    width: int,
    height: int,
    size: int,
    path: str,
    thumb_path: str,
    uploaded_by: str,
    now: datetime,
) -> Photo:
    stmt = (
        insert(PhotoRow)
        .values(report_id=report_id, sha256=sha256, content_type=content_type, width=width, height=height,
                bytes=size, path=path, thumb_path=thumb_path, uploaded_by=uploaded_by, created_at=now)
        .returning(*_COLUMNS)
    )  # fmt: skip
    return Photo(**session.execute(stmt).one()._mapping)


def get(session: Session, photo_id: int) -> PhotoWithReport | None:
    stmt = (
        select(*_COLUMNS, ReportRow.category)
        .outerjoin(ReportRow, ReportRow.id == PhotoRow.report_id)
        .where(PhotoRow.id == photo_id)
    )
    row = session.execute(stmt).first()
    if row is None:
        return None
    m = row._mapping
    return PhotoWithReport(Photo(**{f: m[f] for f in Photo.__dataclass_fields__}), m["category"])


def of_report(session: Session, report_id: int) -> list[Photo]:
    stmt = select(*_COLUMNS).where(PhotoRow.report_id == report_id).order_by(PhotoRow.id)
    return [Photo(**r._mapping) for r in session.execute(stmt)]


def report_category(session: Session, report_id: int) -> tuple[bool, str | None]:
    """(the report exists, its category)."""
    row = session.execute(select(ReportRow.category).where(ReportRow.id == report_id)).first()
    return (row is not None, row.category if row is not None else None)


def reporter_upload_state(session: Session, report_id: int) -> tuple[str, int] | None:
    """(the report's status, how many photos it has), the report row locked until the transaction ends (so
    that two uploads at once cannot both pass a limit on the count); None when there is no such report."""
    status = session.execute(
        select(ReportRow.status).where(ReportRow.id == report_id).with_for_update()
    ).scalar_one_or_none()
    if status is None:
        return None
    count = session.execute(
        select(func.count()).select_from(PhotoRow).where(PhotoRow.report_id == report_id)
    ).scalar_one()
    return status, int(count)
