"""SQL for people and their roles on grids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

_SELECT = """
SELECT p.person_id, p.name, p.phone, r.role, r.duty, r.grid_code, r.community_code, r.target_id
FROM roles r JOIN people p ON p.id = r.person_id
"""


def for_grids(session: Session, codes: list[str]) -> list[dict[str, Any]]:
    sql = _SELECT + " WHERE r.grid_code = ANY(:codes) ORDER BY r.grid_code, r.role, p.person_id"
    return [dict(r._mapping) for r in session.execute(text(sql), {"codes": codes})]


def all_grid_roles(session: Session) -> list[dict[str, Any]]:
    """Every role attached to a grid (volunteers belong to communities and are left out)."""
    sql = _SELECT + " WHERE r.grid_code IS NOT NULL ORDER BY r.grid_code, r.role, p.person_id"
    return [dict(r._mapping) for r in session.execute(text(sql))]


def counts_by_role(session: Session) -> dict[str, int]:
    sql = "SELECT role, count(*) AS n FROM roles GROUP BY role"
    return {r.role: r.n for r in session.execute(text(sql))}
