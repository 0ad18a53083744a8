"""Read use cases for grids: which generation a request means, a grid with its chain and people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from geo_grid.errors import GenerationNotFound, GridNotFound, InvalidInput
from geo_grid.repository import communities as community_repo
from geo_grid.repository import generations as generation_repo
from geo_grid.repository import grids as grid_repo
from geo_grid.repository import people as people_repo
from geo_grid.repository.generations import Generation
from geo_grid.repository.grids import Grid, GridRef
from geo_grid.repository.people import PersonRole
from geo_grid.repository.subdistricts import Subdistrict
from geo_grid.services import subdistricts


@dataclass(frozen=True, slots=True)
class GridDetail:
    """A grid with its parent (micro-grids), community, children and the people responsible for it."""

    grid: Grid
    parent: GridRef | None
    community_name: str | None
    children: list[GridRef]
    people: list[PersonRole]


def resolve_generation(
    session: Session,
    at: datetime | None = None,
    generation: int | None = None,
    subdistrict: str | None = None,
) -> Generation:
    """The generation a read refers to: an explicit id, or of the subdistrict (named, or the only one)
    the one active at `at`, or the active one."""
    if at is not None and generation is not None:
        raise InvalidInput("give either `at` or `generation`, not both")
    if generation is not None:
        gen = generation_repo.get(session, generation)
        if gen is None:
            raise GenerationNotFound(f"no generation {generation}")
        return gen
    if at is not None:
        if at.tzinfo is not None:
            at = at.astimezone(UTC)  # PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows
        sub = _subdistrict(session, subdistrict)
        gen = generation_repo.at(session, at, sub.code) if sub else None
        if gen is None:
            raise GenerationNotFound(f"no boundaries were active at {at.isoformat()}")
        return gen
    sub = _subdistrict(session, subdistrict)
    gen = generation_repo.active(session, sub.code) if sub else None
    if gen is None:
        raise GenerationNotFound("no active generation: load boundaries first (geo-grid load-sample)")
    return gen


def _subdistrict(session: Session, code: str | None) -> Subdistrict | None:
    return subdistricts.home(session) if code is None else subdistricts.resolve(session, code)


def subdistrict_hint(session: Session, code: str | None) -> str | None:
    """The subdistrict a grid or community code names (its first 9 digits), when it is a row."""
    sub = subdistricts.of_code(session, code) if code else None
    return sub.code if sub else None


def parse_bbox(bbox: str | None) -> tuple[float, float, float, float] | None:
    if not bbox:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in bbox.split(","))
    except ValueError as exc:
        raise InvalidInput("bbox must be 'min_lon,min_lat,max_lon,max_lat' (four numbers)") from exc
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InvalidInput(
            "bbox must satisfy -180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90"
        )
    return x0, y0, x1, y1


def grid_detail(session: Session, gen: Generation, code: str) -> GridDetail:
    """A grid with its parent, community, children and the people responsible for it."""
    grid = grid_repo.get_grid(session, gen.id, code)
    if grid is None:
        raise GridNotFound(f"no grid with code {code!r} in generation {gen.id}")
    parent = grid_repo.get_grid(session, gen.id, grid.parent_code) if grid.level == "micro" else None
    codes = [code] + ([parent.code] if parent else [])
    return GridDetail(
        grid=grid,
        parent=GridRef(parent.code, parent.name, parent.level) if parent else None,
        community_name=community_repo.names(session).get(grid.community_code),
        children=grid_repo.children(session, gen.id, code),
        people=people_repo.for_grids(session, codes),
    )
