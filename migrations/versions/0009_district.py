"""A district in one database: communities, people, addresses, facilities, courtyards, road segments and
reports belong to a subdistrict (`subdistrict_code`, a foreign key to subdistricts); grids belong to one
through their generation.

Which subdistrict a row belongs to, when its writer does not say (one rule, in SQL, for every writer and
for the backfill of an existing database):
- a row whose code names it (a community's code, a row's `community_code`, a report's `micro_code`: the
  first 9 digits of every grid and community code are the subdistrict's) belongs to that subdistrict;
- else a place (address, courtyard, road segment, facility, report) belongs to the subdistrict whose
  active micro-grid covers it (a point on a shared border: the smallest code, the lookup rule), and one
  outside every grid to the subdistrict of its nearest active micro-grid: a report outside the grids is
  still handled by a 街道中心, the nearest one;
- else, when the database holds exactly one subdistrict, that one.
Reports may stay without one (no point, no grid in the database: the district level); every other row
must have one (NOT NULL).

Revision ID: 0009_district
Revises: 0010_access_scope
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_district"
down_revision = "0008_change_feed"
branch_labels = None
depends_on = None

# table → (may it stay NULL, the column whose code names the subdistrict, the row's geometry column)
TABLES: dict[str, tuple[bool, str | None, str | None]] = {
    "communities": (False, "code", None),
    "people": (False, None, None),
    "addresses": (False, "community_code", "geom"),
    "courtyards": (False, "community_code", "geom"),
    "road_segments": (False, "community_code", "geom"),
    "facilities": (False, None, "geom"),
    "reports": (True, "micro_code", "geom"),
}

_FUNCTIONS = """
CREATE FUNCTION geo_grid_code_subdistrict(given text) RETURNS varchar LANGUAGE sql STABLE AS $$
  SELECT s.code FROM subdistricts s WHERE length(given) >= 9 AND s.code = left(given, 9)
$$;
CREATE FUNCTION geo_grid_only_subdistrict() RETURNS varchar LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN count(*) = 1 THEN min(s.code) END FROM subdistricts s
$$;
-- The subdistrict of the active micro-grid covering a place (smallest code on ties), else of the nearest
-- one (a few candidates by the index, the nearest of them in metres, EPSG:4547).
CREATE FUNCTION geo_grid_place_subdistrict(place geometry) RETURNS varchar LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    (SELECT gen.subdistrict_code FROM grids g JOIN generations gen ON gen.id = g.generation_id
     WHERE gen.status = 'active' AND g.level = 'micro' AND ST_Covers(g.geom, ST_PointOnSurface(place))
     ORDER BY g.code LIMIT 1),
    (SELECT c.subdistrict_code FROM (
        SELECT gen.subdistrict_code, g.code, g.geom FROM grids g JOIN generations gen ON gen.id = g.generation_id
        WHERE gen.status = 'active' AND g.level = 'micro'
        ORDER BY g.geom <-> place LIMIT 8) c
     ORDER BY ST_Distance(ST_Transform(c.geom, 4547), ST_Transform(place, 4547)), c.code LIMIT 1))
$$;
"""


def _rule(code_column: str | None, geom_column: str | None, row: str) -> str:
    parts = []
    if code_column:
        parts.append(f"geo_grid_code_subdistrict({row}.{code_column})")
    if geom_column:
        parts.append(
            f"CASE WHEN {row}.{geom_column} IS NOT NULL THEN geo_grid_place_subdistrict({row}.{geom_column}) END"
        )
    parts.append("geo_grid_only_subdistrict()")
    return f"coalesce({', '.join(parts)})"


def upgrade() -> None:
    op.execute(_FUNCTIONS)
    for table, (nullable, code_column, geom_column) in TABLES.items():
        op.add_column(
            table,
            sa.Column(
                "subdistrict_code",
                sa.String(9),
                sa.ForeignKey("subdistricts.code", name=f"fk_{table}_subdistrict"),
                nullable=True,
            ),
        )
        # Backfill: every existing row gets its subdistrict by the rule above.
        op.execute(f"UPDATE {table} t SET subdistrict_code = {_rule(code_column, geom_column, 't')}")
        if not nullable:
            missing = (
                op.get_bind()
                .execute(sa.text(f"SELECT count(*) FROM {table} WHERE subdistrict_code IS NULL"))
                .scalar()
            )
            if missing:
                raise RuntimeError(
                    f"{missing} row(s) of {table} belong to no subdistrict: import the subdistricts "
                    "(geo-grid subdistricts import) with the database at 0008_change_feed, then upgrade again"
                )
            op.alter_column(table, "subdistrict_code", nullable=False)
        op.create_index(f"ix_{table}_subdistrict_code", table, ["subdistrict_code"])
        # A writer that does not name the subdistrict gets it by the same rule.
        op.execute(
            f"""CREATE FUNCTION geo_grid_fill_{table}_subdistrict() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  NEW.subdistrict_code := {_rule(code_column, geom_column, "NEW")};
                  RETURN NEW;
                END $$"""
        )
        op.execute(
            f"""CREATE TRIGGER tr_{table}_subdistrict BEFORE INSERT ON {table} FOR EACH ROW
                WHEN (NEW.subdistrict_code IS NULL) EXECUTE FUNCTION geo_grid_fill_{table}_subdistrict()"""
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER tr_{table}_subdistrict ON {table}")
        op.execute(f"DROP FUNCTION geo_grid_fill_{table}_subdistrict()")
        op.drop_index(f"ix_{table}_subdistrict_code", table_name=table)
        op.drop_constraint(f"fk_{table}_subdistrict", table, type_="foreignkey")
        op.drop_column(table, "subdistrict_code")
    op.execute("DROP FUNCTION geo_grid_place_subdistrict(geometry)")
    op.execute("DROP FUNCTION geo_grid_only_subdistrict()")
    op.execute("DROP FUNCTION geo_grid_code_subdistrict(text)")
