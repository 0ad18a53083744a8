"""SQL for the case categories (GB/T 30428.2 shape), the work calendar and the working hours."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class StageLimit:
    """The time a stage may take: `value` in `unit` (natural_hours | working_hours | working_days)."""

    value: float
    unit: str


@dataclass(frozen=True, slots=True)
class Category:
    """One row of the categories table (the source of truth of categories, departments and limits)."""

    code: str
    name: str
    kind: str
    major_class: str
    minor_class: str
    standard_code: str
    department: str
    stage_limits: dict[str, StageLimit]
    register_condition: str
    close_condition: str
    sensitive: bool
    minor: bool
    active: bool
    updated_at: datetime | None = None

    def limits_json(self) -> dict[str, dict[str, Any]]:
        return {stage: {"value": lim.value, "unit": lim.unit} for stage, lim in self.stage_limits.items()}

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["stage_limits"] = self.limits_json()
        return out


CATEGORY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Category))
_WRITTEN = tuple(f for f in CATEGORY_FIELDS if f != "updated_at")


def _category(row: Any) -> Category:
    m = dict(row._mapping)
    limits = m.pop("stage_limits") or {}
    return Category(
        stage_limits={s: StageLimit(float(v["value"]), str(v["unit"])) for s, v in limits.items()}, **m
    )


def all_categories(session: Session) -> list[Category]:
    sql = f"SELECT {', '.join(CATEGORY_FIELDS)} FROM categories ORDER BY code"
    return [_category(r) for r in session.execute(text(sql))]


def version(session: Session) -> str:
    """A digest of the whole table: changes with any edit (the cache of services/categories.py probes it)."""
    sql = "SELECT md5(coalesce(string_agg(row_to_json(c)::text, ',' ORDER BY code), '')) FROM categories c"
    return str(session.execute(text(sql)).scalar_one())


def upsert(session: Session, categories: list[Category]) -> None:
    """Insert or replace the given categories (updated_at = geo_grid_now())."""
    if not categories:
        return
    cols = ", ".join(_WRITTEN)
    values = ", ".join(f":{c}" for c in _WRITTEN)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _WRITTEN if c != "code")
    stmt = text(
        f"""INSERT INTO categories ({cols}, updated_at) VALUES ({values}, geo_grid_now())
            ON CONFLICT (code) DO UPDATE SET {updates}, updated_at = geo_grid_now()"""
    ).bindparams(bindparam("stage_limits", type_=JSONB))
    session.execute(
        stmt,
        [{**{c: getattr(cat, c) for c in _WRITTEN}, "stage_limits": cat.limits_json()} for cat in categories],
    )


# ------------------------------------------------------------------------------------------ calendar
@dataclass(frozen=True, slots=True)
class CalendarDay:
    """A day that differs from the Mon–Fri week: a holiday (is_workday False) or a 调休 working day."""

    day: date
    is_workday: bool
    name: str | None


@dataclass(frozen=True, slots=True)
class WorkPeriod:
    subdistrict_code: str
    start: time
    end: time


def calendar_days(session: Session) -> list[CalendarDay]:
    rows = session.execute(text("SELECT day, is_workday, name FROM work_calendar ORDER BY day"))
    return [CalendarDay(r.day, r.is_workday, r.name) for r in rows]


def calendar_version(session: Session) -> str:
    """A digest of the calendar and the working hours (changes with any edit of either)."""
    sql = """SELECT md5(coalesce((SELECT string_agg(row_to_json(w)::text, ',' ORDER BY day) FROM work_calendar w), '')
                        || coalesce((SELECT string_agg(row_to_json(p)::text, ',' ORDER BY id) FROM work_periods p), ''))"""
    return str(session.execute(text(sql)).scalar_one())


def upsert_days(session: Session, days: list[CalendarDay]) -> None:
    if not days:
        return
    session.execute(
        text(
            """INSERT INTO work_calendar (day, is_workday, name) VALUES (:day, :is_workday, :name)
               ON CONFLICT (day) DO UPDATE SET is_workday = EXCLUDED.is_workday, name = EXCLUDED.name"""
        ),
        [asdict(d) for d in days],
    )


def work_periods(session: Session, subdistrict_code: str) -> list[WorkPeriod]:
    sql = """SELECT subdistrict_code, start, "end" FROM work_periods WHERE subdistrict_code = :code ORDER BY start"""
    return [
        WorkPeriod(r.subdistrict_code, r.start, r.end)
        for r in session.execute(text(sql), {"code": subdistrict_code})
    ]
