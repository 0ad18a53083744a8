"""Boundary import/export: flawed real layers import into a draft and show in validation, GCJ-02 input is
shifted, a broken file changes nothing and names the feature, and export → import is unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import mapping, shape
from typer.testing import CliRunner

from geo_grid import crs
from geo_grid.cli import app as cli_app
from geo_grid.errors import ImportFailed
from geo_grid.io.boundaries import read_layer
from tests.support.api import bearer, create_tokens
from tests.support.realdata import realdata_path

runner = CliRunner()
TERTIARY = "410105012001001"


@pytest.fixture
def env(db_url: str, make_client: Any) -> Iterator[tuple[Any, dict[str, str], str]]:
    tokens = create_tokens(db_url)
    with make_client(db_url) as client:
        yield client, tokens, db_url


@pytest.fixture(scope="module")
def shared_app(db_factory: Any, make_client: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as client:
        yield client, tokens


@pytest.fixture
def shared(shared_app: tuple[Any, dict[str, str]]) -> tuple[Any, dict[str, str]]:
    """One app for tests that only import into drafts: each starts with no open draft."""
    client, tokens = shared_app
    for g in _drafts(client):
        client.delete(f"/generations/{g}", headers=bearer(tokens["planner"]))
    return client, tokens


def _drafts(client: Any) -> list[int]:
    return [g["id"] for g in client.get("/generations").json() if g["status"] == "draft"]


def _upload(client: Any, token: str, path: Path, gen: int | None = None, **form: str) -> Any:
    url = f"/generations/{gen}/import" if gen else "/generations/import"
    with open(path, "rb") as fh:
        return client.post(url, files={"file": (path.name, fh)}, data=form, headers=bearer(token))


def _feature(code: str | None, geom: Any, parent: str = TERTIARY) -> dict[str, Any]:
    props = {"code": code, "name": f"测试{code}", "parent_code": parent}
    return {"type": "Feature", "properties": props, "geometry": mapping(geom) if geom is not None else None}


def _write(tmp_path: Path, features: list[dict[str, Any]], name: str = "layer.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def test_flawed_real_layer_imports_into_a_draft_and_shows_in_validation(env, monkeypatch) -> None:
    client, _, url = env
    path = realdata_path("la_neighborhood_councils_2021-01-22.geojson")
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", url)
    args = [
        "import",
        "boundaries",
        str(path),
        "--level",
        "micro",
        "--code-field",
        "nc_id",
        "--name-field",
        "name",
        "--parent-code",
        TERTIARY,
        "--actor",
        "规划员",
    ]
    dry = runner.invoke(cli_app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert (
        "would import" in dry.output and "99 micro grids" in dry.output and "invalid_geometry" in dry.output
    )
    assert [g["status"] for g in client.get("/generations").json()] == [
        "active"
    ]  # the dry run changed nothing
    done = runner.invoke(cli_app, [*args, "--commit"])
    assert done.exit_code == 0, done.output
    (draft,) = [g for g in client.get("/generations").json() if g["status"] == "draft"]
    assert draft["counts"] == {"micro": 99, "tertiary": 73}
    report = client.get(f"/generations/{draft['id']}/validation").json()
    (invalid,) = [p for p in report["problems"] if p["kind"] == "invalid_geometry"]
    assert invalid["reason"] == "Ring Self-intersection"
    assert invalid["location"] == pytest.approx([-118.299062076469, 33.8472836367918])
    overlaps = [p for p in report["problems"] if p["kind"] == "overlap"]
    layer = read_layer(path, "micro", "nc_id", "name", parent_code=TERTIARY)
    total = sum(shapely.make_valid(crs.to_metric(g["geom"])).area for g in layer.grids)
    # SOURCES.md: "about 4.9 % overlap" (area covered twice / area); summed pairwise overlaps come to ≈ 6.4 %.
    assert 0.04 < sum(p["area_m2"] for p in overlaps) / total < 0.08 and len(overlaps) > 50
    assert client.get(f"/generations/{draft['id']}/audit").json()[-1]["actor"] == "规划员"


def test_gcj02_input_is_shifted_to_wgs84(env) -> None:
    client, tokens, _ = env
    path = realdata_path("zhengzhou_410100_full_datav.json")
    raw = read_layer(path, "tertiary", "adcode", "name", parent_code="410105012001")
    shifted = read_layer(path, "tertiary", "adcode", "name", parent_code="410105012001", user_crs="gcj02")
    assert shifted.shifted_from == "gcj02" and raw.shifted_from is None
    jinshui_raw = next(g["geom"] for g in raw.grids if g["code"] == "410105")
    jinshui = next(g["geom"] for g in shifted.grids if g["code"] == "410105")
    a, b = shapely.get_coordinates(jinshui_raw), shapely.get_coordinates(jinshui)
    expected = np.column_stack(crs.to_wgs84(a[:, 0], a[:, 1], "gcj02"))
    assert np.abs(b - expected).max() < 1e-9
    ax, ay = crs.lonlat_to_metric(a[:, 0], a[:, 1])
    bx, by = crs.lonlat_to_metric(b[:, 0], b[:, 1])
    offset = np.hypot(np.asarray(ax) - bx, np.asarray(ay) - by)
    assert offset.min() > 200 and offset.max() < 800  # GCJ-02 is a few hundred metres off in Zhengzhou
    r = _upload(
        client,
        tokens["planner"],
        path,
        level="tertiary",
        code_field="adcode",
        name_field="name",
        parent_code="410105012001",
        crs="gcj02",
    )
    assert r.status_code == 201, r.text
    assert r.json()["shifted_from"] == "gcj02" and r.json()["features"] == 12
    stored = shape(client.get(f"/generations/{r.json()['generation']}/grids/410105").json()["geometry"])
    assert stored.symmetric_difference(jinshui).area < 1e-12


@pytest.mark.parametrize("flaw", ["no_geometry", "duplicate_code", "no_code", "point"])
def test_a_broken_feature_changes_nothing_and_is_named(shared, tmp_path, flaw) -> None:
    client, tokens = shared
    generations_before = len(client.get("/generations").json())
    sq = shapely.box(113.70, 34.76, 113.701, 34.761)
    features = [
        _feature(TERTIARY + "901", sq),
        _feature(TERTIARY + "902", sq),
        _feature(TERTIARY + "903", sq),
    ]
    if flaw == "no_geometry":
        features[1]["geometry"] = None
    elif flaw == "duplicate_code":
        features[2]["properties"]["code"] = TERTIARY + "901"
    elif flaw == "no_code":
        features[1]["properties"]["code"] = None
    else:
        features[1]["geometry"] = {"type": "Point", "coordinates": [113.7, 34.76]}
    path = _write(tmp_path, features)
    with pytest.raises(ImportFailed) as info:
        read_layer(path, "micro")
    assert "feature #" in info.value.message and "nothing was imported" in info.value.message
    r = _upload(client, tokens["planner"], path, level="micro")
    assert r.status_code == 422 and r.json()["code"] == "import_failed"
    assert ("feature #2" if flaw != "duplicate_code" else "feature #3") in r.json()["message"]
    assert len(client.get("/generations").json()) == generations_before
    # Into an existing draft: the draft is left exactly as it was.
    gen = client.post("/generations", headers=bearer(tokens["planner"])).json()["id"]
    planner = bearer(tokens["planner"])  # a draft is the planners' (others: 404)
    before = client.get(f"/generations/{gen}", headers=planner).json()["counts"]
    r = _upload(client, tokens["planner"], path, gen, level="micro")
    assert r.status_code == 422
    assert client.get(f"/generations/{gen}", headers=planner).json()["counts"] == before
    assert [e["action"] for e in client.get(f"/generations/{gen}/audit").json()] == ["open_draft"]


def test_invalid_but_readable_geometry_imports_and_is_reported(shared, tmp_path) -> None:
    client, tokens = shared
    x, y, d = 113.70, 34.76, 0.001
    bowtie = shapely.Polygon([(x, y), (x + d, y + d), (x + d, y), (x, y + d), (x, y)])
    path = _write(tmp_path, [_feature(TERTIARY + "001", bowtie)])
    r = _upload(client, tokens["planner"], path, level="micro")
    assert r.status_code == 201, r.text
    problems = client.get(f"/generations/{r.json()['generation']}/validation").json()["problems"]
    (p,) = [p for p in problems if p["kind"] == "invalid_geometry"]
    assert p["codes"] == [TERTIARY + "001"] and p["location"] == pytest.approx([x + d / 2, y + d / 2])


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp"])
def test_export_then_import_is_unchanged(shared, tmp_path, fmt) -> None:
    client, tokens = shared
    for level in ("micro", "tertiary"):
        r = client.get("/generations/1/export", params={"format": fmt, "level": level})
        assert r.status_code == 200
        path = tmp_path / f"{level}.{ {'shp': 'zip'}.get(fmt, fmt) }"
        path.write_bytes(r.content)
        gens = _drafts(client)
        r = _upload(client, tokens["planner"], path, gens[0] if gens else None, level=level)
        assert r.status_code in (200, 201), r.text
        assert r.json()["features"] == {"micro": 652, "tertiary": 73}[level]
    gen = r.json()["generation"]
    diff = client.get(f"/generations/1/diff/{gen}").json()
    assert diff["counts"] == {
        "added": 0,
        "retired": 0,
        "reshaped": 0,
        "reports": 0,
        "facilities": 0,
        "addresses": 0,
    }
    assert diff["reparented_or_renamed"] == []
    assert client.get(f"/generations/{gen}/validation").json()["counts"]["error"] == 0


def test_cli_export_writes_each_format(env, tmp_path, monkeypatch) -> None:
    _, _, url = env
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", url)
    out = tmp_path / "grids.gpkg"
    result = runner.invoke(cli_app, ["export", "--generation", "1", "--format", "gpkg", "-o", str(out)])
    assert result.exit_code == 0, result.output
    layer = read_layer(out, "micro")  # the file holds both levels; read as one layer it has 725 features
    assert len(layer.grids) == 725
