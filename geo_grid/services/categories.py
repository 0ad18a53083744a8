"""Case categories and the work calendar as data: the one place the service reads them from.

`table(session)` and `calendar(session)` are the only readers: each keeps one snapshot per process and
rebuilds it when the database's digest of the table moves (one tiny query per call), so an edit through the
API, the CLI or another process is seen by the next request. Everything that needs a category's department,
limits, sensitivity or `minor` flag, and every deadline, goes through them.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from geo_grid import reporting
from geo_grid.errors import ImportFailed, InvalidInput, NotFound, SubdistrictRequired
from geo_grid.io import csvfile
from geo_grid.labels import SUBDISTRICT_CENTRE
from geo_grid.repository import audit as audit_repo
from geo_grid.repository import categories as repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.repository.categories import CalendarDay, Category, StageLimit
from geo_grid.services import subdistricts
from geo_grid.workcalendar import NATURAL_HOURS, UNITS, WorkCalendar

KINDS = ("component", "event")
KIND_LABELS = {"component": "部件", "event": "事件"}
# GB/T 30428.2's 大类 of each kind (扩展部件 / 扩展事件: local additions with extension codes).
MAJOR_CLASSES: dict[str, tuple[str, ...]] = {
    "component": ("公用设施", "道路交通", "市容环境", "园林绿化", "房屋土地", "其他设施", "扩展部件"),
    "event": ("市容环境", "宣传广告", "施工管理", "街面秩序", "突发事件", "扩展事件"),
}


@dataclass(frozen=True, slots=True)
class CategoryTable:
    """The categories as one immutable snapshot."""

    categories: tuple[Category, ...]
    by_code: Mapping[str, Category] = field(default_factory=dict)

    @classmethod
    def of(cls, categories: Iterable[Category]) -> CategoryTable:
        cats = tuple(sorted(categories, key=lambda c: c.code))
        return cls(cats, {c.code: c for c in cats})

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.categories)

    @property
    def active_codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.categories if c.active)

    @property
    def sensitive(self) -> frozenset[str]:
        return frozenset(c.code for c in self.categories if c.sensitive)

    @property
    def labels(self) -> dict[str, str]:
        return {c.code: c.name for c in self.categories}

    def get(self, code: str) -> Category:
        cat = self.by_code.get(code)
        if cat is None:
            raise NotFound(f"没有类别 {code!r}", {"allowed": list(self.codes)})
        return cat

    def department_for(self, code: str) -> str:
        cat = self.by_code.get(code)
        return cat.department if cat else SUBDISTRICT_CENTRE

    def limit(self, code: str, stage: str) -> StageLimit:
        return self.get(code).stage_limits[stage]


_lock = threading.Lock()
_tables: dict[str, tuple[str, CategoryTable]] = {}  # database URL → (digest, table)
_calendars: dict[str, tuple[str, WorkCalendar]] = {}


def _key(session: Session) -> str:
    bind = session.get_bind()
    return str(bind.engine.url) if hasattr(bind, "engine") else str(id(bind))


def table(session: Session) -> CategoryTable:
    """The categories as they are in the database now (cached while its digest stays the same)."""
    key, digest = _key(session), repo.version(session)
    held = _tables.get(key)
    if held is not None and held[0] == digest:
        return held[1]
    new = CategoryTable.of(repo.all_categories(session))
    with _lock:
        _tables[key] = (digest, new)
    return new


def calendar(session: Session, subdistrict_code: str | None = None) -> WorkCalendar:
    """The work calendar and the subdistrict's working hours (cached while they stay the same). Without a
    subdistrict (a case of the district level: no place given) the one services/subdistricts.py decides
    (the only one); with several, the working hours they share — 422 only when theirs differ."""
    sub = subdistricts.meant_or_district(session, subdistrict_code)
    key, digest = f"{_key(session)}#{sub.code if sub else ''}", repo.calendar_version(session)
    held = _calendars.get(key)
    if held is not None and held[0] == digest:
        return held[1]
    days = repo.calendar_days(session)
    periods = (
        [(p.start, p.end) for p in repo.work_periods(session, sub.code)]
        if sub is not None
        else _shared_periods(session)
    )
    new = WorkCalendar.of(((d.day, d.is_workday) for d in days), periods)
    with _lock:
        _calendars[key] = (digest, new)
    return new


def _shared_periods(session: Session) -> list[tuple[time, time]]:
    """The working hours every subdistrict that set its own shares (the district level's); 422 when they
    differ: a case of no subdistrict cannot be timed then."""
    rows = subdistrict_repo.list_all(session)
    found = {tuple((p.start, p.end) for p in repo.work_periods(session, r.code)) for r in rows}
    found.discard(())
    if len(found) > 1:
        raise SubdistrictRequired(
            "各街道的工作时间不同，请指明街道编码（subdistrict）", {"subdistricts": [r.code for r in rows]}
        )
    return list(found.pop()) if found else []


# --------------------------------------------------------------------------------------- validation
def validate(cat: Category) -> None:
    """Refuse a category the service cannot use (Chinese message naming the field)."""
    problems: list[str] = []
    if (
        not cat.code
        or len(cat.code) > 40
        or not cat.code.replace("_", "").isalnum()
        or not cat.code.isascii()
    ):
        problems.append(f"类别编码 {cat.code!r} 须为 1–40 位英文字母、数字或下划线")
    if not cat.name.strip():
        problems.append("名称不能为空")
    if cat.kind not in KINDS:
        problems.append(f"kind 须为 {'、'.join(KINDS)}（部件 / 事件）")
    elif cat.major_class not in MAJOR_CLASSES[cat.kind]:
        problems.append(f"{KIND_LABELS[cat.kind]}大类须为：{'、'.join(MAJOR_CLASSES[cat.kind])}")
    if not cat.minor_class.strip():
        problems.append("小类不能为空")
    if not cat.standard_code.strip() or len(cat.standard_code) > 20:
        problems.append("标准编码（或扩展编码）须为 1–20 个字符")
    if cat.department not in reporting.DEPARTMENTS:
        problems.append(f"处置部门须为：{'、'.join(reporting.DEPARTMENTS)}")
    missing = [s for s in reporting.STAGES if s not in cat.stage_limits]
    extra = [s for s in cat.stage_limits if s not in reporting.STAGES]
    if missing or extra:
        problems.append(f"每个阶段都要有时限：{'、'.join(reporting.STAGES)}")
    for stage, lim in cat.stage_limits.items():
        if lim.unit not in UNITS:
            problems.append(f"{stage} 的时限单位须为 {'、'.join(UNITS)}")
        if not 0 < lim.value <= 1000:
            problems.append(f"{stage} 的时限须大于 0、不超过 1000")
    accept = cat.stage_limits.get("accept")
    if accept is not None and accept.unit != NATURAL_HOURS:
        problems.append("受理时限按自然时计（指挥中心三班24小时）")
    if problems:
        raise InvalidInput(f"类别 {cat.code!r} 有误：{problems[0]}", {"errors": problems})


def save(
    session: Session,
    categories: list[Category],
    actor: str,
    action: str,
    *,
    actor_token_id: int | None = None,
) -> CategoryTable:
    """Validate every category, then store them all (insert or replace) and audit the change."""
    for cat in categories:
        validate(cat)
    codes = [c.code for c in categories]
    if len(set(codes)) != len(codes):
        raise InvalidInput("同一类别编码出现了两次", {"codes": codes})
    before = table(session)
    repo.upsert(session, categories)

    def plain(cat: Category | None) -> dict[str, Any] | None:
        return None if cat is None else {k: v for k, v in cat.as_dict().items() if k != "updated_at"}

    changes = [
        {"code": c.code, "before": plain(before.by_code.get(c.code)), "after": plain(c)} for c in categories
    ]
    audit_repo.add(
        session, actor, action, {"changes": changes}, actor_token_id=actor_token_id,
        subject=f"categories:{','.join(codes)}"[:200],
    )  # fmt: skip
    return table(session)


# ------------------------------------------------------------------------------------------ CSV files
STAGE_COLUMNS = tuple(c for s in reporting.STAGES for c in (f"{s}_value", f"{s}_unit"))
CSV_HEADER = (
    "code", "name", "kind", "major_class", "minor_class", "standard_code", "department", *STAGE_COLUMNS,
    "register_condition", "close_condition", "sensitive", "minor", "active",
)  # fmt: skip
_TRUE, _FALSE = {"true", "1", "yes", "是", "t"}, {"false", "0", "no", "否", "f", ""}


def _cell(value: str | None) -> str:
    """A cell as read back: csvfile's formula guard (a leading ') undone."""
    text = (value or "").strip()
    if text.startswith("'") and text[1:2] in csvfile.FORMULA_START:
        return text[1:]
    return text


def _bool(value: str, name: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"{name} 须为 true 或 false，而不是 {value!r}")


def export_categories(session: Session, fh: IO[str]) -> int:
    rows = []
    for c in table(session).categories:
        limits = [v for s in reporting.STAGES for v in (c.stage_limits[s].value, c.stage_limits[s].unit)]
        rows.append([c.code, c.name, c.kind, c.major_class, c.minor_class, c.standard_code, c.department,
                     *limits, c.register_condition, c.close_condition, c.sensitive, c.minor, c.active])  # fmt: skip
    csvfile.write_rows(fh, CSV_HEADER, rows)
    return len(rows)


def _read_csv(path: Path, header: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [h for h in header if h not in (reader.fieldnames or [])]
            if missing:
                raise ImportFailed(f"{path.name}: 缺少列 {', '.join(missing)}", {"expected": list(header)})
            return [(n, {k: _cell(v) for k, v in row.items() if k}) for n, row in enumerate(reader, start=2)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportFailed(f"{path.name}: 无法读取：{exc}") from exc


def _category_of(row: Mapping[str, str]) -> Category:
    limits = {}
    for s in reporting.STAGES:
        try:
            value = float(row[f"{s}_value"])
        except ValueError:
            raise ValueError(f"{s}_value 须为数字，而不是 {row[f'{s}_value']!r}") from None
        limits[s] = StageLimit(value, row[f"{s}_unit"])
    return Category(
        code=row["code"], name=row["name"], kind=row["kind"], major_class=row["major_class"],
        minor_class=row["minor_class"], standard_code=row["standard_code"], department=row["department"],
        stage_limits=limits, register_condition=row["register_condition"], close_condition=row["close_condition"],
        sensitive=_bool(row["sensitive"], "sensitive"), minor=_bool(row["minor"], "minor"),
        active=_bool(row["active"], "active"),
    )  # fmt: skip


def import_categories(session: Session, path: Path, actor: str) -> dict[str, Any]:
    """Every row of a category CSV (the export's columns), validated; one bad row and nothing is stored."""
    parsed: list[Category] = []
    for line, row in _read_csv(path, CSV_HEADER):
        try:
            cat = _category_of(row)
            validate(cat)
        except ValueError as exc:
            raise ImportFailed(f"第 {line} 行：{exc}") from exc
        except InvalidInput as exc:
            raise ImportFailed(f"第 {line} 行：{exc.message}", exc.detail) from exc
        parsed.append(cat)
    if not parsed:
        raise ImportFailed(f"{path.name}: 没有类别")
    before = set(table(session).codes)
    save(session, parsed, actor, "import_categories")
    return {
        "imported": len(parsed),
        "added": sorted(c.code for c in parsed if c.code not in before),
        "updated": sorted(c.code for c in parsed if c.code in before),
    }


CALENDAR_HEADER = ("day", "is_workday", "name")


def export_calendar(session: Session, fh: IO[str]) -> int:
    days = repo.calendar_days(session)
    csvfile.write_rows(fh, CALENDAR_HEADER, [(d.day, d.is_workday, d.name) for d in days])
    return len(days)


def import_calendar(session: Session, path: Path, actor: str) -> dict[str, Any]:
    """Holidays and 调休 working days (day,is_workday,name), upserted whole or not at all."""
    days: list[CalendarDay] = []
    seen: set[date] = set()
    for line, row in _read_csv(path, CALENDAR_HEADER):
        try:
            day = date.fromisoformat(row["day"])
            is_workday = _bool(row["is_workday"], "is_workday")
        except ValueError as exc:
            raise ImportFailed(f"第 {line} 行：{exc}") from exc
        if day in seen:
            raise ImportFailed(f"第 {line} 行：日期 {day} 出现了两次")
        name = row.get("name") or None
        if name is not None and len(name) > 40:
            raise ImportFailed(f"第 {line} 行：名称最多 40 个字符")
        seen.add(day)
        days.append(CalendarDay(day, is_workday, name))
    if not days:
        raise ImportFailed(f"{path.name}: 没有日期")
    repo.upsert_days(session, days)
    summary: dict[str, Any] = {
        "days": len(days), "from": min(seen).isoformat(), "to": max(seen).isoformat(),
        "holidays": sum(1 for d in days if not d.is_workday), "workdays": sum(1 for d in days if d.is_workday),
    }  # fmt: skip
    audit_repo.add(session, actor, "import_calendar", summary, subject="work_calendar")
    return summary
