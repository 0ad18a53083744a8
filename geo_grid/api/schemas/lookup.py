"""GET /lookup and POST /lookup/batch: a point's grid chain and its people."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from geo_grid.api.schemas.people import PersonOut

CrsName = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]


class GridRef(BaseModel):
    code: str = Field(description="网格（或社区）编码", examples=["410105012001002001"])
    name: str | None = Field(description="名称", examples=["康复社区第2网格第1微网格"])


class NearestGrid(BaseModel):
    """Outside every grid: the nearest micro-grid."""

    code: str = Field(description="最近微网格的编码")
    name: str = Field(description="最近微网格的名称")
    distance_m: float = Field(description="到它的距离（米，EPSG:4547）")


class Wgs84Point(BaseModel):
    lon: float = Field(description="经度（WGS84）", examples=[113.6886804])
    lat: float = Field(description="纬度（WGS84）", examples=[34.7682539])


class LookupQuery(BaseModel):
    lon: float = Field(description="请求中的经度（按 crs）")
    lat: float = Field(description="请求中的纬度（按 crs）")
    crs: CrsName = Field(description="请求的坐标系")


class Placement(BaseModel):
    """Where a point falls: micro-grid, tertiary grid and community, or outside with the nearest grid."""

    wgs84: Wgs84Point = Field(description="换算到 WGS84 的点")
    outside: bool = Field(description="点不在任何微网格内")
    on_boundary: bool = Field(description="点在几个网格的公共边界上（按最小编码规则判定）")
    micro: GridRef | None = Field(description="所在微网格")
    tertiary: GridRef | None = Field(description="所在三级网格（网格）")
    community: GridRef | None = Field(description="所在社区")
    subdistrict: GridRef | None = Field(description="所在街道（点在网格外时：最近微网格所在的街道）")
    nearest: NearestGrid | None = Field(description="点在网格外时：最近的微网格")
    generation: int = Field(description="作答所用的边界版本（generation）编号（所在街道的现行版本）")


class LookupOut(Placement):
    query: LookupQuery = Field(description="原样返回的请求坐标")
    people: list[PersonOut] = Field(
        description="负责人：先微网格的（微网格长、楼院长…），后网格的（网格长、九员）"
    )


class BatchPlaced(Placement):
    index: int = Field(description="该点在请求 points 中的序号（从 0 起）")


class BatchPointError(BaseModel):
    code: Literal["invalid_coordinates"] = Field(description="错误代码")
    message: str = Field(description="错误说明")


class BatchInvalid(BaseModel):
    """A point that could not be read: its index and why (one bad point never fails the batch)."""

    index: int = Field(description="该点在请求 points 中的序号（从 0 起）")
    error: BatchPointError = Field(description="该点为何无效")


class LookupBatchOut(BaseModel):
    crs: CrsName = Field(description="请求的坐标系")
    generation: int = Field(description="作答所用的边界版本编号")
    count: int = Field(description="点数")
    results: list[BatchPlaced | BatchInvalid] = Field(description="每个点一个结果，顺序同请求")
