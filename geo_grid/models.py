"""ORM mapping of the PostGIS store of record (the schema itself is created only by migrations/).

Geometries are stored as WGS84 longitude/latitude, EPSG:4326. CGCS2000 (EPSG:4490) input is accepted
as-is (the two agree within centimetres); areas and distances are computed in EPSG:4547.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
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
TOKEN_ROLES = ("dispatcher", "planner", "admin")


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
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(40), unique=True, nullable=True)
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


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once at creation."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditEntry(Base):
    """Who changed what and when (every write), and who read unmasked personal data (geo_grid/privacy.py)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_generation_id", "generation_id"),
        Index("ix_audit_log_actor_token_at", "actor_token_id", "at"),
        Index("ix_audit_log_subject", "subject"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.geo_grid_now())
    actor: Mapped[str] = mapped_column(String(100))  # the token's name (readable; names need not be unique)
    actor_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the record: "report:42" …
    generation_id: Mapped[int | None] = mapped_column(ForeignKey("generations.id"), nullable=True)
    grid_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


__all__ = [
    "Address",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Community",
    "Courtyard",
    "Facility",
    "Generation",
    "Grid",
    "Person",
    "Report",
    "ReportEvent",
    "Role",
    "RoadSegment",
]
