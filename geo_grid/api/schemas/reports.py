"""Response schemas of /reports: one report (as the caller's role may see it), a page of them, GeoJSON.

`ReportOut` declares every field of the Report record (repository/report_records.py) plus the labels
the presenter adds; tests/db/test_report_records.py checks that the two agree. Fields the privacy policy
drops for the public (geo_grid/privacy.py) are optional: routes answer with `response_model_exclude_unset`
so that a field left out stays left out (not `null`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from geo_grid.api.schemas.people import PersonOut


class ReportEventOut(BaseModel):
    """One entry of a report's history (公众：备注与数据已去除电话、身份证号，坐标已粗化)."""

    kind: str = Field(description="事件类型：reported、transition、redispatch、claim、move、rating …")
    from_status: str | None = Field(default=None, description="原状态")
    to_status: str | None = Field(default=None, description="新状态")
    actor: str = Field(description="操作者（令牌名称、system 或 reporter）")
    note: str | None = Field(default=None, description="备注")
    data: dict[str, Any] = Field(default_factory=dict, description="事件数据（派遣对象、移动前后位置 …）")
    at: datetime = Field(description="发生时间")


class ReportOut(BaseModel):
    """A report as the caller's role may see it (geo_grid/privacy.py decides)."""

    id: int = Field(description="上报编号")
    external_id: str | None = Field(
        default=None, description="外部编号（导入时的 report_id；来源系统的工单编号）"
    )
    source: str | None = Field(
        default=None, description="来源系统（12345 热线、区级平台等），与 external_id 一起标识工单"
    )
    category: str = Field(description="类别代码（road_occupation …）")
    category_label: str = Field(description="类别中文名")
    description: str = Field(description="描述（公众：电话、身份证号已隐藏）")
    channel: str = Field(description="渠道代码（public_account、grid_phone、community_pc、hotline）")
    channel_label: str = Field(description="渠道中文名")
    status: str = Field(description="状态代码")
    status_label: str = Field(description="状态中文名（上报、受理 …）")
    allowed_next: list[str] = Field(description="允许的下一状态")
    reporter_contact: str | None = Field(default=None, description="上报人联系方式（仅调度员及以上可见）")
    photo_urls: list[str] = Field(default_factory=list, description="照片链接（http/https）")
    address_text: str | None = Field(default=None, description="地址（公众：只到道路名）")
    input_crs: str | None = Field(default=None, description="上报坐标系（仅调度员及以上可见）")
    input_lon: float | None = Field(default=None, description="上报原始经度（仅调度员及以上可见）")
    input_lat: float | None = Field(default=None, description="上报原始纬度（仅调度员及以上可见）")
    lon: float | None = Field(default=None, description="WGS84 经度（公众：保留 3 位小数）")
    lat: float | None = Field(default=None, description="WGS84 纬度（公众：保留 3 位小数）")
    micro_code: str | None = Field(default=None, description="微网格编码（18 位）")
    tertiary_code: str | None = Field(default=None, description="三级网格编码（15 位）")
    community_code: str | None = Field(default=None, description="社区编码（12 位）")
    subdistrict_code: str | None = Field(
        default=None, description="所属街道编码（9 位，由其街道中心受理）；空：区级（无点位）"
    )
    outside: bool = Field(description="是否在所有网格之外（由街道中心处理）")
    near_boundary: bool = Field(description="是否靠近微网格边界")
    possible_duplicate_of: int | None = Field(default=None, description="疑似重复的上报编号")
    duplicate_of: int | None = Field(default=None, description="确认重复的原上报编号")
    dispatch_kind: str | None = Field(
        default=None, description="派遣方式：grid_team、department、volunteer、centre"
    )
    dispatch_target: str | None = Field(
        default=None, description="派遣对象（微网格编码、部门、社区或街道中心）"
    )
    claimed_by: str | None = Field(default=None, description="认领的双报到党员编号")
    claimed_by_name: str | None = Field(default=None, description="认领的双报到党员姓名")
    created_at: datetime = Field(description="上报时间")
    updated_at: datetime = Field(description="最后更新时间")
    due_at: datetime = Field(description="办结期限（按类别时限）")
    response_due_at: datetime = Field(description="响应期限（按类别时限）")
    accepted_at: datetime | None = Field(default=None, description="受理时间")
    closed_at: datetime | None = Field(default=None, description="办结时间")
    solved: bool | None = Field(default=None, description="是否解决（结案时）")
    rating: int | None = Field(default=None, description="评价（1–5）")
    rating_comment: str | None = Field(default=None, description="评价意见")
    overdue: bool = Field(description="是否超期（未办结、未挂账且已过办结期限）")
    stage: str | None = Field(
        default=None,
        description="当前阶段：accept 受理、register 立案、dispatch 派遣、handle 处置、verify 核查、close 结案",
    )
    stage_label: str | None = Field(default=None, description="当前阶段中文名")
    stage_due_at: datetime | None = Field(default=None, description="当前阶段期限（按类别时限和工作日历）")
    stage_yellow_at: datetime | None = Field(default=None, description="当前阶段亮黄灯的时间")
    stage_unit: str | None = Field(
        default=None,
        description="当前阶段时限单位：natural_hours 自然时、working_hours 工作时、working_days 工作日",
    )
    light: Literal["green", "yellow", "red"] | None = Field(
        default=None, description="当前阶段的灯：green 绿灯、yellow 黄灯、red 红灯（超期）；不在办理阶段为空"
    )
    stage_remaining_minutes: float | None = Field(
        default=None,
        description="当前阶段剩余时间（分钟；工作时、工作日阶段按工作时间计，自然时阶段按自然时间计；超期为负）",
    )
    self_resolved: bool = Field(default=False, description="是否自办自结")
    parked_until: date | None = Field(default=None, description="挂账复核日期")
    parked_from_status: str | None = Field(default=None, description="挂账前的状态")
    people: list[PersonOut] | None = Field(default=None, description="网格负责人（详情中）")
    history: list[ReportEventOut] | None = Field(default=None, description="处理经过（详情中）")


