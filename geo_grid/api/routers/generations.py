"""Boundary generations: open a draft, list, validate, activate, discard, audit, diff, import, export."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from geo_grid.api.deps import PrincipalDep, SessionDep
from geo_grid.db import transaction
from geo_grid.errors import PayloadTooLarge
from geo_grid.io import boundaries as boundary_io
from geo_grid.repository import boundaries as boundary_repo
from geo_grid.services import generations as generation_service
from geo_grid.services import validation

router = APIRouter(tags=["generations"])

GenId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
MAX_UPLOAD_BYTES = 100 * 1024 * 1024


class DraftRequest(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


@router.post(
    "/generations", status_code=201, summary="Open a draft: a copy of the active boundaries (planner)"
)
def open_draft(
    session: SessionDep, principal: PrincipalDep, body: DraftRequest | None = None
) -> dict[str, Any]:
    principal.require("planner")
    gen = generation_service.open_draft(session, principal.name, body.note if body else None)
    return generation_service.describe(session, gen)


@router.get("/generations", summary="Every generation with its status, who opened/activated it and when")
def list_generations(session: SessionDep) -> list[dict[str, Any]]:
    return generation_service.list_generations(session)


@router.get("/generations/{generation_id}", summary="One generation")
def get_generation(session: SessionDep, generation_id: GenId) -> dict[str, Any]:
    return generation_service.describe(session, generation_service.get(session, generation_id))


@router.delete(
    "/generations/{generation_id}", summary="Discard a draft (kept as retired, never active; planner)"
)
def discard(session: SessionDep, principal: PrincipalDep, generation_id: GenId) -> dict[str, Any]:
    principal.require("planner")
    generation_service.discard(session, generation_id, principal.name)
    return generation_service.describe(session, generation_service.get(session, generation_id))


@router.post("/generations/{generation_id}/activate", summary="Validate and activate a draft (planner)")
def activate(request: Request, principal: PrincipalDep, generation_id: GenId) -> dict[str, Any]:
    principal.require("planner")
    factory = request.app.state.session_factory
    # Its own transaction, committed before the in-memory directory is rebuilt and swapped: a lookup
    # sees the old generation until the swap and the new one after it, never a mix.
    with transaction(factory) as session:
        result = generation_service.activate(
            session, generation_id, principal.name, request.app.state.settings.near_boundary_m
        )
    request.app.state.directory.reload(factory)
    past = getattr(request.app.state, "past_directories", None)
    if past is not None:
        past.clear()
    return result


@router.get("/generations/{generation_id}/validation", summary="Validation report: JSON and GeoJSON problems")
def validate(
    session: SessionDep,
    generation_id: GenId,
    sliver_m2: Annotated[
        float, Query(gt=0, le=100_000, description="slivers are parts under this (m²)")
    ] = 100.0,
    format: Annotated[Literal["json", "geojson"], Query()] = "json",
) -> dict[str, Any]:
    report = validation.report(session, generation_id, sliver_m2)
    return report["geojson"] if format == "geojson" else report


@router.get("/generations/{generation_id}/audit", summary="Who changed what in this generation, and when")
def audit(session: SessionDep, generation_id: GenId) -> list[dict[str, Any]]:
    generation_service.get(session, generation_id)
    return boundary_repo.audit_entries(session, generation_id=generation_id)


@router.get(
    "/generations/{a}/diff/{b}", summary="Grids added/retired/reshaped and what would move from a to b"
)
def diff(session: SessionDep, a: GenId, b: GenId) -> dict[str, Any]:
    return generation_service.diff(session, a, b)


@router.get(
    "/generations/{generation_id}/export", summary="Download the boundaries (geojson, gpkg or zipped shp)"
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
        path = generation_service.export(session, generation_id, format, tmp / name, level)
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=boundary_io.MEDIA_TYPES[format],
        filename=name,
        background=BackgroundTask(shutil.rmtree, tmp, True),
    )


def _import(
    session: Any,
    principal: Any,
    generation_id: int | None,
    file: UploadFile,
    level: str,
    code_field: str,
    name_field: str,
    parent_field: str | None,
    parent_code: str | None,
    crs: str | None,
) -> dict[str, Any]:
    principal.require("planner")
    with tempfile.TemporaryDirectory(prefix="geo_grid_import_") as tmp:
        path = Path(tmp) / Path(file.filename or "upload.geojson").name
        with open(path, "wb") as out:
            size = 0
            while chunk := file.file.read(1 << 20):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise PayloadTooLarge(f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB")
                out.write(chunk)
        layer = boundary_io.read_layer(
            path, level, code_field, name_field, parent_field or None, parent_code or None, crs or None
        )
    return generation_service.import_layer(session, layer, principal.name, generation_id, file.filename or "")


LevelForm = Annotated[Literal["micro", "tertiary"], Form()]
TextForm = Annotated[str | None, Form(max_length=100)]


@router.post(
    "/generations/import", status_code=201, summary="Upload a boundary layer into a NEW draft (planner)"
)
def import_new(
    session: SessionDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File()],
    level: LevelForm,
    code_field: Annotated[str, Form(max_length=100)] = "code",
    name_field: Annotated[str, Form(max_length=100)] = "name",
    parent_field: TextForm = None,
    parent_code: TextForm = None,
    crs: TextForm = None,
) -> dict[str, Any]:
    return _import(
        session, principal, None, file, level, code_field, name_field, parent_field, parent_code, crs
    )


@router.post(
    "/generations/{generation_id}/import", summary="Upload a boundary layer into this draft (planner)"
)
def import_into(
    session: SessionDep,
    principal: PrincipalDep,
    generation_id: GenId,
    file: Annotated[UploadFile, File()],
    level: LevelForm,
    code_field: Annotated[str, Form(max_length=100)] = "code",
    name_field: Annotated[str, Form(max_length=100)] = "name",
    parent_field: TextForm = None,
    parent_code: TextForm = None,
    crs: TextForm = None,
) -> dict[str, Any]:
    return _import(
        session, principal, generation_id, file, level, code_field, name_field, parent_field, parent_code, crs
    )
