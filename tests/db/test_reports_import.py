"""`geo-grid import reports`: CSV and GeoJSON, all-or-nothing (a bad row names itself, nothing is stored),
dry run without --commit, and the real MyLA311 file (blank coordinates; everything far outside)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from geo_grid import db
from geo_grid.cli import app
from geo_grid.errors import ImportFailed
from geo_grid.io.reports import ReadOptions, read_reports
from geo_grid.services import directory as directory_service
from geo_grid.services.report_import import import_reports
from geo_grid.settings import Settings
from tests.support.deadlines import Deadlines
from tests.support.realdata import realdata_path
from tests.support.report_helpers import interior_point

MICRO = "410105012004003005"
HEADER = ["report_id", "category", "description", "channel", "created_at", "lon", "lat", "status"]


def _count(url: str, where: str = "true") -> int:
    engine = db.make_engine(url, pool_size=1)
    with engine.connect() as conn:
        n = int(conn.execute(text(f"SELECT count(*) FROM reports WHERE {where}")).scalar_one())
    engine.dispose()
    return n


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def _rows() -> list[list[str]]:
    lon, lat = interior_point(MICRO)
    return [
        [
            "X001",
            "noise",
            "夜间施工噪音",
            "hotline",
            "2026-11-01T21:00:00+08:00",
            str(lon),
            str(lat),
            "reported",
        ],
        [
            "X002",
            "parking",
            "占用消防通道",
            "grid_phone",
            "2026-11-01T21:05:00",
            str(lon + 0.01),
            str(lat),
            "",
        ],
        [
            "X003",
            "littering",
            "垃圾堆放",
            "community_pc",
            "2026-11-02T08:00:00+08:00",
            "113.5",
            "34.5",
            "accepted",
        ],
    ]


def _run(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["import", "reports", *args], env={"GEO_GRID_DATABASE_URL": url})
    return result.exit_code, result.output


def test_csv_dry_run_then_commit(db_url: str, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "r.csv", _rows())
    before = _count(db_url)
    code, out = _run(db_url, str(path), "--dry-run")
    assert code == 0, out
    assert "would import" in out and _count(db_url) == before  # dry run: nothing changed
    code, out = _run(db_url, str(path), "--actor", "测试导入")  # importing commits by default
    assert code == 0, out
    assert _count(db_url) == before + 3
    assert _count(db_url, f"external_id = 'X001' AND micro_code = '{MICRO}' AND NOT outside") == 1
    assert _count(db_url, "external_id = 'X003' AND outside AND dispatch_target = '街道中心'") == 1
    # A naive time is read in Asia/Shanghai; deadlines follow the categories table over the work calendar.
    assert _count(db_url, "external_id = 'X002' AND created_at = '2026-11-01T13:05:00Z'") == 1
    due = Deadlines(db_url).overall_due("parking", datetime.fromisoformat("2026-11-01T13:05:00+00:00"))
    assert _count(db_url, f"external_id = 'X002' AND due_at = '{due.isoformat()}' AND stage = 'accept'") == 1
    # Importing the same file again refuses: the ids are taken, nothing changes.
    code, out = _run(db_url, str(path), "--commit")
    assert code == 2 and "line 2 (X001)" in out and "already" in out
    assert _count(db_url) == before + 3


def test_bad_row_imports_nothing_and_names_the_row(db_url: str, tmp_path: Path) -> None:
    rows = _rows()
    rows.append(["X004", "ufo_sighting", "?", "hotline", "2026-11-02T09:00:00+08:00", "113.7", "34.75", ""])
    rows.append(["X005", "noise", "x", "hotline", "2026-11-02T09:00:00+08:00", "113.7", "north", ""])
    path = _write_csv(tmp_path / "bad.csv", rows)
    before = _count(db_url)
    code, out = _run(db_url, str(path), "--commit")
    assert code == 2
    assert "line 5 (X004)" in out and "ufo_sighting" in out
    assert "line 6 (X005)" in out  # every bad row is listed, not only the first
    assert _count(db_url) == before
    # A row that reads fine but fails later (coordinates out of range) also rolls everything back.
    rows = _rows() + [["X006", "noise", "x", "hotline", "2026-11-02T09:00:00+08:00", "113.7", "95", ""]]
    code, out = _run(db_url, str(_write_csv(tmp_path / "bad2.csv", rows)), "--commit")
    assert code == 2 and "line 5 (X006)" in out and _count(db_url) == before


def test_geojson_import(db_url: str, tmp_path: Path) -> None:
    lon, lat = interior_point(MICRO)
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"report_id": "G1", "category": "noise", "channel": "hotline",
                        "created_at": "2026-11-03T10:00:00+08:00", "description": "广场舞噪音"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat + 0.0001]},
         "properties": {"report_id": "G2", "category": "noise", "channel": "hotline",
                        "created_at": "2026-11-03T11:00:00+08:00"}},
    ]  # fmt: skip
    path = tmp_path / "r.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    code, out = _run(db_url, str(path), "--commit")
    assert code == 0, out
    assert _count(db_url, f"external_id IN ('G1', 'G2') AND micro_code = '{MICRO}'") == 2
    # The second is 11 m from the first, an hour later, same category: suggested as its duplicate.
    assert (
        _count(
            db_url,
            "external_id = 'G2' AND possible_duplicate_of = (SELECT id FROM reports WHERE external_id = 'G1')",
        )
        == 1
    )
    bad = {
        "type": "FeatureCollection",
        "features": [features[0] | {"geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}],
    }
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ImportFailed, match="feature 1 .G1.: geometry must be a Point"):
        read_reports(path)


LA_OPTIONS = ReadOptions(
    columns={"report_id": "srnumber", "category": "requesttype", "created_at": "createddate", "lon": "longitude",
             "lat": "latitude", "description": "address", "channel": "requestsource",
             "status": ""},  # their statuses (Closed, Open …) are not ours: ignored, every row starts reported
    category_map={"Graffiti Removal": "illegal_advertising", "Illegal Dumping Pickup": "littering",
                  "Bulky Items": "littering", "Single Streetlight Issue": "facility_repair",
                  "Multiple Streetlight Issue": "facility_repair"},
    default_category="facility_repair",
    default_channel="hotline",
    tz="America/Los_Angeles",
)  # fmt: skip


def test_real_311_file_all_or_nothing_and_outside(db_factory: Callable[[], str]) -> None:
    """MyLA311: 10,000 real reports, 11 without coordinates, all ~12,000 km from 未来路街道."""
    path = realdata_path("la_myla311_requests_2020-01-01_to_03.csv")
    with pytest.raises(ImportFailed) as err:
        read_reports(path, LA_OPTIONS)
    assert "no coordinates" in err.value.message and "line " in err.value.message
    assert len(err.value.detail["errors"]) == 11  # each blank-coordinate row is named

    rows = read_reports(path, ReadOptions(**{**LA_OPTIONS.__dict__, "allow_missing_point": True}))
    assert len(rows) == 10_000
    url = db_factory()
    engine = db.make_engine(url, pool_size=1)
    factory = db.make_session_factory(engine)
    with db.transaction(factory) as session:
        gen = session.execute(text("SELECT id FROM generations WHERE status = 'active'")).scalar_one()
        directory = directory_service.build(session, gen)
        summary = import_reports(session, directory, Settings(database_url=url), rows, "test", path.name)
    engine.dispose()
    assert summary["imported"] == 10_000 and summary["inside"] == 0
    assert summary["outside"] == 10_000 and summary["without_point"] == 11
    where = "external_id LIKE '1-%'"
    assert (
        _count(url, f"{where} AND outside AND dispatch_kind = 'centre' AND dispatch_target = '街道中心'")
        == 10_000
    )
    assert _count(url, f"{where} AND geom IS NULL") == 11
    assert _count(url, f"{where} AND micro_code IS NULL AND NOT near_boundary") == 10_000
    # Naive LA times were read in Los Angeles time: the first request (1/1/20 0:05 PST) is 08:05 UTC.
    assert _count(url, "external_id = '1-1523590121' AND created_at = '2020-01-01T08:05:00Z'") == 1
