"""`geo-grid import addresses` (all-or-nothing, matcher rebuilt) and `geo-grid geocode` on real PostGIS."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from geo_grid import db
from geo_grid.cli import app
from geo_grid.repository import addresses as address_repo
from tests.support.api import bearer, create_tokens

HEADER = "address_id,address,road,number,courtyard,building,unit,lon,lat\n"
# A new door plate whose point lies beside A00075 (经三路158号院1号楼1单元), inside the subdistrict.
NEW = "T00001,经三路999号试点小区1号楼1单元,经三路,999号,试点小区,1号楼,1单元,113.6862721,34.7679479\n"
runner = CliRunner()


def _rows(url: str) -> dict[str, dict[str, Any]]:
    engine = db.make_engine(url, pool_size=1)
    with db.make_session_factory(engine)() as session:
        rows = {r.address_id: r.as_row() for r in address_repo.all_rows(session)}
    engine.dispose()
    return rows


def _run(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> Any:
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", url)
    return runner.invoke(app, list(args))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_row_changes_nothing_and_names_the_row(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    before = _rows(db_url)
    bad = HEADER + NEW + "T00002,经三路1000号,经三路,1000号,,,,113.69,not-a-lat\n"
    result = _run(
        monkeypatch, db_url, "import", "addresses", str(_write(tmp_path / "a.csv", bad)), "--commit"
    )
    assert result.exit_code == 2
    assert "row 3" in result.output and "lat" in result.output
    repeated = HEADER + NEW + NEW
    result = _run(
        monkeypatch, db_url, "import", "addresses", str(_write(tmp_path / "b.csv", repeated)), "--commit"
    )
    assert result.exit_code == 2 and "row 3" in result.output and "repeats row 2" in result.output
    assert _rows(db_url) == before


def test_dry_run_changes_nothing(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    before = _rows(db_url)
    result = _run(
        monkeypatch, db_url, "import", "addresses", str(_write(tmp_path / "a.csv", HEADER + NEW)), "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "added 1" in result.output
    assert _rows(db_url) == before


def test_import_assigns_grid_and_reload_finds_the_new_address(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, make_client: Callable[..., Any]
) -> None:
    planner = create_tokens(db_url)["planner"]
    query = "经三路999号试点小区1号楼1单元"
    with make_client(db_url) as client:
        assert client.get("/lookup/address", params={"q": query}).json().get("address_id") is None
        result = _run(
            monkeypatch,
            db_url,
            "import",
            "addresses",
            str(_write(tmp_path / "a.csv", HEADER + NEW)),
            "--commit",
        )
        assert result.exit_code == 0, result.output
        assert "added 1" in result.output
        rows = _rows(db_url)
        assert len(rows) == 8391
        new, neighbour = rows["T00001"], rows["A00001"]
        # Assigned in PostGIS by the lookup rule; the community code comes from the micro-grid.
        assert new["micro_code"] == neighbour["micro_code"]
        assert new["community_code"] == neighbour["micro_code"][:12]
        reloaded = client.post("/lookup/address/reload", headers=bearer(planner))
        assert reloaded.status_code == 200 and reloaded.json()["addresses"] == 8391
        body = client.get("/lookup/address", params={"q": query}).json()
        assert body["status"] == "matched" and body["address"]["address_id"] == "T00001"
        assert body["grid"]["micro"]["code"] == new["micro_code"]
    # A new app builds its matcher from the database at start-up and finds it too.
    with make_client(db_url) as client:
        assert client.get("/lookup/address", params={"q": query}).json()["address"]["address_id"] == "T00001"


def test_replace_makes_the_file_the_whole_table(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    text = (
        HEADER
        + NEW
        + "A00001,经三路151号院1号楼1单元,经三路,151号,经三路151号院,1号楼,1单元,113.6862721,34.7679479\n"
    )
    result = _run(
        monkeypatch,
        db_url,
        "import",
        "addresses",
        str(_write(tmp_path / "a.csv", text)),
        "--commit",
        "--replace",
    )
    assert result.exit_code == 0, result.output
    assert "deleted 8389" in result.output
    assert set(_rows(db_url)) == {"A00001", "T00001"}


def test_geocode_csv_round_trip(monkeypatch: pytest.MonkeyPatch, ro_db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    with open(source, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["case", "地址"])
        w.writerows(
            [
                ["1", "经三路158号院1号楼1单元"],
                ["2", "火星路99号"],
                ["3", "1号楼"],
                ["4", "经三路一百五十一号院1号楼1单元"],
            ]
        )
    out = tmp_path / "out.csv"
    result = _run(monkeypatch, ro_db_url, "geocode", str(source), "-o", str(out), "--column", "地址")
    assert result.exit_code == 0, result.output
    assert "matched 2, ambiguous 1, not_found 1" in result.output
    assert out.read_text(encoding="utf-8").startswith("\ufeff")  # a BOM, for Excel and WPS
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["case"] for r in rows] == ["1", "2", "3", "4"]  # every row kept, in order
    assert [r["status"] for r in rows] == ["matched", "not_found", "ambiguous", "matched"]
    db_rows = _rows(ro_db_url)
    first = rows[0]
    assert first["address_id"] == "A00075" and first["level"] == "unit"
    assert first["matched_address"] == "经三路158号院1号楼1单元"
    assert first["micro_code"] == db_rows["A00075"]["micro_code"]
    assert first["tertiary_code"] == first["micro_code"][:15]
    assert float(first["lon"]) == pytest.approx(db_rows["A00075"]["lon"])
    assert all(
        first[role] for role in ("micro_grid_leader", "grid_leader", "courtyard_chief", "road_section_chief")
    )
    assert rows[3]["address_id"] == "A00001" and rows[3]["courtyard_chief"] == ""
    assert rows[1]["suggestions"] and rows[2]["suggestions"] and rows[1]["address_id"] == ""
    # No phone numbers in files unless asked for.
    assert not re.search(r"1[3-9]\d{9}", out.read_text(encoding="utf-8"))
    with_phones = tmp_path / "phones.csv"
    result = _run(
        monkeypatch,
        ro_db_url,
        "geocode",
        str(source),
        "-o",
        str(with_phones),
        "--column",
        "地址",
        "--with-phones",
    )
    assert result.exit_code == 0, result.output
    with open(with_phones, encoding="utf-8-sig", newline="") as fh:
        first = next(csv.DictReader(fh))
    assert re.fullmatch(r"1[3-9]\d{9}", first["micro_grid_leader_phone"])


def test_geocode_unknown_column_fails_clearly(
    monkeypatch: pytest.MonkeyPatch, ro_db_url: str, tmp_path: Path
) -> None:
    source = _write(tmp_path / "in.csv", "addr\n经三路\n")
    result = _run(monkeypatch, ro_db_url, "geocode", str(source), "-o", str(tmp_path / "o.csv"))
    assert result.exit_code == 2 and "no column 'address'" in result.output


def test_running_service_picks_up_an_import_made_by_the_cli(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, make_client: Callable[..., Any]
) -> None:
    import time

    with make_client(db_url, generation_poll_s=0.2) as client:
        before = client.get("/lookup/address", params={"q": "经三路999号试点小区1号楼1单元"})
        assert "T00001" not in before.text  # not in the table yet (at best a coarser match)
        result = _run(
            monkeypatch, db_url, "import", "addresses", str(_write(tmp_path / "a.csv", HEADER + NEW))
        )
        assert result.exit_code == 0, result.output
        deadline = time.monotonic() + 20
        found = None
        while time.monotonic() < deadline:
            found = client.get("/lookup/address", params={"q": "经三路999号试点小区1号楼1单元"})
            if "T00001" in found.text:
                break
            time.sleep(0.2)
        assert found is not None and found.status_code == 200, found.text if found else None
        assert found.json()["address"]["address_id"] == "T00001"
