"""Report photos: upload (POST /reports/{id}/photos), list (GET /reports/{id}/photos), files (GET /photos/{id},
/photos/{id}/thumb), each only for those the privacy policy lets see the report's photos."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Path, Query, UploadFile
from fastapi.responses import FileResponse

from geo_grid.api.deps import PrincipalDep, SessionDep, SettingsDep
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.photos import PhotoOut
from geo_grid.errors import PayloadTooLarge
from geo_grid.repository.photos import Photo
from geo_grid.services import photos as photo_service

router = APIRouter(tags=["photos"])

ReportId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PhotoId = Annotated[int, Path(ge=1, le=2**63 - 1)]
TrackingHeader = Annotated[
    str | None, Header(alias="X-Tracking-Code", max_length=100, description="上报时获得的追踪码")
]
TrackingQuery = Annotated[
    str | None, Query(max_length=100, description="上报时获得的追踪码（或用 X-Tracking-Code 请求头）")
]
IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/webp": {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "照片（已去除 EXIF 等元数据并重新编码）",
    },
    **error_responses(403, 404, 422),
}


def _out(photo: Photo) -> PhotoOut:
    return PhotoOut(
        id=photo.id, report_id=photo.report_id, content_type=photo.content_type, width=photo.width,
        height=photo.height, bytes=photo.bytes, sha256=photo.sha256, url=f"/photos/{photo.id}",
        thumb_url=f"/photos/{photo.id}/thumb", uploaded_by=photo.uploaded_by, created_at=photo.created_at,
    )  # fmt: skip


@router.post(
    "/reports/{report_id}/photos",
    status_code=201,
    response_model=PhotoOut,
    responses=error_responses(401, 403, 404, 409, 413, 415, 422),
    summary="Upload a photo of a report (grid worker or dispatcher; the reporter with the tracking code)",
)
def upload_photo(
    report_id: ReportId,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File(description="照片文件：JPEG、PNG 或 WebP")],
    x_tracking_code: TrackingHeader = None,
) -> PhotoOut:
    """A grid worker or a dispatcher (or admin); or the reporter with the tracking code (X-Tracking-Code)
    while the report is still 上报 (not yet accepted), at most 3 photos (services/photos.py decides).
    Checked by content (magic bytes and a full decode), at most `GEO_GRID_PHOTO_MAX_BYTES` and
    `GEO_GRID_PHOTO_MAX_PIXELS`; stored as JPEG (WebP when transparent) with a thumbnail."""
    data = file.file.read(settings.photo_max_bytes + 1)
    if len(data) > settings.photo_max_bytes:
        raise PayloadTooLarge(
            f"照片过大：最多 {settings.photo_max_bytes:,} 字节", {"limit_bytes": settings.photo_max_bytes}
        )
    return _out(photo_service.add_photo(session, settings, report_id, data, principal, x_tracking_code))


@router.get(
    "/reports/{report_id}/photos",
    response_model=list[PhotoOut],
    responses=error_responses(403, 404, 422),
    summary="The photos of a report (staff; the reporter with the tracking code)",
)
def list_photos(
    report_id: ReportId,
    session: SessionDep,
    principal: PrincipalDep,
    tracking_code: TrackingQuery = None,
    x_tracking_code: TrackingHeader = None,
) -> list[PhotoOut]:
    """Dispatcher-or-higher: every report's; a grid worker: the reports listed to them; the reporter: their
    own with the tracking code. The public sees no photos (geo_grid/privacy.photos_visible)."""
    code = x_tracking_code or tracking_code
    return [_out(p) for p in photo_service.photos_of_report(session, report_id, principal, code)]


def _file(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    photo_id: int,
    code: str | None,
    thumb: bool,
) -> FileResponse:
    found = photo_service.photo_file(session, settings, photo_id, principal, code, thumb=thumb)
    return FileResponse(
        found.path,
        media_type=found.content_type,
        headers={"Cache-Control": "private, no-store", "Content-Disposition": "inline"},
    )


@router.get(
    "/photos/{photo_id}",
    response_class=FileResponse,
    responses=IMAGE_RESPONSES,
    summary="A photo's file (only for those who may see its report's photos)",
)
def get_photo(
    photo_id: PhotoId,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    tracking_code: TrackingQuery = None,
    x_tracking_code: TrackingHeader = None,
) -> FileResponse:
    return _file(session, settings, principal, photo_id, x_tracking_code or tracking_code, thumb=False)


@router.get(
    "/photos/{photo_id}/thumb",
    response_class=FileResponse,
    responses=IMAGE_RESPONSES,
    summary="A photo's thumbnail",
)
def get_thumb(
    photo_id: PhotoId,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    tracking_code: TrackingQuery = None,
    x_tracking_code: TrackingHeader = None,
) -> FileResponse:
    return _file(session, settings, principal, photo_id, x_tracking_code or tracking_code, thumb=True)
