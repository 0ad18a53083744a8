"""Schemas of the case-handling branches under /reports/{id}/… (README "Case handling (数字城管)")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from geo_grid.timeparse import ApiDatetime

Reason = Annotated[str, Field(min_length=1, max_length=2000, description="理由（记入处理经过）")]
Note = Annotated[str | None, Field(default=None, max_length=2000, description="备注（记入处理经过）")]


class SelfResolveIn(BaseModel):
    after_photo_url: str = Field(max_length=500, description="处置后照片链接（http/https）")
    note: Note = None


class ReturnIn(BaseModel):
    reason: Reason


class ExtensionIn(BaseModel):
    hours: float = Field(gt=0, le=2000, description="申请延长的时间（小时；工作时、工作日阶段按工作时计）")
    reason: Reason


class ExtensionCreated(BaseModel):
    request_id: int = Field(description="延期申请编号（审批时用）")
    report_id: int = Field(description="案件编号")


class DecisionIn(BaseModel):
    approve: bool = Field(description="true 批准（阶段期限顺延），false 不批准")
    note: Note = None


class ParkIn(BaseModel):
    reason: Reason
    review_on: date = Field(description="复核日期（到期自动恢复办理）")


class UnparkIn(BaseModel):
    note: Note = None


class SupervisionIn(BaseModel):
    kind: Literal["supervise", "urge"] = Field(default="supervise", description="supervise 督办、urge 催办")
    reason: Reason
    target: str | None = Field(
        default=None, max_length=100, description="督办对象（默认：当前责任单位的上级）"
    )
    due_at: ApiDatetime | None = Field(default=None, description="督办期限")
    hours: float | None = Field(default=None, gt=0, le=2000, description="或：从现在起的工作时数")


class OutcomeIn(BaseModel):
    outcome: str = Field(min_length=1, max_length=2000, description="办理结果")


class SupervisionOut(BaseModel):
    id: int = Field(description="督办单编号")
    report_id: int = Field(description="案件编号")
    kind: str = Field(description="supervise 督办、urge 催办")
    kind_label: str = Field(description="督办或催办")
    automatic: bool = Field(description="是否超期自动催办")
    issued_by: str = Field(description="发起人")
    target: str = Field(description="督办对象")
    reason: str = Field(description="事由")
    issued_at: datetime = Field(description="发起时间")
    due_at: datetime | None = Field(default=None, description="督办期限")
    outcome: str | None = Field(default=None, description="办理结果")
    resolved_at: datetime | None = Field(default=None, description="办结时间")


class SupervisionList(BaseModel):
    items: list[SupervisionOut] = Field(description="督办单")


class StageOut(BaseModel):
    id: int = Field(description="阶段记录编号")
    report_id: int = Field(description="案件编号")
    stage: str = Field(description="阶段代码")
    stage_label: str = Field(description="阶段中文名")
    started_at: datetime = Field(description="开始时间")
    due_at: datetime = Field(description="期限")
    yellow_at: datetime = Field(description="亮黄灯时间")
    limit_value: float = Field(description="时限数值（进入阶段时的类别时限）")
    limit_unit: str = Field(description="时限单位")
    ended_at: datetime | None = Field(default=None, description="结束时间")
    on_time: bool | None = Field(default=None, description="是否按期（挂账结束的阶段不计）")
    extended: bool = Field(description="是否批准过延期")
    unit_kind: str | None = Field(
        default=None, description="责任单位类型：department、grid_team、centre、volunteer"
    )
    unit_code: str | None = Field(default=None, description="责任单位")


class StageList(BaseModel):
    items: list[StageOut] = Field(description="案件经过的阶段")


class SweepOut(BaseModel):
    red: int = Field(description="本次新记录的红灯（每个已自动催办）")
    unparked: int = Field(description="到复核日期恢复办理的挂账案件")
