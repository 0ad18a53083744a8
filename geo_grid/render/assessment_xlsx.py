"""The monthly assessment as an Excel workbook (what the offices open), in Chinese: a sheet of definitions,
then one sheet per unit kind with the subdistrict's 12-month trend (table and line chart), its ranking (bar chart) and
the table of every unit with each indicator's rate, numerator and denominator."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from geo_grid.assessment import INDICATORS, Better, IndicatorDef

# Indicators drawn in the trend chart (the closing figures and the public's view).
TREND_KEYS = (
    "closure_rate",
    "on_time_closure_rate",
    "on_time_handling_rate",
    "registration_rate",
    "satisfaction_rate",
)
RANKING_BARS = 30  # the ranking chart shows the best 30 ranked units at most
PERCENT = "0.00%"
HEADER = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")

# What each indicator counts, for the 指标说明 sheet (README "Assessment (考核)" has the full rules).
DEFINITIONS = {
    "registration_rate": "期间内立案的案件 / 期间内受理的案件（自办自结不计立案）",
    "on_time_handling_rate": "期间内结束且未超时的处置阶段 / 期间内结束的处置阶段（挂账案件不计）",
    "closure_rate": "应结案件中期间结束前已结案的 / 应结案数",
    "on_time_closure_rate": "应结案件中在结案期限内结案的 / 应结案数",
    "rework_rate": "期间内的返工次数 / 期间内结束的处置阶段",
    "extension_rate": "期间内批准的延期 / 期间内立案的案件",
    "return_rate": "期间内的退回次数 / 期间内的派遣次数（含二次派遣）",
    "self_resolved": "期间内自办自结（自行处置）结案的案件数",
    "response_rate": "期间内上报的应处理案件中按时受理的 / 应处理案件（不含不予受理、重复）",
    "resolution_rate": "期间内上报的应处理案件中已结案且解决的 / 应处理案件",
    "satisfaction_rate": "期间内上报并已评价的案件中评价 4–5 分的 / 已评价案件",
    "supervisions": "期间内发出的督办单数",
    "urges": "期间内发出的催办单数（含亮红灯时自动催办）",
}
DUE_NOTE = (
    "应结案数：期间内应处理（不含不予受理、重复、自办自结、期间内挂账）的案件中，考核时点落在期间内的案件；"
    "考核时点为结案期限，期限前已结案的为结案时间。"
)


@dataclass(frozen=True, slots=True)
class UnitRow:
    code: str | None
    name: str | None
    score: float | None
    rank: int | None
    cases: int
    values: dict[str, tuple[int, int | None, float | None]]  # key → numerator, denominator, rate


@dataclass(frozen=True, slots=True)
class TrendRow:
    period: str
    rates: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class KindSheet:
    """One unit kind: its Chinese name, its units in rank order, and the subdistrict's trend (oldest first)."""

    label: str
    units: Sequence[UnitRow]
    trend: Sequence[TrendRow]


def _header(ws: Worksheet, row: int, titles: Sequence[str]) -> None:
    for col, title in enumerate(titles, start=1):
        cell = ws.cell(row=row, column=col, value=title)
        cell.font = HEADER
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _label(key: str) -> str:
    return next(d.label for d in INDICATORS if d.key == key)


def _definitions(ws: Worksheet, place: str, period: str, min_cases: int, weights: dict[str, float]) -> None:
    ws.title = "指标说明"
    ws["A1"] = f"{place} {period} 网格化管理考核"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = (
        f"期间内上报案件少于 {min_cases} 件的单位列出但不排名；综合得分 = 各指标得分按权重的加权平均（0–100）。"
    )
    ws["A3"] = DUE_NOTE
    _header(ws, 5, ("指标", "代码", "计算方法", "方向", "权重"))
    direction = {Better.HIGHER: "越高越好", Better.LOWER: "越低越好", Better.COUNT: "计数"}
    for i, d in enumerate(INDICATORS, start=6):
        ws.cell(row=i, column=1, value=d.label)
        ws.cell(row=i, column=2, value=d.key)
        ws.cell(row=i, column=3, value=DEFINITIONS[d.key])
        ws.cell(row=i, column=4, value=direction[d.better])
        ws.cell(row=i, column=5, value=weights.get(d.key, 0) if d.better is not Better.COUNT else None)
    for col, width in zip("ABCDE", (12, 24, 70, 10, 8), strict=True):
        ws.column_dimensions[col].width = width


