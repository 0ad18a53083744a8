"""Boundary generations: open a draft, list, validate, activate, discard, audit, diff, import, export."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.types import Message, Receive

from geo_grid.api.deps import SCOPE_CHECK, PlannerDep, RuntimeDep, ScopeDep, SessionDep
from geo_grid.api.runtime import Runtime
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.generations import (
    ActivationOut,
    AuditEntryOut,
    DiffOut,
    GenerationOut,
    ImportResultOut,
    ProblemCollection,
    ValidationReportOut,
)
from geo_grid.db import transaction
from geo_grid.errors import Forbidden, PayloadTooLarge
from geo_grid.io import boundaries as boundary_io
from geo_grid.io import uploads
from geo_grid.repository import boundaries as boundary_repo
from geo_grid.repository import scope as scope_repo
from geo_grid.repository.boundaries import GridAuditEntry
from geo_grid.services import generation_diff, generation_files, validation
from geo_grid.services import generations as generation_service
from geo_grid.services.auth import Principal
from geo_grid.services.generation_diff import Diff
from geo_grid.services.generation_files import ImportResult
from geo_grid.services.generations import Activation, GenerationSummary

# A subdistrict's principal reaches only its own generations and drafts (api/deps._enforce_scope).
router = APIRouter(tags=["generations"], dependencies=[SCOPE_CHECK])

GenId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


SubdistrictCode = Annotated[str, Field(pattern=r"^[0-9]{9}$", description="街道编码（9位）")]


class DraftRequest(BaseModel):
    note: str | None = Field(default=None, max_length=2000)
    subdistrict: SubdistrictCode | None = Field(
        default=None, description="草稿所属街道（省略：调用者所属街道，否则库中唯一的街道；有多个时须指明）"
    )


def _own(principal: Principal, requested: str | None) -> str | None:
    """The subdistrict of a planner's new draft: the one asked for, else the caller's own; a
    subdistrict's principal may ask only for its own."""
    own = principal.subdistrict_code
    if own is not None and requested is not None and requested != own:
        raise Forbidden(f"只能处理本街道（{own}）的边界代次", {"subdistrict": requested})
    return requested or own


@router.post(
    "/generations",
    status_code=201,
    summary="Open a draft: a copy of the active boundaries (planner)",
    response_model=GenerationOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def open_draft(
    session: SessionDep, principal: PlannerDep, body: DraftRequest | None = None
) -> GenerationSummary:
    gen = generation_service.open_draft(
        session,
        principal.name,
        body.note if body else None,
        _own(principal, body.subdistrict if body else None),
    )
    return generation_service.describe(session, gen)


@router.get(
    "/generations",
    summary="Every generation with its status, who opened/activated it and when",
    response_model=list[GenerationOut],
    responses=error_responses(404, 422),
)
def list_generations(
    session: SessionDep,
    principal: ScopeDep,
    subdistrict: Annotated[
        str | None, Query(pattern=r"^[0-9]{9}$", description="只列出该街道的代次（省略：所有街道）")
    ] = None,
) -> list[GenerationSummary]:
    """A subdistrict's principal: its subdistrict's generations; otherwise every subdistrict's (or the
    named one's). Drafts only for planners and admins (repository/scope.reads_drafts)."""
    drafts = scope_repo.reads_drafts(principal.role)
    return generation_service.list_generations(session, subdistrict, principal.scope, drafts)


@router.get(
    "/generations/{generation_id}",
    summary="One generation (a draft: planners and admins of its subdistrict only)",
    description="生效中和已退役的代次公开可读；草稿只对其街道（或区级）的规划员、管理员可见，其他调用者得到 404。",
    response_model=GenerationOut,
    responses=error_responses(404),
)
def get_generation(session: SessionDep, generation_id: GenId) -> GenerationSummary:
    # A draft: 404 to anyone but its planners and admins, checked with the scope (api/deps._enforce_scope).
    return generation_service.describe(session, generation_service.get(session, generation_id))


@router.delete(
    "/generations/{generation_id}",
    summary="Discard a draft (kept as retired, never active; planner)",
    response_model=GenerationOut,
    responses=error_responses(401, 403, 404, 409),
)
def discard(session: SessionDep, principal: PlannerDep, generation_id: GenId) -> GenerationSummary:
    generation_service.discard(session, generation_id, principal.name)
    return generation_service.describe(session, generation_service.get(session, generation_id))


@router.post(
    "/generations/{generation_id}/activate",
    summary="Validate and activate a draft (planner)",
    response_model=ActivationOut,
    responses=error_responses(401, 403, 404, 409),
)
def activate(runtime: RuntimeDep, principal: PlannerDep, generation_id: GenId) -> Activation:
    factory = runtime.session_factory
    # Its own transaction, committed before the in-memory directory is rebuilt and swapped: a lookup
    # sees the old generation until the swap and the new one after it, never a mix.
    with transaction(factory) as session:
        result = generation_service.activate(
            session, generation_id, principal.name, runtime.settings.near_boundary_m
        )
    runtime.after_activation()  # swap the live directory (api/runtime.py decides what else to refresh)
    return result


def _report_json(report: validation.ValidationReport) -> dict[str, Any]:
    """The report as JSON: each problem with only the fields it has (area_m2, reason, location)."""
    return {
        "generation": report.generation,
        "status": report.status,
        "valid": report.valid,
        "counts": report.counts,
        "by_kind": report.by_kind,
        "thresholds": asdict(report.thresholds),
        "problems": [p.properties() for p in report.problems],
        "geojson": report.geojson,
    }


@router.get(
    "/generations/{generation_id}/validation",
    summary="Validation report: JSON and GeoJSON problems",
    description="`format=json`（默认）回答完整的校验报告；`format=geojson` 只回答问题的 GeoJSON FeatureCollection。",
    response_model=ValidationReportOut | ProblemCollection,
    response_model_exclude_unset=True,
    responses=error_responses(404),
)
def validate(
    session: SessionDep,
    generation_id: GenId,
    sliver_m2: Annotated[
        float, Query(gt=0, le=100_000, description="slivers are parts under this (m²)")
    ] = 100.0,
    format: Annotated[Literal["json", "geojson"], Query()] = "json",
) -> dict[str, Any]:
    report = validation.report(session, generation_id, sliver_m2)
    return report.geojson if format == "geojson" else _report_json(report)


@router.get(
    "/generations/{generation_id}/audit",
    summary="Who changed what in this generation, and when",
    response_model=list[AuditEntryOut],
    responses=error_responses(404),
)
def audit(session: SessionDep, generation_id: GenId) -> list[GridAuditEntry]:
    generation_service.get(session, generation_id)
    return boundary_repo.audit_entries(session, generation_id=generation_id)


@router.get(
    "/generations/{a}/diff/{b}",
    summary="Grids added/retired/reshaped and what would move from a to b",
    response_model=DiffOut,
    responses=error_responses(404, 422),
)
def diff(session: SessionDep, a: GenId, b: GenId) -> Diff:
    return generation_diff.diff(session, a, b)


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
            session, layer, principal.name, generation_id, name, _own(principal, form.subdistrict)
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
