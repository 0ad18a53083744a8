"""/facilities and GET /grids/{code}/facilities: facilities as GeoJSON (geojson-pydantic)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geojson_pydantic import Feature, FeatureCollection, MultiPolygon, Point, Polygon
from pydantic import BaseModel, Field


class MicroShare(BaseModel):
    """A micro-grid a polygon facility overlaps."""

    code: str = Field(description="微网格编码")
    name: str = Field(description="微网格名称")
    parent_code: str = Field(description="所属网格编码")
    community_code: str = Field(description="所属社区编码")
    area_m2: float = Field(description="重叠面积（平方米，EPSG:4547）", examples=[7706.1])
    share: float | None = Field(description="占设施面积的比例 0–1", examples=[0.525433])


class TertiaryShare(BaseModel):
    """The overlaps rolled up to a tertiary grid."""

    code: str = Field(description="网格编码")
    name: str | None = Field(description="网格名称")
    area_m2: float = Field(description="重叠面积（平方米）")
    share: float = Field(description="占设施面积的比例 0–1")


class FacilityGrids(BaseModel):
    """Polygon facilities only: every grid it overlaps, with areas and shares."""

    primary: str | None = Field(description="主网格：重叠面积最大的微网格编码")
    micro: list[MicroShare] = Field(description="重叠的微网格，面积从大到小")
    tertiary: list[TertiaryShare] = Field(description="汇总到网格")
    outside_share: float = Field(description="落在所有网格之外的比例（网格完全覆盖时为 0）")


class FacilityProperties(BaseModel):
    id: int = Field(description="数字编号")
    facility_id: str | None = Field(description="设施编号", examples=["F001"])
    kind: str = Field(description="类型：parking 停车场、charging_pile 充电桩、service_center 服务中心…")
    name: str = Field(description="名称", examples=["民航路社区智慧停车场"])
    attributes: dict[str, Any] = Field(description="属性：容量、开放时间等")
    micro_code: str | None = Field(description="所在（或主）微网格编码")
    geometry_type: str = Field(description="几何类型：POINT、POLYGON、MULTIPOLYGON")
    area_m2: float | None = Field(description="面积（平方米，EPSG:4547）；点设施为 null")
    created_at: datetime = Field(description="创建时间")
    updated_at: datetime = Field(description="修改时间")
    grids: FacilityGrids | None = Field(
        default=None, description="面设施（单个查询时）：重叠的网格、面积与比例；点设施与列表中没有这一项"
    )


FacilityGeometry = Point | Polygon | MultiPolygon
FacilityFeature = Feature[FacilityGeometry, FacilityProperties]
FacilityCollection = FeatureCollection[FacilityFeature]
