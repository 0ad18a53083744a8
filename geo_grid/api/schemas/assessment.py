"""Response schema of GET /assessment (the Assessment record of services/assessment.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from geo_grid.assessment import INDICATORS

_INDICATOR_NAMES = "；".join(f"{d.key}：{d.label}" for d in INDICATORS)


class IndicatorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    numerator: int = Field(description="分子（计数类指标即该数）")
    denominator: int | None = Field(description="分母；计数类指标（自行处置数、督办数、催办数）为 null")
    rate: float | None = Field(description="比率（0–1，保留 4 位小数）；分母为 0 或计数类指标时为 null")


class AssessedUnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str | None = Field(
        description="单位编码：网格编码、部门名称或微网格长的人员编号；网格之外的上报（街道中心）为 null"
    )
    name: str | None = Field(description="单位名称")
    indicators: dict[str, IndicatorOut] = Field(
        description=f"各项指标（分子、分母、比率）：{_INDICATOR_NAMES}"
    )
    score: float | None = Field(description="综合得分（0–100，按权重加权；无可计算指标时为 null）")
    rank: int | None = Field(description="排名（得分相同名次相同）；案件数少于最低案件数或未计分时为 null")
    ranked: bool = Field(description="是否参与排名")


class AssessmentOut(BaseModel):
    """Every unit of one kind assessed for one calendar month (Beijing time)."""

    model_config = ConfigDict(from_attributes=True)

    period: str = Field(description="考核期间（月份，YYYY-MM，北京时间）", examples=["2026-10"])
    by: str = Field(description="考核对象：subdistrict、community、tertiary、micro、department、person")
    start: datetime = Field(description="期间开始（含）")
    end: datetime = Field(description="期间结束（不含）")
    min_cases: int = Field(description="参与排名的最低案件数（期间内上报的案件）")
    weights: dict[str, float] = Field(description="综合得分的权重（指标 → 权重）")
    units: list[AssessedUnitOut] = Field(description="每个单位一项，按名次排列，未排名的在后")
    subdistrict: str | None = Field(
        description="考核的街道编码；区级调用者未指定街道且库中有多个街道时为 null（全区：按街道逐一考核）"
    )
    title: str = Field(description="考核范围的名称：街道名称，全区时为区名", examples=["未来路街道"])
