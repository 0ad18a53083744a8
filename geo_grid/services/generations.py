"""Generation use cases: open a draft, activate it (validation, retirement and reassignment in one
transaction), discard it, list generations and a grid's history. Boundary files into a draft and out of a
generation: services/generation_files.py; what changes between two generations: services/generation_diff.py.

Each subdistrict has its own generations (issue 15): a draft, an import or an activation is of one
subdistrict (named, else the only one: a write never guesses, subdistricts.for_write) and touches only its
grids and the reports, addresses and facilities that belong to it (repository/assignment.py).

After an activation commits, the caller swaps the in-memory directory (the runtime's after_activation, api/runtime.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo_grid.errors import (
    Conflict,
    GenerationNotFound,
    GridNotFound,
    InvalidTransition,
    ValidationFailed,
)
from geo_grid.repository import assignment
from geo_grid.repository import boundaries as repo
from geo_grid.repository import facilities as facility_repo
from geo_grid.repository import generations as generation_repo
from geo_grid.repository import reports as report_repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.repository.boundaries import GridAuditEntry, GridVersion
from geo_grid.repository.generations import Generation
from geo_grid.repository.scope import EVERYTHING, Scope
from geo_grid.services import subdistricts, validation


@dataclass(frozen=True, slots=True)
class GenerationSummary:
    """A generation with its grid counts per level."""

    id: int
    status: str
    based_on: int | None
    note: str | None
    created_by: str
    created_at: datetime
    activated_by: str | None
    activated_at: datetime | None
    retired_at: datetime | None
    counts: dict[str, int]
    subdistrict_code: str


@dataclass(frozen=True, slots=True)
class Moved:
    """How many open reports, point facilities and addresses an activation reassigned."""

    reports: int
    facilities: int
    addresses: int


@dataclass(frozen=True, slots=True)
class Activation:
    generation: int
    previous: int | None
    moved: Moved
    warnings: int


@dataclass(frozen=True, slots=True)
class HistoryVersion(GridVersion):
    """A grid as one generation holds it; `shape_changed` against the previous version."""

    shape_changed: bool


@dataclass(frozen=True, slots=True)
class GridHistory:
    code: str
    versions: list[HistoryVersion]
    audit: list[GridAuditEntry]


def describe(session: Session, gen: Generation) -> GenerationSummary:
    return GenerationSummary(
        id=gen.id,
        status=gen.status,
        based_on=gen.based_on,
        note=gen.note,
        created_by=gen.created_by,
        created_at=gen.created_at,
        activated_by=gen.activated_by,
        activated_at=gen.activated_at,
        retired_at=gen.retired_at,
        counts=repo.summary(session, gen.id),
        subdistrict_code=gen.subdistrict_code,
    )


def list_generations(
    session: Session, subdistrict: str | None = None, access: Scope | None = None, drafts: bool = True
) -> list[GenerationSummary]:
    """The generations of the named subdistrict, or of every subdistrict (by id) when none is named;
    with a caller's scope, only those it may see (repository/scope.py: drafts only when `drafts`)."""
    gens = list_generations_raw(session, subdistrict)
    if access is not None:
        visible = {g.id for g in generation_repo.list_in(session, access, drafts)}
        gens = [g for g in gens if g.id in visible]
    return [describe(session, g) for g in gens]


def active(session: Session, subdistrict: str | None = None) -> Generation | None:
    """The active generation of one subdistrict (named, else the only one: 422 `subdistrict_required`
    with several — one generation cannot stand for the whole district), if any."""
    sub = subdistricts.home(session) if subdistrict is None else subdistricts.resolve(session, subdistrict)
    return generation_repo.active(session, sub.code) if sub else None


def drafts(session: Session, subdistrict: str | None = None) -> list[Generation]:
    """The open drafts (at most one per subdistrict) of the named subdistrict, or of every one, oldest first."""
    return [g for g in list_generations_raw(session, subdistrict) if g.status == "draft"]


def list_generations_raw(session: Session, subdistrict: str | None = None) -> list[Generation]:
    """The generations of the named subdistrict, or of every subdistrict, by id."""
    codes = (
        [subdistricts.resolve(session, subdistrict).code]
        if subdistrict
        else [s.code for s in subdistrict_repo.list_all(session)]
    )
    return sorted((g for c in codes for g in generation_repo.list_all(session, c)), key=lambda g: g.id)


def get(session: Session, generation_id: int) -> Generation:
    gen = generation_repo.get(session, generation_id)
    if gen is None:
        raise GenerationNotFound(f"no generation {generation_id}")
    return gen


def require_draft(session: Session, generation_id: int, exclusive: bool = False) -> Generation:
    """The draft, locked (share lock for edits, exclusive for activation); 404/409 otherwise."""
    gen = generation_repo.lock(session, generation_id, exclusive)
    if gen is None:
        raise GenerationNotFound(f"no generation {generation_id}")
    if gen.status != "draft":
        raise InvalidTransition(f"generation {generation_id} is {gen.status}; only a draft can be changed")
    return gen


