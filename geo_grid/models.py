"""ORM mapping of the PostGIS store of record (the schema itself is created only by migrations/).

Geometries are stored as WGS84 longitude/latitude, EPSG:4326. CGCS2000 (EPSG:4490) input is accepted
as-is (the two agree within centimetres); areas and distances are computed in EPSG:4547.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SRID = 4326
METRIC_SRID = 4547

GRID_LEVELS = ("tertiary", "micro")
GENERATION_STATUSES = ("draft", "active", "retired")
ROLES = (
    "grid_leader",
    "micro_grid_leader",
    "road_section_chief",
    "courtyard_chief",
    "officer",
    "party_secretary",
    "volunteer",
)
# Roles of API tokens and of console users (privacy.ROLES orders them; grid_worker = 网格员, issue 13).
USER_ROLES = ("dispatcher", "planner", "admin", "grid_worker")
TOKEN_ROLES = USER_ROLES


class Base(DeclarativeBase):
    pass


def _geom(kind: str) -> Any:
    # spatial_index=False: the migrations create every GiST index explicitly.
    return Geometry(kind, srid=SRID, spatial_index=False)


class Community(Base):
    __tablename__ = "communities"
    __table_args__ = (Index("ix_communities_geom", "geom", postgresql_using="gist"),)
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    geom: Mapped[Any] = mapped_column(_geom("MULTIPOLYGON"), nullable=True)
    # The subdistrict the row belongs to (migration 0009_district: filled by the writer or by its rule).
    subdistrict_code: Mapped[str] = mapped_column(
        String(9), ForeignKey("subdistricts.code", name="fk_communities_subdistrict"), index=True
    )


class Subdistrict(Base):
    """A subdistrict (街道) with its district, city and province: national statistical division codes."""

    __tablename__ = "subdistricts"
    __table_args__ = (CheckConstraint("code ~ '^[0-9]{9}$'", name="ck_subdistricts_code"),)
    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    district_code: Mapped[str] = mapped_column(String(6))
    district_name: Mapped[str] = mapped_column(String(100))
    city_code: Mapped[str] = mapped_column(String(6))
    city_name: Mapped[str] = mapped_column(String(100))
    province_code: Mapped[str] = mapped_column(String(6))
    province_name: Mapped[str] = mapped_column(String(100))


class Generation(Base):
    """A set of boundaries valid together: draft → active → retired. History is never overwritten."""

    __tablename__ = "generations"
    __table_args__ = (
        Index(
            "ux_generations_one_active",
            "subdistrict_code",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "ux_generations_one_draft",
            "subdistrict_code",
            unique=True,
            postgresql_where=text("status = 'draft'"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subdistrict_code: Mapped[str] = mapped_column(
        String(9), ForeignKey("subdistricts.code", name="fk_generations_subdistrict")
    )
    status: Mapped[str] = mapped_column(String(10))
    based_on: Mapped[int | None] = mapped_column(ForeignKey("generations.id"), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())
    activated_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Grid(Base):
    """One grid's boundary in one generation; a new generation copies rows, never edits old ones."""

    __tablename__ = "grids"
    __table_args__ = (
        UniqueConstraint("generation_id", "code", name="uq_grids_generation_code"),
        Index("ix_grids_geom", "geom", postgresql_using="gist"),
        Index("ix_grids_code", "code"),
        Index("ix_grids_generation_level", "generation_id", "level"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str] = mapped_column(String(32))
    community_code: Mapped[str] = mapped_column(String(12))
    geom: Mapped[Any] = mapped_column(_geom("MULTIPOLYGON"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # True while the row belongs to a draft: only then may the geometry be invalid (see migration 0001).
    in_draft: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    updated_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())


class Person(Base):
    """A member of a grid team or a volunteer. `phone` is personal data: masked for the public."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # The subdistrict the row belongs to (migration 0009_district: filled by the writer or by its rule).
    subdistrict_code: Mapped[str] = mapped_column(
        String(9), ForeignKey("subdistricts.code", name="fk_people_subdistrict"), index=True
    )


class Role(Base):
    """A person's duty on a grid (by code, so it survives boundary generations) or community."""

    __tablename__ = "roles"
    __table_args__ = (
        Index("ix_roles_grid_code", "grid_code"),
        Index("ix_roles_community_code", "community_code"),
        Index("ix_roles_target_id", "target_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(30))
    duty: Mapped[str | None] = mapped_column(String(30), nullable=True)
    grid_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    community_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    target_id: Mapped[str | None] = mapped_column(String(20), nullable=True)


class RoadSegment(Base):
    """A road segment under a 路段长."""

    __tablename__ = "road_segments"
    __table_args__ = (Index("ix_road_segments_geom", "geom", postgresql_using="gist"),)
    segment_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    road_name: Mapped[str] = mapped_column(String(100))
    tertiary_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    community_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    geom: Mapped[Any] = mapped_column(_geom("LINESTRING"))
    # The subdistrict the row belongs to (migration 0009_district: filled by the writer or by its rule).
    subdistrict_code: Mapped[str] = mapped_column(
        String(9), ForeignKey("subdistricts.code", name="fk_road_segments_subdistrict"), index=True
    )


class Courtyard(Base):
    """A courtyard or building under a 楼院长."""

    __tablename__ = "courtyards"
    __table_args__ = (Index("ix_courtyards_geom", "geom", postgresql_using="gist"),)
    courtyard_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    micro_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tertiary_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    community_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    geom: Mapped[Any] = mapped_column(_geom("POLYGON"))
    # The subdistrict the row belongs to (migration 0009_district: filled by the writer or by its rule).
    subdistrict_code: Mapped[str] = mapped_column(
        String(9), ForeignKey("subdistricts.code", name="fk_courtyards_subdistrict"), index=True
    )


class Facility(Base):
    """A point or polygon facility (smart parking lot, charging pile, service centre …)."""

    __tablename__ = "facilities"
    __table_args__ = (Index("ix_facilities_geom", "geom", postgresql_using="gist"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    geom: Mapped[Any] = mapped_column(_geom("GEOMETRY"))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    micro_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The subdistrict the row belongs to (migration 0009_district: filled by the writer or by its rule).
    subdistrict_code: Mapped[str] = mapped_column(
        String(9), ForeignKey("subdistricts.code", name="fk_facilities_subdistrict"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())


class Address(Base):
    """A standard door-plate address (门牌地址) and its point."""

    __tablename__ = "addresses"
    __table_args__ = (
        Index("ix_addresses_geom", "geom", postgresql_using="gist"),
        Index("ix_addresses_micro_code", "micro_code"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address_id: Mapped[str] = mapped_column(String(20), unique=True)
    address: Mapped[str] = mapped_column(String(300))
    road: Mapped[str | None] = mapped_column(String(100), nullable=True)
    number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    courtyard: Mapped[str | None] = mapped_column(String(100), nullable=True)
    building: Mapped[str | None] = mapped_column(String(20), nullable=True)
    unit: Mapped[str | None] = mapped_column(String(20), nullable=True)
    community_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    micro_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    geom: Mapped[Any] = mapped_column(_geom("POINT"))
    # The subdistrict the row belongs to (migration 0009_district: filled by the writer or by its rule).
    subdistrict_code: Mapped[str] = mapped_column(
        String(9), ForeignKey("subdistricts.code", name="fk_addresses_subdistrict"), index=True
    )


class Report(Base):
    """A problem or need reported at a place, routed to a grid team (the 吹哨报到 loop)."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_geom", "geom", postgresql_using="gist"),
        Index("ix_reports_status", "status"),
        Index("ix_reports_category", "category"),
        Index("ix_reports_micro_code", "micro_code"),
        Index("ix_reports_tertiary_code", "tertiary_code"),
        Index("ix_reports_community_code", "community_code"),
        Index("ix_reports_created_at", "created_at"),
        # external_id: unique among reports without a source; with one, per (source, external_id).
        Index(
            "ux_reports_external_id_no_source",
            "external_id",
            unique=True,
            postgresql_where=text("source IS NULL"),
        ),
        Index(
            "ux_reports_source_external_id",
            "source",
            "external_id",
            unique=True,
            postgresql_where=text("source IS NOT NULL"),
        ),
        Index(
            "ix_reports_filed_by_user_id_created_at",
            "filed_by_user_id",
            "created_at",
            postgresql_where=text("filed_by_user_id IS NOT NULL"),
        ),
        Index(
            "ix_reports_filed_by_token_id_created_at",
            "filed_by_token_id",
            "created_at",
            postgresql_where=text("filed_by_token_id IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The system an order came from (12345 hotline, district platform: exchange_sources.name), or None.
    source: Mapped[str | None] = mapped_column(String(40), nullable=True)
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="reported")
    reporter_contact: Mapped[str | None] = mapped_column(String(200), nullable=True)
    photo_urls: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    address_text: Mapped[str | None] = mapped_column(String(300), nullable=True)
    input_crs: Mapped[str] = mapped_column(String(10), default="wgs84", server_default="wgs84")
    input_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    input_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    geom: Mapped[Any] = mapped_column(_geom("POINT"), nullable=True)
    micro_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tertiary_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    community_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    outside: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    near_boundary: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    possible_duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), nullable=True)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), nullable=True)
    dispatch_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    dispatch_target: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    solved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rating_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    # SHA-256 of the report's tracking code (given once to the reporter at intake; follow and rate).
    tracking_code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Case handling (migration 0004): the current stage and its deadlines, 自办自结, 挂账.
    stage: Mapped[str | None] = mapped_column(String(20), nullable=True)
    stage_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    stage_yellow_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    self_resolved: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    parked_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    parked_from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # The subdistrict the row belongs to (migration 0009_district: filled by the writer or by its rule).
    subdistrict_code: Mapped[str | None] = mapped_column(
        String(9), ForeignKey("subdistricts.code", name="fk_reports_subdistrict"), index=True, nullable=True
    )
    # Who filed it (migration 0011_report_filer): the console user or the API token behind the intake;
    # neither for the public, imports and other systems' orders.
    filed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", name="fk_reports_filed_by_user_id"), nullable=True
    )
    filed_by_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id", name="fk_reports_filed_by_token_id"), nullable=True
    )


class ReportEvent(Base):
    """One step in a report's history: transition, dispatch, move, reassignment, claim, rating."""

    __tablename__ = "report_events"
    __table_args__ = (Index("ix_report_events_report_id", "report_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())


class ExchangeSource(Base):
    """Another system that pushes orders (12345, the district platform) and gets their status changes
    back on its webhook, signed with HMAC-SHA256 (`secret`); `api_key_hash` guards its Open311 POSTs."""

    __tablename__ = "exchange_sources"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    webhook_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    secret: Mapped[str] = mapped_column(String(100))
    api_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())


class Outbox(Base):
    """A message to a source's webhook, enqueued by a trigger on report_events (migration 0005) in the
    same transaction as the change; delivered in order per report, retried with backoff."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "report_id", "id", postgresql_where=text("delivered_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(ForeignKey("exchange_sources.name", ondelete="CASCADE"))
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_events.id", ondelete="CASCADE"), unique=True, nullable=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.geo_grid_now()
    )
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    failed_for_good: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class Category(Base):
    """A case category in the GB/T 30428.2 shape (部件 / 事件, 大类 / 小类), its department and stage limits."""

    __tablename__ = "categories"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # 'component' 部件 | 'event' 事件
    major_class: Mapped[str] = mapped_column(String(40))
    minor_class: Mapped[str] = mapped_column(String(100))
    standard_code: Mapped[str] = mapped_column(String(20))
    department: Mapped[str] = mapped_column(String(100))
    # {stage: {"value": number, "unit": "natural_hours" | "working_hours" | "working_days"}}
    stage_limits: Mapped[dict[str, Any]] = mapped_column(JSONB)
    register_condition: Mapped[str] = mapped_column(Text, server_default="")
    close_condition: Mapped[str] = mapped_column(Text, server_default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    minor: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())


class WorkDay(Base):
    """A day that differs from the Mon–Fri week: a statutory holiday or a 调休 working day."""

    __tablename__ = "work_calendar"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str | None] = mapped_column(String(40), nullable=True)


class WorkPeriod(Base):
    """One span of a subdistrict's working hours (e.g. 08:30–12:00)."""

    __tablename__ = "work_periods"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subdistrict_code: Mapped[str] = mapped_column(String(9))
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)


class ReportStage(Base):
    """One stage a case entered, with the limit in force then (editing categories never rewrites it)."""

    __tablename__ = "report_stages"
    __table_args__ = (
        Index("ix_report_stages_report_id", "report_id"),
        Index("ix_report_stages_stage_due_at", "stage", "due_at"),
        Index("ix_report_stages_ended_at", "ended_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    yellow_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    limit_value: Mapped[Decimal] = mapped_column(Numeric)
    limit_unit: Mapped[str] = mapped_column(String(20))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    extended: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    unit_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    unit_code: Mapped[str | None] = mapped_column(String(100), nullable=True)


class SupervisionOrder(Base):
    """督办 (supervise) or 催办 (urge) on an open case: its own deadline and recorded outcome."""

    __tablename__ = "supervision_orders"
    __table_args__ = (
        Index("ix_supervision_orders_report_id", "report_id"),
        Index("ix_supervision_orders_resolved_at", "resolved_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    issued_by: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, server_default="")
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once at creation."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The subdistrict the token acts for; NULL: district/city level, read-only unless admin (0010_access_scope).
    subdistrict_code: Mapped[str | None] = mapped_column(
        String(9), ForeignKey("subdistricts.code", name="fk_api_tokens_subdistrict"), nullable=True
    )


class AuditEntry(Base):
    """Who changed what and when (every write), and who read unmasked personal data (geo_grid/privacy.py)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_generation_id", "generation_id"),
        Index("ix_audit_log_actor_token_at", "actor_token_id", "at"),
        Index("ix_audit_log_subject", "subject"),
        Index("ix_audit_log_actor_user_at", "actor_user_id", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())
    actor: Mapped[str] = mapped_column(String(100))  # the token's name (readable; names need not be unique)
    actor_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), nullable=True)
    # The console user behind a browser session (migration 0006_accounts); a token's entries leave it null.
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the record: "report:42" …
    generation_id: Mapped[int | None] = mapped_column(ForeignKey("generations.id"), nullable=True)
    grid_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class User(Base):
    """A console user (issue 13): login, role, argon2 password hash, lockout state (services/accounts.py)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    # A 微网格长's link to the roster: the grids they hold come from their roles.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())
    password_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.geo_grid_now()
    )
    # The subdistrict the user works for; NULL: district/city level, read-only unless admin (0010_access_scope).
    subdistrict_code: Mapped[str | None] = mapped_column(
        String(9), ForeignKey("subdistricts.code", name="fk_users_subdistrict"), nullable=True
    )


class WebSession(Base):
    """A browser session: its id is the SHA-256 of the cookie's token (the token itself is never stored);
    the CSRF token is derived from the session token (services/accounts.csrf_token)."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user_id", "user_id"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)


class Photo(Base):
    """An uploaded photo, re-encoded without metadata, with its thumbnail (io/photos.py); files on disk
    under settings.photos_dir, paths relative to it."""

    __tablename__ = "photos"
    __table_args__ = (Index("ix_photos_report_id", "report_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(300))
    thumb_path: Mapped[str] = mapped_column(String(300))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())


__all__ = [
    "Address",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Category",
    "Community",
    "Courtyard",
    "ExchangeSource",
    "Facility",
    "Generation",
    "Grid",
    "Outbox",
    "Person",
    "Photo",
    "Report",
    "ReportEvent",
    "ReportStage",
    "Role",
    "RoadSegment",
    "SupervisionOrder",
    "WorkDay",
    "WorkPeriod",
    "User",
    "WebSession",
]
