"""Boundary files of a generation: download its grids (export), upload a layer into a new draft or into
a draft (import; the multipart body read with a bound, after authentication)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.types import Message, Receive

from geo_grid.api.deps import SCOPE_CHECK, PlannerDep, RuntimeDep, SessionDep
from geo_grid.api.routers.generations import GenId, own_subdistrict
from geo_grid.api.runtime import Runtime
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.generations import ImportResultOut
from geo_grid.db import transaction
from geo_grid.errors import PayloadTooLarge
from geo_grid.io import boundaries as boundary_io
from geo_grid.io import uploads
from geo_grid.services import generation_files
from geo_grid.services.auth import Principal
from geo_grid.services.generation_files import ImportResult

# A subdistrict's principal reaches only its own generations and drafts (api/deps._enforce_scope).
router = APIRouter(tags=["generations"], dependencies=[SCOPE_CHECK])


_BINARY = {"schema": {"type": "string", "format": "binary"}}
# The GeoJSON export as written by GDAL: a FeatureCollection (with a `crs` member) of the grids.
_EXPORT_GEOJSON = {
    "schema": {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "crs": {"type": "object", "description": "坐标系（CRS84，即 WGS84 经纬度）"},
            "features": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "properties", "geometry"],
                    "properties": {
                        "type": {"const": "Feature"},
                        "properties": {
                            "type": "object",
                            "required": list(boundary_io.EXPORT_FIELDS),
                            "properties": {k: {"type": "string"} for k in boundary_io.EXPORT_FIELDS},
                        },
                        "geometry": {"type": "object", "description": "MultiPolygon（WGS84）"},
                    },
                },
            },
        },
    }
}


@router.get(
    "/generations/{generation_id}/export",
    summary="Download the boundaries (geojson, gpkg or zipped shp)",
    response_class=FileResponse,
    responses={
        200: {
            "description": "边界文件：GeoJSON（format=geojson）、GeoPackage（gpkg）或压缩的 Shapefile（shp）",
            "content": {
                media: _EXPORT_GEOJSON if fmt == "geojson" else _BINARY
                for fmt, media in boundary_io.MEDIA_TYPES.items()
            },
        },
        **error_responses(404, 422),
    },
)
def export(
    session: SessionDep,
    generation_id: GenId,
    format: Annotated[Literal["geojson", "gpkg", "shp"], Query()] = "geojson",
    level: Annotated[Literal["tertiary", "micro"] | None, Query()] = None,
) -> FileResponse:
    tmp = Path(tempfile.mkdtemp(prefix="geo_grid_export_"))
    name = f"generation_{generation_id}{'_' + level if level else ''}{boundary_io.SUFFIXES[format]}"
    try:
        path = generation_files.export(session, generation_id, format, tmp / name, level)
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=boundary_io.MEDIA_TYPES[format],
        filename=name,
        background=BackgroundTask(shutil.rmtree, tmp, True),
    )


class ImportForm(BaseModel):
    """The form fields of a boundary upload, besides the multipart `file` itself."""

    level: Literal["micro", "tertiary"] = Field(description="the level the file replaces in the draft")
    code_field: str = Field(default="code", max_length=100, description="field holding the grid code")
    name_field: str = Field(default="name", max_length=100, description="field holding the grid name")
    parent_field: str | None = Field(
        default=None, max_length=100, description="field holding the parent code (default parent_code)"
    )
    parent_code: str | None = Field(
        default=None, max_length=100, description="one parent code for every feature without a parent field"
    )
    crs: str | None = Field(
        default=None, max_length=100, description="gcj02 | bd09 (map-app offsets), or EPSG:<n> if undeclared"
    )
    subdistrict: str | None = Field(
        default=None,
        pattern=r"^[0-9]{9}$",
        description="the subdistrict of a new draft (default: the caller's own, else the only one; with several "
        "it must be named); its first import opens an empty draft",
    )


# The multipart framing and the small form fields around the file.
FORM_SLACK_BYTES = 64 * 1024


def _import_body_schema() -> dict[str, Any]:
    """The request body for /docs: the route reads the form itself (after authentication), so FastAPI
    cannot derive it from parameters."""
    form = ImportForm.model_json_schema()
    file = {
        "type": "string",
        "format": "binary",
        "description": "GeoJSON, GeoPackage or zipped Shapefile (at most GEO_GRID_MAX_UPLOAD_BYTES)",
    }
    schema = {
        "type": "object",
        "properties": {"file": file, **form["properties"]},
        "required": ["file", *form.get("required", [])],
    }
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


IMPORT_BODY = _import_body_schema()


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"上传的内容超过 {limit / 2**20:g} MiB 的上限", {"max_upload_bytes": limit})


def _bounded(receive: Receive, limit: int, bound: int) -> Receive:
    """`receive` that refuses the request as soon as its body passes `bound` bytes."""
    seen = 0

    async def bounded_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > bound:
                raise _too_large(limit)
        return message

    return bounded_receive


def _save(src: BinaryIO, path: Path, limit: int) -> None:
    size = 0
    with open(path, "xb") as out:
        while chunk := src.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            out.write(chunk)


def _read_and_store(
    runtime: Runtime,
    principal: Principal,
    generation_id: int | None,
    path: Path,
    name: str,
    form: ImportForm,
    limit: int,
) -> ImportResult:
    layer = boundary_io.read_layer(
        path,
        form.level,
        form.code_field,
        form.name_field,
        form.parent_field,
        form.parent_code,
        form.crs,
        source_name=name,
        limits=uploads.Limits.for_upload_bound(limit),
    )
    with transaction(runtime.session_factory) as session:
        return generation_files.import_layer(
            session, layer, principal.name, generation_id, name, own_subdistrict(principal, form.subdistrict)
        )


async def _import(
    request: Request, runtime: Runtime, principal: Principal, generation_id: int | None
) -> ImportResult:
    """Read the multipart body with a bound, into a private temporary directory.

    The routes declare no File/Form parameters (FastAPI would read and spool the whole body before
    resolving the principal): their PlannerDep runs first, so an anonymous or dispatcher upload is
    refused before a byte is read."""
    limit: int = runtime.settings.max_upload_bytes
    bound = limit + FORM_SLACK_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > bound:
        raise _too_large(limit)
    bounded = Request(request.scope, _bounded(request.receive, limit, bound))
    async with bounded.form(
        max_files=1, max_fields=len(ImportForm.model_fields) + 1, max_part_size=4096
    ) as form:
        upload = form.get("file")
        if not isinstance(upload, StarletteUploadFile):
            raise RequestValidationError(
                [
                    {
                        "loc": ("body", "file"),
                        "msg": "a multipart file part `file` is required",
                        "type": "missing",
                    }
                ]
            )
        fields = {k: v for k, v in form.multi_items() if k != "file" and isinstance(v, str) and v != ""}
        try:
            params = ImportForm.model_validate(fields)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
        name = uploads.display_name(upload.filename)
        tmp = Path(await run_in_threadpool(tempfile.mkdtemp, prefix="geo_grid_import_"))
        try:
            path = tmp / "upload"
            await run_in_threadpool(_save, upload.file, path, limit)
            return await run_in_threadpool(
                _read_and_store, runtime, principal, generation_id, path, name, params, limit
            )
        finally:
            await run_in_threadpool(shutil.rmtree, tmp, True)


@router.post(
    "/generations/import",
    status_code=201,
    summary="Upload a boundary layer into a NEW draft (planner)",
    openapi_extra=IMPORT_BODY,
    response_model=ImportResultOut,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
async def import_new(request: Request, runtime: RuntimeDep, principal: PlannerDep) -> ImportResult:
    return await _import(request, runtime, principal, None)


@router.post(
    "/generations/{generation_id}/import",
    summary="Upload a boundary layer into this draft (planner)",
    openapi_extra=IMPORT_BODY,
    response_model=ImportResultOut,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
async def import_into(
    request: Request, runtime: RuntimeDep, principal: PlannerDep, generation_id: GenId
) -> ImportResult:
    return await _import(request, runtime, principal, generation_id)
