"""Popup and label text of the coverage map (grids, people, facilities, problems); the labels are labels.py's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from geo_grid.labels import ATTRIBUTE_LABELS, FACILITY_LABELS, LEVEL_LABELS
from geo_grid.render.common import popup_table

if TYPE_CHECKING:
    from geo_grid.render.coverage import GridShape


def people_rows(people: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    rows = []
    for p in people:
        role = p.get("duty") or p.get("role_label") or p.get("role") or ""
        rows.append((str(role), f"{p.get('name', '')} {p.get('phone') or ''}".strip()))
    return rows


def grid_popup(g: GridShape, community: str | None) -> str:
    level = LEVEL_LABELS[g.level]
    rows = [("编码", g.code), ("层级", level)]
    if community:
        rows.append(("社区", community))
    rows += people_rows(g.people) or [("人员", "（未配备）")]
    return popup_table(g.name, rows)


def short_name(g: GridShape, parent_names: dict[str, str]) -> str:
    """A micro-grid's name without its tertiary grid's (康复社区第1网格第1微网格 → 第1微网格)."""
    parent = parent_names.get(g.parent_code, "")
    return g.name.removeprefix(parent) if parent and g.name != parent else g.name


def _number(v: Any) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def facility_popup(f: dict[str, Any]) -> str:
    rows = [("类型", FACILITY_LABELS.get(f["kind"], f["kind"]))]
    for k, v in (f.get("attributes") or {}).items():
        if k in ATTRIBUTE_LABELS and v is not None:
            rows.append((ATTRIBUTE_LABELS[k], _number(v)))
    if f.get("micro_code"):
        rows.append(("所在微网格", f["micro_code"]))
    return popup_table(f["name"], rows)


def duty_popup(title: str, role: str, name: str, chiefs: Sequence[str], codes: dict[str, str | None]) -> str:
    """A road segment's or courtyard's popup: `title`：name, its chiefs (`role`), its grids."""
    rows = [(role, "、".join(chiefs) or "（未配备）")]
    for key, label in (("micro_code", "微网格"), ("tertiary_code", "三级网格")):
        if codes.get(key):
            rows.append((label, str(codes[key])))
    return popup_table(f"{title}：{name}", rows)
