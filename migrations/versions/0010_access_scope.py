"""Access is scoped (issue 15): a user or an API token belongs to one subdistrict (it sees and acts on that
subdistrict's data only) or, when `subdistrict_code` is NULL, to the district/city (it reads everything and
changes nothing unless it is an admin). The rules themselves live in geo_grid/repository/scope.py.

Revision ID: 0010_access_scope
Revises: 0008_change_feed
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_access_scope"
down_revision = "0008_change_feed"
branch_labels = None
depends_on = None

TABLES = ("users", "api_tokens")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("subdistrict_code", sa.String(9), nullable=True))
        op.create_foreign_key(
            f"fk_{table}_subdistrict", table, "subdistricts", ["subdistrict_code"], ["code"]
        )
        # Backfill: a database made before this revision served exactly one subdistrict, and its
        # dispatchers, planners and grid workers worked for it; they keep doing so (not read-only district
        # accounts). Admins stay district-level. With several subdistricts nothing is guessed.
        op.execute(
            f"""UPDATE {table} SET subdistrict_code = (SELECT min(code) FROM subdistricts)
                WHERE role <> 'admin' AND (SELECT count(*) FROM subdistricts) = 1"""
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_constraint(f"fk_{table}_subdistrict", table, type_="foreignkey")
        op.drop_column(table, "subdistrict_code")
