"""Subdistricts (街道): GET /subdistricts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SubdistrictOut(BaseModel):
    """一个街道及其所属区县、城市、省份（国家统计用区划代码）。"""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "code": "410105012",
                "name": "未来路街道",
                "district_code": "410105",
                "district_name": "金水区",
                "city_code": "410100",
                "city_name": "郑州市",
                "province_code": "410000",
                "province_name": "河南省",
            }
        }
    )

    code: str = Field(description="街道编码（9 位统计用区划代码）")
    name: str = Field(description="街道名称")
    district_code: str = Field(description="区县编码（6 位）")
    district_name: str = Field(description="区县名称")
    city_code: str = Field(description="城市编码（6 位）")
    city_name: str = Field(description="城市名称")
    province_code: str = Field(description="省份编码（6 位）")
    province_name: str = Field(description="省份名称")
