"""Schemas of /open311/v2 (Open311 GeoReport v2): the specification's field names and types, in JSON;
the same fields are written as XML (services/open311_wire.to_xml)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class Endpoint(BaseModel):
    specification: str = Field(description="规范地址（GeoReport v2）")
    url: str = Field(description="接口根地址")
    changeset: datetime = Field(description="服务列表或服务定义最近变更时间")
    type: Literal["production", "test"] = Field(description="production 正式、test 测试")
    formats: list[str] = Field(description="支持的格式（text/xml、application/json）")


class Discovery(BaseModel):
    """Service Discovery（服务发现）。"""

    changeset: datetime = Field(description="最近变更时间")
    contact: str = Field(description="联系方式")
    key_service: str = Field(description="如何取得接入密钥（api_key）")
    endpoints: list[Endpoint] = Field(description="接口列表")


class Service(BaseModel):
    """A service: a report category (服务 = 上报类别)."""

    service_code: str = Field(description="服务代码（类别代码）")
    service_name: str = Field(description="服务名称（类别中文名）")
    description: str = Field(description="说明（受理与办结时限）")
    metadata: bool = Field(description="是否有附加属性（见服务定义）")
    type: Literal["realtime", "batch", "blackbox"] = Field(description="realtime：提交即生成服务请求编号")
    keywords: str = Field(description="关键词（逗号分隔）")
    group: str = Field(description="分组")


class AttributeValue(BaseModel):
    key: str = Field(description="取值代码")
    name: str = Field(description="取值名称")


class Attribute(BaseModel):
    variable: bool = Field(description="是否需要用户填写")
    code: str = Field(description="属性代码（提交时为 attribute[code]）")
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"] = Field(
        description="数据类型"
    )
    required: bool = Field(description="是否必填")
    datatype_description: str | None = Field(default=None, description="填写说明")
    order: int = Field(description="顺序")
    description: str = Field(description="问题")
    values: list[AttributeValue] = Field(default_factory=list, description="可选值（列表类型）")


class ServiceDefinition(BaseModel):
    """A service's attributes (附加问题)."""

    service_code: str = Field(description="服务代码")
    attributes: list[Attribute] = Field(description="属性")


class ServiceRequest(BaseModel):
    """A service request: a report as the caller's role may see it (公众：位置粗化、地址只到道路、
    文字去除电话和身份证号，从不包含联系人信息)."""

    service_request_id: str = Field(description="服务请求编号（上报编号）")
    status: Literal["open", "closed"] = Field(description="open 办理中；closed 已办结、不予受理或重复")
    status_notes: str | None = Field(default=None, description="状态说明（状态及最近的处理备注）")
    service_name: str = Field(description="服务名称")
    service_code: str = Field(description="服务代码")
    description: str | None = Field(default=None, description="描述")
    agency_responsible: str | None = Field(default=None, description="负责单位（网格队伍、部门或街道中心）")
    service_notice: str | None = Field(default=None, description="提示（办结期限）")
    requested_datetime: datetime = Field(description="上报时间")
    updated_datetime: datetime | None = Field(default=None, description="最后更新时间（已办结：办结时间）")
    expected_datetime: datetime | None = Field(default=None, description="预计办结时间（办理中）")
    address: str | None = Field(default=None, description="地址（公众：只到道路名）")
    address_id: str | None = Field(default=None, description="标准地址编号")
    zipcode: str | None = Field(default=None, description="邮政编码")
    lat: float | None = Field(default=None, description="纬度 WGS84（公众：保留 3 位小数）")
    long: float | None = Field(default=None, description="经度 WGS84（公众：保留 3 位小数）")
    media_url: str | None = Field(default=None, description="照片链接")


class RequestCreated(BaseModel):
    """POST requests: the new (or, for a resent order, the existing) request."""

    service_request_id: str = Field(description="服务请求编号")
    token: str | None = Field(default=None, description="追踪码（只显示这一次；tokens/{token} 可查编号）")
    service_notice: str | None = Field(default=None, description="提示")
    account_id: str | None = Field(default=None, description="账户编号（未使用）")


class TokenAnswer(BaseModel):
    service_request_id: str = Field(description="服务请求编号")
    token: str = Field(description="追踪码")


class Open311Error(BaseModel):
    """GeoReport error: code (the HTTP status) and description."""

    code: int = Field(description="错误代码（HTTP 状态码）")
    description: str = Field(description="错误说明")
