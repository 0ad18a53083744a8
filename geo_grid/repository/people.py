"""SQL for people and their roles on grids, and the one record a person in a role is read into."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

_SELECT = """
SELECT p.person_id, p.name, p.phone, r.role, r.duty, r.grid_code, r.community_code, r.target_id
FROM roles r JOIN people p ON p.id = r.person_id
"""


@dataclass(frozen=True, slots=True)
class PersonRole:
    """One person holding one role. `phone` is unmasked: the API masks it (geo_grid/privacy.py)."""

    person_id: str
    name: str
    phone: str | None
    role: str
    duty: str | None
    target_id: str | None  # courtyard_id of a 楼院长, segment_id of a 路段长; else None


@dataclass(frozen=True, slots=True)
class GridRole:
    """A role attached to a grid: which grid, and the person holding it."""

    grid_code: str
    community_code: str | None
    person: PersonRole


def person_role(row: RowMapping) -> PersonRole:
    """The one place a database row becomes a PersonRole (grids' teams, 楼院长, 路段长)."""
    return PersonRole(row["person_id"], row["name"], row["phone"], row["role"], row["duty"], row["target_id"])


def _grid_role(row: RowMapping) -> GridRole:
    return GridRole(row["grid_code"], row["community_code"], person_role(row))


def for_grids(session: Session, codes: list[str]) -> list[PersonRole]:
    """The people of these grids, by grid code, role and person_id."""
    sql = _SELECT + " WHERE r.grid_code = ANY(:codes) ORDER BY r.grid_code, r.role, p.person_id"
    return [person_role(r._mapping) for r in session.execute(text(sql), {"codes": codes})]


def all_grid_roles(session: Session) -> list[GridRole]:
    """Every role attached to a grid (volunteers belong to communities and are left out)."""
    sql = _SELECT + " WHERE r.grid_code IS NOT NULL ORDER BY r.grid_code, r.role, p.person_id"
    return [_grid_role(r._mapping) for r in session.execute(text(sql))]


def counts_by_role(session: Session) -> dict[str, int]:
    sql = "SELECT role, count(*) AS n FROM roles GROUP BY role"
    return {r.role: r.n for r in session.execute(text(sql))}