def _unit_columns() -> list[tuple[str, IndicatorDef, str]]:
    cols: list[tuple[str, IndicatorDef, str]] = []
    for d in INDICATORS:
        if d.better is Better.COUNT:
            cols.append((d.label, d, "numerator"))
        else:
            cols += [
                (d.label, d, "rate"),
                (f"{d.label}分子", d, "numerator"),
                (f"{d.label}分母", d, "denominator"),
            ]
    return cols


def _kind_sheet(ws: Worksheet, place: str, sheet: KindSheet, period: str) -> None:
    ws["A1"] = f"{place} {period} 考核：{sheet.label}"
    ws["A1"].font = Font(bold=True, size=14)

    # The trend: a small table (rows 4–16) and its line chart.
    ws["A3"] = f"{place}近 12 个月趋势（全部案件）"
    ws["A3"].font = HEADER
    _header(ws, 4, ["月份", *(_label(k) for k in TREND_KEYS)])
    for i, t in enumerate(sheet.trend, start=5):
        ws.cell(row=i, column=1, value=t.period)
        for j, key in enumerate(TREND_KEYS, start=2):
            ws.cell(row=i, column=j, value=t.rates.get(key)).number_format = PERCENT
    last_trend = 4 + len(sheet.trend)
    if sheet.trend:
        line = LineChart()
        line.title = f"{place}：近 12 个月趋势"
        line.y_axis.title = "比率"
        line.y_axis.number_format = "0%"
        line.x_axis.title = "月份"
        line.add_data(Reference(ws, min_col=2, max_col=1 + len(TREND_KEYS), min_row=4, max_row=last_trend),
                      titles_from_data=True)  # fmt: skip
        line.set_categories(Reference(ws, min_col=1, min_row=5, max_row=last_trend))
        line.height, line.width = 7.5, 18
        ws.add_chart(line, "H3")

    # The units, in rank order (the ranked ones first, so the ranking chart reads the top rows).
    top = max(last_trend, 16) + 22  # below both charts
    ws.cell(row=top - 1, column=1, value="各单位指标（按名次）").font = HEADER
    cols = _unit_columns()
    _header(ws, top, ["名次", "编码", "名称", "综合得分", "案件数", *(c[0] for c in cols)])
    for i, u in enumerate(sheet.units, start=top + 1):
        ws.cell(row=i, column=1, value=u.rank)
        ws.cell(row=i, column=2, value=u.code)
        ws.cell(row=i, column=3, value=u.name)
        ws.cell(row=i, column=4, value=u.score)
        ws.cell(row=i, column=5, value=u.cases)
        for j, (_, d, part) in enumerate(cols, start=6):
            numerator, denominator, rate = u.values[d.key]
            value = {"numerator": numerator, "denominator": denominator, "rate": rate}[part]
            cell = ws.cell(row=i, column=j, value=value)
            if part == "rate":
                cell.number_format = PERCENT
    ws.freeze_panes = f"D{top + 1}"
    ws.column_dimensions["A"].width = 9
    ws.column_dimensions["B"].width = 20
    ws.column_dimensions["C"].width = 28
    for j in range(4, 6 + len(cols)):
        ws.column_dimensions[get_column_letter(j)].width = 11

    # The ranking: the score of the best ranked units.
    ranked = sum(1 for u in sheet.units if u.rank is not None)
    bars = min(ranked, RANKING_BARS)
    if bars:
        bar = BarChart()
        bar.type = "bar"  # horizontal: names read along the axis
        bar.title = f"{sheet.label}：综合得分排名（前 {bars} 名）"
        bar.x_axis.scaling.orientation = "maxMin"  # first place on top
        bar.y_axis.title = "综合得分"
        bar.add_data(Reference(ws, min_col=4, min_row=top, max_row=top + bars), titles_from_data=True)
        bar.set_categories(Reference(ws, min_col=3, min_row=top + 1, max_row=top + bars))
        bar.legend = None
        bar.height, bar.width = 7.5, 18
        ws.add_chart(bar, "H19")


def workbook(
    place: str, period: str, min_cases: int, weights: dict[str, float], sheets: Sequence[KindSheet]
) -> bytes:
    """The .xlsx bytes: 指标说明, then one sheet per unit kind in the order given."""
    wb = Workbook()
    first = wb.active
    assert first is not None
    _definitions(first, place, period, min_cases, weights)
    for sheet in sheets:
        _kind_sheet(wb.create_sheet(sheet.label), place, sheet, period)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
