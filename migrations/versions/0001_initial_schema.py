"""Initial schema: communities, generations, grids, people and roles, road segments, courtyards,
facilities, addresses, reports and their events, API tokens, audit log.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

SRID = 4326  # WGS84 lon/lat; CGCS2000 (4490) input is stored as-is (centimetre-level difference)


def geom(kind: str):
    return Geometry(kind, srid=SRID, spatial_index=False)


def now():
    return sa.text("now()")


def gist(table: str, column: str = "geom") -> None:
    op.create_index(f"ix_{table}_{column}", table, [column], postgresql_using="gist")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "communities",
        sa.Column("code", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("geom", geom("MULTIPOLYGON"), nullable=True),
    )
    gist("communities")

    op.create_table(
        "generations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subdistrict_code", sa.String(9), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("based_on", sa.Integer, sa.ForeignKey("generations.id"), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now(), nullable=False),
        sa.Column("activated_by", sa.String(100), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'active', 'retired')", name="ck_generations_status"),
    )
    # At most one active and one draft generation per subdistrict.
    op.create_index(
        "ux_generations_one_active",
        "generations",
        ["subdistrict_code"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index(
        "ux_generations_one_draft",
        "generations",
        ["subdistrict_code"],
        unique=True,
        postgresql_where=sa.text("status = 'draft'"),
    )

    op.create_table(
        "grids",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "generation_id", sa.Integer, sa.ForeignKey("generations.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_code", sa.String(32), nullable=False),
        sa.Column("community_code", sa.String(12), nullable=False),
        sa.Column("geom", geom("MULTIPOLYGON"), nullable=False),
        sa.Column("version", sa.Integer, server_default="1", nullable=False),
        sa.Column("in_draft", sa.Boolean, server_default="false", nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now(), nullable=False),
        sa.CheckConstraint("level IN ('tertiary', 'micro')", name="ck_grids_level"),
        sa.UniqueConstraint("generation_id", "code", name="uq_grids_generation_code"),
    )
    gist("grids")
    op.create_index("ix_grids_code", "grids", ["code"])
    op.create_index("ix_grids_generation_level", "grids", ["generation_id", "level"])

    op.create_table(
        "people",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.String(20), nullable=False, unique=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
    )
    op.create_table(
        "roles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(30), nullable=False),
        sa.Column("duty", sa.String(30), nullable=True),
        sa.Column("grid_code", sa.String(32), nullable=True),
        sa.Column("community_code", sa.String(12), nullable=True),
        sa.Column("target_id", sa.String(20), nullable=True),
        sa.CheckConstraint(
            "role IN ('grid_leader', 'micro_grid_leader', 'road_section_chief', 'courtyard_chief', "
            "'officer', 'party_secretary', 'volunteer')",
            name="ck_roles_role",
        ),
    )
    op.create_index("ix_roles_grid_code", "roles", ["grid_code"])
    op.create_index("ix_roles_community_code", "roles", ["community_code"])
    op.create_index("ix_roles_target_id", "roles", ["target_id"])

    op.create_table(
        "road_segments",
        sa.Column("segment_id", sa.String(20), primary_key=True),
        sa.Column("road_name", sa.String(100), nullable=False),
        sa.Column("tertiary_code", sa.String(32), nullable=True),
        sa.Column("community_code", sa.String(12), nullable=True),
        sa.Column("geom", geom("LINESTRING"), nullable=False),
    )
    gist("road_segments")
    op.create_table(
        "courtyards",
        sa.Column("courtyard_id", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("micro_code", sa.String(32), nullable=True),
        sa.Column("tertiary_code", sa.String(32), nullable=True),
        sa.Column("community_code", sa.String(12), nullable=True),
        sa.Column("geom", geom("POLYGON"), nullable=False),
    )
    gist("courtyards")

    op.create_table(
        "facilities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("facility_id", sa.String(20), nullable=True, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("geom", geom("GEOMETRY"), nullable=False),
        sa.Column("attributes", JSONB, server_default="{}", nullable=False),
        sa.Column("micro_code", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now(), nullable=False),
        sa.CheckConstraint(
            "GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')", name="ck_facilities_geom_type"
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name="ck_facilities_geom_valid"),
    )
    gist("facilities")

    op.create_table(
        "addresses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address_id", sa.String(20), nullable=False, unique=True),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("road", sa.String(100), nullable=True),
        sa.Column("number", sa.String(20), nullable=True),
        sa.Column("courtyard", sa.String(100), nullable=True),
        sa.Column("building", sa.String(20), nullable=True),
        sa.Column("unit", sa.String(20), nullable=True),
        sa.Column("community_code", sa.String(12), nullable=True),
        sa.Column("micro_code", sa.String(32), nullable=True),
        sa.Column("geom", geom("POINT"), nullable=False),
    )
    gist("addresses")
    op.create_index("ix_addresses_micro_code", "addresses", ["micro_code"])

    op.create_table(
        "reports",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("external_id", sa.String(40), nullable=True, unique=True),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="reported"),
        sa.Column("reporter_contact", sa.String(200), nullable=True),
        sa.Column("photo_urls", JSONB, server_default="[]", nullable=False),
        sa.Column("address_text", sa.String(300), nullable=True),
        sa.Column("input_crs", sa.String(10), server_default="wgs84", nullable=False),
        sa.Column("input_lon", sa.Float, nullable=True),
        sa.Column("input_lat", sa.Float, nullable=True),
        sa.Column("geom", geom("POINT"), nullable=True),
        sa.Column("micro_code", sa.String(32), nullable=True),
        sa.Column("tertiary_code", sa.String(32), nullable=True),
        sa.Column("community_code", sa.String(12), nullable=True),
        sa.Column("outside", sa.Boolean, server_default="false", nullable=False),
        sa.Column("near_boundary", sa.Boolean, server_default="false", nullable=False),
        sa.Column("possible_duplicate_of", sa.BigInteger, sa.ForeignKey("reports.id"), nullable=True),
        sa.Column("duplicate_of", sa.BigInteger, sa.ForeignKey("reports.id"), nullable=True),
        sa.Column("dispatch_kind", sa.String(20), nullable=True),
        sa.Column("dispatch_target", sa.String(100), nullable=True),
        sa.Column("claimed_by", sa.Integer, sa.ForeignKey("people.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("solved", sa.Boolean, nullable=True),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.Column("rating_comment", sa.Text, nullable=True),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="ck_reports_rating"),
        sa.CheckConstraint("char_length(description) <= 4000", name="ck_reports_description_len"),
    )
    gist("reports")
    for col in ("status", "category", "micro_code", "tertiary_code", "community_code", "created_at"):
        op.create_index(f"ix_reports_{col}", "reports", [col])

    op.create_table(
        "report_events",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "report_id", sa.BigInteger, sa.ForeignKey("reports.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("data", JSONB, server_default="{}", nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=now(), nullable=False),
    )
    op.create_index("ix_report_events_report_id", "report_events", ["report_id"])

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('dispatcher', 'planner', 'admin')", name="ck_api_tokens_role"),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=now(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("generation_id", sa.Integer, sa.ForeignKey("generations.id"), nullable=True),
        sa.Column("grid_code", sa.String(32), nullable=True),
        sa.Column("detail", JSONB, server_default="{}", nullable=False),
    )
    op.create_index("ix_audit_log_generation_id", "audit_log", ["generation_id"])

    # Grid geometries must be valid; the database enforces ST_IsValid itself. Only a draft may hold an
    # invalid geometry (an imported real-world layer), so that its validation report can show it; a draft
    # with errors cannot be activated, and activation clears in_draft, which re-checks every geometry.
    op.execute(
        "ALTER TABLE grids ADD CONSTRAINT ck_grids_geom_valid CHECK (in_draft OR ST_IsValid(geom))"
    )


def downgrade() -> None:
    for table in (
        "audit_log",
        "api_tokens",
        "report_events",
        "reports",
        "addresses",
        "facilities",
        "courtyards",
        "road_segments",
        "roles",
        "people",
        "grids",
        "generations",
        "communities",
    ):
        op.drop_table(table)
