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

# The report vocabulary (reporting.py derives its code tuples from these keys).
# 街道中心: where a report outside every grid (or with no point) goes, so that it is not lost.
SUBDISTRICT_CENTRE = "街道中心"

STATUS_LABELS = {
    "reported": "上报",
    "accepted": "受理",
    "registered": "立案",
    "dispatched": "派遣",
    "in_progress": "处置",
    "feedback": "反馈",
    "verified": "核查",
    "closed": "结案",
    "rejected": "不予受理",
    "duplicate": "重复",
    "parked": "挂账",
}

# The stages of a case (GB/T 30428.8) and the lights of its current stage's deadline.
STAGE_LABELS = {
    "accept": "受理",
    "register": "立案",
    "dispatch": "派遣",
    "handle": "处置",
    "verify": "核查",
    "close": "结案",
}
LIGHT_LABELS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}

# A report's history events (report_events.kind) other than status transitions, as people read them.
EVENT_LABELS = {
    "imported": "导入", "redispatch": "重新派遣", "claim": "志愿者认领", "move": "更正位置",
    "reassign": "边界调整后重新归属", "duplicate_suggested": "疑似重复", "duplicate_dismissed": "排除重复",
    "rating": "评价", "returned": "退回", "rework": "返工", "extension_requested": "申请延期",
    "extension_approved": "批准延期", "extension_refused": "驳回延期", "parked": "挂账", "unparked": "解除挂账",
    "supervision": "督办", "urge": "催办", "red_light": "亮红灯", "self_resolved": "自办自结",
    "order_update": "工单更新", "arrival": "网格员到场", "field_note": "现场备注",
}  # fmt: skip

CHANNEL_LABELS = {
    "public_account": "公众号群众端",
    "grid_phone": "网格手机终端",
    "community_pc": "社区PC端",
    "hotline": "热线",
}

CATEGORY_LABELS = {
    "parking": "停车难",
    "elderly_fraud": "养老诈骗",
    "illegal_construction": "违法建设",
    "road_occupation": "占道经营",
    "littering": "乱扔垃圾",
    "illegal_advertising": "乱贴广告",
    "night_street_order": "夜间街面秩序",
    "noise": "噪音扰民",
    "childcare": "托育需求",
    "facility_repair": "设施维修",
}

DISPATCH_KIND_LABELS = {
    "grid_team": "网格队伍",
    "department": "应急处突队",
    "volunteer": "双报到党员认领",
    "centre": SUBDISTRICT_CENTRE,
}

# The coverage map's validation problems, facilities and their attributes.
PROBLEM_KINDS = {
    "gap": "缺口",
    "overlap": "重叠",
    "outside_parent": "超出上级网格",
    "missing_parent": "缺少上级网格",
    "invalid_geometry": "无效几何",
    "sliver": "碎片",
    "no_micro_grid_leader": "未配备微网格长",
    "no_grid_leader": "未配备网格长",
}

PROBLEM_FIELDS = {
    "kind": "类型",
    "severity": "级别",
    "codes": "网格",
    "area_m2": "面积（m²）",
    "message": "说明",
}

FACILITY_LABELS = {
    "parking": "智慧停车场",
    "charging_station": "充电站",
    "service_center": "党群服务中心",
    "school": "学校",
    "health_center": "社区卫生服务中心",
    "police_station": "派出所",
}

ATTRIBUTE_LABELS = {
    "capacity": "容量",
    "car_spaces": "机动车位",
    "non_motor_spaces": "非机动车位",
    "charging_piles": "充电桩",
    "area_mu": "面积（亩）",
}
