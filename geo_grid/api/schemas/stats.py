"""Response schema of GET /grids/{code}/stats and GET /stats (the GridStats record of services/stats.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RateOut(BaseModel):
    numerator: int = Field(description="分子")
    denominator: int = Field(description="分母")
    rate: float | None = Field(description="比率（0–1，保留 4 位小数）；分母为 0 时为 null")


class FiguresOut(BaseModel):
    total: int = Field(description="上报总数")
    overdue: int = Field(description="超期数（截至 overdue_as_of）")
    median_hours_to_close: float | None = Field(description="办结用时中位数（小时）")
    response_rate: RateOut = Field(description="响应率：按时受理 / 应处理（不含不予受理、重复）")
    resolution_rate: RateOut = Field(description="解决率：结案且解决 / 应处理")
    satisfaction_rate: RateOut = Field(description="满意率：评价 4–5 / 已评价")


class ChildStatsOut(FiguresOut):
    code: str | None = Field(description="下级网格编码；网格之外的上报为 null")
    level: str | None = Field(
        description="下级层级：subdistrict（全区统计的各街道）、community、tertiary、micro；网格之外为 outside"
    )
    name: str | None = Field(description="下级网格名称")


class PeriodOut(BaseModel):
    since: datetime | None = Field(description="起（含）")
    until: datetime | None = Field(description="止（不含）")


class GridStatsOut(FiguresOut):
    """A grid's report statistics and the same for each child grid (they add up)."""

    code: str = Field(description="网格编码（9、12、15 或 18 位）；全区统计为区县编码（6 位）")
    level: str = Field(description="层级：district（全区）、subdistrict、community、tertiary、micro")
    name: str | None = Field(description="网格名称")
    period: PeriodOut = Field(description="统计期间（按上报时间）")
    overdue_as_of: datetime = Field(description="判断超期的时刻（期间结束或当前）")
    by_status: dict[str, int] = Field(description="各状态的数量")
    by_category: dict[str, int] = Field(description="各类别的数量")
    children: list[ChildStatsOut] = Field(description="各下级网格的同样统计")
