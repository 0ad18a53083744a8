"""GET /maps/search: the tiled coverage map's search box."""

from __future__ import annotations

from pydantic import BaseModel, Field


class GridHitOut(BaseModel):
    """按编码或名称找到的网格：范围和其内部一点，用于地图定位。"""

    code: str = Field(description="网格编码", examples=["410105012004001001"])
    name: str = Field(description="网格名称", examples=["康复社区第1网格第1微网格"])
    level: str = Field(description="层级：tertiary（三级网格）或 micro（微网格）", examples=["micro"])
    bounds: list[float] = Field(
        description="范围 [南, 西, 北, 东]（WGS84 纬度/经度）", min_length=4, max_length=4
    )
    point: list[float] = Field(description="网格内部一点 [纬度, 经度]（WGS84）", min_length=2, max_length=2)


class GridPopupOut(BaseModel):
    """覆盖图（矢量瓦片模式）点击网格时弹出的内容：与嵌入式页面相同的 HTML（电话按调用者权限脱敏）。"""

    code: str = Field(description="网格编码", examples=["410105012004001001"])
    name: str = Field(description="网格名称", examples=["康复社区第1网格第1微网格"])
    level: str = Field(description="层级：tertiary（三级网格）或 micro（微网格）", examples=["micro"])
    html: str = Field(description="弹窗 HTML（名称、编码、层级、社区、人员；文本已转义）")


class GridLabelOut(BaseModel):
    """网格标注（放大后显示）：位置和文字（名称、编码）。"""

    lat: float = Field(description="纬度（WGS84，网格内部一点）")
    lon: float = Field(description="经度（WGS84）")
    text: str = Field(description="标注文字：名称（微网格省去所属三级网格名称）换行编码")


class DutyPopupOut(BaseModel):
    """覆盖图（矢量瓦片模式）点击路段或楼院时弹出的内容：与嵌入式页面相同的 HTML（负责人姓名，无电话）。"""

    id: str = Field(description="路段编号或楼院编号", examples=["RS001"])
    name: str = Field(description="道路名称或楼院名称")
    html: str = Field(description="弹窗 HTML（文本已转义）")


class ReportPopupOut(BaseModel):
    """事件地图（矢量瓦片模式）点击上报时弹出的内容：与嵌入式页面相同的 HTML（无描述原文、无联系方式）。"""

    id: int = Field(description="上报编号", examples=[1])
    html: str = Field(description="弹窗 HTML（类别、时间、状态、网格、阶段、责任人、链接；文本已转义）")
