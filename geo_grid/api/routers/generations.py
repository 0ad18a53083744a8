"""Boundary generations: open a draft, list, validate, activate, discard, audit, diff (their boundary files,
export and import: api/routers/generation_files.py)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from geo_grid.api.deps import SCOPE_CHECK, PlannerDep, RuntimeDep, ScopeDep, SessionDep
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.generations import (
    ActivationOut,
    AuditEntryOut,
    DiffOut,
    GenerationOut,
    ProblemCollection,
    ValidationReportOut,
)
from geo_grid.db import transaction
from geo_grid.errors import Forbidden
from geo_grid.repository import boundaries as boundary_repo
from geo_grid.repository import scope as scope_repo
from geo_grid.repository.boundaries import GridAuditEntry
from geo_grid.services import generation_diff, validation
from geo_grid.services import generations as generation_service
from geo_grid.services.auth import Principal
from geo_grid.services.generation_diff import Diff
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


def own_subdistrict(principal: Principal, requested: str | None) -> str | None:
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
        own_subdistrict(principal, body.subdistrict if body else None),
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
