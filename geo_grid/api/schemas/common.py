"""Schemas several resources share: the error body and GeoJSON (RFC 7946) building blocks."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: a stable machine-readable code and a human message."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"code": "grid_not_found", "message": "没有这个网格"}}
    )

    code: str = Field(description="稳定的错误代码（机器可读），见 geo_grid/errors.py")
    message: str = Field(description="错误说明（给人看）")
    detail: Any | None = Field(default=None, description="补充信息，因错误而异")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the listed statuses answer with ErrorBody."""
    return {status: {"model": ErrorBody} for status in statuses}
