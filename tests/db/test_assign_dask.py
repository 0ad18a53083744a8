"""`geo-grid assign … --dask local:2`: the same assignment on a Dask LocalCluster of 2 worker processes
equals the single-process one row for row (Parquet partitions, GeoParquet point geometry, CSV), whether
the workers load the published index snapshot (once per worker process) or receive the pickled one."""

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
from geo_grid.db import make_engine, make_session_factory
from geo_grid.io.index_store import read_manifest
from geo_grid.lookup_district import DistrictIndex
from geo_grid.services import assign_dask
from geo_grid.services.assign import Assigner
from geo_grid.services.directory import load_active
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

    store = tmp_path / "store"
    said = _run(env, parts, "-o", tmp_path / "dask_out", "--dask", "local:2", "--index-store", store)
    assert "3 partitions" in said
    (snapshot,) = [p for p in store.iterdir() if p.is_dir()]
    assert f"index: loaded by each worker from {snapshot.resolve()}" in said
    dask_out = pq.read_table(tmp_path / "dask_out").to_pandas().sort_values("id", kind="stable")
    assert list(dask_out.columns) == ["id", "lon", "lat", *OUT_COLUMNS]
    pd.testing.assert_frame_equal(_normal(dask_out), single)

    said = _run(
        env, tmp_path / "geo.parquet", "-o", tmp_path / "geo_out", "--dask", "local:2", "--scatter-index"
    )
    assert "index: sent to each worker (pickled)" in said
    geo_out = _normal(pq.read_table(tmp_path / "geo_out").to_pandas())
    # NaN/None coordinates become empty points (no coordinates): "missing" there, like the single run;
    # the out-of-range latitude is a valid point geometry with an out-of-range error, as in the single run
    pd.testing.assert_frame_equal(geo_out.drop(columns="error"), single.drop(columns="error"))

    said = _run(
        env, tmp_path / "in.csv", "-o", tmp_path / "csv_out", "--dask", "local:2", "--index-store", store
    )
    assert f"index: loaded by each worker from {snapshot.resolve()}" in said  # the same snapshot, reused
    assert [p for p in store.iterdir() if p.is_dir()] == [snapshot]
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


@pytest.mark.slow
def test_each_worker_loads_the_published_index_once_else_gets_it_pickled(
    ro_db_url: str, tmp_path: Path, frame: pd.DataFrame
) -> None:
    engine = make_engine(ro_db_url, pool_size=1)
    try:
        directory = load_active(make_session_factory(engine))
    finally:
        engine.dispose()
    assert directory is not None
    assigner = Assigner(directory)
    published = assign_dask.publish(directory.index, tmp_path / "store")
    assert read_manifest(published.path)["digest"] == published.digest
    assert assign_dask.publish(directory.index, tmp_path / "store") == published  # found, not written again
    # the snapshot answers as the directory's own index, including ties and points outside
    snap = assign_dask.worker_index(published)
    assert isinstance(snap, DistrictIndex) and snap.codes == directory.index.codes
    lon, lat = frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float)
    assert list(snap.locate_many(lon, lat)) == list(directory.index.locate_many(lon, lat))

    parts = tmp_path / "parts"
    parts.mkdir()
    for k, chunk in enumerate(range(0, len(frame), 500)):
        piece = frame.iloc[chunk : chunk + 500]
        pq.write_table(pa.Table.from_pandas(piece, preserve_index=False), parts / f"part.{k}.parquet")
    expected = assigner.assign(frame["lon"], frame["lat"])

    def answers(folder: Path) -> list[object]:
        out = pq.read_table(folder).to_pandas().sort_values("id", kind="stable")
        return [None if pd.isna(v) else v for v in out["micro_code"]]

    with assign_dask.client_for("local:2") as client:
        for run in ("a", "b"):  # two runs, six partitions each: still one load per worker process
            counts = assign_dask.assign(
                client, assigner, parts, tmp_path / run, "lon", "lat", "parquet", published=published
            )
            assert (counts.index_via, counts.index_problem, counts.partitions) == ("published", "", 6)
            assert answers(tmp_path / run) == list(expected["micro_code"])
        loads = client.run(assign_dask.worker_loads)
        assert len(loads) == 2 and all(v == {published.digest: 1} for v in loads.values())

        # a path the workers cannot read: the pickled index is sent instead, same answers
        missing = assign_dask.PublishedIndex(str(tmp_path / "nowhere"), published.digest)
        counts = assign_dask.assign(
            client, assigner, parts, tmp_path / "c", "lon", "lat", "parquet", published=missing
        )
        assert counts.index_via == "scatter" and "nowhere" in counts.index_problem
        assert answers(tmp_path / "c") == list(expected["micro_code"])
