"""GET /session, POST /login (JSON answer), POST /logout: who is logged in, and the session's CSRF token."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class SessionOut(BaseModel):
    """Who calls: a console user's browser session, a bearer token, or nobody (the public)."""

    authenticated: bool = Field(description="是否已登录（会话或令牌）")
    via: Literal["session", "token"] | None = Field(
        description="session 浏览器会话；token API 令牌；未登录为 null"
    )
    role: str = Field(
        description="角色：public、grid_worker、dispatcher、planner、admin", examples=["dispatcher"]
    )
    name: str = Field(description="显示名（审计日志中的 actor）", examples=["张三（zhangsan）"])
    user_id: int | None = Field(default=None, description="用户编号（仅会话）")
    login: str | None = Field(default=None, description="登录名（仅会话）")
    display_name: str | None = Field(default=None, description="姓名（仅会话）")
    person_id: int | None = Field(default=None, description="花名册中关联的人员编号（仅会话，可为空）")
    sees_personal_data: bool = Field(description="此角色是否看到未脱敏的个人信息（geo_grid/privacy.py）")
    csrf_token: str | None = Field(
        default=None,
        description="会话的 CSRF 令牌：凭会话 Cookie 发出的每个写请求须带请求头 X-CSRF-Token 或表单字段 csrf_token",
    )
    expires_at: datetime | None = Field(default=None, description="会话最迟结束时间（绝对有效期）")
    idle_expires_at: datetime | None = Field(default=None, description="若无操作，会话于此时结束（空闲超时）")


class LogoutOut(BaseModel):
    logged_out: bool = Field(description="是否结束了一个会话（会话已失效时为 false）")
