"""Subdistricts as data: which subdistrict a request is about, and the CSV path in and out.

One database holds the subdistricts of a district (issue 15). A request names its subdistrict (`resolve`);
when it names none, the only one is meant, and with several the answer asks for one (422
`subdistrict_required`) rather than guessing.
"""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy.orm import Session

from geo_grid.errors import Conflict, ImportFailed, SubdistrictNotFound, SubdistrictRequired
from geo_grid.io.csvfile import to_text
from geo_grid.repository import generations as generation_repo
from geo_grid.repository import subdistricts as repo
from geo_grid.repository.subdistricts import Subdistrict

_CODE_DIGITS = {"code": 9, "district_code": 6, "city_code": 6, "province_code": 6}


def home(session: Session) -> Subdistrict | None:
    """The subdistrict meant when a request names none: the only one, or the only one with live
    boundaries (another may be preparing its first draft); None before any is loaded. With several,
    SubdistrictRequired (422) lists them."""
    rows = repo.list_all(session)
    if len(rows) > 1:  # the one with live boundaries (another may be preparing its first draft)
        rows = [r for r in rows if generation_repo.active(session, r.code) is not None] or rows
    if len(rows) > 1:
        raise SubdistrictRequired(
            f"数据库中有{len(rows)}个街道，请指明街道编码（subdistrict）",
            {"subdistricts": [r.code for r in rows]},
        )
    return rows[0] if rows else None


def home_code(session: Session) -> str:
    """The code of `home`; a database without a subdistrict has nothing to draw or activate."""
    return resolve(session).code


def resolve(session: Session, code: str | None = None) -> Subdistrict:
    """The subdistrict a request names (404 when unknown), or the only one when it names none (422 when
    there are several, 409 when there is none yet)."""
    if code is not None:
        sub = repo.get(session, code)
        if sub is None:
            raise SubdistrictNotFound(f"没有编码为 {code} 的街道", {"subdistrict": code})
        return sub
    only = home(session)
    if only is None:
        raise Conflict("数据库中还没有街道：先导入街道（geo-grid subdistricts import）或示例数据")
    return only


def of_code(session: Session, code: str) -> Subdistrict | None:
    """The subdistrict a grid or community code belongs to (its first 9 digits), if it is a row."""
    return repo.get(session, code[:9]) if len(code) >= 9 else None


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
