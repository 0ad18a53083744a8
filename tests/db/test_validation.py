"""The validation report: each finding on small hand-made tilings (pure), then over the API on a draft
(activation blocked by errors with the list, not by warnings)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import shapely
from shapely.geometry import box, mapping

from geo_grid import crs
from geo_grid.services.validation import GridShape, check
from tests.support.api import bearer, create_tokens
from tests.support.boundary_support import PARENT, A, B, horizontal_line, open_draft, read
from tests.support.boundary_support import write_headers as wh

X, Y = 113.70, 34.76
D = 0.001  # ≈ 91 m × 111 m
COMMUNITY = "410105012001"
T1 = COMMUNITY + "001"
LEADERS = {T1: {"grid_leader"}, T1 + "001": {"micro_grid_leader"}, T1 + "002": {"micro_grid_leader"}}


def cell(i: float, j: float, w: float = 1, h: float = 1) -> Any:
    return box(X + i * D, Y + j * D, X + (i + w) * D, Y + (j + h) * D)


def grid(code: str, geom: Any, level: str = "micro", parent: str = T1) -> GridShape:
    return GridShape(code, level, parent, COMMUNITY, geom)


def tiling(m1: Any = None, m2: Any = None, extra: list[GridShape] | None = None) -> list[GridShape]:
    return [
        grid(T1, cell(0, 0, 2, 1), "tertiary", COMMUNITY),
        grid(T1 + "001", m1 if m1 is not None else cell(0, 0)),
        grid(T1 + "002", m2 if m2 is not None else cell(1, 0)),
        *(extra or []),
    ]


def run(grids: list[GridShape], leaders: dict[str, set[str]] = LEADERS) -> list[dict[str, Any]]:
    """The problems as the report shows them (Problem.properties())."""
    return [p.properties() for p in check(grids, {COMMUNITY: cell(0, 0, 2, 1)}, leaders)]


def kinds(problems: list[dict[str, Any]]) -> dict[str, str]:
    return {p["kind"]: p["severity"] for p in problems}


def m2(geom: Any) -> float:
    return float(crs.to_metric(geom).area)


def test_a_clean_tiling_has_no_problem() -> None:
    assert run(tiling()) == []


def test_invalid_geometry_with_reason_and_location() -> None:
    bowtie = shapely.Polygon([(X, Y), (X + D, Y + D), (X + D, Y), (X, Y + D), (X, Y)])
    (p,) = [p for p in run(tiling(m1=bowtie)) if p["kind"] == "invalid_geometry"]
    assert p["severity"] == "error" and p["reason"] == "Self-intersection"
    assert p["location"] == pytest.approx([X + D / 2, Y + D / 2])


def test_micro_outside_its_tertiary_and_overlapping_its_sibling() -> None:
    problems = run(tiling(m1=cell(0, 0, 1.5, 1.2)))
    found = {p["kind"]: p for p in problems}
    assert found["outside_parent"]["severity"] == "error"
    assert found["outside_parent"]["area_m2"] == pytest.approx(m2(cell(0, 1, 1.5, 0.2)), abs=0.1)
    assert found["overlap"]["codes"] == [T1 + "001", T1 + "002"]
    assert found["overlap"]["area_m2"] == pytest.approx(m2(cell(1, 0, 0.5, 1)), abs=0.1)


def test_gap_in_a_tertiary_grid_and_in_a_community() -> None:
    problems = run(tiling(m2=cell(1, 0, 0.75, 1)))
    (gap,) = [p for p in problems if p["kind"] == "gap"]
    assert gap["codes"] == [T1] and gap["area_m2"] == pytest.approx(m2(cell(1.75, 0, 0.25, 1)), abs=0.1)
    # A tertiary grid that leaves part of its community uncovered.
    grids = tiling()
    grids[0] = grid(T1, cell(0, 0, 2, 0.9), "tertiary", COMMUNITY)
    gaps = [p for p in run(grids) if p["kind"] == "gap" and p["codes"] == [COMMUNITY]]
    assert len(gaps) == 1 and gaps[0]["area_m2"] == pytest.approx(m2(cell(0, 0.9, 2, 0.1)), abs=0.1)


def test_sliver_and_missing_leaders_are_warnings() -> None:
    sliver = cell(1.99, 0, 0.01, 0.05)  # ≈ 0.9 m × 5.5 m
    grids = tiling(m2=cell(1, 0).difference(sliver), extra=[grid(T1 + "003", sliver)])
    found = kinds(run(grids))
    assert found == {"sliver": "warning", "no_micro_grid_leader": "warning"}
    found = kinds(run(tiling(), {}))
    assert found == {"no_micro_grid_leader": "warning", "no_grid_leader": "warning"}


def test_missing_parent_and_noise_below_one_square_metre() -> None:
    orphan = grid("410105012009009001", cell(5, 5), parent="410105012009009")
    assert "missing_parent" in kinds(run(tiling(extra=[orphan])))
    # A 1e-9 degree overhang (≈ 0.1 mm, ≈ 0.01 m²) is overlay noise and is ignored.
    assert run(tiling(m1=cell(0, 0, 1 + 1e-9, 1))) == []


# ------------------------------------------------------------------------------------- over the API


@pytest.fixture
def env(db_url: str, make_client: Any) -> Iterator[tuple[Any, dict[str, str], int]]:
    tokens = create_tokens(db_url)
    with make_client(db_url) as client:
        yield client, tokens, open_draft(client, tokens["planner"])


def test_report_over_the_api_errors_block_activation_warnings_do_not(env) -> None:
    client, tokens, gen = env
    clean = client.get(f"/generations/{gen}/validation").json()
    assert clean["valid"] and clean["counts"] == {"error": 0, "warning": 0}
    assert clean["thresholds"]["area_crs"] == "EPSG:4547"
    geom, tag = read(client, gen, A)
    client.put(
        f"/generations/{gen}/grids/{A}",
        json={"geometry": mapping(geom.buffer(0.0002))},
        headers=wh(tokens["planner"], tag),
    )
    report = client.get(f"/generations/{gen}/validation").json()
    assert {"overlap", "outside_parent"} <= set(report["by_kind"]) and not report["valid"]
    fc = client.get(f"/generations/{gen}/validation", params={"format": "geojson"}).json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == len(report["problems"])
    overlap = next(f for f in fc["features"] if f["properties"]["kind"] == "overlap")
    assert overlap["geometry"]["type"] in ("Polygon", "MultiPolygon") and overlap["properties"]["area_m2"] > 1
    r = client.post(f"/generations/{gen}/activate", headers=bearer(tokens["planner"]))
    assert r.status_code == 409 and r.json()["code"] == "validation_failed"
    assert {e["kind"] for e in r.json()["detail"]["errors"]} >= {"overlap", "outside_parent"}
    assert client.get(f"/generations/{gen}", headers=bearer(tokens["planner"])).json()["status"] == "draft"
    # Undo; a split leaves a new micro-grid without a 微网格长: a warning, activation goes ahead.
    _, tag = read(client, gen, A)
    client.put(
        f"/generations/{gen}/grids/{A}", json={"geometry": mapping(geom)}, headers=wh(tokens["planner"], tag)
    )
    _, tag = read(client, gen, B)
    gb, _ = read(client, gen, B)
    client.post(
        f"/generations/{gen}/grids/{B}/split",
        json={"line": horizontal_line(gb)},
        headers=wh(tokens["planner"], tag),
    )
    report = client.get(f"/generations/{gen}/validation").json()
    assert report["valid"] and report["by_kind"] == {"no_micro_grid_leader": 1}
    r = client.post(f"/generations/{gen}/activate", headers=bearer(tokens["planner"]))
    assert r.status_code == 200, r.text
    assert client.get(f"/generations/{gen}").json()["status"] == "active"
    assert client.get("/generations/1").json()["status"] == "retired"
    assert PARENT  # the split part stays under the same tertiary grid
