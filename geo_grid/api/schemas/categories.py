"""Schemas of /categories: the case categories in the GB/T 30428.2 shape (README "Case handling (数字城管)")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Unit = Literal["natural_hours", "working_hours", "working_days"]


class StageLimitModel(BaseModel):
    value: float = Field(gt=0, le=1000, description="时限数值")
    unit: Unit = Field(description="单位：natural_hours 自然时、working_hours 工作时、working_days 工作日")


Stage = Literal["accept", "register", "dispatch", "handle", "verify", "close"]
# 每个阶段的时限（六个阶段都要有；受理按自然时计）：accept 受理、register 立案、dispatch 派遣、handle 处置、
# verify 核查、close 结案。
StageLimits = dict[Stage, StageLimitModel]


class CategoryIn(BaseModel):
    """一个类别（管理员新增或修改）。"""

    name: str = Field(min_length=1, max_length=100, description="名称")
    kind: Literal["component", "event"] = Field(description="component 部件、event 事件")
    major_class: str = Field(min_length=1, max_length=40, description="大类（GB/T 30428.2，如 街面秩序）")
    minor_class: str = Field(min_length=1, max_length=100, description="小类")
    standard_code: str = Field(min_length=1, max_length=20, description="标准编码或扩展编码")
    department: str = Field(min_length=1, max_length=100, description="处置部门")
    stage_limits: StageLimits = Field(
        description="各阶段时限：accept 受理、register 立案、dispatch 派遣、handle 处置、verify 核查、close 结案（六个都要有；受理按自然时计）"
    )
    register_condition: str = Field(default="", max_length=2000, description="立案条件")
    close_condition: str = Field(default="", max_length=2000, description="结案条件")
    sensitive: bool = Field(default=False, description="敏感类别：公众只见统计，不见逐条")
    minor: bool = Field(default=False, description="简易类别：网格员可自办自结")
    active: bool = Field(default=True, description="是否启用（停用后不再受理新上报）")


class CategoryCreate(CategoryIn):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$", description="类别代码")


class CategoryOut(CategoryCreate):
    kind_label: str = Field(description="部件或事件")
    updated_at: datetime | None = Field(default=None, description="最后修改时间")


class CategoryList(BaseModel):
    items: list[CategoryOut] = Field(description="全部类别")