class ReportCreated(ReportOut):
    """POST /reports: the new report and its tracking code."""

    tracking_code: str | None = Field(
        default=None,
        description="追踪码：只显示这一次，凭它查看和评价此上报（同一来源工单再次推送时不再给出）",
    )
    # The 12345 exchange (services/exchange.py): what a pushed order's intake did.
    intake: Literal["created", "unchanged", "updated", "cancelled"] | None = Field(
        default=None,
        description="来源系统工单（source + external_id）：created 新建（201）；unchanged 已收到过、"
        "updated 已按新内容更新、cancelled 已退单（200，同一上报编号）",
    )


class ReportPage(BaseModel):
    """GET /reports (format=json): a page of reports."""

    items: list[ReportOut] = Field(description="本页的上报")
    total: int = Field(description="符合条件的上报总数")
    limit: int = Field(description="每页条数")
    offset: int = Field(description="跳过的条数")


class ReportPoint(BaseModel):
    type: Literal["Point"] = Field(description="几何类型")
    coordinates: tuple[float, float] = Field(description="[经度, 纬度]（WGS84）")


class ReportFeature(BaseModel):
    type: Literal["Feature"] = Field(description="GeoJSON 要素")
    id: int = Field(description="上报编号")
    properties: ReportOut = Field(description="上报的字段")
    geometry: ReportPoint | None = Field(description="上报位置；没有位置时为 null")


class ReportFeatureCollection(BaseModel):
    """GET /reports?format=geojson: a page of reports as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = Field(description="GeoJSON 要素集合")
    features: list[ReportFeature] = Field(description="本页的上报")
    total: int = Field(description="符合条件的上报总数")
    limit: int = Field(description="每页条数")
    offset: int = Field(description="跳过的条数")
