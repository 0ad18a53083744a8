"""Subdistricts are rows: a subdistrict (街道) with its district, city and province (national statistical
division codes); every generation belongs to one (foreign key).

Revision ID: 0007_subdistricts
Revises: 0003_privacy
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_subdistricts"
down_revision = "0003_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subdistricts",
        sa.Column("code", sa.String(9), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("district_name", sa.String(100), nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("city_name", sa.String(100), nullable=False),
        sa.Column("province_code", sa.String(6), nullable=False),
        sa.Column("province_name", sa.String(100), nullable=False),
        sa.CheckConstraint("code ~ '^[0-9]{9}$'", name="ck_subdistricts_code"),
    )
    # A database made before this revision holds generations of one subdistrict whose names were a
    # constant of the code: 未来路街道 is the only one there was; any other code gets its code as names
    # (geo-grid subdistricts import corrects them).
    op.execute(
        """INSERT INTO subdistricts
           SELECT DISTINCT g.subdistrict_code,
                  CASE WHEN g.subdistrict_code = '410105012' THEN '未来路街道' ELSE g.subdistrict_code END,
                  substr(g.subdistrict_code, 1, 6),
                  CASE WHEN g.subdistrict_code LIKE '410105%' THEN '金水区' ELSE substr(g.subdistrict_code, 1, 6) END,
                  substr(g.subdistrict_code, 1, 4) || '00',
                  CASE WHEN g.subdistrict_code LIKE '4101%' THEN '郑州市' ELSE substr(g.subdistrict_code, 1, 4) END,
                  substr(g.subdistrict_code, 1, 2) || '0000',
                  CASE WHEN g.subdistrict_code LIKE '41%' THEN '河南省' ELSE substr(g.subdistrict_code, 1, 2) END
           FROM generations g"""
    )
    op.create_foreign_key(
        "fk_generations_subdistrict", "generations", "subdistricts", ["subdistrict_code"], ["code"]
    )


def downgrade() -> None:
    op.drop_constraint("fk_generations_subdistrict", "generations", type_="foreignkey")
    op.drop_table("subdistricts")
