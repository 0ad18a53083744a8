"""Chinese labels of the domain's code names, for people-facing text (maps, pages, API `*_label`)."""

from __future__ import annotations

ROLE_LABELS = {
    "grid_leader": "网格长",
    "micro_grid_leader": "微网格长",
    "road_section_chief": "路段长",
    "courtyard_chief": "楼院长",
    "officer": "九员",
    "party_secretary": "书记",
    "volunteer": "双报到党员",
}

LEVEL_LABELS = {"community": "社区", "tertiary": "三级网格", "micro": "微网格"}

GENERATION_STATUS_LABELS = {"draft": "草稿", "active": "生效", "retired": "已退役"}
