"""The schema comes only from the Alembic migrations: up from empty, constraints the database enforces."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from geo_grid import db

EXPECTED_TABLES = {
    "communities", "generations", "grids", "people", "roles", "road_segments", "courtyards",
    "facilities", "addresses", "reports", "report_events", "api_tokens", "audit_log", "subdistricts",
    "exchange_sources", "outbox", "users", "web_sessions", "photos",
    "categories", "work_calendar", "work_periods", "report_stages", "supervision_orders",
}  # fmt: skip


@pytest.fixture
def migrated_empty(empty_db_factory) -> str:
    """Migrated to head, holding one subdistrict (generations belong to a subdistrict row) and no data."""
    url = empty_db_factory()
    db.upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subdistricts VALUES "
                "('410105012', '未来路街道', '410105', '金水区', '410100', '郑州市', '410000', '河南省')"
            )
        )
    engine.dispose()
    return url


def test_upgrade_from_empty_creates_every_table_with_postgis(migrated_empty: str) -> None:
    engine = create_engine(migrated_empty)
    with engine.connect() as conn:
        tables = set(
            conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
        )
        assert tables >= EXPECTED_TABLES
        assert (
            conn.execute(text("SELECT extname FROM pg_extension WHERE extname = 'postgis'")).scalar()
            == "postgis"
        )
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    from alembic.script import ScriptDirectory

    assert [head] == list(ScriptDirectory.from_config(db.alembic_config(migrated_empty)).get_heads())


def test_every_geometry_column_has_a_gist_index_and_declared_srid(migrated_empty: str) -> None:
    engine = create_engine(migrated_empty)
    with engine.connect() as conn:
        cols = conn.execute(
            text(
                "SELECT f_table_name, f_geometry_column, srid FROM geometry_columns WHERE f_table_schema='public'"
            )
        ).all()
        indexes = conn.execute(
            text(
                "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexdef ILIKE '%gist%'"
            )
        ).all()
    engine.dispose()
    assert len(cols) >= 7
    for table, column, srid in cols:
        assert srid == 4326, (table, column)
        assert any(t == table and f"({column})" in d for t, d in indexes), (
            f"no GiST index on {table}.{column}"
        )


def test_database_refuses_invalid_grid_geometry_outside_drafts(migrated_empty: str) -> None:
    bowtie = (
        "SRID=4326;MULTIPOLYGON(((113.70 34.76, 113.71 34.77, 113.71 34.76, 113.70 34.77, 113.70 34.76)))"
    )
    engine = create_engine(migrated_empty)
    with engine.begin() as conn:
        gen = conn.execute(
            text(
                "INSERT INTO generations (subdistrict_code, status, created_by) VALUES ('410105012','draft','t') RETURNING id"
            )
        ).scalar()
    insert = text(
        "INSERT INTO grids (generation_id, code, level, name, parent_code, community_code, geom, in_draft) "
        "VALUES (:g, :code, 'micro', 'x', 'p', 'c', ST_GeomFromEWKT(:wkt), :draft)"
    )
    with pytest.raises(IntegrityError, match="ck_grids_geom_valid"), engine.begin() as conn:
        conn.execute(insert, {"g": gen, "code": "1", "wkt": bowtie, "draft": False})
    with engine.begin() as conn:  # a draft may hold it, so its validation report can show it
        conn.execute(insert, {"g": gen, "code": "2", "wkt": bowtie, "draft": True})
    with pytest.raises(IntegrityError, match="ck_grids_geom_valid"), engine.begin() as conn:
        conn.execute(text("UPDATE grids SET in_draft = false WHERE code = '2'"))
    engine.dispose()


def test_only_one_active_generation_per_subdistrict(migrated_empty: str) -> None:
    engine = create_engine(migrated_empty)
    add = text(
        "INSERT INTO generations (subdistrict_code, status, created_by) VALUES ('410105012', 'active', 't')"
    )
    with engine.begin() as conn:
        conn.execute(add)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(add)
    engine.dispose()


def _schema_differences(url: str) -> list[object]:
    """What Alembic's autogenerate would change to make the migrated database match models.py (the ORM
    repeats the schema for queries; this keeps the two from drifting). PostGIS's own table
    (spatial_ref_sys) and alembic_version are not the project's schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from geo_grid.models import Base

    def include_object(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        if type_ == "table" and reflected and compare_to is None:
            return name in EXPECTED_TABLES
        return True

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"include_object": include_object, "compare_server_default": False}
            )
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


def test_models_match_the_migrated_schema(migrated_empty: str) -> None:
    assert _schema_differences(migrated_empty) == []


