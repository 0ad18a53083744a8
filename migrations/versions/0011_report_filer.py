"""Who filed a report (a console user or an API token) is a column of the report, written with it in the
same INSERT: 我的上报 (GET /m/reports) reads it instead of matching the audit log's entries of
`POST /reports` to reports. Reports of the public, of imports and of other systems' orders have neither.

Revision ID: 0011_report_filer
Revises: 0010_access_scope
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_report_filer"
down_revision = "0010_access_scope"
branch_labels = None
depends_on = None

COLUMNS = (("filed_by_user_id", "users"), ("filed_by_token_id", "api_tokens"))


def upgrade() -> None:
    for column, table in COLUMNS:
        op.add_column("reports", sa.Column(column, sa.Integer, nullable=True))
        op.create_foreign_key(f"fk_reports_{column}", "reports", table, [column], ["id"])
        op.create_index(
            f"ix_reports_{column}_created_at",
            "reports",
            [column, "created_at"],
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
        )
    # Backfill from the audit log: until now the one record of who made each intake (one entry per created
    # report, written in the report's own transaction; the subject names the report).
    op.execute(
        """UPDATE reports r SET filed_by_user_id = a.actor_user_id, filed_by_token_id = a.actor_token_id
           FROM audit_log a
           WHERE a.action = 'POST /reports' AND a.subject = 'report:' || r.id::text
             AND (a.actor_user_id IS NOT NULL OR a.actor_token_id IS NOT NULL)"""
    )


def downgrade() -> None:
    for column, _ in COLUMNS:
        op.drop_index(f"ix_reports_{column}_created_at", table_name="reports")
        op.drop_constraint(f"fk_reports_{column}", "reports", type_="foreignkey")
        op.drop_column("reports", column)
