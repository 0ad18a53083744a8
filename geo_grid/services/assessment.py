"""The monthly assessment (考核) of one kind of unit: counts from repository/assessment.py, indicators, score
and ranks from geo_grid/assessment.py, names of the units, and the trend of the last months (the workbook)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from geo_grid import assessment as formulas
from geo_grid.errors import InvalidInput, NotFound
from geo_grid.labels import SUBDISTRICT_CENTRE
from geo_grid.repository import assessment as repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.repository.scope import EVERYTHING, Scope
from geo_grid.repository.subdistricts import Subdistrict
from geo_grid.services import subdistricts

if TYPE_CHECKING:  # the workbook's writer (openpyxl) is imported when a workbook is made, not at start-up
    from geo_grid.render import assessment_xlsx

BEIJING = ZoneInfo("Asia/Shanghai")
PERIOD_PATTERN = r"^[12]\d{3}-(0[1-9]|1[0-2])$"  # years 1000–2999
UNIT_KINDS = repo.UNIT_KINDS
UNIT_KIND_LABELS = {
    "subdistrict": "街道",
    "community": "社区",
    "tertiary": "三级网格",
    "micro": "微网格",
    "department": "职能部门",
    "person": "微网格长",
}
# Reports outside every grid are handled by the centre: shown with the grid levels, never ranked.
OUTSIDE_NAME = f"网格之外（{SUBDISTRICT_CENTRE}）"
# Assessing the whole district by subdistrict: the cases of no subdistrict (no place given).
DISTRICT_LEVEL_NAME = "未分街道（无位置）"


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month in Beijing time, [start, end)."""

    label: str  # 'YYYY-MM'
    start: datetime
    end: datetime

    def previous(self, months: int) -> Period:
        year, month = self.start.year, self.start.month - months
        while month < 1:
            year, month = year - 1, month + 12
        return month_period(year, month)


def month_period(year: int, month: int) -> Period:
    start = datetime(year, month, 1, tzinfo=BEIJING)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=BEIJING)
    return Period(f"{year:04d}-{month:02d}", start, end)


def parse_period(value: str) -> Period:
    if not re.fullmatch(PERIOD_PATTERN, value):
        raise InvalidInput(f"期间应为 YYYY-MM（例如 2026-10），而不是 {value!r}")
    year, month = (int(x) for x in value.split("-"))
    return month_period(year, month)


@dataclass(frozen=True, slots=True)
class Assessment:
    """GET /assessment: every unit of one kind assessed for one month."""

    period: str
    by: str
    start: datetime
    end: datetime
    min_cases: int
    weights: dict[str, float]
    units: list[formulas.Assessed]
    subdistrict: str | None = None  # the subdistrict assessed; None: the whole district
    title: str = ""  # its name (the whole district: the district's)


def _check_by(by: str) -> None:
    if by not in UNIT_KINDS:
        raise InvalidInput(f"未知的考核对象 {by!r}", {"allowed": list(UNIT_KINDS)})


@dataclass(frozen=True, slots=True)
class Assessed:
    """What is assessed: one subdistrict (`sub`), or the whole district (`sub` None: every subdistrict,
    their units side by side). `access` is the scope its cases are counted in."""

    sub: Subdistrict | None
    access: Scope
    title: str

    @property
    def code(self) -> str | None:
        return self.sub.code if self.sub is not None else None


def _served(session: Session, access: Scope = EVERYTHING, subdistrict: str | None = None) -> Assessed:
    """The subdistrict assessed (services/subdistricts.py decides: the one named, the caller's, the only
    one); a district-level caller naming none with several subdistricts assesses the whole district."""
    sub = subdistricts.meant_or_district(session, subdistrict, caller=access.subdistrict_code)
    if sub is not None:
        return Assessed(sub, Scope(sub.code), sub.name)
    rows = subdistrict_repo.list_all(session)
    if not rows:
        raise NotFound("数据库中还没有街道，无可考核")
    return Assessed(None, access, subdistricts.title(None, rows))


