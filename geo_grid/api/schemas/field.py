"""Schemas of the grid worker's phone pages (网格手机终端): GET /m/tasks, GET /m/tasks/{id}, and the
worker's actions (POST /reports/{id}/arrival, /m/tasks/{id}/notes, /m/tasks/{id}/feedback).

What a grid worker sees of their own tasks is geo_grid/privacy.assigned_task: exact point and address,
the reporter's contact masked, free text scrubbed of phone and ID numbers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from geo_grid.api.schemas.reports import ReportEventOut


class TaskOut(BaseModel):
    """One open task of the grid worker (a report dispatched to the team of one of their grids)."""

    id: int = Field(description="上报编号")
    category: str = Field(description="类别代码")
    category_label: str = Field(description="类别中文名")
    description: str = Field(description="描述（电话、身份证号已隐藏）")
    status: str = Field(description="状态代码：dispatched（已派遣）或 in_progress（处置中）…")
    status_label: str = Field(description="状态中文名")
    address_text: str | None = Field(default=None, description="地址")
    lon: float | None = Field(default=None, description="WGS84 经度（精确位置，便于到场）")
    lat: float | None = Field(default=None, description="WGS84 纬度")
    micro_code: str | None = Field(default=None, description="微网格编码（18 位）")
    tertiary_code: str | None = Field(default=None, description="三级网格编码（15 位）")
    community_code: str | None = Field(default=None, description="社区编码（12 位）")
    reporter_contact: str | None = Field(default=None, description="上报人联系方式（已打码，如 138****5678）")
    created_at: datetime = Field(description="上报时间")
    due_at: datetime = Field(description="办结期限")
    overdue: bool = Field(description="是否已超期")
    stage_label: str | None = Field(default=None, description="当前办理阶段")
    stage_due_at: datetime | None = Field(default=None, description="当前阶段期限")
    light: str | None = Field(default=None, description="当前阶段的灯：green、yellow、red")
    distance_m: float | None = Field(default=None, description="与给出位置的距离（米）；未给位置时为空")
    arrived_at: datetime | None = Field(default=None, description="最近一次到场登记的时间")


class TaskListOut(BaseModel):
    """The worker's open tasks: nearest first when a position is given, else newest first."""

    items: list[TaskOut] = Field(description="任务（已派遣、处置中）")
    total: int = Field(description="任务数")
    order: str = Field(description="排序：nearest（由近及远）或 newest（最新在前）", examples=["nearest"])
    grid_codes: list[str] = Field(description="本人担任职务的网格编码")


class TaskDetailOut(TaskOut):
    """One task with its history (the worker's own grid only)."""

    allowed_actions: list[str] = Field(description="当前可执行的操作：arrival、note、photo、feedback")
    history: list[ReportEventOut] = Field(description="处理经过（由早到晚）")


class ArrivalIn(BaseModel):
    """到场登记: an optional note and the phone's position."""

    note: str | None = Field(default=None, max_length=1000, description="备注")
    lon: float | None = Field(default=None, ge=-180, le=180, description="到场位置经度（WGS84，可选）")
    lat: float | None = Field(default=None, ge=-90, le=90, description="到场位置纬度（WGS84，可选）")


class NoteIn(BaseModel):
    """A note of the worker on their task."""

    note: str = Field(min_length=1, max_length=1000, description="备注内容")


class FeedbackIn(BaseModel):
    """办结反馈: what was done (goes to the centre's verification, 核查)."""

    note: str | None = Field(default=None, max_length=1000, description="处置情况说明")


class FiledReportOut(BaseModel):
    """A report the worker filed (我的上报), as privacy.assigned_task shows it to them."""

    id: int = Field(description="上报编号")
    category: str = Field(description="类别代码")
    category_label: str = Field(description="类别中文名")
    channel: str = Field(description="渠道代码（网格手机终端上报为 grid_phone）")
    description: str = Field(description="描述（电话、身份证号已隐藏）")
    status: str = Field(description="状态代码")
    status_label: str = Field(description="状态中文名")
    address_text: str | None = Field(default=None, description="地址")
    lon: float | None = Field(default=None, description="WGS84 经度")
    lat: float | None = Field(default=None, description="WGS84 纬度")
    micro_code: str | None = Field(default=None, description="微网格编码；网格外为空")
    outside: bool = Field(description="点不在任何网格内（由街道中心处理）")
    created_at: datetime = Field(description="上报时间")


class FiledReportListOut(BaseModel):
    """我的上报: the reports the caller filed, newest first (at most 50)."""

    items: list[FiledReportOut] = Field(description="上报（最新在前）")
    total: int = Field(description="条数")
