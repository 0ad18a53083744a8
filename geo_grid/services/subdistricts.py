"""Subdistricts as data: which subdistrict a deployment serves, and the CSV path in and out.

Until requests are scoped by subdistrict (issue 15), the service serves the one subdistrict of its
database; a second one is refused rather than guessed.
"""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy.orm import Session

from geo_grid.errors import Conflict, ImportFailed
from geo_grid.io.csvfile import to_text
from geo_grid.repository import generations as generation_repo
from geo_grid.repository import subdistricts as repo
from geo_grid.repository.subdistricts import Subdistrict

_CODE_DIGITS = {"code": 9, "district_code": 6, "city_code": 6, "province_code": 6}


def home(session: Session) -> Subdistrict | None:
    """The subdistrict this deployment serves (None before any is loaded): the only one, or the only one with
    live boundaries (another may be preparing its first draft); two live ones are refused."""
    rows = repo.list_all(session)
    if len(rows) > 1:  # the one with live boundaries (another may be preparing its first draft)
        rows = [r for r in rows if generation_repo.active(session, r.code) is not None] or rows
    if len(rows) > 1:
        raise Conflict(
            "数据库中有多个街道，本服务一次只服务一个街道",
            {"subdistricts": [r.code for r in rows]},
        )
    return rows[0] if rows else None


def home_code(session: Session) -> str:
    """The served subdistrict's code; a database without one has nothing to draw or activate."""
    sub = home(session)
    if sub is None:
        raise Conflict("数据库中还没有街道：先导入街道（geo-grid subdistricts import）或示例数据")
    return sub.code


def parse_csv(content: str) -> list[Subdistrict]:
    """Rows of a subdistricts CSV (header = the table's columns); any bad row fails the whole file."""
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    missing = set(repo.COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise ImportFailed(f"缺少列：{', '.join(sorted(missing))}", {"missing": sorted(missing)})
    out: list[Subdistrict] = []
    for line, row in enumerate(reader, start=2):
        values = {c: (row.get(c) or "").strip() for c in repo.COLUMNS}
        for column, digits in _CODE_DIGITS.items():
            if not re.fullmatch(rf"[0-9]{{{digits}}}", values[column]):
                raise ImportFailed(
                    f"第{line}行：{column} 应为{digits}位数字", {"line": line, "column": column}
                )
        empty = [c for c, v in values.items() if not v]
        if empty:
            raise ImportFailed(f"第{line}行：{', '.join(empty)} 为空", {"line": line, "columns": empty})
        if not values["code"].startswith(values["district_code"]):
            raise ImportFailed(f"第{line}行：街道编码不在所属区县编码之下", {"line": line})
        out.append(Subdistrict(**values))
    return out


def import_csv(session: Session, content: str) -> int:
    """Insert or update every row of the file in the caller's transaction (all or nothing)."""
    return repo.upsert(session, parse_csv(content))


def export_csv(session: Session) -> str:
    return to_text(repo.COLUMNS, ([getattr(s, c) for c in repo.COLUMNS] for s in repo.list_all(session)))
