"""Report statistics of a grid at any level (the code decides): counts, median time to close, overdue,
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
from geo_grid.repository.report_stats import Aggregates
from geo_grid.services.directory import GridDirectory
from geo_grid.services.reports import now as utc_now


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
        return directory.subdistrict.name if code == directory.subdistrict.code else None
    if level == "community":
        return directory.communities.get(code)
    grid = directory.grids.get(code)
    return grid.name if grid else None


def check_grid_code(directory: GridDirectory | None, code: str) -> str:
    level = reporting.level_of_code(code)
    if level is None:
        raise InvalidInput(f"{code!r} is not a grid code (9, 12, 15 or 18 digits)")
    known = (
        directory is not None and code == directory.subdistrict.code
        if level == "subdistrict"
        else directory is not None
        and (code in directory.communities if level == "community" else code in directory.grids)
    )
    if not known:
        raise GridNotFound(f"no {level} with code {code!r}")
    return level


def grid_stats(
    session: Session,
    directory: GridDirectory | None,
    code: str,
    since: datetime | None,
    until: datetime | None,
) -> GridStats:
    if since and until and since >= until:
        raise InvalidInput("`since` must be before `until`")
    level = check_grid_code(directory, code)
    # Overdue is judged at the end of the period (or now): open and past its resolution deadline then.
    now = utc_now()
    as_of = min(until, now) if until else now
    total, children = report_stats.aggregates(session, code, since, until, as_of)
    child_level = {"subdistrict": "community", "community": "tertiary", "tertiary": "micro"}.get(level)
    return GridStats(
        code=code,
        level=level,
        name=_name(directory, code, level),
        period=Period(since, until),
        overdue_as_of=as_of,
        by_status=report_stats.counts_by(session, "status", code, since, until, as_of),
        by_category=report_stats.counts_by(session, "category", code, since, until, as_of),
        **_figures(total),
        children=[
            ChildStats(
                code=c.child,
                level=child_level if c.child is not None else "outside",
                name=_name(directory, c.child, child_level or "") if c.child else SUBDISTRICT_CENTRE,
                **_figures(c),
            )
            for c in children
        ],
    )
