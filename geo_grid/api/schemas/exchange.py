"""Schemas of /exchange: source systems of the 12345 exchange and their outbox (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class SourceIn(BaseModel):
    name: str = Field(min_length=1, max_length=40, description="来源名称（其工单的 source），如 12345")
    webhook_url: str | None = Field(default=None, max_length=500, description="接收状态变化的 webhook 地址")


class SourceUpdate(BaseModel):
    webhook_url: str | None = Field(default=None, max_length=500, description="新的 webhook 地址")
    active: bool | None = Field(default=None, description="启用或停用（停用：不投递、不接收）")
    rotate: bool = Field(default=False, description="重新生成签名密钥和接入密钥（只显示这一次）")


class SourceOut(BaseModel):
    """A source system (never its secret or its key)."""

    name: str = Field(description="来源名称")
    webhook_url: str | None = Field(default=None, description="webhook 地址")
    active: bool = Field(description="是否启用")
    created_at: datetime = Field(description="配置时间")


class SourceCreated(SourceOut):
    """A new (or rotated) source: its secret and API key, shown this once."""

    secret: str | None = Field(default=None, description="HMAC-SHA256 签名密钥（只显示这一次）")
    api_key: str | None = Field(default=None, description="推送工单用的接入密钥（只显示这一次）")


class OutboxMessageOut(BaseModel):
    """One message to a source's webhook and its delivery state."""

    id: int = Field(description="消息编号（请求头 X-GeoGrid-Message-Id）")
    source: str = Field(description="来源系统")
    report_id: int = Field(description="上报编号")
    event_id: int | None = Field(default=None, description="处理经过中的事件编号")
    state: Literal["pending", "delivered", "failed"] = Field(
        description="pending 待投递、delivered 已投递、failed 投递失败"
    )
    payload: dict[str, Any] = Field(description="消息内容（状态变化）")
    created_at: datetime = Field(description="入队时间（与状态变化同一事务）")
    attempts: int = Field(description="已尝试次数")
    next_attempt_at: datetime = Field(description="下次尝试时间")
    delivered_at: datetime | None = Field(default=None, description="对方确认（2xx）的时间")
    last_error: str | None = Field(default=None, description="最近一次失败的原因")


class OutboxPage(BaseModel):
    items: list[OutboxMessageOut] = Field(description="本页消息（按编号）")
    total: int = Field(description="符合条件的消息数")
    counts: dict[str, int] = Field(description="全部消息：pending、delivered、failed 各多少")


class RedeliverIn(BaseModel):
    ids: list[int] | None = Field(
        default=None, max_length=10_000, description="消息编号（不给：全部失败消息）"
    )
    source: str | None = Field(default=None, max_length=40, description="只重发此来源的失败消息")


class RedeliverOut(BaseModel):
    redelivered: int = Field(description="重新排入投递的消息数")
