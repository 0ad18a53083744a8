"""Accounts and sessions of the web console (issue 13): users (argon2 password hashes), browser sessions
(only the SHA-256 of the session token is stored), uploaded photos, and the user as an actor in the audit
log. The role `grid_worker` (网格员) joins the API token roles.

Revision ID: 0006_accounts
Revises: 0005_exchange
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_accounts"
down_revision = "0005_exchange"
branch_labels = None
depends_on = None

USER_ROLES = "('dispatcher', 'planner', 'admin', 'grid_worker')"


def now():
    return sa.text("geo_grid_now()")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("login", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="SET NULL"), nullable=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("disabled", sa.Boolean, server_default="false", nullable=False),
        sa.Column("failed_attempts", sa.Integer, server_default="0", nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), server_default=now(), nullable=False),
        sa.CheckConstraint(f"role IN {USER_ROLES}", name="ck_users_role"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),  # SHA-256 of the session token (the cookie)
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(300), nullable=True),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "photos",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("report_id", sa.BigInteger, sa.ForeignKey("reports.id", ondelete="CASCADE"), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("bytes", sa.Integer, nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("thumb_path", sa.String(300), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now(), nullable=False),
    )
    op.create_index("ix_photos_report_id", "photos", ["report_id"])
    op.add_column(
        "audit_log", sa.Column("actor_user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True)
    )
    op.create_index("ix_audit_log_actor_user_at", "audit_log", ["actor_user_id", "at"])
    op.drop_constraint("ck_api_tokens_role", "api_tokens", type_="check")
    op.create_check_constraint("ck_api_tokens_role", "api_tokens", f"role IN {USER_ROLES}")


def downgrade() -> None:
    op.execute("DELETE FROM api_tokens WHERE role = 'grid_worker'")
    op.drop_constraint("ck_api_tokens_role", "api_tokens", type_="check")
    op.create_check_constraint("ck_api_tokens_role", "api_tokens", "role IN ('dispatcher', 'planner', 'admin')")
    op.drop_index("ix_audit_log_actor_user_at", "audit_log")
    op.drop_column("audit_log", "actor_user_id")
    op.drop_index("ix_photos_report_id", "photos")
    op.drop_table("photos")
    op.drop_index("ix_web_sessions_user_id", "web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("users")