def open_draft(
    session: Session, actor: str, note: str | None = None, subdistrict: str | None = None
) -> Generation:
    """A new draft of the subdistrict (named, else the only one; with several 422 `subdistrict_required`)
    holding a copy of its active boundaries; one draft at a time per subdistrict."""
    subdistrict = subdistricts.for_write(session, subdistrict).code
    active = generation_repo.active(session, subdistrict)
    if active is None:
        raise Conflict(
            f"subdistrict {subdistrict} has no active generation to copy: import its boundaries first "
            "(geo-grid import boundaries --subdistrict CODE)",
            {"subdistrict": subdistrict},
        )
    existing = [g for g in generation_repo.list_all(session, subdistrict) if g.status == "draft"]
    if existing:
        raise Conflict(
            f"generation {existing[0].id} is already an open draft (by {existing[0].created_by}); "
            "edit it, activate it or discard it first",
            {"draft": existing[0].id},
        )
    try:
        gen_id = repo.open_draft(session, subdistrict, active.id, actor, note)
    except IntegrityError as exc:  # another planner opened one at the same moment (ux_generations_one_draft)
        raise Conflict(
            "another draft was opened at the same moment; list the generations and use it"
        ) from exc
    repo.audit(session, actor, "open_draft", gen_id, None, {"based_on": active.id, "note": note})
    return get(session, gen_id)


def discard(session: Session, generation_id: int, actor: str) -> None:
    require_draft(session, generation_id, exclusive=True)
    repo.discard_draft(session, generation_id)
    repo.audit(session, actor, "discard_draft", generation_id, None, {})


def activate(session: Session, generation_id: int, actor: str, near_boundary_m: float) -> Activation:
    """Validate the draft and make it the active generation, all in the caller's one transaction:
    the old generation is retired at the same instant, open reports, point facilities and addresses are
    reassigned (each report move is a `reassign` event). Errors in the report → ValidationFailed (409)."""
    draft = require_draft(session, generation_id, exclusive=True)
    checked = validation.report(session, generation_id)
    errors = validation.errors_of(checked)
    if errors:
        raise ValidationFailed(
            f"generation {generation_id} has {len(errors)} validation error(s); fix them before activating",
            {"errors": [p.properties() for p in errors[:500]], "counts": checked.counts},
        )
    previous = generation_repo.active(session, draft.subdistrict_code)
    if previous is not None:
        generation_repo.lock(session, previous.id, exclusive=True)
    repo.activate(session, generation_id, previous.id if previous else None, actor)
    moved = Moved(
        reports=assignment.reassign_open_reports(session, generation_id, actor),
        facilities=assignment.reassign_point_facilities(session, generation_id),
        addresses=assignment.reassign_addresses(session, generation_id),
    )
    # Derived from the grids too: the near-edge flag of open reports and the primary grid of polygon
    # facilities (the parking lot) follow the new boundaries.
    report_repo.flag_near_boundary(session, generation_id, near_boundary_m, only_open=True)
    facility_repo.assign_polygon_primaries(session, generation_id)
    result = Activation(
        generation=generation_id,
        previous=previous.id if previous else None,
        moved=moved,
        warnings=checked.counts["warning"],
    )
    detail = {"previous": result.previous, "moved": asdict(moved), "warnings": result.warnings}
    repo.audit(session, actor, "activate", generation_id, None, detail)
    session.expire_all()
    return result


def open_empty_draft(session: Session, subdistrict: str, actor: str, note: str | None = None) -> int:
    """An empty draft for a subdistrict that has no boundaries yet (its first import)."""
    if generation_repo.active(session, subdistrict) is not None:
        raise Conflict(
            f"subdistrict {subdistrict} already has active boundaries: import into a copy of them instead",
            {"subdistrict": subdistrict},
        )
    if any(g.status == "draft" for g in generation_repo.list_all(session, subdistrict)):
        raise Conflict(f"subdistrict {subdistrict} already has an open draft", {"subdistrict": subdistrict})
    gen_id = repo.open_empty_draft(session, subdistrict, actor, note)
    repo.audit(session, actor, "open_draft", gen_id, None, {"based_on": None, "note": note})
    return gen_id


def history(session: Session, code: str, drafts: bool = True) -> GridHistory:
    """Every generation's version of a grid (valid_from/valid_to from activation and retirement) and
    the audit entries about it; `changed` says whether the shape differs from the previous version.
    Without `drafts` (repository/scope.reads_drafts), nothing of a draft: neither its version nor its
    audit entries (a grid only a draft holds is not found)."""
    hidden: set[int] = set()
    if not drafts:
        hidden = {g.id for g in generation_repo.list_in(session, EVERYTHING) if g.status == "draft"}
    versions = [v for v in repo.history(session, code) if v.generation not in hidden]
    if not versions:
        raise GridNotFound(f"no grid with code {code!r} in any generation")
    out: list[HistoryVersion] = []
    previous_hash: str | None = None
    for v in versions:
        changed = previous_hash is not None and v.geom_hash != previous_hash
        out.append(HistoryVersion(**asdict(v), shape_changed=changed))
        previous_hash = v.geom_hash
    audit = [e for e in repo.audit_entries(session, grid_code=code) if e.generation_id not in hidden]
    return GridHistory(code=code, versions=out, audit=audit)
