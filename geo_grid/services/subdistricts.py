"""Subdistricts as data: which subdistrict a request is about, and the CSV path in and out.

One database holds the subdistricts of a district (issue 15). The subdistrict a request is about is decided
here, once (`meant`): the one it names; else (1) the caller's own (a subdistrict's user or token), else
(2) the one the point or code in the request belongs to, else (3) the only one (or the only one with live
boundaries). When none of these decides, the answer asks for one (422 `subdistrict_required`) rather than
guessing — or, for a read-only summary or listing, the whole district is meant (`meant_or_district`
answers None). A write naming none (`for_write`) means the caller's own, else the only subdistrict: with
several it always asks.
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


def meant(
    session: Session,
    named: str | None = None,
    *,
    caller: str | None = None,
    belongs_to: str | None = None,
) -> Subdistrict:
    """The subdistrict a request is about (the rule above). `named`: the one the request names (404 when
    unknown, and for a subdistrict's caller when it is another one: as if it did not exist); `caller`: the
    caller's own (Principal.subdistrict_code); `belongs_to`: a grid, community or subdistrict code of the
    request, or the subdistrict its point lies in. 422 with several and nothing deciding, 409 with none."""
    found = _decided(session, named, caller, belongs_to)
    return found if found is not None else resolve(session)


def meant_or_district(
    session: Session,
    named: str | None = None,
    *,
    caller: str | None = None,
    belongs_to: str | None = None,
) -> Subdistrict | None:
    """As `meant`, for read-only summaries: None (the whole district) when nothing decides and the database
    holds several subdistricts — also when only one of them has live boundaries yet: the others' rows (a
    report, a community) are read too — or none yet."""
    found = _decided(session, named, caller, belongs_to)
    if found is not None:
        return found
    rows = repo.list_all(session)
    return rows[0] if len(rows) == 1 else None


def for_write(session: Session, named: str | None = None, *, caller: str | None = None) -> Subdistrict:
    """The subdistrict a write is about (a draft, an import, a community or address file): the one it
    names, else the caller's own, else the only one in the database. Writes never guess: with several and
    none of these deciding, 422 `subdistrict_required` lists them (even when only one has live boundaries);
    409 with none yet."""
    found = _decided(session, named, caller, None)
    if found is not None:
        return found
    rows = repo.list_all(session)
    if len(rows) > 1:
        raise SubdistrictRequired(
            f"数据库中有{len(rows)}个街道，请指明街道编码（subdistrict）",
            {"subdistricts": [r.code for r in rows]},
        )
    if not rows:
        raise Conflict("数据库中还没有街道：先导入街道（geo-grid subdistricts import）或示例数据")
    return rows[0]


def _decided(
    session: Session, named: str | None, caller: str | None, belongs_to: str | None
) -> Subdistrict | None:
    if named is not None:
        if caller is not None and named != caller:
            raise SubdistrictNotFound(f"没有编码为 {named} 的街道", {"subdistrict": named})
        return resolve(session, named)
    if caller is not None:
        return resolve(session, caller)
    if belongs_to:
        return of_code(session, belongs_to)
    return None


def title(sub: Subdistrict | None, rows: list[Subdistrict] | None = None) -> str:
    """The name people-facing titles start with: the subdistrict's, or — for the whole district — the
    district's name when every subdistrict (`rows`) lies in one district, else "" (a neutral title)."""
    if sub is not None:
        return sub.name
    districts = {r.district_name for r in rows or ()}
    return districts.pop() if len(districts) == 1 else ""


def title_of(session: Session, code: str | None = None) -> str:
    """`title` of the subdistrict `code` names, else of the only one, else of the whole district."""
    sub = repo.get(session, code) if code else None
    rows = repo.list_all(session)
    if sub is None and len(rows) == 1:
        sub = rows[0]
    return title(sub, rows)


def place_of(session: Session) -> str:
    """Where the data lies, as people write it: 郑州市金水区未来路街道 (one subdistrict), 郑州市金水区各街道."""
    rows = repo.list_all(session)
    if len(rows) == 1:
        r = rows[0]
        return f"{r.city_name}{r.district_name}{r.name}"
    chains = {(r.city_name, r.district_name) for r in rows}
    return f"{''.join(chains.pop())}各街道" if len(chains) == 1 else "各街道"


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
