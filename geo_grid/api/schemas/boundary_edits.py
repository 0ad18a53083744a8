"""Edits on a draft's grids (with ETags) and a grid's history across generations."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from geojson_pydantic.geometries import Geometry
from pydantic import BaseModel, Field

from geo_grid.api.schemas.generations import AuditEntryOut
from geo_grid.api.schemas.grids import GridGeometry, GridProperties

ETAG_EXAMPLE = '"g2-410105012001001001-v3"'


class DraftGridProperties(GridProperties):
    """编辑器读到的网格：全精度几何、最后修改者和 ETag。"""

    updated_by: str | None = Field(description="最后修改者")
    updated_at: datetime | None = Field(description="最后修改时间（UTC）")
    etag: str = Field(description="网格的 ETag；修改时放进 If-Match 请求头", examples=[ETAG_EXAMPLE])


class DraftGridFeature(BaseModel):
    """某一代次的一个网格（GeoJSON Feature，坐标为全精度）。"""

    type: Literal["Feature"]
    id: str = Field(description="网格编码")
    properties: DraftGridProperties
    geometry: GridGeometry


class EditedGridOut(BaseModel):
    code: str = Field(description="网格编码")
    version: int = Field(description="修改后的版本号")
    etag: str = Field(description="修改后的 ETag", examples=[ETAG_EXAMPLE])
    area_m2: float = Field(description="修改后的面积（平方米）")


class EditOut(BaseModel):
    """一次编辑改变的网格（第一个网格的 ETag 也在 ETag 响应头中）。"""

    generation: int = Field(description="草稿代次编号")
    grids: list[EditedGridOut] = Field(description="被修改或新建的网格")


class RetiringEditOut(EditOut):
    """撤销或合并：另列出从草稿中移除的网格。"""

    retired: list[str] = Field(description="从草稿中移除的网格编码")


class GapOut(BaseModel):
    area_m2: float = Field(description="缝隙面积（平方米）")
    geometry: Geometry = Field(description="缝隙的几何（WGS84）")


class BoundaryMoveOut(EditOut):
    """移动共用边界：相邻网格正好让出本网格新增的部分。"""

    gap: GapOut | None = Field(description="本网格让出而无人接收的区域（未指定 release_to 时）")
    gained_m2: float = Field(description="本网格新增的面积（平方米）")
    released_m2: float = Field(description="本网格让出的面积（平方米）")
    released_to: str | None = Field(description="接收让出区域的相邻网格")


class GridVersionOut(BaseModel):
    """一个代次中的网格版本；有效期取自代次的启用与停用时间。"""

    generation: int = Field(description="代次编号")
    status: str = Field(description="代次状态")
    valid_from: datetime | None = Field(description="起效时间（代次启用时间）")
    valid_to: datetime | None = Field(description="失效时间（代次停用时间）")
    name: str = Field(description="网格名称")
    level: str = Field(description="层级")
    parent_code: str = Field(description="上级编码")
    community_code: str = Field(description="社区编码")
    version: int = Field(description="版本号")
    updated_by: str | None = Field(description="最后修改者")
    updated_at: datetime | None = Field(description="最后修改时间（UTC）")
    area_m2: float = Field(description="面积（平方米）")
    geometry: GridGeometry = Field(description="几何（WGS84）")
    shape_changed: bool = Field(description="形状是否与上一版本不同")


class GridHistoryOut(BaseModel):
    """一个网格在各代次中的版本和与它有关的审计日志。"""

    code: str = Field(description="网格编码")
    versions: list[GridVersionOut] = Field(description="各代次中的版本，从旧到新")
    audit: list[AuditEntryOut] = Field(description="与此网格有关的审计日志")
