"""Report statistics of a grid at any level (the code decides), of a subdistrict or of the whole district
(`overview`): counts, median time to close, overdue,
响应率 / 解决率 / 满意率 with numerators and denominators, and the same for each child grid (roll-up)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from geo_grid import reporting
from geo_grid.errors import GridNotFound, InvalidInput
from geo_grid.labels import SUBDISTRICT_CENTRE
from geo_grid.repository import report_stats
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.repository.report_stats import Aggregates
from geo_grid.services import subdistricts
from geo_grid.services.directory import GridDirectory
from geo_grid.services.reports import now as utc_now

# The whole district's child of the reports of no subdistrict (no place given).
NO_SUBDISTRICT = "未分街道（无位置）"


@dataclass(frozen=True, slots=True)
class Rate:
    """A rate with its numerator and denominator (None when there is nothing to divide by)."""

    numerator: int
    denominator: int
    rate: float | None


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures of one grid: counts, median time to close, the three rates."""

    total: int
    overdue: int
    median_hours_to_close: float | None
    response_rate: Rate
    resolution_rate: Rate
    satisfaction_rate: Rate


@dataclass(frozen=True, slots=True)
class ChildStats(Figures):
    """A child grid's figures (code None, level `outside`: reports outside every grid)."""

    code: str | None
    level: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime | None
    until: datetime | None


@dataclass(frozen=True, slots=True)
class GridStats(Figures):
    """GET /grids/{code}/stats: the grid's figures and its children's."""

    code: str
    level: str
    name: str | None
    period: Period
    overdue_as_of: datetime
    by_status: dict[str, int]
    by_category: dict[str, int]
    children: list[ChildStats]


def _rate(numerator: int, denominator: int) -> Rate:
    return Rate(int(numerator), int(denominator), round(numerator / denominator, 4) if denominator else None)


def _figures(a: Aggregates) -> dict[str, Any]:
    median = a.median_hours_to_close
    return {
        "total": a.total,
        "overdue": a.overdue,
        "median_hours_to_close": round(median, 2) if median is not None else None,
        "response_rate": _rate(a.responded_in_time, a.handled),
        "resolution_rate": _rate(a.solved, a.handled),
        "satisfaction_rate": _rate(a.satisfied, a.rated),
    }


def _name(directory: GridDirectory | None, code: str | None, level: str) -> str | None:
    if code is None or directory is None:
        return None
    if level == "subdistrict":
        sub = directory.subdistricts.get(code) or (
            directory.subdistrict if code == directory.subdistrict.code else None
        )
        return sub.name if sub is not None else None
    if level == "community":
        return directory.communities.get(code)
    grid = directory.grids.get(code)
    return grid.name if grid else None


def check_grid_code(directory: GridDirectory | None, code: str) -> str:
    level = reporting.level_of_code(code)
    if level is None:
        raise InvalidInput(f"{code!r} is not a grid code (9, 12, 15 or 18 digits)")
    known = (
        directory is not None and (code in directory.subdistricts or code == directory.subdistrict.code)
        if level == "subdistrict"
        else directory is not None
        and (code in directory.communities if level == "community" else code in directory.grids)
    )
    if not known:
        raise GridNotFound(f"no {level} with code {code!r}")
    return level


def overview(
    session: Session,
    directory: GridDirectory | None,
    since: datetime | None,
    until: datetime | None,
    subdistrict: str | None = None,
    caller: str | None = None,
) -> GridStats:
    """GET /stats: the statistics of the subdistrict meant (services/subdistricts.py: the one named, the
    caller's own, the only one), or — a district-level caller naming none among several — of the whole
    district, with one child per subdistrict (they add up; reports of no subdistrict: a child of code None)."""
    sub = subdistricts.meant_or_district(session, subdistrict, caller=caller)
    if sub is not None:
        return grid_stats(session, directory, sub.code, since, until)
    rows = subdistrict_repo.list_all(session)
    names = {r.code: r.name for r in rows}
    codes = {r.district_code for r in rows}
    code = codes.pop() if len(codes) == 1 else ""
    return _stats(session, code, "district", subdistricts.title(None, rows), since, until, names)


def grid_stats(
    session: Session,
    directory: GridDirectory | None,
    code: str,
    since: datetime | None,
    until: datetime | None,
) -> GridStats:
    level = check_grid_code(directory, code)
    return _stats(session, code, level, _name(directory, code, level), since, until, directory=directory)


def _stats(
    session: Session,
    code: str,
    level: str,
    name: str | None,
    since: datetime | None,
    until: datetime | None,
    child_names: dict[str, str] | None = None,
    directory: GridDirectory | None = None,
) -> GridStats:
    """The figures of `code` (level `district`: every report, children by subdistrict)."""
    if since and until and since >= until:
        raise InvalidInput("`since` must be before `until`")
    # Overdue is judged at the end of the period (or now): open and past its resolution deadline then.
    now = utc_now()
    as_of = min(until, now) if until else now
    grid = None if level == "district" else code
    total, children = report_stats.aggregates(session, grid, since, until, as_of)
    child_level = {
        "district": "subdistrict",
        "subdistrict": "community",
        "community": "tertiary",
        "tertiary": "micro",
    }.get(level)

    def child_name(child: str | None) -> str | None:
        if child is None:
            return NO_SUBDISTRICT if level == "district" else SUBDISTRICT_CENTRE
        if child_names is not None:
            return child_names.get(child)
        return _name(directory, child, child_level or "")

    return GridStats(
        code=code,
        level=level,
        name=name,
        period=Period(since, until),
        overdue_as_of=as_of,
        by_status=report_stats.counts_by(session, "status", grid, since, until, as_of),
        by_category=report_stats.counts_by(session, "category", grid, since, until, as_of),
        **_figures(total),
        children=[
            ChildStats(
                code=c.child,
                level=child_level if c.child is not None else "outside",
                name=child_name(c.child),
                **_figures(c),
            )
            for c in children
        ],
    )
