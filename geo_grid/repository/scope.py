"""Access scope (issue 15): which reports, people, drafts and generations a principal may see and act on.
Every scope rule of the service lives here, as SQL conditions per table and the checks built on them.

A principal belongs to one subdistrict (街道: `Scope("410105012")`) or to the district/city (`EVERYTHING`;
read-only unless admin, services/auth.py). Today the rules go by the national division codes, which are
hierarchical: a community code (12 digits) and every grid code (15, 18 digits) start with their 9-digit
subdistrict code, and generations carry `subdistrict_code`; reports carry their own `subdistrict_code`
(migration 0009_district), and so do people and places (roles still go by their grid codes).
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
    """A report belongs to its subdistrict (`reports.subdistrict_code`, migration 0009_district: the one
    whose grid covers its point, outside every grid the nearest one's). A report of none (no point, the
    district level) stays in every subdistrict's inbox."""
    if scope.subdistrict_code is None:
        return _ALL
    column = f"{alias}.subdistrict_code"
    return Condition(f"({column} IS NULL OR {column} = :{PARAM})", {PARAM: scope.subdistrict_code})


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


# A draft is a planner's work in progress: only planners and admins (of its subdistrict; of the district
# level: every subdistrict's) read it. Anyone else is answered as if it did not exist (404, left out of
# listings). Active and retired generations are public.
DRAFT_READERS = frozenset({"planner", "admin"})


def reads_drafts(role: str) -> bool:
    """Whether a principal of this role may read drafts (those inside its scope)."""
    return role in DRAFT_READERS


def generations_readable(scope: Scope, drafts: bool, alias: str = "g") -> Condition:
    """The generations a principal reads: its scope's, drafts only when `drafts` (`reads_drafts`)."""
    within = generations_in(scope, alias)
    if drafts:
        return within
    return Condition(f"({within.sql} AND {alias}.status <> 'draft')", within.params)


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


def generation_visible(session: Session, scope: Scope, generation_id: int, drafts: bool = True) -> bool:
    """In the scope, and not a draft unless `drafts` (`reads_drafts`)."""
    sql = "SELECT 1 FROM generations g WHERE g.id = :id"
    return _exists(session, sql, generations_readable(scope, drafts), id=generation_id)


def person_visible(session: Session, scope: Scope, person_id: str) -> bool:
    """A person by their roster number (people.person_id)."""
    sql = "SELECT 1 FROM people p WHERE p.person_id = :pid"
    return _exists(session, sql, people_in(scope), pid=person_id)