def test_a_database_from_before_subdistricts_gets_its_subdistrict_as_a_row(empty_db_factory) -> None:
    url = empty_db_factory()
    db.upgrade(url, "0003_privacy")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO generations (subdistrict_code, status, created_by) VALUES ('410105012', 'active', 't')"
            )
        )
    db.upgrade(url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT name, district_name, city_code FROM subdistricts")).one()
    engine.dispose()
    assert tuple(row) == ("未来路街道", "金水区", "410100")


def test_a_database_from_before_the_district_gets_its_subdistrict_codes(empty_db_factory) -> None:
    """0009_district backfills every row of a database with data by its rule: a code names the
    subdistrict, else the covering (or nearest) active micro-grid's; a report with neither stays at the
    district level (NULL) when there are several subdistricts. The downgrade drops the columns again."""
    url = empty_db_factory()
    db.upgrade(url, "0008_change_feed")
    engine = create_engine(url)
    with engine.begin() as conn:
        for code, name, x in (("410105012", "未来路街道", 113.70), ("410105013", "第二街道", 113.73)):
            conn.execute(
                text(
                    "INSERT INTO subdistricts VALUES (:c, :n, '410105', '金水区', '410100', '郑州市', '410000', '河南省')"
                ),
                {"c": code, "n": name},
            )
            gen = conn.execute(
                text(
                    "INSERT INTO generations (subdistrict_code, status, created_by) "
                    "VALUES (:c, 'active', 't') RETURNING id"
                ),
                {"c": code},
            ).scalar()
            conn.execute(
                text(
                    "INSERT INTO grids (generation_id, code, level, name, parent_code, community_code, geom) "
                    "VALUES (:g, :c || '001001001', 'micro', 'm', :c || '001001', :c || '001', "
                    "ST_Multi(ST_MakeEnvelope(:x, 34.76, :x + 0.01, 34.77, 4326)))"
                ),
                {"g": gen, "c": code, "x": x},
            )
            conn.execute(
                text("INSERT INTO communities (code, name) VALUES (:c || '001', '社区')"), {"c": code}
            )
        conn.execute(
            text(
                "INSERT INTO addresses (address_id, address, community_code, geom) VALUES "
                "('A1', '某路1号', NULL, 'SRID=4326;POINT(113.705 34.765)'), "
                "('A2', '某路2号', '410105013001', 'SRID=4326;POINT(113.705 34.765)')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO facilities (facility_id, kind, name, geom) "
                "VALUES ('F1', 'charging', '桩', 'SRID=4326;POINT(113.735 34.765)')"
            )
        )
        points = {"in": "POINT(113.735 34.765)", "near_1": "POINT(113.712 34.765)", "none": None}
        for ext, point in points.items():
            conn.execute(
                text(
                    "INSERT INTO reports (external_id, category, channel, geom) "
                    "VALUES (:e, 'other', 'phone', ST_GeomFromEWKT(:p))"
                ),
                {"e": ext, "p": f"SRID=4326;{point}" if point else None},
            )
    db.upgrade(url)
    with engine.connect() as conn:
        communities = dict(conn.execute(text("SELECT code, subdistrict_code FROM communities")).all())
        addresses = dict(conn.execute(text("SELECT address_id, subdistrict_code FROM addresses")).all())
        facilities = conn.execute(text("SELECT subdistrict_code FROM facilities")).scalar()
        reports = dict(conn.execute(text("SELECT external_id, subdistrict_code FROM reports")).all())
    assert communities == {"410105012001": "410105012", "410105013001": "410105013"}
    assert addresses == {"A1": "410105012", "A2": "410105013"}  # a community code names it
    assert facilities == "410105013"
    assert reports == {"in": "410105013", "near_1": "410105012", "none": None}
    with pytest.raises(IntegrityError), engine.begin() as conn:  # a foreign key
        conn.execute(text("UPDATE addresses SET subdistrict_code = '410105099'"))
    with pytest.raises(IntegrityError), engine.begin() as conn:  # several subdistricts: a person must say
        conn.execute(text("INSERT INTO people (person_id, name) VALUES ('P1', '张三')"))
    _downgrade(url, "0008_change_feed")
    with engine.connect() as conn:
        tables = set(
            conn.execute(
                text(
                    "SELECT table_name FROM information_schema.columns WHERE column_name = 'subdistrict_code'"
                )
            ).scalars()
        )
    engine.dispose()
    assert tables == {"generations", "work_periods"}


def _downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(db.alembic_config(url), revision)
