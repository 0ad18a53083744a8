"""What changes from one generation of a subdistrict to another: grids added, retired, reshaped,
reparented or renamed, and the open reports, point facilities and addresses that would move."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from geo_grid.errors import InvalidInput
from geo_grid.repository import boundaries as repo
from geo_grid.repository.boundaries import Move
from geo_grid.services.generations import get


@dataclass(frozen=True, slots=True)
class GridArea:
    """A grid only in one of two generations, with its area."""

    code: str
    level: str
    area_m2: float


@dataclass(frozen=True, slots=True)
class Reshaped:
    code: str
    level: str
    area_a_m2: float
    area_b_m2: float
    area_change_m2: float


@dataclass(frozen=True, slots=True)
class Relabelled:
    """A grid in both generations with another parent or name."""

    code: str
    parent_a: str | None
    parent_b: str | None
    name_a: str | None
    name_b: str | None


@dataclass(frozen=True, slots=True)
class Diff:
    a: int
    b: int
    added: list[GridArea]
    retired: list[GridArea]
    reshaped: list[Reshaped]
    reparented_or_renamed: list[Relabelled]
    moves: dict[str, list[Move]]
    counts: dict[str, int]


def diff(session: Session, a: int, b: int) -> Diff:
    """What changes from generation `a` to `b`: grids added, retired, reshaped (area change m²),
    reparented or renamed, and the open reports, point facilities and addresses that would move."""
    gen_a, gen_b = get(session, a), get(session, b)
    if gen_a.subdistrict_code != gen_b.subdistrict_code:
        raise InvalidInput(
            f"generations {a} and {b} belong to different subdistricts "
            f"({gen_a.subdistrict_code}, {gen_b.subdistrict_code}); compare generations of one subdistrict",
            {"subdistricts": [gen_a.subdistrict_code, gen_b.subdistrict_code]},
        )
    added: list[GridArea] = []
    retired: list[GridArea] = []
    reshaped: list[Reshaped] = []
    other: list[Relabelled] = []
    for r in repo.diff_grids(session, a, b):
        area_a, area_b = r.area_a or 0.0, r.area_b or 0.0
        if not r.in_a:
            added.append(GridArea(r.code, r.level, round(area_b, 1)))
        elif not r.in_b:
            retired.append(GridArea(r.code, r.level, round(area_a, 1)))
        else:
            if not r.same_shape:
                reshaped.append(
                    Reshaped(r.code, r.level, round(area_a, 1), round(area_b, 1), round(area_b - area_a, 1))
                )
            if r.parent_a != r.parent_b or r.name_a != r.name_b:
                other.append(Relabelled(r.code, r.parent_a, r.parent_b, r.name_a, r.name_b))
    moves = repo.moves(session, a, b)
    return Diff(
        a=a,
        b=b,
        added=added,
        retired=retired,
        reshaped=reshaped,
        reparented_or_renamed=other,
        moves=moves,
        counts={
            "added": len(added),
            "retired": len(retired),
            "reshaped": len(reshaped),
            **{k: len(v) for k, v in moves.items()},
        },
    )
