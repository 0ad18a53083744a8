"""Edits on a draft generation: replace a geometry, create, retire, reparent, split, merge and move a
shared boundary. Each edit checks the grids' ETags (If-Match), validates its result before storing it,
bumps the versions of what it touched and writes one audit entry, all in the caller's transaction.

ETag of a grid in a draft: "g<generation>-<code>-v<version>" (the version is bumped by every change, so a
planner working from an older read gets 412). New codes (split, create without a code) take the next
sequence number under the parent that no generation has ever used: a code always means one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, mapping
from sqlalchemy.orm import Session

from geo_grid import crs
from geo_grid import geometry as geo
from geo_grid.errors import (
    Conflict,
    GridNotFound,
    InvalidBoundary,
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
)
from geo_grid.repository import boundaries as repo
from geo_grid.repository import grid_edits as edit_repo
from geo_grid.repository.boundaries import DraftGrid, NewGrid
from geo_grid.services.generations import require_draft

_ETAG = re.compile(r'^(?:W/)?"?(?P<tag>[^"]+)"?$')
SEQ_DIGITS = 3
CODE_LENGTH = {"tertiary": 15, "micro": 18}


@dataclass(frozen=True, slots=True)
class EditedGrid:
    """A grid an edit changed: its new version and ETag, and its area (m², EPSG:4547)."""

    code: str
    version: int
    etag: str
    area_m2: float


@dataclass(frozen=True, slots=True)
class Edit:
    """What an edit changed: replace, create, reparent, split."""

    generation: int
    grids: list[EditedGrid]


@dataclass(frozen=True, slots=True)
class RetiringEdit:
    """An edit that also removed grids from the draft: retire, merge."""

    generation: int
    grids: list[EditedGrid]
    retired: list[str]


@dataclass(frozen=True, slots=True)
class Gap:
    """Area a moved boundary gave up that no neighbour took (WGS84 GeoJSON geometry)."""

    area_m2: float
    geometry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BoundaryMove:
    """A moved boundary: the grid and every neighbour it changed, and what was gained and released."""

    generation: int
    grids: list[EditedGrid]
    gap: Gap | None
    gained_m2: float
    released_m2: float
    released_to: str | None


@dataclass(frozen=True, slots=True)
class NewGridRequest:
    """A grid to create in a draft (POST /generations/{id}/grids)."""

    level: str
    parent_code: str
    geometry: Any
    name: str | None = None
    code: str | None = None


def etag(generation_id: int, code: str, version: int) -> str:
    return f'"g{generation_id}-{code}-v{version}"'


def _tags(if_match: str | None) -> set[str]:
    if if_match is None or not if_match.strip():
        raise PreconditionRequired("this edit needs an If-Match header with the grid's ETag (read it first)")
    out = set()
    for part in if_match.split(","):
        m = _ETAG.match(part.strip())
        if m:
            out.add(m["tag"])
    return out


def check_etags(generation_id: int, if_match: str | None, grids: dict[str, DraftGrid]) -> None:
    """Every grid an edit changes by request must be named in If-Match with its current ETag."""
    tags = _tags(if_match)
    if "*" in tags:
        return
    for code, g in grids.items():
        current = etag(generation_id, code, g.version)
        if current.strip('"') not in tags:
            raise PreconditionFailed(
                f"grid {code} changed since you read it (its ETag is now {current}); reload and redo the edit",
                {"code": code, "etag": current},
            )


def parse_geometry(value: Any, kinds: tuple[str, ...] = ("Polygon", "MultiPolygon")) -> Any:
    try:
        geom = geo.from_geojson(value, kinds)  # Z dropped, unclosed rings refused
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    coords = shapely.get_coordinates(geom)
    if len(coords) == 0 or not (abs(coords[:, 0]) <= 180).all() or not (abs(coords[:, 1]) <= 90).all():
        raise InvalidInput("coordinates must be finite WGS84 lon/lat")
    return geom


def _require_valid(code: str, geom: Any) -> MultiPolygon:
    """Refuse an invalid result with the GEOS reason and its lon/lat (nothing is stored)."""
    v = geo.validity(geom)
    if not v.valid:
        where = f" at lon {v.location[0]:.7f}, lat {v.location[1]:.7f}" if v.location else ""
        raise InvalidBoundary(
            f"{code}: the geometry would be invalid: {v.reason}{where}", {"code": code, **v.as_dict()}
        )
    return geo.to_multipolygon(geom)


def area_m2(geom: Any) -> float:
    return round(float(crs.to_metric(geom).area), 1)


def _locked(session: Session, gen_id: int, codes: list[str]) -> dict[str, DraftGrid]:
    rows = edit_repo.lock_grids(session, gen_id, codes)
    for code in codes:
        if code not in rows:
            raise GridNotFound(f"no grid {code} in draft {gen_id}")
    return rows


def _geom(grid: DraftGrid) -> Any:
    return shapely.from_wkb(grid.wkb)


def _summary(gen_id: int, code: str, version: int, geom: Any) -> EditedGrid:
    return EditedGrid(code, version, etag(gen_id, code, version), area_m2(geom))


def next_code(session: Session, parent_code: str, level: str, taken: frozenset[str] = frozenset()) -> str:
    used = edit_repo.codes_ever_used(session, parent_code) | set(taken)
    seqs = [
        int(c[len(parent_code) :])
        for c in used
        if len(c) == CODE_LENGTH[level] and c[len(parent_code) :].isdigit()
    ]
    seq = max(seqs, default=0) + 1
    if seq >= 10**SEQ_DIGITS:
        raise Conflict(f"no free {level} code left under {parent_code}")
    return f"{parent_code}{seq:0{SEQ_DIGITS}d}"


# ------------------------------------------------------------------------------------------- edits


def replace_geometry(
    session: Session, gen_id: int, code: str, geometry: Any, actor: str, if_match: str | None
) -> Edit:
    require_draft(session, gen_id)
    grid = _locked(session, gen_id, [code])[code]
    check_etags(gen_id, if_match, {code: grid})
    new = _require_valid(code, parse_geometry(geometry))
    version = edit_repo.update_geometry(session, gen_id, code, shapely.to_wkb(new), actor)
    detail = {"area_before_m2": area_m2(_geom(grid)), "area_after_m2": area_m2(new), "version": version}
    repo.audit(session, actor, "replace_geometry", gen_id, code, detail)
    return Edit(gen_id, [_summary(gen_id, code, version, new)])


def create_grid(session: Session, gen_id: int, body: NewGridRequest, actor: str) -> Edit:
    """Create a grid under an existing parent (a tertiary grid of the draft, or a community)."""
    require_draft(session, gen_id)
    level, parent = body.level, body.parent_code
    if level == "micro":
        parents = edit_repo.lock_grids(session, gen_id, [parent])
        if parent not in parents or parents[parent].level != "tertiary":
            raise InvalidInput(f"parent {parent} is not a tertiary grid of draft {gen_id}")
        community = parents[parent].community_code
    else:
        community = parent
        if parent not in repo.community_geometries(session):
            raise InvalidInput(f"parent {parent} is not a community")
    code = body.code or next_code(session, parent, level)
    if edit_repo.lock_grids(session, gen_id, [code]):
        raise Conflict(f"grid {code} already exists in draft {gen_id}")
    new = _require_valid(code, parse_geometry(body.geometry))
    last = edit_repo.last_version(session, code)
    version = last + 1 if last is not None else 1
    row = NewGrid(
        code=code,
        level=level,
        name=body.name or code,
        parent_code=parent,
        community_code=community,
        wkb=shapely.to_wkb(new),
    )
    edit_repo.insert_grid(session, gen_id, row, actor, version)
    repo.audit(
        session,
        actor,
        "create",
        gen_id,
        code,
        {"level": level, "parent_code": parent, "area_m2": area_m2(new)},
    )
    return Edit(gen_id, [_summary(gen_id, code, version, new)])


def retire_grid(session: Session, gen_id: int, code: str, actor: str, if_match: str | None) -> RetiringEdit:
    """Remove a grid from the draft (older generations keep it); a tertiary grid must be empty first."""
    require_draft(session, gen_id)
    grid = _locked(session, gen_id, [code])[code]
    check_etags(gen_id, if_match, {code: grid})
    if grid.level == "tertiary":
        kids = [g.code for g in repo.load_grids(session, gen_id, "micro") if g.parent_code == code]
        if kids:
            raise Conflict(
                f"tertiary grid {code} still has {len(kids)} micro-grids; retire or reparent them first",
                {"children": kids},
            )
    edit_repo.delete_grids(session, gen_id, [code])
    repo.audit(session, actor, "retire", gen_id, code, {"area_m2": area_m2(_geom(grid))})
    return RetiringEdit(gen_id, [], [code])


def reparent(
    session: Session, gen_id: int, code: str, parent_code: str, actor: str, if_match: str | None
) -> Edit:
    """Move a micro-grid under another tertiary grid. Its code stays (people and reports refer to it)."""
    require_draft(session, gen_id)
    rows = _locked(session, gen_id, sorted({code, parent_code}))
    grid, parent = rows[code], rows[parent_code]
    check_etags(gen_id, if_match, {code: grid})
    if grid.level != "micro" or parent.level != "tertiary":
        raise InvalidInput("reparent moves a micro-grid under a tertiary grid")
    version = edit_repo.update_parent(session, gen_id, code, parent_code, parent.community_code, actor)
    repo.audit(session, actor, "reparent", gen_id, code, {"from": grid.parent_code, "to": parent_code})
    return Edit(gen_id, [_summary(gen_id, code, version, _geom(grid))])


def split(
    session: Session,
    gen_id: int,
    code: str,
    line: Any,
    actor: str,
    if_match: str | None,
    new_name: str | None = None,
) -> Edit:
    """Cut a micro-grid in two along a line: the larger part keeps the code (and its team), the other
    gets the next never-used code under the same tertiary grid."""
    require_draft(session, gen_id)
    grid = _locked(session, gen_id, [code])[code]
    check_etags(gen_id, if_match, {code: grid})
    if grid.level != "micro":
        raise InvalidInput("only micro-grids are split")
    try:
        keep, other = geo.split_by_line(_geom(grid), parse_geometry(line, ("LineString", "MultiLineString")))
    except geo.EditError as exc:
        raise InvalidBoundary(f"{code}: {exc}", {"code": code}) from exc
    new_code = next_code(session, grid.parent_code, "micro")
    keep, other = _require_valid(code, keep), _require_valid(new_code, other)
    version = edit_repo.update_geometry(session, gen_id, code, shapely.to_wkb(keep), actor)
    row = NewGrid(
        code=new_code,
        level="micro",
        name=new_name or f"{grid.name}（拆分）",
        parent_code=grid.parent_code,
        community_code=grid.community_code,
        wkb=shapely.to_wkb(other),
    )
    edit_repo.insert_grid(session, gen_id, row, actor)
    repo.audit(
        session,
        actor,
        "split",
        gen_id,
        code,
        {"codes": [code, new_code], "areas_m2": [area_m2(keep), area_m2(other)]},
    )
    return Edit(gen_id, [_summary(gen_id, code, version, keep), _summary(gen_id, new_code, 1, other)])


def merge(
    session: Session, gen_id: int, codes: list[str], actor: str, if_match: str | None, name: str | None = None
) -> RetiringEdit:
    """Merge adjacent micro-grids of one tertiary grid into the one with the smallest code."""
    require_draft(session, gen_id)
    codes = sorted(set(codes))
    if len(codes) < 2:
        raise InvalidInput("a merge needs at least two different grid codes")
    rows = _locked(session, gen_id, codes)
    check_etags(gen_id, if_match, rows)
    if {r.level for r in rows.values()} != {"micro"} or len({r.parent_code for r in rows.values()}) != 1:
        raise InvalidInput("only micro-grids of the same tertiary grid can be merged")
    try:
        merged = geo.merge([_geom(rows[c]) for c in codes])
    except geo.EditError as exc:
        raise InvalidBoundary(f"cannot merge {', '.join(codes)}: {exc}", {"codes": codes}) from exc
    keep = codes[0]
    merged = _require_valid(keep, merged)
    version = edit_repo.update_geometry(session, gen_id, keep, shapely.to_wkb(merged), actor)
    edit_repo.delete_grids(session, gen_id, codes[1:])
    if name:
        edit_repo.rename(session, gen_id, keep, name)
    repo.audit(session, actor, "merge", gen_id, keep, {"codes": codes, "area_m2": area_m2(merged)})
    return RetiringEdit(gen_id, [_summary(gen_id, keep, version, merged)], codes[1:])


def move_boundary(
    session: Session,
    gen_id: int,
    code: str,
    geometry: Any,
    actor: str,
    if_match: str | None,
    release_to: str | None = None,
) -> BoundaryMove:
    """Redraw a grid and keep the tiling exact: each same-level neighbour gives up exactly the part of
    the new shape it held; the area the grid gives up goes to `release_to`, or is reported as a gap."""
    require_draft(session, gen_id)
    new = _require_valid(code, parse_geometry(geometry))
    current = _locked(session, gen_id, [code])[code]
    check_etags(gen_id, if_match, {code: current})
    candidates = edit_repo.neighbours(
        session, gen_id, code, current.level, shapely.to_wkb(shapely.union_all([new, _geom(current)]))
    )
    if release_to and release_to not in candidates:
        candidates.append(release_to)
    locked = _locked(session, gen_id, sorted(set(candidates) | {code}))
    old = _geom(locked[code])
    geoms = {c: _geom(r) for c, r in locked.items() if c != code}
    try:
        moved = geo.move_shared_boundary(old, new, geoms, release_to)
    except geo.EditError as exc:
        raise InvalidBoundary(f"{code}: {exc}", {"code": code}) from exc
    if moved.swallowed:
        raise InvalidBoundary(
            f"{code}: the new boundary covers all of {', '.join(moved.swallowed)}; merge instead",
            {"code": code, "swallowed": moved.swallowed},
        )
    changed = {c: _require_valid(c, g) for c, g in moved.neighbours.items()}
    out = [
        _summary(
            gen_id, code, edit_repo.update_geometry(session, gen_id, code, shapely.to_wkb(new), actor), new
        )
    ]
    for c, g in sorted(changed.items()):
        out.append(
            _summary(gen_id, c, edit_repo.update_geometry(session, gen_id, c, shapely.to_wkb(g), actor), g)
        )
    gap = None
    if not moved.released.is_empty and release_to is None:
        gap = Gap(area_m2(moved.released), dict(mapping(moved.released)))
    detail = {
        "codes": [code, *sorted(changed)],
        "taken_m2": {
            c: round(area_m2(geoms[c]) - area_m2(g), 1) for c, g in changed.items() if c != release_to
        },
        "gained_m2": area_m2(moved.gained),
        "released_m2": area_m2(moved.released),
        "released_to": release_to,
    }
    repo.audit(session, actor, "move_boundary", gen_id, code, detail)
    return BoundaryMove(
        generation=gen_id,
        grids=out,
        gap=gap,
        gained_m2=area_m2(moved.gained),
        released_m2=area_m2(moved.released),
        released_to=release_to,
    )
