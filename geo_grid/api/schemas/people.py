"""A person in a role as the API shows them (lookups, address answers, grids, reports)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PersonOut(BaseModel):
    """One person holding one role; `phone` as the caller's role may see it (geo_grid/privacy.py)."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "example": {
                "person_id": "P00155",
                "name": "邹刚静",
                "role": "micro_grid_leader",
                "role_label": "微网格长",
                "duty": "微网格长",
                "target_id": None,
                "phone": "139****0030",
            }
        },
    )

    person_id: str = Field(description="人员编号", examples=["P00155"])
    name: str = Field(description="姓名")
    role: str = Field(description="角色代码，如 micro_grid_leader、grid_leader、courtyard_chief、officer")
    role_label: str = Field(description="角色中文名，如 微网格长、网格长、楼院长、九员")
    duty: str | None = Field(description="具体职责，如 党建指导员")
    target_id: str | None = Field(description="负责对象：楼院长的院落编号、路段长的路段编号；其他角色为空")
    phone: str | None = Field(
        description="电话；无权查看个人信息的调用者看到的是打码号码（如 139****0030）",
        examples=["139****0030"],
    )
