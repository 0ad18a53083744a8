"""Report photos: check and re-encode an upload (io/photos.py), store it on disk under settings.photos_path()
(named by the SHA-256 of the stored bytes, so a photo uploaded twice is one file), record it, and hand it
out only to those the privacy policy lets see it (privacy.photos_visible)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from geo_grid import clock, privacy
from geo_grid.errors import PayloadTooLarge, PhotoNotFound, ReporterPhotoRefused, ReportNotFound
from geo_grid.io import photos as photo_io
from geo_grid.repository import photos as photo_repo
from geo_grid.repository.photos import Photo
from geo_grid.services import categories as category_service
from geo_grid.services import reports as report_service
from geo_grid.services.auth import Principal
from geo_grid.settings import Settings


def _write_once(path: Path, data: bytes) -> None:
    """Write atomically (temp file + rename, fsynced), readable by the service only; an existing file with
    this name has these very bytes (content-addressed) and is kept."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sensitive(session: Session) -> frozenset[str]:
    """The sensitive categories (the categories table, via its one reader)."""
    return category_service.table(session).sensitive


def _report_category(session: Session, report_id: int, principal: Principal) -> str | None:
    exists, category = photo_repo.report_category(session, report_id)
    if not exists or not privacy.photos_visible(category, principal.role, _sensitive(session)):
        raise ReportNotFound(f"没有编号为 {report_id} 的上报")
    return category


# The reporter's own photos (issue 13, 群众端): with the tracking code, while the report is still waiting to be
# taken up, at most this many photos on the report in all. This is the one place that decides it.
REPORTER_PHOTO_STATUSES = frozenset({"reported"})
REPORTER_PHOTO_MAX = 3
REPORTER_UPLOADER = "上报人"
FIELD_ROLES = ("dispatcher", "grid_worker")


def _check_reporter_may_add(session: Session, report_id: int, tracking_code: str) -> None:
    """Refuse unless the reporter (tracking code: 403 if wrong) may still add a photo to this report."""
    if not photo_repo.report_category(session, report_id)[0]:
        raise ReportNotFound(f"没有编号为 {report_id} 的上报")
    report_service.check_tracking_code(session, report_id, tracking_code)
    state = photo_repo.reporter_upload_state(session, report_id)
    if state is None:
        raise ReportNotFound(f"没有编号为 {report_id} 的上报")
    status, count = state
    if status not in REPORTER_PHOTO_STATUSES:
        raise ReporterPhotoRefused(
            "此上报已被受理或处理，不能再补充照片；如需补充情况请联系街道",
            {"report_id": report_id, "status": status, "reason": "not_reported"},
        )
    if count >= REPORTER_PHOTO_MAX:
        raise ReporterPhotoRefused(
            f"每条上报最多上传 {REPORTER_PHOTO_MAX} 张照片",
            {"report_id": report_id, "limit": REPORTER_PHOTO_MAX, "reason": "too_many"},
        )


def add_photo(
    session: Session,
    settings: Settings,
    report_id: int,
    data: bytes,
    principal: Principal,
    tracking_code: str | None = None,
) -> Photo:
    """Store a photo of a report: by staff who may see it (dispatcher-or-higher, or a grid worker for a report
    listed to them), or by the reporter with the tracking code (REPORTER_PHOTO_STATUSES, REPORTER_PHOTO_MAX).
    Raises NotAuthenticated (401) / Forbidden (403) for other callers, TrackingCodeInvalid (403),
    ReporterPhotoRefused (409), PayloadTooLarge (413), InvalidImage (415), ReportNotFound (404)."""
    staff = principal.role == "admin" or principal.role in FIELD_ROLES
    if tracking_code is not None and not staff:
        _check_reporter_may_add(session, report_id, tracking_code)
        uploaded_by = REPORTER_UPLOADER
    else:
        principal.require(*FIELD_ROLES)
        _report_category(session, report_id, principal)
        uploaded_by = principal.name[:100]
    if len(data) > settings.photo_max_bytes:
        raise PayloadTooLarge(
            f"照片过大：最多 {settings.photo_max_bytes:,} 字节", {"limit_bytes": settings.photo_max_bytes}
        )
    processed = photo_io.process(
        data,
        max_pixels=settings.photo_max_pixels,
        max_side=settings.photo_max_side,
        thumb_side=settings.photo_thumb_side,
    )
    sha = processed.sha256
    rel = f"{sha[:2]}/{sha}.{processed.extension}"
    thumb_rel = f"{sha[:2]}/{sha}.thumb.{processed.extension}"
    root = settings.photos_path()
    _write_once(root / rel, processed.photo.data)
    _write_once(root / thumb_rel, processed.thumb.data)
    return photo_repo.add(
        session, report_id=report_id, sha256=sha, content_type=processed.content_type,
        width=processed.photo.width, height=processed.photo.height, size=len(processed.photo.data),
        path=rel, thumb_path=thumb_rel, uploaded_by=uploaded_by, now=clock.now(),
    )  # fmt: skip


def photos_of_report(
    session: Session, report_id: int, principal: Principal, tracking_code: str | None = None
) -> list[Photo]:
    """The photos of a report, if the principal (or the reporter, with the tracking code) may see them."""
    _check_visible(session, report_id, principal, tracking_code)
    return photo_repo.of_report(session, report_id)


def _check_visible(session: Session, report_id: int, principal: Principal, tracking_code: str | None) -> None:
    exists, category = photo_repo.report_category(session, report_id)
    if not exists:
        raise ReportNotFound(f"没有编号为 {report_id} 的上报")
    if privacy.photos_visible(category, principal.role, _sensitive(session)):
        return
    if tracking_code is not None:
        report_service.check_tracking_code(session, report_id, tracking_code)  # 403 if wrong
        return
    if not privacy.listed(category, principal.role, _sensitive(session)):
        raise ReportNotFound(f"没有编号为 {report_id} 的上报")
    raise PhotoNotFound("此上报的照片仅对工作人员和上报人可见", {"report_id": report_id})


@dataclass(frozen=True)
class PhotoFile:
    path: Path
    content_type: str


def photo_file(
    session: Session,
    settings: Settings,
    photo_id: int,
    principal: Principal,
    tracking_code: str | None = None,
    thumb: bool = False,
) -> PhotoFile:
    """The file of a photo (or its thumbnail) the caller may see; otherwise 404 (nothing is told about
    photos one may not see), or 403 for a wrong tracking code."""
    found = photo_repo.get(session, photo_id)
    missing = PhotoNotFound(f"没有编号为 {photo_id} 的照片")
    if found is None:
        raise missing
    photo = found.photo
    if photo.report_id is None:
        if not privacy.sees_personal_data(principal.role):
            raise missing
    elif not privacy.photos_visible(found.category, principal.role, _sensitive(session)):
        if tracking_code is None:
            raise missing
        report_service.check_tracking_code(session, photo.report_id, tracking_code)
    path = settings.photos_path() / (photo.thumb_path if thumb else photo.path)
    if not path.is_file():
        raise missing
    return PhotoFile(path, photo.content_type)
