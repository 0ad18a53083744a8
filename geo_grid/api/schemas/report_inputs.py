"""The request bodies of /reports (intake and the dispatcher's workflow actions), and the one rule for a
photo URL (also used by the case and Open311 routes)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field, HttpUrl, TypeAdapter, field_validator

from geo_grid import reporting

Note = Annotated[str | None, Field(default=None, max_length=2000, description="备注（记入处理经过）")]
CrsName = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def photo_url(value: str) -> str:
    """An http(s) URL only (no `javascript:`, `data:` …), without control characters; kept as given."""
    if _CONTROL.search(value):
        raise ValueError("a photo URL must not contain control characters")
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError("a photo URL must be an http:// or https:// URL")
    _HTTP_URL.validate_python(value)
    return value


class ReportIn(BaseModel):
    category: str = Field(
        max_length=40, description="类别代码（GET /categories 列出全部，如 road_occupation）"
    )
    channel: str = Field(max_length=20, description=f"渠道，取值：{'、'.join(reporting.CHANNELS)}")
    description: str = Field(default="", max_length=reporting.MAX_DESCRIPTION, description="问题描述")
    lon: float | None = Field(default=None, description="经度（坐标系见 crs）；不给时按 address 定位")
    lat: float | None = Field(default=None, description="纬度（坐标系见 crs）")
    crs: CrsName = Field(default="wgs84", description="坐标系：wgs84、cgcs2000、gcj02、bd09")
    address: str | None = Field(default=None, max_length=300, description="地址（没有坐标时用于定位）")
    reporter_contact: str | None = Field(
        default=None, max_length=200, description="上报人联系方式（个人信息，仅调度员及以上可见）"
    )
    photo_urls: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list, max_length=20, description="照片链接（仅 http/https）"
    )
    # The 12345 exchange (services/exchange.py): an order pushed by another system.
    source: str | None = Field(
        default=None,
        max_length=40,
        description="来源系统（如 12345）；与 external_id 一起使同一工单只生成一条上报",
    )
    external_id: str | None = Field(
        default=None, min_length=1, max_length=40, description="来源系统的工单编号"
    )
    cancel: bool = Field(default=False, description="来源系统退单：该工单的上报转为不予受理（附原因）")
    cancel_reason: str | None = Field(default=None, max_length=2000, description="退单原因")

    @field_validator("photo_urls")
    @classmethod
    def _http_only(cls, urls: list[str]) -> list[str]:
        return [photo_url(u) for u in urls]


class TransitionIn(BaseModel):
    to: str = Field(max_length=20, description="目标状态（须为当前状态允许的下一状态）")
    note: Note = None
    solved: bool | None = Field(default=None, description="结案时：是否解决（默认是）")
    duplicate_of: int | None = Field(default=None, ge=1, le=2**63 - 1, description="转为重复时：原上报编号")


class DispatchIn(BaseModel):
    kind: Literal["grid_team", "department", "volunteer", "centre"] = Field(
        default="grid_team", description="派遣方式：网格队伍、部门、双报到党员、街道中心"
    )
    target: str | None = Field(default=None, max_length=100, description="部门（默认按类别的派遣表）")
    note: Note = None


class ClaimIn(BaseModel):
    person_id: str = Field(max_length=20, description="认领的双报到党员的人员编号")
    note: Note = None


class MoveIn(BaseModel):
    lon: float = Field(description="新经度（坐标系见 crs）")
    lat: float = Field(description="新纬度（坐标系见 crs）")
    crs: CrsName = Field(default="wgs84", description="坐标系：wgs84、cgcs2000、gcj02、bd09")
    note: Note = None


class DuplicateIn(BaseModel):
    action: Literal["confirm", "dismiss"] = Field(description="confirm 确认重复，dismiss 驳回疑似重复")
    duplicate_of: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="原上报编号（默认为系统提示的疑似重复）"
    )
    note: Note = None


class RatingIn(BaseModel):
    rating: int = Field(ge=reporting.RATING_MIN, le=reporting.RATING_MAX, description="评价：1–5 分")
    comment: str | None = Field(default=None, max_length=2000, description="评价意见")
    by_phone: bool = Field(default=False, description="调度员代录上报人电话中给出的评价（记入审计日志）")
