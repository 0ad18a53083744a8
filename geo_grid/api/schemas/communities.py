"""Communities (社区) as GeoJSON: GET /communities."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from geo_grid.api.schemas.grids import GridGeometry


class CommunityProperties(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"code": "410105012001", "name": "康复社区", "subdistrict_code": "410105012"}
        }
    )

    code: str = Field(description="社区编码（12 位）")
    name: str = Field(description="社区名称")
    area_m2: float | None = Field(description="面积（平方米，EPSG:4547）；无边界时为空")
    subdistrict_code: str = Field(description="所属街道编码", examples=["410105012"])


class CommunityFeature(BaseModel):
    """一个社区（GeoJSON Feature，id 为社区编码）。"""

    type: Literal["Feature"]
    id: str = Field(description="社区编码")
    properties: CommunityProperties
    geometry: GridGeometry | None = Field(description="社区边界（WGS84）；未载入时为空")


class CommunityCollection(BaseModel):
    """社区的 GeoJSON FeatureCollection。"""

    type: Literal["FeatureCollection"]
    features: list[CommunityFeature]
