"""Subdistricts are rows (issue 11): the sample loads its one subdistrict; names shown by the service come
from the table; the CSV import commits whole or changes nothing; a second subdistrict is refused rather
than guessed until requests are scoped (issue 15)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from geo_grid import db
from geo_grid.cli import app
from geo_grid.errors import Conflict
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.services import subdistricts as subdistrict_service
from tests.support.places import SAMPLE_SUBDISTRICT
from tests.support.sql import scalar as _scalar

runner = CliRunner()
HEADER = "code,name,district_code,district_name,city_code,city_name,province_code,province_name\n"


def test_the_sample_subdistrict_is_served_and_listed(client: Any) -> None:
    listed = client.get("/subdistricts").json()
    assert listed == [
        {
            "code": "410105012",
            "name": "未来路街道",
            "district_code": "410105",
            "district_name": "金水区",
            "city_code": "410100",
            "city_name": "郑州市",
            "province_code": "410000",
            "province_name": "河南省",
        }
    ]
    assert SAMPLE_SUBDISTRICT.admin_chain == ("河南省", "郑州市", "金水区", "未来路街道")
    stats = client.get("/grids/410105012/stats").json()
    assert stats["name"] == "未来路街道"


def test_a_renamed_subdistrict_is_shown_by_its_new_name(
    db_url: str, make_client: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", db_url)
    path = tmp_path / "subdistricts.csv"
    path.write_text(
        HEADER + "410105012,未来路街道办事处,410105,金水区,410100,郑州市,410000,河南省\n", "utf-8"
    )
    result = runner.invoke(app, ["subdistricts", "import", str(path)])
    assert result.exit_code == 0, result.output
    with make_client(db_url) as client:
        assert client.get("/grids/410105012/stats").json()["name"] == "未来路街道办事处"
        assert "未来路街道办事处事件地图" in client.get("/maps/incidents").text
    exported = tmp_path / "out.csv"
    assert runner.invoke(app, ["subdistricts", "export", str(exported)]).exit_code == 0
    assert exported.read_text("utf-8-sig") == path.read_text("utf-8")
    audit = _scalar(db_url, "SELECT count(*) FROM audit_log WHERE action = 'import_subdistricts'")
    assert audit == 1


@pytest.mark.parametrize(
    "bad_row",
    [
        "41010501,短编码,410105,金水区,410100,郑州市,410000,河南省",
        "410105013,,410105,金水区,410100,郑州市,410000,河南省",
        "410106001,不在区内,410105,金水区,410100,郑州市,410000,河南省",
    ],
)
def test_an_import_with_one_bad_row_changes_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad_row: str
) -> None:
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", db_url)
    path = tmp_path / "subdistricts.csv"
    good = "410105001,经八路街道,410105,金水区,410100,郑州市,410000,河南省\n"
    path.write_text(HEADER + good + bad_row + "\n", "utf-8")
    result = runner.invoke(app, ["subdistricts", "import", str(path)])
    assert result.exit_code != 0
    assert "第3行" in result.output
    assert _scalar(db_url, "SELECT count(*) FROM subdistricts") == 1


def test_a_second_subdistrict_is_refused_rather_than_guessed(db_url: str) -> None:
    engine = db.make_engine(db_url, pool_size=1)
    try:
        with db.transaction(db.make_session_factory(engine)) as session:
            assert subdistrict_service.home_code(session) == "410105012"
            subdistrict_repo.upsert(
                session,
                [
                    subdistrict_repo.Subdistrict(
                        "410105001", "经八路街道", "410105", "金水区", "410100", "郑州市", "410000", "河南省"
                    )
                ],  # fmt: skip
            )
            # One with live boundaries is served while the other has none (issue 15: access scope) …
            assert subdistrict_service.home_code(session) == "410105012"
            session.execute(
                text(
                    "INSERT INTO generations (subdistrict_code, status, created_by) VALUES ('410105001', 'active', 't')"
                )
            )
            # … two with live boundaries: refused rather than guessed.
            with pytest.raises(Conflict):
                subdistrict_service.home(session)
            session.rollback()
    finally:
        engine.dispose()


def test_a_generation_must_belong_to_a_known_subdistrict(db_url: str) -> None:
    engine = db.make_engine(db_url, pool_size=1)
    try:
        with engine.connect() as conn, pytest.raises(Exception, match="fk_generations_subdistrict"):
            conn.execute(
                text(
                    "INSERT INTO generations (subdistrict_code, status, created_by) VALUES ('410105099', 'draft', 't')"
                )
            )
    finally:
        engine.dispose()
