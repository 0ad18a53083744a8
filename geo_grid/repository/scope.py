"""Access scope (issue 15): which reports, people, drafts and generations a principal may see and act on.
Every scope rule of the service lives here, as SQL conditions per table and the checks built on them.

A principal belongs to one subdistrict (街道: `Scope("410105012")`) or to the district/city (`EVERYTHING`;
read-only unless admin, services/auth.py). Today the rules go by the national division codes, which are
hierarchical: a community code (12 digits) and every grid code (15, 18 digits) start with their 9-digit
subdistrict code, and generations carry `subdistrict_code`. When reports, people and places carry a
`subdistrict_code` column of their own (migration 0009_district), the expressions below are switched to it
here, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

PARAM = "scope_subdistrict"  # the bind parameter of every condition below


@dataclass(frozen=True, slots=True)
class Scope:
    """The subdistrict a principal works for, or None: the whole district/city."""

    subdistrict_code: str | None = None

    @property
    def everything(self) -> bool:
        return self.subdistrict_code is None


EVERYTHING = Scope()


@dataclass(frozen=True, slots=True)
class Condition:
    """A boolean SQL expression and its bind parameters (`true` and none for the whole district)."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)


_ALL = Condition("true")


def _code_in(scope: Scope, code_sql: str) -> Condition:
    if scope.subdistrict_code is None:
        return _ALL
    return Condition(f"left({code_sql}, 9) = :{PARAM}", {PARAM: scope.subdistrict_code})


def reports_in(scope: Scope, alias: str = "r") -> Condition:
    """A report belongs to the subdistrict of its community (or, placed without one, of its micro-grid).
    A report placed in no grid (outside coverage, or without a point) has no code to go by: it stays in
    every subdistrict's inbox until reports carry their own subdistrict_code (migration 0009_district)."""
    if scope.subdistrict_code is None:
        return _ALL
    code = f"coalesce({alias}.community_code, {alias}.micro_code)"
    inner = _code_in(scope, code)
    return Condition(f"({code} IS NULL OR {inner.sql})", inner.params)


def roles_in(scope: Scope, alias: str = "r") -> Condition:
    """A role belongs to the subdistrict of its grid (or of its community: volunteers)."""
    return _code_in(scope, f"coalesce({alias}.grid_code, {alias}.community_code)")


def people_in(scope: Scope, alias: str = "p") -> Condition:
    """A person belongs to every subdistrict they hold a role in (a person without any: district level)."""
    if scope.subdistrict_code is None:
        return _ALL
    roles = roles_in(scope, "scope_roles")
    sql = f"EXISTS (SELECT 1 FROM roles scope_roles WHERE scope_roles.person_id = {alias}.id AND {roles.sql})"
    return Condition(sql, roles.params)


def generations_in(scope: Scope, alias: str = "g") -> Condition:
    """Generations (drafts included) carry their subdistrict."""
    if scope.subdistrict_code is None:
        return _ALL
    return Condition(f"{alias}.subdistrict_code = :{PARAM}", {PARAM: scope.subdistrict_code})


def grid_code_in(scope: Scope, code: str) -> bool:
    """A grid, community or subdistrict code (as a path names it) inside the scope."""
    return scope.subdistrict_code is None or code[:9] == scope.subdistrict_code


# ------------------------------------------------------------------------ single records, by their id
# False both when the record does not exist and when it lies outside the scope: the caller answers 404
# either way, so that a subdistrict's principal learns nothing of another subdistrict's records.


def _exists(session: Session, sql: str, condition: Condition, **params: Any) -> bool:
    found = session.execute(
        text(f"SELECT EXISTS ({sql} AND {condition.sql})"), {**params, **condition.params}
    )
    return bool(found.scalar_one())


def report_visible(session: Session, scope: Scope, report_id: int) -> bool:
    return _exists(session, "SELECT 1 FROM reports r WHERE r.id = :id", reports_in(scope), id=report_id)


def photo_visible(session: Session, scope: Scope, photo_id: int) -> bool:
    """A photo goes with its report (a photo without a report: district level only)."""
    sql = "SELECT 1 FROM photos ph JOIN reports r ON r.id = ph.report_id WHERE ph.id = :id"
    return _exists(session, sql, reports_in(scope), id=photo_id)


def generation_visible(session: Session, scope: Scope, generation_id: int) -> bool:
    sql = "SELECT 1 FROM generations g WHERE g.id = :id"
    return _exists(session, sql, generations_in(scope), id=generation_id)


def person_visible(session: Session, scope: Scope, person_id: str) -> bool:
    """A person by their roster number (people.person_id)."""
    sql = "SELECT 1 FROM people p WHERE p.person_id = :pid"
    return _exists(session, sql, people_in(scope), pid=person_id)
