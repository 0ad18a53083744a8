"""Grids as GeoJSON: GET /grids and GET /grids/{code}."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from geo_grid.api.schemas.people import PersonOut

CODE_EXAMPLE = "410105012001001001"


class GridProperties(BaseModel):
    """网格的属性（面积按 EPSG:4547 计算，单位平方米）。"""

    code: str = Field(
        description="网格编码（社区 12 位 + 三级网格 3 位 [+ 微网格 3 位]）", examples=[CODE_EXAMPLE]
    )
    name: str = Field(description="网格名称", examples=["康复社区第1网格第1微网格"])
    level: str = Field(description="层级：tertiary（三级网格）或 micro（微网格）", examples=["micro"])
    parent_code: str = Field(
        description="上级编码：微网格的三级网格，三级网格的社区", examples=["410105012001001"]
    )
    community_code: str = Field(description="所属社区编码", examples=["410105012001"])
    version: int = Field(description="网格版本号（每次修改加一）", examples=[1])
    generation_id: int = Field(description="边界代次编号", examples=[1])
    area_m2: float = Field(description="面积（平方米，EPSG:4547）", examples=[5920.9])


# Grid outlines are many and large (GET /grids answers ~700 polygons): these small RFC 7946 models check
# them as plain number lists, several times faster than geojson-pydantic's per-position tuples.
Position = list[float]


class MultiPolygonGeometry(BaseModel):
    """GeoJSON MultiPolygon（WGS84 经纬度）。"""

    type: Literal["MultiPolygon"]
    coordinates: list[list[list[Position]]] = Field(description="多边形列表：每个多边形是环的列表")


class PolygonGeometry(BaseModel):
    """GeoJSON Polygon（WGS84 经纬度）。"""

    type: Literal["Polygon"]
    coordinates: list[list[Position]] = Field(description="环的列表：外环在前，内环（洞）在后")


GridGeometry = MultiPolygonGeometry | PolygonGeometry


SubdistrictCode = Annotated[
    str, Field(description="网格所属街道编码（其边界代次的街道）", examples=["410105012"])
]


class ListedGridProperties(GridProperties):
    """网格列表中的一个网格：另附所属街道（全区列表含多个街道的网格）。"""

    subdistrict_code: SubdistrictCode


class GridFeature(BaseModel):
    """一个网格（GeoJSON Feature，id 为网格编码）。"""

    type: Literal["Feature"]
    id: str = Field(description="网格编码")
    properties: ListedGridProperties
    geometry: GridGeometry


class GridCollection(BaseModel):
    """网格的 GeoJSON FeatureCollection，附所用的边界代次。"""

    type: Literal["FeatureCollection"]
    features: list[GridFeature]
    generation: int | None = Field(
        description="回答所依据的边界代次编号；全区列表含多个街道（多个代次）时为 null，见 generations",
        examples=[1],
    )
    generations: list[int] = Field(
        description="回答所依据的全部边界代次（每个街道一个；只有一个街道时即 [generation]）", examples=[[1]]
    )


class GridRefOut(BaseModel):
    code: str = Field(description="网格编码")
    name: str = Field(description="网格名称")
    level: str = Field(description="层级：tertiary 或 micro")


class CommunityRefOut(BaseModel):
    code: str = Field(description="社区编码", examples=["410105012001"])
    name: str | None = Field(description="社区名称", examples=["康复社区"])


class GridDetailProperties(GridProperties):
    """网格详情：上级网格、社区、下级网格和负责人（三长九员一书记）。"""

    subdistrict_code: SubdistrictCode
    parent: GridRefOut | None = Field(description="上级三级网格（仅微网格有）")
    children: list[GridRefOut] = Field(description="下级微网格（仅三级网格有）")
    people: list[PersonOut] = Field(description="本网格及其上级网格的负责人")
    community: CommunityRefOut = Field(description="所属社区")


class GridDetailFeature(BaseModel):
    """一个网格及其上级、下级和负责人（GeoJSON Feature）。"""

    type: Literal["Feature"]
    id: str = Field(description="网格编码")
    properties: GridDetailProperties
    geometry: GridGeometry
