"""`geo-grid geocode` on spoken addresses (real PostGIS): intersections, landmarks and qualifiers get their
level, precision and candidate grids in the output file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from geo_grid.cli import app

runner = CliRunner()


def test_geocode_spoken_rows(monkeypatch: pytest.MonkeyPatch, ro_db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "calls.csv"
    with open(source, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["case", "地址"])
        w.writerows(
            [
                ["1", "农业路与未来路交叉口向南50米"],
                ["2", "民航路社区党群服务中心门口"],
                ["3", "经三路151号院对面"],
                ["4", "农业路与东风路交叉口"],
                ["5", "学校"],
            ]
        )
    out = tmp_path / "out.csv"
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", ro_db_url)
    result = runner.invoke(app, ["geocode", str(source), "-o", str(out), "--column", "地址"])
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["matched", "matched", "matched", "not_found", "ambiguous"]
    assert [r["level"] for r in rows[:3]] == ["intersection", "landmark", "courtyard"]
    assert [r["qualifier"] for r in rows] == ["", "门口", "对面", "", ""]
    assert rows[0]["precision_m"] == "35" and rows[0]["micro_code"]
    assert rows[0]["address_id"] == "" and rows[0]["matched_address"] == "农业路与未来路交叉口向南50米"
    assert rows[0]["road_section_chief"]  # the 路段长 of a segment of one of the two roads
    opposite = rows[2]["grid_candidates"].split(" | ")
    assert len(opposite) >= 2 and opposite[0] == rows[2]["micro_code"]
    assert "最近处" in rows[3]["suggestions"]
