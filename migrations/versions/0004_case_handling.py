"""Case handling to the 数字城管 standard (issue 12): categories as data in the GB/T 30428.2 shape, the work
calendar and working hours, one row per stage a case entered (deadline, yellow light, who was responsible),
supervision orders (督办 / 催办) and the report columns of the current stage and of 挂账 / 自办自结.

The seed holds today's ten categories (geo_grid/reporting.py's SLA and ROUTING) placed in the standard's
大类 / 小类; local ones are 扩展事件 / 扩展部件 with extension codes (X…). Stage limits: 受理 in natural hours
(= the old response_h, the 24-hour centre), the other stages in working hours / working days so that the
whole case takes about the old resolution_h. The work calendar 2025–2026 (statutory holidays and 调休
working days) was generated with the `chinesecalendar` package (1.11.0) and is written here as data, so the
migration does not depend on the library's version; a day not in the table follows the Mon–Fri week.

Revision ID: 0004_case_handling
Revises: 0003_privacy
Create Date: 2026-11-30
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004_case_handling"
down_revision = "0003_privacy"
branch_labels = None
depends_on = None

STAGES = ("accept", "register", "dispatch", "handle", "verify", "close")
NH, WH, WD = "natural_hours", "working_hours", "working_days"


def _limits(*limits: tuple[float, str]) -> dict[str, dict[str, Any]]:
    assert len(limits) == len(STAGES)
    return {
        stage: {"value": value, "unit": unit} for stage, (value, unit) in zip(STAGES, limits, strict=True)
    }


# Stage limits by today's SLA (response_h, resolution_h). A working day has 7 working hours (08:30–12:00,
# 14:30–18:00). 24 h cases: 1 natural hour (or 2) to accept, then 9 working hours ≈ one and a half working
# days; 72 h: about three working days; 168 h: about a working week; the night order (12 h): natural hours.
_L24_1 = _limits((1, NH), (1, WH), (1, WH), (4, WH), (2, WH), (1, WH))
_L24_2 = _limits((2, NH), (1, WH), (1, WH), (4, WH), (2, WH), (1, WH))
_L72_4 = _limits((4, NH), (2, WH), (2, WH), (2, WD), (4, WH), (2, WH))
_L168_4 = _limits((4, NH), (1, WD), (4, WH), (3, WD), (1, WD), (4, WH))
_L168_24 = _limits((24, NH), (1, WD), (4, WH), (3, WD), (1, WD), (4, WH))
_L12 = _limits((1, NH), (1, NH), (1, NH), (6, NH), (2, NH), (1, NH))
_L48 = _limits((1, NH), (1, NH), (1, NH), (1, WD), (4, WH), (2, WH))

# code, name, kind, 大类, 小类, standard/extension code, department, limits, 立案条件, 结案条件, sensitive, minor
CATEGORIES: list[tuple[Any, ...]] = [
    ("parking", "停车难", "event", "街面秩序", "机动车乱停放", "0503", "执法中队", _L24_1,
     "城市道路、人行道、小区出入口等公共区域机动车乱停乱放，影响通行或消防通道",
     "车辆已驶离或规范停放，通道恢复畅通，有处置后照片", False, True),
    ("elderly_fraud", "养老诈骗", "event", "扩展事件", "养老诈骗线索", "XE01", "派出所", _L48,
     "有具体对象或地点的以养老服务、保健品、投资理财等名义诈骗老年人的线索",
     "公安机关已核查处置并反馈，当事老人已告知或劝阻到位", True, False),
    ("illegal_construction", "违法建设", "event", "市容环境", "私搭乱建", "0101", "综合执法", _L168_4,
     "未经规划许可在公共区域、屋顶、院内搭建建筑物或构筑物，位置和范围明确",
     "违法建设已拆除或依法立案查处，现场有处置后照片", False, False),
    ("road_occupation", "占道经营", "event", "街面秩序", "占道经营", "0502", "城市管理", _L24_2,
     "在城市道路、桥梁、广场等公共场所摆摊设点、占道经营", "占道物品已清理，经营者已劝离，路面恢复通行",
     False, True),
    ("littering", "乱扔垃圾", "event", "市容环境", "暴露垃圾", "0102", "城市管理", _L24_2,
     "公共区域存在暴露垃圾、乱扔垃圾，面积或数量达到保洁标准的立案尺度",
     "垃圾已清运，现场干净整洁，有处置后照片", False, True),
    ("illegal_advertising", "乱贴广告", "event", "宣传广告", "非法小广告", "0201", "城市管理", _L72_4,
     "在建筑物、公共设施、树木上张贴、涂写、刻画小广告或违规悬挂广告",
     "小广告已清除，墙面或设施恢复原貌", False, True),
    ("night_street_order", "夜间街面秩序", "event", "扩展事件", "夜间街面秩序", "XE02", "平安建设", _L12,
     "夜间街面聚集、喧哗、醉酒滋事等影响街面秩序的情况，地点明确",
     "现场秩序已恢复，相关人员已劝离或移交", False, False),
    ("noise", "噪音扰民", "event", "扩展事件", "噪声扰民", "XE03", "综合执法", _L24_1,
     "施工、商业经营、娱乐活动等产生噪声影响居民正常生活，时间和地点明确",
     "噪声源已停止或整改，反映人已回访", False, False),
    ("childcare", "托育需求", "event", "扩展事件", "托育服务需求", "XE04", "社区卫生服务中心", _L168_24,
     "辖区居民提出的婴幼儿照护、托育服务需求，有联系人",
     "已对接托育服务资源并回访需求人", False, False),
    ("facility_repair", "设施维修", "component", "扩展部件", "社区公共设施", "XC01", "城市管理", _L72_4,
     "路灯、井盖、健身器材、座椅等公共设施损坏、缺失，影响使用或安全",
     "设施已修复或更换，可正常使用，有处置后照片", False, False),
]  # fmt: skip

# China's statutory holidays and 调休 working days, 2025–2026 (generated with chinesecalendar 1.11.0).
WORK_CALENDAR: list[tuple[str, bool, str]] = [
    ("2025-01-01", False, "元旦"),
    ("2025-01-26", True, "春节调休"),
    ("2025-01-28", False, "春节"),
    ("2025-01-29", False, "春节"),
    ("2025-01-30", False, "春节"),
    ("2025-01-31", False, "春节"),
    ("2025-02-01", False, "春节"),
    ("2025-02-02", False, "春节"),
    ("2025-02-03", False, "春节"),
    ("2025-02-04", False, "春节"),
    ("2025-02-08", True, "春节调休"),
    ("2025-04-04", False, "清明节"),
    ("2025-04-05", False, "清明节"),
    ("2025-04-06", False, "清明节"),
    ("2025-04-27", True, "劳动节调休"),
    ("2025-05-01", False, "劳动节"),
    ("2025-05-02", False, "劳动节"),
    ("2025-05-03", False, "劳动节"),
    ("2025-05-04", False, "劳动节"),
    ("2025-05-05", False, "劳动节"),
    ("2025-05-31", False, "端午节"),
    ("2025-06-01", False, "端午节"),
    ("2025-06-02", False, "端午节"),
    ("2025-09-28", True, "国庆节调休"),
    ("2025-10-01", False, "国庆节"),
    ("2025-10-02", False, "国庆节"),
    ("2025-10-03", False, "国庆节"),
    ("2025-10-04", False, "国庆节"),
    ("2025-10-05", False, "国庆节"),
    ("2025-10-06", False, "中秋节"),
    ("2025-10-07", False, "国庆节"),
    ("2025-10-08", False, "国庆节"),
    ("2025-10-11", True, "国庆节调休"),
    ("2026-01-01", False, "元旦"),
    ("2026-01-02", False, "元旦"),
    ("2026-01-03", False, "元旦"),
    ("2026-01-04", True, "元旦调休"),
    ("2026-02-14", True, "春节调休"),
    ("2026-02-15", False, "春节"),
    ("2026-02-16", False, "春节"),
    ("2026-02-17", False, "春节"),
    ("2026-02-18", False, "春节"),
    ("2026-02-19", False, "春节"),
    ("2026-02-20", False, "春节"),
    ("2026-02-21", False, "春节"),
    ("2026-02-22", False, "春节"),
    ("2026-02-23", False, "春节"),
    ("2026-02-28", True, "春节调休"),
    ("2026-04-04", False, "清明节"),
    ("2026-04-05", False, "清明节"),
    ("2026-04-06", False, "清明节"),
    ("2026-05-01", False, "劳动节"),
    ("2026-05-02", False, "劳动节"),
    ("2026-05-03", False, "劳动节"),
    ("2026-05-04", False, "劳动节"),
    ("2026-05-05", False, "劳动节"),
    ("2026-05-09", True, "劳动节调休"),
    ("2026-06-19", False, "端午节"),
    ("2026-06-20", False, "端午节"),
    ("2026-06-21", False, "端午节"),
    ("2026-09-20", True, "国庆节调休"),
    ("2026-09-25", False, "中秋节"),
    ("2026-09-26", False, "中秋节"),
    ("2026-09-27", False, "中秋节"),
    ("2026-10-01", False, "国庆节"),
    ("2026-10-02", False, "国庆节"),
    ("2026-10-03", False, "国庆节"),
    ("2026-10-04", False, "国庆节"),
    ("2026-10-05", False, "国庆节"),
    ("2026-10-06", False, "国庆节"),
    ("2026-10-07", False, "国庆节"),
    ("2026-10-10", True, "国庆节调休"),
]  # fmt: skip

# The subdistrict's working hours (未来路街道).
WORK_PERIODS = [("410105012", dt.time(8, 30), dt.time(12, 0)), ("410105012", dt.time(14, 30), dt.time(18, 0))]

NOW = sa.text("geo_grid_now()")


def upgrade() -> None:
    categories = op.create_table(
        "categories",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("major_class", sa.String(40), nullable=False),
        sa.Column("minor_class", sa.String(100), nullable=False),
        sa.Column("standard_code", sa.String(20), nullable=False),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("stage_limits", JSONB(), nullable=False),
        sa.Column("register_condition", sa.Text(), nullable=False, server_default=""),
        sa.Column("close_condition", sa.Text(), nullable=False, server_default=""),
        sa.Column("sensitive", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("minor", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default="true"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("kind IN ('component', 'event')", name="ck_categories_kind"),
    )
    work_calendar = op.create_table(
        "work_calendar",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(40), nullable=True),
    )
    work_periods = op.create_table(
        "work_periods",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subdistrict_code", sa.String(9), nullable=False),
        sa.Column("start", sa.Time(), nullable=False),
        sa.Column("end", sa.Time(), nullable=False),
        sa.CheckConstraint('"start" < "end"', name="ck_work_periods_order"),
    )
    op.create_table(
        "report_stages",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "report_id", sa.BigInteger(), sa.ForeignKey("reports.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("yellow_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("limit_value", sa.Numeric(), nullable=False),
        sa.Column("limit_unit", sa.String(20), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("extended", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("unit_kind", sa.String(20), nullable=True),
        sa.Column("unit_code", sa.String(100), nullable=True),
    )
    op.create_index("ix_report_stages_report_id", "report_stages", ["report_id"])
    op.create_index("ix_report_stages_stage_due_at", "report_stages", ["stage", "due_at"])
    op.create_index("ix_report_stages_ended_at", "report_stages", ["ended_at"])
    op.add_column("reports", sa.Column("stage", sa.String(20), nullable=True))
    op.add_column("reports", sa.Column("stage_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("reports", sa.Column("stage_yellow_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("reports", sa.Column("self_resolved", sa.Boolean(), nullable=False, server_default="false"))
    op.add_column("reports", sa.Column("parked_until", sa.Date(), nullable=True))
    op.add_column("reports", sa.Column("parked_from_status", sa.String(20), nullable=True))
    op.create_table(
        "supervision_orders",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "report_id", sa.BigInteger(), sa.ForeignKey("reports.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("issued_by", sa.String(100), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('supervise', 'urge')", name="ck_supervision_orders_kind"),
    )
    op.create_index("ix_supervision_orders_report_id", "supervision_orders", ["report_id"])
    op.create_index("ix_supervision_orders_resolved_at", "supervision_orders", ["resolved_at"])

    keys = ("code", "name", "kind", "major_class", "minor_class", "standard_code", "department",
            "stage_limits", "register_condition", "close_condition", "sensitive", "minor")  # fmt: skip
    op.bulk_insert(categories, [dict(zip(keys, row, strict=True)) for row in CATEGORIES])
    op.bulk_insert(
        work_calendar,
        [{"day": dt.date.fromisoformat(d), "is_workday": w, "name": n} for d, w, n in WORK_CALENDAR],
    )
    op.bulk_insert(work_periods, [{"subdistrict_code": s, "start": a, "end": b} for s, a, b in WORK_PERIODS])


def downgrade() -> None:
    op.drop_table("supervision_orders")
    for column in (
        "parked_from_status",
        "parked_until",
        "self_resolved",
        "stage_yellow_at",
        "stage_due_at",
        "stage",
    ):
        op.drop_column("reports", column)
    op.drop_table("report_stages")
    op.drop_table("work_periods")
    op.drop_table("work_calendar")
    op.drop_table("categories")
