"""GET /lookup/address, POST /lookup/address/batch and /lookup/address/reload."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from geo_grid.api.schemas.common import ErrorBody
from geo_grid.api.schemas.lookup import GridRef, Wgs84Point
from geo_grid.api.schemas.people import PersonOut
from geo_grid.geocoding.results import Level


class CandidateOut(BaseModel):
    """A standard address (or a group of them at a coarser level) the query may mean."""

    level: Level = Field(
        description="匹配层级：road 道路、number 门牌号、courtyard 院落、building 楼栋、unit 单元、"
        "intersection 路口、landmark 地标（设施、院落/小区、社区）"
    )
    confidence: float = Field(description="置信度 0–1", examples=[1.0])
    address: str = Field(description="标准地址", examples=["经三路158号院1号楼1单元"])
    address_id: str | None = Field(description="单元级的标准地址编号；较粗层级为空")
    representative_id: str = Field(description="代表这一组地址的门牌（离组中心最近的地址）编号")
    n_addresses: int = Field(description="这一组包含的标准地址数")
    road: str | None = Field(description="道路")
    number: str | None = Field(description="门牌号")
    courtyard: str | None = Field(description="院落")
    building: str | None = Field(description="楼栋")
    unit: str | None = Field(description="单元")
    point: Wgs84Point = Field(description="位置（WGS84；组为其中心）")
    unmatched: list[str] = Field(description="查询中未能匹配的部分")
    precision_m: float = Field(
        default=0.0, description="所指位置与该点可能相距的米数（门牌 0；路口、对面等数十米）"
    )
    place_kind: str | None = Field(
        default=None,
        description="路口或地标的类别：intersection 路口、nearest_approach 两路最近处、courtyard 院落、"
        "community 社区、设施类别（parking、school …）",
    )
    place_id: str | None = Field(
        default=None, description="地标在其表中的编号（设施编号、院落编号、社区代码）"
    )


class LocatedBy(BaseModel):
    """The door plate whose point placed the answer (the address itself at unit level)."""

    address_id: str = Field(description="标准地址编号")
    address: str = Field(description="标准地址")
    lon: float = Field(description="经度（WGS84）")
    lat: float = Field(description="纬度（WGS84）")


class AddressGrid(BaseModel):
    micro: GridRef | None = Field(description="所在微网格")
    tertiary: GridRef | None = Field(description="所在网格")
    community: GridRef | None = Field(description="所在社区")
    outside: bool = Field(description="门牌点不在任何微网格内")


class CourtyardRef(BaseModel):
    courtyard_id: str = Field(description="院落编号", examples=["CY001"])
    name: str = Field(description="院落名称", examples=["经三路158号院"])


class RoadSegmentRef(BaseModel):
    segment_id: str = Field(description="路段编号")
    road_name: str = Field(description="道路名称")
    distance_m: float = Field(description="门牌点到路段的距离（米）")


class AddressPeople(BaseModel):
    """The 三长 of the address, by role (an empty list where nobody holds the role)."""

    micro_grid_leader: list[PersonOut] = Field(description="微网格长")
    grid_leader: list[PersonOut] = Field(description="网格长")
    courtyard_chief: list[PersonOut] = Field(description="楼院长")
    road_section_chief: list[PersonOut] = Field(description="路段长")


class AddressGridPeople(BaseModel):
    micro_grid_leader: list[PersonOut] = Field(description="微网格长")
    grid_leader: list[PersonOut] = Field(description="网格长")


class GridCandidateOut(BaseModel):
    """A micro-grid the circle of `precision_m` touches: the dispatcher chooses among them."""

    micro: GridRef = Field(description="微网格")
    tertiary: GridRef | None = Field(description="所属网格")
    distance_m: float = Field(description="该点到此微网格的距离（米；覆盖该点为 0）")
    primary: bool = Field(description="是否按查询规则覆盖该点的微网格（主网格）")
    people: AddressGridPeople = Field(description="微网格长与网格长")


class AddressLookupOut(BaseModel):
    """`matched`: the address, its grid chain and people; `ambiguous`: only the ranked `candidates`
    (the caller picks); `not_found` (batch only; a single lookup answers 404): the `suggestions`."""

    query: str = Field(description="原样返回的查询")
    normalized: str = Field(description="规范化后的查询")
    status: Literal["matched", "ambiguous", "not_found"] = Field(
        description="matched 匹配、ambiguous 有歧义、not_found 未找到"
    )
    confidence: float = Field(description="置信度 0–1")
    qualifier: str | None = Field(
        default=None, description="位置限定词（门口、对面、旁边、附近、楼下、东侧、北门 …），无则为 null"
    )
    precision_m: float | None = Field(
        default=None, description="所指位置与答案点可能相距的米数（仅 matched；门牌 0）"
    )
    grid_candidates: list[GridCandidateOut] | None = Field(
        default=None,
        description="precision_m 范围触及多个微网格时的候选微网格及其负责人（主网格在前，最多 8 个；仅 matched）",
    )
    level: Level | None = Field(default=None, description="匹配层级（仅 matched）")
    address: CandidateOut | None = Field(default=None, description="匹配到的标准地址（仅 matched）")
    located_by: LocatedBy | None = Field(
        default=None, description="定位所用的门牌（仅 matched；路口、地标按其自身位置定位，为 null）"
    )
    grid: AddressGrid | None = Field(default=None, description="网格链（仅 matched）")
    courtyard: CourtyardRef | None = Field(
        default=None, description="门牌所在院落（仅 matched；无院落为 null）"
    )
    road_segment: RoadSegmentRef | None = Field(
        default=None, description="负责的路段（仅 matched；300 米内无路段为 null）"
    )
    people: AddressPeople | None = Field(default=None, description="负责人（仅 matched）")
    candidates: list[CandidateOut] | None = Field(
        default=None, description="候选地址，按置信度排序（matched、ambiguous）"
    )
    suggestions: list[CandidateOut] | None = Field(default=None, description="最接近的地址（仅 not_found）")


class AddressBatchItem(AddressLookupOut):
    index: int = Field(description="该查询在请求 queries 中的序号（从 0 起）")


class AddressBatchInvalid(BaseModel):
    """A query that was not looked up (longer than the cap): one bad query never fails the batch."""

    index: int = Field(description="该查询在请求 queries 中的序号（从 0 起）")
    query: str = Field(description="查询（截到长度上限）")
    status: Literal["invalid"] = Field(description="invalid 无效")
    error: ErrorBody = Field(description="为何无效（如 query_too_long）")


class AddressBatchOut(BaseModel):
    count: int = Field(description="查询数")
    matched: int = Field(description="匹配数")
    ambiguous: int = Field(description="有歧义数")
    not_found: int = Field(description="未找到数")
    invalid: int = Field(description="无效数")
    results: list[AddressBatchItem | AddressBatchInvalid] = Field(description="每个查询一个结果，顺序同请求")


class AddressReloadOut(BaseModel):
    addresses: int = Field(description="载入的标准地址数")
    built_at: str = Field(description="新地址簿的构建时间（ISO 8601）")
