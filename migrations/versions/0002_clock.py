"""One clock for SQL: geo_grid_now() = now() + the offset the service sets on each connection.

Every timestamp default and every "now" in the service's SQL uses it, so a fixed clock (tests, demos)
holds in the database too (geo_grid/clock.py).

Revision ID: 0002_clock
Revises: 0001_initial
Create Date: 2026-11-30
"""

from alembic import op

revision = "0002_clock"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

# Every column whose default was now().
DEFAULTS = [
    ("generations", "created_at"),
    ("grids", "updated_at"),
    ("facilities", "created_at"),
    ("facilities", "updated_at"),
    ("reports", "created_at"),
    ("reports", "updated_at"),
    ("report_events", "at"),
    ("api_tokens", "created_at"),
    ("audit_log", "at"),
]


def upgrade() -> None:
    op.execute(
        """CREATE FUNCTION geo_grid_now() RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
             SELECT now() + coalesce(nullif(current_setting('geo_grid.clock_offset', true), '')::interval,
                                     interval '0')
           $$"""
    )
    for table, column in DEFAULTS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT geo_grid_now()")


def downgrade() -> None:
    for table, column in DEFAULTS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT now()")
    op.execute("DROP FUNCTION geo_grid_now()")
