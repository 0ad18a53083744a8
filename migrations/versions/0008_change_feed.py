"""Change feed: every statement that changes what a running service holds in memory (generations, the
standard addresses, API tokens) notifies the channel `geo_grid_changes` with the table's name. PostgreSQL
delivers a notification when its transaction commits (never for a rollback), to every listening process.

Revision ID: 0008_change_feed
Revises: 0007_subdistricts
Create Date: 2026-11-30
"""

from alembic import op

revision = "0008_change_feed"
down_revision = "0007_subdistricts"
branch_labels = None
depends_on = None

# The tables whose changes a running service follows (api/runtime.py decides what each one means).
TABLES = ("generations", "addresses", "api_tokens")


def upgrade() -> None:
    op.execute(
        """CREATE FUNCTION geo_grid_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             PERFORM pg_notify('geo_grid_changes', TG_TABLE_NAME);
             RETURN NULL;
           END $$"""
    )
    for table in TABLES:
        op.execute(
            f"""CREATE TRIGGER tr_{table}_change_feed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
                ON {table} FOR EACH STATEMENT EXECUTE FUNCTION geo_grid_notify_change()"""
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER tr_{table}_change_feed ON {table}")
    op.execute("DROP FUNCTION geo_grid_notify_change()")
