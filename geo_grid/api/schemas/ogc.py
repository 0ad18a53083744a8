"""OGC API – Features (Part 1 Core, Part 2 CRS by reference) under /ogc: landing page, conformance,
collections, items, the OGC exception."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Link(BaseModel):
    """一个链接（OGC API 的 link 对象）。"""

    href: str = Field(description="链接地址")
    rel: str = Field(description="关系：self、alternate、next、prev、items、collection、data …")
    type: str | None = Field(default=None, description="媒体类型", examples=["application/geo+json"])
    title: str | None = Field(default=None, description="标题")


class LandingPage(BaseModel):
    """OGC API – Features 的入口页。"""

    title: str = Field(description="服务名称")
    description: str = Field(description="服务说明")
    links: list[Link] = Field(description="service-desc、service-doc、conformance、data 等链接")


class Conformance(BaseModel):
    """本服务实现的一致性类（conformance classes）。"""

    conformsTo: list[str] = Field(
        description="一致性类的 URI",
        examples=[["http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"]],
    )


class SpatialExtent(BaseModel):
    bbox: list[list[float]] = Field(description="范围框：[最小经度, 最小纬度, 最大经度, 最大纬度]")
    crs: str = Field(description="范围框的坐标系（CRS84）")


class TemporalExtent(BaseModel):
    interval: list[list[str | None]] = Field(description="时间区间：[开始, 结束]，null 表示无界")
    trs: str = Field(description="时间参照系（公历）")


class Extent(BaseModel):
    spatial: SpatialExtent | None = Field(default=None, description="空间范围")
    temporal: TemporalExtent | None = Field(default=None, description="时间范围")


class Collection(BaseModel):
    """一个要素集合（feature collection）的说明。"""

    id: str = Field(description="集合编号", examples=["micro_grids"])
    title: str = Field(description="集合名称", examples=["微网格"])
    description: str = Field(description="集合说明")
    links: list[Link] = Field(description="self、alternate、items 链接")
    extent: Extent | None = Field(default=None, description="空间和时间范围")
    itemType: Literal["feature"] = Field(default="feature", description="条目类型")
    crs: list[str] = Field(description="可用 crs= 请求的坐标系 URI")
    storageCrs: str = Field(description="存储坐标系 URI")


class Collections(BaseModel):
    """全部要素集合。"""

    links: list[Link] = Field(description="self、alternate 链接")
    collections: list[Collection] = Field(description="集合")


class OgcFeature(BaseModel):
    """一个要素（GeoJSON Feature；坐标按 crs 参数的坐标系及其轴序）。"""

    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"]
    id: str | int = Field(description="要素编号（网格编码、设施编号、上报编号 …）")
    geometry: dict[str, Any] | None = Field(description="GeoJSON 几何；上报无坐标时为 null")
    properties: dict[str, Any] = Field(description="要素属性（上报按隐私规则对调用者可见的字段）")
    links: list[Link] | None = Field(default=None, description="self、collection 链接")


class OgcFeatureCollection(BaseModel):
    """一页要素（GeoJSON FeatureCollection），带分页链接和数量。"""

    type: Literal["FeatureCollection"]
    features: list[OgcFeature]
    links: list[Link] = Field(description="self、alternate、next、prev、collection 链接")
    numberMatched: int = Field(description="符合条件的要素总数", ge=0)
    numberReturned: int = Field(description="本页返回的要素数", ge=0)
    timeStamp: str = Field(description="生成本页的时间（RFC 3339）")


class OgcException(BaseModel):
    """OGC API 的异常（exception）对象，同时带本项目的错误格式（code、message、detail）。"""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "code": "invalid_parameter",
                "message": "bbox 必须是 4 个数",
                "description": "bbox 必须是 4 个数",
            }
        }
    )

    code: str = Field(description="稳定的错误代码，见 geo_grid/errors.py")
    message: str = Field(description="错误说明")
    description: str = Field(description="错误说明（OGC 异常字段，与 message 相同）")
    detail: Any | None = Field(default=None, description="补充信息")


def ogc_error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an /ogc route: the listed statuses answer with the OGC exception."""
    return {status: {"model": OgcException} for status in statuses}
