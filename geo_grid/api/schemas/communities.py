"""Communities (社区) as GeoJSON: GET /communities."""

from __future__ import annotations

from geojson_pydantic import Feature, FeatureCollection
from pydantic import BaseModel, ConfigDict, Field

from geo_grid.api.schemas.grids import GridGeometry


class CommunityProperties(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"code": "410105012001", "name": "康复社区"}})

    code: str = Field(description="社区编码（12 位）")
    name: str = Field(description="社区名称")
    area_m2: float | None = Field(description="面积（平方米，EPSG:4547）；无边界时为空")


class CommunityFeature(Feature[GridGeometry, CommunityProperties]):
    """一个社区（GeoJSON Feature，id 为社区编码）。"""


class CommunityCollection(FeatureCollection[CommunityFeature]):
    """社区的 GeoJSON FeatureCollection。"""