def units(
    session: Session,
    by: str,
    period: Period,
    access: Scope = EVERYTHING,
    subdistrict: str | None = None,
) -> list[formulas.Unit]:
    """Every unit of the kind with its counts (zero for a unit without cases); by grid level, the reports
    outside every grid as one more unit (code None) when there are any: the units add up to the subdistrict
    (the whole district: by subdistrict, one unit per subdistrict)."""
    _check_by(by)
    served = _served(session, access, subdistrict)
    found = {
        row.unit: row.counts
        for row in repo.counts(session, by, period.start, period.end, served.code, served.access)
    }
    names = repo.unit_names(session, by, served.code)
    out = [formulas.Unit(n.code, n.name, found.pop(n.code, formulas.UnitCounts())) for n in names]
    outside = found.pop(None, None)
    # Units with cases but unknown today (a retired grid's code, a department no longer listed).
    out += [formulas.Unit(code, code, c) for code, c in sorted(found.items(), key=lambda kv: kv[0] or "")]
    if outside is not None and by in repo.GRID_LEVELS:
        out.append(formulas.Unit(None, OUTSIDE_NAME if by != "subdistrict" else DISTRICT_LEVEL_NAME, outside))
    return out


def assess(
    session: Session,
    period: str,
    by: str,
    weights: Mapping[str, float],
    min_cases: int,
    access: Scope = EVERYTHING,
    subdistrict: str | None = None,
) -> Assessment:
    """The month's assessment; a subdistrict's principal (`access`) assesses its own cases only; a
    district-level one the subdistrict it names, or the whole district (`_served`)."""
    p = parse_period(period)
    served = _served(session, access, subdistrict)
    assessed = formulas.assess(units(session, by, p, access, subdistrict), weights, min_cases)
    return Assessment(
        p.label, by, p.start, p.end, min_cases, dict(weights), assessed, served.code, served.title
    )


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One month of the trend: the subdistrict's counts and indicators."""

    period: str
    counts: formulas.UnitCounts
    indicators: dict[str, formulas.Indicator]


def trend(
    session: Session,
    period: str,
    months: int = 12,
    access: Scope = EVERYTHING,
    subdistrict: str | None = None,
) -> list[TrendPoint]:
    """The subdistrict's (or the whole district's) last `months` months up to `period`, oldest first (every
    case, outside included)."""
    last = parse_period(period)
    served = _served(session, access, subdistrict)
    out = []
    for back in range(months - 1, -1, -1):
        p = last.previous(back)
        counts = formulas.total(
            r.counts for r in repo.counts(session, "subdistrict", p.start, p.end, served.code, served.access)
        )
        out.append(TrendPoint(p.label, counts, formulas.indicators(counts)))
    return out


def _sheet(a: Assessment, points: list[TrendPoint]) -> assessment_xlsx.KindSheet:
    from geo_grid.render import assessment_xlsx

    return assessment_xlsx.KindSheet(
        label=UNIT_KIND_LABELS[a.by],
        units=[
            assessment_xlsx.UnitRow(
                u.code, u.name, u.score, u.rank, u.counts.cases,
                {k: (v.numerator, v.denominator, v.rate) for k, v in u.indicators.items()},
            )
            for u in a.units
        ],
        trend=[assessment_xlsx.TrendRow(t.period, {k: v.rate for k, v in t.indicators.items()}) for t in points],
    )  # fmt: skip


def workbook(
    session: Session,
    period: str,
    weights: Mapping[str, float],
    min_cases: int,
    kinds: tuple[str, ...] = UNIT_KINDS,
    access: Scope = EVERYTHING,
    subdistrict: str | None = None,
) -> bytes:
    """The month's assessment as an .xlsx: one sheet per unit kind (all of them unless `kinds` says)."""
    for by in kinds:
        _check_by(by)
    p = parse_period(period)
    # One trend, the subdistrict's, on every sheet: each month of it is a full pass over the month's cases.
    points = trend(session, p.label, access=access, subdistrict=subdistrict)
    sheets = [
        _sheet(assess(session, p.label, by, weights, min_cases, access, subdistrict), points) for by in kinds
    ]
    title = _served(session, access, subdistrict).title
    from geo_grid.render import assessment_xlsx

    return assessment_xlsx.workbook(title, p.label, min_cases, dict(weights), sheets)
