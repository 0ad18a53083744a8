"""Boundary generations: drafts, activation, validation reports, audit entries, diffs and imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geojson_pydantic import Feature, FeatureCollection
from geojson_pydantic.geometries import Geometry
from pydantic import BaseModel, Field


class GenerationOut(BaseModel):
    """一个边界代次：draft（草稿）→ active（现行）→ retired（历史）。"""

    id: int = Field(description="代次编号", examples=[2])
    status: str = Field(description="状态：draft、active 或 retired", examples=["draft"])
    based_on: int | None = Field(description="草稿所复制的代次编号")
    note: str | None = Field(description="备注")
    created_by: str = Field(description="创建者")
    created_at: datetime = Field(description="创建时间（UTC）")
    activated_by: str | None = Field(description="启用者")
    activated_at: datetime | None = Field(description="启用时间（UTC）；从此时起有效")
    retired_at: datetime | None = Field(description="停用时间（UTC）；到此时为止有效")
    counts: dict[str, int] = Field(description="各层级网格数", examples=[{"tertiary": 73, "micro": 652}])
    subdistrict_code: str = Field(description="所属街道编码", examples=["410105012"])


class MovedOut(BaseModel):
    reports: int = Field(description="改派到新网格的未办结事件数")
    facilities: int = Field(description="改属新网格的点状设施数")
    addresses: int = Field(description="改属新网格的地址数")


class ActivationOut(BaseModel):
    """启用结果：旧代次在同一时刻停用，未办结事件、点状设施和地址按新边界重新归属。"""

    generation: int = Field(description="已启用的代次编号")
    previous: int | None = Field(description="被停用的代次编号")
    moved: MovedOut = Field(description="按新边界重新归属的数量")
    warnings: int = Field(description="校验报告中的警告数（警告不阻止启用）")


class ProblemOut(BaseModel):
    """校验发现的一个问题；error 阻止启用，warning 不阻止。"""

    kind: str = Field(
        description="类型：invalid_geometry、missing_parent、outside_parent、overlap、gap、sliver、"
        "no_micro_grid_leader、no_grid_leader",
        examples=["overlap"],
    )
    severity: str = Field(description="严重程度：error 或 warning", examples=["error"])
    codes: list[str] = Field(description="涉及的网格编码")
    message: str = Field(description="问题说明")
    area_m2: float | None = Field(default=None, description="问题区域面积（平方米）；有面积的问题才有")
    reason: str | None = Field(default=None, description="几何无效的原因（GEOS），仅 invalid_geometry")
    location: list[float] | None = Field(
        default=None, description="几何无效处的 [经度, 纬度]，仅 invalid_geometry"
    )


class ProblemFeature(Feature[Geometry, ProblemOut]):
    """一个问题及其位置（WGS84）。"""


class ProblemCollection(FeatureCollection[ProblemFeature]):
    """校验问题的 GeoJSON FeatureCollection（?format=geojson 时的回答）。"""


class ThresholdsOut(BaseModel):
    noise_m2: float = Field(description="小于此面积（平方米）的重叠、缝隙视为计算误差而忽略")
    sliver_m2: float = Field(description="小于此面积（平方米）的碎片报为 sliver 警告")
    area_crs: str = Field(description="计算面积所用的坐标系", examples=["EPSG:4547"])


class ValidationReportOut(BaseModel):
    """一个代次的校验报告（JSON 与 GeoJSON）。"""

    generation: int = Field(description="代次编号")
    status: str = Field(description="代次状态")
    valid: bool = Field(description="没有 error 时为 true（可以启用）")
    counts: dict[str, int] = Field(
        description="error 与 warning 的数量", examples=[{"error": 0, "warning": 3}]
    )
    by_kind: dict[str, int] = Field(description="各类型问题的数量")
    thresholds: ThresholdsOut = Field(description="所用的阈值")
    problems: list[ProblemOut] = Field(description="全部问题，error 在前")
    geojson: ProblemCollection = Field(description="问题的 GeoJSON FeatureCollection")


class AuditEntryOut(BaseModel):
    """审计日志的一条：谁在何时改了什么。"""

    id: int = Field(description="日志编号")
    at: datetime = Field(description="时间（UTC）")
    actor: str = Field(description="操作者（令牌名称，或 cli:<系统用户>）")
    action: str = Field(
        description="操作：open_draft、import、replace_geometry、create、retire、reparent、split、merge、"
        "move_boundary、activate、discard_draft …",
        examples=["split"],
    )
    generation_id: int | None = Field(description="代次编号")
    grid_code: str | None = Field(description="网格编码")
    detail: dict[str, Any] = Field(description="操作细节（面积、涉及的编码等），因操作而异")


class GridAreaOut(BaseModel):
    code: str = Field(description="网格编码")
    level: str = Field(description="层级")
    area_m2: float = Field(description="面积（平方米）")


class ReshapedOut(BaseModel):
    code: str = Field(description="网格编码")
    level: str = Field(description="层级")
    area_a_m2: float = Field(description="在代次 a 中的面积（平方米）")
    area_b_m2: float = Field(description="在代次 b 中的面积（平方米）")
    area_change_m2: float = Field(description="面积变化（平方米，b − a）")


class RelabelledOut(BaseModel):
    code: str = Field(description="网格编码")
    parent_a: str | None = Field(description="在代次 a 中的上级编码")
    parent_b: str | None = Field(description="在代次 b 中的上级编码")
    name_a: str | None = Field(description="在代次 a 中的名称")
    name_b: str | None = Field(description="在代次 b 中的名称")


class MoveOut(BaseModel):
    id: str = Field(description="事件、设施或地址的编号")
    ref: str | None = Field(description="外部编号、设施名称或地址")
    from_code: str | None = Field(description="按代次 a 所属的微网格")
    to_code: str | None = Field(description="按代次 b 所属的微网格")


class DiffOut(BaseModel):
    """从代次 a 到代次 b 的变化，以及会改属的事件、设施和地址。"""

    a: int = Field(description="代次 a")
    b: int = Field(description="代次 b")
    added: list[GridAreaOut] = Field(description="只在 b 中的网格（新增）")
    retired: list[GridAreaOut] = Field(description="只在 a 中的网格（撤销）")
    reshaped: list[ReshapedOut] = Field(description="形状改变的网格")
    reparented_or_renamed: list[RelabelledOut] = Field(description="上级或名称改变的网格")
    moves: dict[str, list[MoveOut]] = Field(description="会改属的 reports、facilities、addresses")
    counts: dict[str, int] = Field(description="以上各项的数量")


class ImportResultOut(BaseModel):
    """边界文件导入草稿的结果（导入即预览：启用前不生效）。"""

    generation: int = Field(description="导入所在的草稿代次")
    source: str = Field(description="文件名")
    level: str = Field(description="被替换的层级")
    features: int = Field(description="导入的网格数")
    replaced: int = Field(description="被替换掉的原有网格数")
    source_crs: str = Field(description="文件的坐标系", examples=["EPSG:4326"])
    shifted_from: str | None = Field(description="经偏移纠正的坐标系（gcj02、bd09），否则为空")
