"""Personal-data policy: one audit log for every write and every read of unmasked personal data
(actor_token_id = the token's id, the principal; subject = the record), and report tracking codes
(only their SHA-256 is stored).

Revision ID: 0003_privacy
Revises: 0002_clock
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_privacy"
down_revision = "0002_clock"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "audit_log",
        sa.Column("actor_token_id", sa.Integer(), sa.ForeignKey("api_tokens.id"), nullable=True),
    )
    op.add_column("audit_log", sa.Column("subject", sa.String(200), nullable=True))
    # Request-level actions name the route ("POST /reports/{report_id}/transitions").
    op.alter_column("audit_log", "action", type_=sa.String(120), existing_type=sa.String(40))
    op.create_index("ix_audit_log_actor_token_at", "audit_log", ["actor_token_id", "at"])
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"])
    op.add_column("reports", sa.Column("tracking_code_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("reports", "tracking_code_hash")
    op.drop_index("ix_audit_log_subject", "audit_log")
    op.drop_index("ix_audit_log_actor_token_at", "audit_log")
    op.execute("DELETE FROM audit_log WHERE length(action) > 40")
    op.alter_column("audit_log", "action", type_=sa.String(40), existing_type=sa.String(120))
    op.drop_column("audit_log", "subject")
    op.drop_column("audit_log", "actor_token_id")
