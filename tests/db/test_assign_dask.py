"""`geo-grid assign … --dask local:2`: the same assignment on a Dask LocalCluster of 2 worker processes
equals the single-process one row for row (Parquet partitions, GeoParquet point geometry, CSV)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from typer.testing import CliRunner

from geo_grid.cli import app
from geo_grid.settings import SAMPLE_DIR

runner = CliRunner()
OUT_COLUMNS = ["micro_code", "tertiary_code", "community_code", "outside", "error"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """~2,850 points: inside every micro-grid, on shared vertices (ties), outside, and unusable ones."""
    micro = gpd.read_file(SAMPLE_DIR / "micro_grids.geojson")
    x0, y0, x1, y1 = (float(v) for v in micro.total_bounds)
    inner = [(float(p.x), float(p.y)) for p in micro.geometry.representative_point()]
    vertices = [(float(a), float(b)) for a, b in shapely.get_coordinates(micro.geometry.iloc[:60])[::5]]
    pts = inner * 4 + vertices + [(x0 - 0.01, y0), (x1 + 0.002, (y0 + y1) / 2)]
    lon = [p[0] for p in pts]
    lat = [p[1] for p in pts]
    lon[5], lat[17], lat[40] = None, float("nan"), 95.0
    return pd.DataFrame({"id": [f"{i:06d}" for i in range(len(pts))], "lon": lon, "lat": lat})


def _run(env: dict[str, str], *args: object) -> str:
    result = runner.invoke(app, ["assign", *map(str, args)], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def _single(env: dict[str, str], frame: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "all.parquet")
    _run(env, tmp_path / "all.parquet", "-o", tmp_path / "single.parquet")
    return pq.read_table(tmp_path / "single.parquet").to_pandas()


def _normal(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[["id", *OUT_COLUMNS]].astype(object)
    return out.where(out.notna(), None).reset_index(drop=True)


@pytest.mark.slow
def test_dask_equals_one_process_row_for_row(ro_db_url: str, tmp_path: Path, frame: pd.DataFrame) -> None:
    env = {"GEO_GRID_DATABASE_URL": ro_db_url}
    single = _normal(_single(env, frame, tmp_path))
    assert single["micro_code"].notna().sum() == len(frame) - 5 and (single["error"].notna()).sum() == 3

    # Parquet in 3 partitions (a folder), GeoParquet (point geometry, no coordinate columns), CSV.
    parts = tmp_path / "parts"
    parts.mkdir()
    for k, chunk in enumerate(range(0, len(frame), 1200)):
        piece = frame.iloc[chunk : chunk + 1200]
        pq.write_table(pa.Table.from_pandas(piece, preserve_index=False), parts / f"part.{k}.parquet")
    geo = gpd.GeoDataFrame(frame[["id"]], geometry=gpd.points_from_xy(frame.lon, frame.lat), crs="EPSG:4326")
    geo.to_parquet(tmp_path / "geo.parquet")
    frame.to_csv(tmp_path / "in.csv", index=False)

    said = _run(env, parts, "-o", tmp_path / "dask_out", "--dask", "local:2")
    assert "3 partitions" in said
    dask_out = pq.read_table(tmp_path / "dask_out").to_pandas().sort_values("id", kind="stable")
    assert list(dask_out.columns) == ["id", "lon", "lat", *OUT_COLUMNS]
    pd.testing.assert_frame_equal(_normal(dask_out), single)

    _run(env, tmp_path / "geo.parquet", "-o", tmp_path / "geo_out", "--dask", "local:2")
    geo_out = _normal(pq.read_table(tmp_path / "geo_out").to_pandas())
    # NaN/None coordinates become empty points (no coordinates): "missing" there, like the single run;
    # the out-of-range latitude is a valid point geometry with an out-of-range error, as in the single run
    pd.testing.assert_frame_equal(geo_out.drop(columns="error"), single.drop(columns="error"))

    _run(env, tmp_path / "in.csv", "-o", tmp_path / "csv_out", "--dask", "local:2")
    csv_out = pd.concat(
        pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        for p in sorted((tmp_path / "csv_out").glob("part-*.csv"))
    )
    csv_single = single.fillna("").astype(str).replace({"True": "True", "False": "False"})
    assert list(csv_out["id"]) == list(single["id"])
    assert list(csv_out["micro_code"]) == list(csv_single["micro_code"])
    assert list(csv_out["outside"]) == list(csv_single["outside"])


def test_dask_refuses_a_bad_scheduler_spec_clearly(
    ro_db_url: str, tmp_path: Path, frame: pd.DataFrame
) -> None:
    frame.to_csv(tmp_path / "in.csv", index=False)
    result = runner.invoke(
        app,
        ["assign", str(tmp_path / "in.csv"), "-o", str(tmp_path / "o"), "--dask", "local:two"],
        env={"GEO_GRID_DATABASE_URL": ro_db_url},
    )
    assert result.exit_code == 2 and "local:N" in result.output
