"""Report statistics of a grid at any level (the code decides): counts, median time to close, overdue,
响应率 / 解决率 / 满意率 with numerators and denominators, and the same for each child grid (roll-up)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from geo_grid import SUBDISTRICT_CODE, SUBDISTRICT_NAME, reporting
from geo_grid.errors import GridNotFound, InvalidInput
from geo_grid.repository import report_stats
from geo_grid.services.directory import GridDirectory
from geo_grid.services.reports import now as utc_now


def _rate(numerator: int, denominator: int) -> dict[str, Any]:
    return {
        "numerator": int(numerator),
        "denominator": int(denominator),
        "rate": round(numerator / denominator, 4) if denominator else None,
    }


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    median = row["median_hours_to_close"]
    return {
        "total": int(row["total"]),
        "overdue": int(row["overdue"]),
        "median_hours_to_close": round(float(median), 2) if median is not None else None,
        "response_rate": _rate(row["responded_in_time"], row["handled"]),
        "resolution_rate": _rate(row["solved"], row["handled"]),
        "satisfaction_rate": _rate(row["satisfied"], row["rated"]),
    }


def _name(directory: GridDirectory | None, code: str | None, level: str) -> str | None:
    if code is None or directory is None:
        return None
    if level == "subdistrict":
        return SUBDISTRICT_NAME
    if level == "community":
        return directory.communities.get(code)
    grid = directory.grids.get(code)
    return grid.name if grid else None


def check_grid_code(directory: GridDirectory | None, code: str) -> str:
    level = reporting.level_of_code(code)
    if level is None:
        raise InvalidInput(f"{code!r} is not a grid code (9, 12, 15 or 18 digits)")
    known = (
        code == SUBDISTRICT_CODE
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
) -> dict[str, Any]:
    if since and until and since >= until:
        raise InvalidInput("`since` must be before `until`")
    level = check_grid_code(directory, code)
    # Overdue is judged at the end of the period (or now): open and past its resolution deadline then.
    now = utc_now()
    as_of = min(until, now) if until else now
    total, children = report_stats.aggregates(session, code, since, until, as_of)
    child_level = {"subdistrict": "community", "community": "tertiary", "tertiary": "micro"}.get(level)
    return {
        "code": code,
        "level": level,
        "name": _name(directory, code, level),
        "period": {"since": since, "until": until},
        "overdue_as_of": as_of,
        "by_status": report_stats.counts_by(session, "status", code, since, until, as_of),
        "by_category": report_stats.counts_by(session, "category", code, since, until, as_of),
        **_shape(total),
        "children": [
            {
                "code": c["child"],
                "level": child_level if c["child"] is not None else "outside",
                "name": _name(directory, c["child"], child_level or "")
                if c["child"]
                else reporting.SUBDISTRICT_CENTRE,
                **_shape(c),
            }
            for c in children
        ],
    }
