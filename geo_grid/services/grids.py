"""Read use cases for grids: which generation a request means, a grid with its chain and people.

With several subdistricts (issue 15) a read naming none means the caller's own subdistrict; a listing by a
district-level or anonymous caller means the whole district (every subdistrict's generation,
`listing_generations`), a grid read by code the subdistrict the code belongs to (`grid_detail_of`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from geo_grid.errors import GenerationNotFound, GridNotFound, InvalidInput
from geo_grid.repository import communities as community_repo
from geo_grid.repository import generations as generation_repo
from geo_grid.repository import grids as grid_repo
from geo_grid.repository import people as people_repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.repository.generations import Generation
from geo_grid.repository.grids import Grid, GridRef
from geo_grid.repository.people import PersonRole
from geo_grid.repository.subdistricts import Subdistrict
from geo_grid.services import subdistricts


@dataclass(frozen=True, slots=True)
class GridDetail:
    """A grid with its parent (micro-grids), community, children and the people responsible for it."""

    grid: Grid
    subdistrict_code: str  # of the grid's generation
    parent: GridRef | None
    community_name: str | None
    children: list[GridRef]
    people: list[PersonRole]


def resolve_generation(
    session: Session,
    at: datetime | None = None,
    generation: int | None = None,
    subdistrict: str | None = None,
    *,
    caller: str | None = None,
) -> Generation:
    """The one generation a read refers to: an explicit id, or of the subdistrict (named, else the
    caller's own, else the only one: 422 with several) the one active at `at`, or the active one."""
    _one_of(at, generation)
    if generation is not None:
        gen = generation_repo.get(session, generation)
        if gen is None:
            raise GenerationNotFound(f"no generation {generation}")
        return gen
    if at is not None:
        at = _utc(at)
        sub = _subdistrict(session, subdistrict, caller)
        gen = generation_repo.at(session, at, sub.code) if sub else None
        if gen is None:
            raise GenerationNotFound(f"no boundaries were active at {at.isoformat()}")
        return gen
    sub = _subdistrict(session, subdistrict, caller)
    gen = generation_repo.active(session, sub.code) if sub else None
    if gen is None:
        raise GenerationNotFound("no active generation: load boundaries first (geo-grid load-sample)")
    return gen


def listing_generations(
    session: Session,
    at: datetime | None = None,
    generation: int | None = None,
    subdistrict: str | None = None,
    *,
    caller: str | None = None,
    belongs_to: str | None = None,
) -> list[Generation]:
    """The generations a listing reads (GET /grids): an explicit id; else of the subdistrict meant (named,
    the caller's own, the one `belongs_to` — a community code — names, the only one) the one active at
    `at` or now; else (several subdistricts, nothing deciding: a district-level or anonymous caller) every
    subdistrict's, by subdistrict code — a read never answers 422 `subdistrict_required`."""
    _one_of(at, generation)
    if generation is not None:
        return [resolve_generation(session, None, generation)]
    sub = subdistricts.meant_or_district(session, subdistrict, caller=caller, belongs_to=belongs_to)
    if sub is not None:
        return [resolve_generation(session, at, None, sub.code)]
    gens = _district_generations(session, at)
    if not gens:
        when = f" at {_utc(at).isoformat()}" if at is not None else ""
        raise GenerationNotFound(f"no boundaries were active{when}: load boundaries first")
    return gens


def tile_generations(session: Session, generation: int | None = None) -> list[Generation]:
    """The generations a map tile draws: the one asked for, else every subdistrict's active one."""
    if generation is not None:
        return [resolve_generation(session, None, generation)]
    gens = _district_generations(session, None)
    if not gens:
        raise GenerationNotFound("no active generation: load boundaries first (geo-grid load-sample)")
    return gens


def _district_generations(session: Session, at: datetime | None) -> list[Generation]:
    """Every subdistrict's generation active at `at` (or now), by subdistrict code (a subdistrict with
    none then is left out)."""
    if at is None:
        return generation_repo.all_active(session)
    moment = _utc(at)
    found = (generation_repo.at(session, moment, s.code) for s in subdistrict_repo.list_all(session))
    return [g for g in found if g is not None]


def _one_of(at: datetime | None, generation: int | None) -> None:
    if at is not None and generation is not None:
        raise InvalidInput("give either `at` or `generation`, not both")


def _utc(at: datetime) -> datetime:
    # PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows.
    return at.astimezone(UTC) if at.tzinfo is not None else at


def _subdistrict(session: Session, code: str | None, caller: str | None = None) -> Subdistrict | None:
    if code is None and caller is None:
        return subdistricts.home(session)  # the only one (None before any is loaded); 422 with several
    return subdistricts.meant(session, code, caller=caller)


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


def grid_detail_of(
    session: Session,
    code: str,
    at: datetime | None = None,
    generation: int | None = None,
    *,
    caller: str | None = None,
) -> GridDetail:
    """A grid read by its code (GET /grids/{code}): in the generation named, else of the caller's own
    subdistrict, else of the subdistrict the code belongs to (codes are hierarchical), else — several
    subdistricts and a code that names none of them (a foreign file's own codes) — in whichever
    subdistrict's generation holds it."""
    gens = listing_generations(session, at, generation, caller=caller, belongs_to=code)
    for gen in gens:
        if grid_repo.get_grid(session, gen.id, code) is not None:
            return grid_detail(session, gen, code)
    where = f"generation {gens[0].id}" if len(gens) == 1 else "any subdistrict's boundaries"
    raise GridNotFound(f"no grid with code {code!r} in {where}")


def grid_detail(session: Session, gen: Generation, code: str) -> GridDetail:
    """A grid with its parent, community, children and the people responsible for it."""
    grid = grid_repo.get_grid(session, gen.id, code)
    if grid is None:
        raise GridNotFound(f"no grid with code {code!r} in generation {gen.id}")
    parent = grid_repo.get_grid(session, gen.id, grid.parent_code) if grid.level == "micro" else None
    codes = [code] + ([parent.code] if parent else [])
    return GridDetail(
        grid=grid,
        subdistrict_code=gen.subdistrict_code,
        parent=GridRef(parent.code, parent.name, parent.level) if parent else None,
        community_name=community_repo.names(session).get(grid.community_code),
        children=grid_repo.children(session, gen.id, code),
        people=people_repo.for_grids(session, codes),
    )
