"""The 12345 exchange: reports know their source system, orders are unique per (source, external_id),
sources are configured in `exchange_sources`, and an `outbox` row is enqueued by a trigger on
report_events in the same transaction as every status change (and red light) of a sourced report.

Revision ID: 0005_exchange
Revises: 0004_case_handling
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_exchange"
down_revision = "0004_case_handling"
branch_labels = None
depends_on = None

# Which events go out: a real status change, or a red light (a later issue's overdue warning).
ENQUEUE_FUNCTION = """
CREATE OR REPLACE FUNCTION geo_grid_outbox_enqueue() RETURNS trigger AS $$
DECLARE
    r_source text;
    r_external text;
BEGIN
    IF NOT ((NEW.from_status IS NOT NULL AND NEW.to_status IS NOT NULL AND NEW.from_status <> NEW.to_status)
            OR NEW.kind = 'red_light') THEN
        RETURN NEW;
    END IF;
    SELECT r.source, r.external_id INTO r_source, r_external
      FROM reports r JOIN exchange_sources s ON s.name = r.source
     WHERE r.id = NEW.report_id;
    IF r_source IS NULL THEN
        RETURN NEW;
    END IF;
    INSERT INTO outbox (source, report_id, event_id, payload, created_at, next_attempt_at)
    VALUES (r_source, NEW.report_id, NEW.id,
            jsonb_build_object(
                'event_id', NEW.id, 'report_id', NEW.report_id, 'source', r_source,
                'external_id', r_external, 'kind', NEW.kind, 'from_status', NEW.from_status,
                'to_status', NEW.to_status, 'note', NEW.note, 'data', NEW.data,
                'at', to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
            geo_grid_now(), geo_grid_now());
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""


def upgrade() -> None:
    op.add_column("reports", sa.Column("source", sa.String(40), nullable=True))
    # external_id stays unique among reports without a source (as before); with a source, per source.
    op.drop_constraint("reports_external_id_key", "reports", type_="unique")
    op.create_index(
        "ux_reports_external_id_no_source",
        "reports",
        ["external_id"],
        unique=True,
        postgresql_where=sa.text("source IS NULL"),
    )
    op.create_index(
        "ux_reports_source_external_id",
        "reports",
        ["source", "external_id"],
        unique=True,
        postgresql_where=sa.text("source IS NOT NULL"),
    )
    op.create_table(
        "exchange_sources",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("webhook_url", sa.String(500), nullable=True),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("api_key_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default="true"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("geo_grid_now()")
        ),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "source",
            sa.String(40),
            sa.ForeignKey("exchange_sources.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "report_id", sa.BigInteger(), sa.ForeignKey("reports.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "event_id",
            sa.BigInteger(),
            sa.ForeignKey("report_events.id", ondelete="CASCADE"),
            nullable=True,
            unique=True,
        ),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("geo_grid_now()")
        ),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("geo_grid_now()"),
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failed_for_good", sa.Boolean(), nullable=False, server_default="false"),
    )
    op.create_index(
        "ix_outbox_pending", "outbox", ["report_id", "id"], postgresql_where=sa.text("delivered_at IS NULL")
    )
    op.execute(ENQUEUE_FUNCTION)
    op.execute(
        "CREATE TRIGGER tr_report_events_outbox AFTER INSERT ON report_events "
        "FOR EACH ROW EXECUTE FUNCTION geo_grid_outbox_enqueue()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS tr_report_events_outbox ON report_events")
    op.execute("DROP FUNCTION IF EXISTS geo_grid_outbox_enqueue()")
    op.drop_index("ix_outbox_pending", "outbox")
    op.drop_table("outbox")
    op.drop_table("exchange_sources")
    op.drop_index("ux_reports_source_external_id", "reports")
    op.drop_index("ux_reports_external_id_no_source", "reports")
    op.execute(
        "UPDATE reports SET external_id = left(source || ':' || external_id, 40) WHERE source IS NOT NULL"
    )
    op.create_unique_constraint("reports_external_id_key", "reports", ["external_id"])
    op.drop_column("reports", "source")
