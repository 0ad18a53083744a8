"""GET /health."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class HealthOut(BaseModel):
    """200 when the database answers; 503 with the same body (`status: degraded`, a `reason`) when not."""

    status: Literal["ok", "degraded"] = Field(description="ok 正常；degraded 数据库不可达")
    database: Literal["ok", "unreachable"] = Field(description="数据库状态")
    active_generation: int | None = Field(description="当前生效的边界版本编号；尚未载入为 null")
    counts: dict[str, int] = Field(description="已载入的数量：micro 微网格、tertiary 网格、communities 社区")
    lookup_index: Literal["ready", "empty"] = Field(description="点查网格的内存索引是否就绪")
    reason: str | None = Field(
        default=None, description="不健康的原因（仅 503）", examples=["数据库暂时无法连接"]
    )
