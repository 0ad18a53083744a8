"""`geo-grid assign` on CSV, Parquet, GeoJSON and GeoPackage: codes equal GET /lookup's, bad rows kept and
flagged, order and input values kept, chunks streamed (a chunk size far below the row count)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from geo_grid import crs
from geo_grid.cli import app
from geo_grid.settings import SAMPLE_DIR

runner = CliRunner()
CHUNK = "1000"  # the smallest chunk: ~2,700 rows span several chunks


@pytest.fixture(scope="module")
def points(client) -> pd.DataFrame:
    """~2,700 points (inside, on shared vertices, outside) with the codes GET /lookup gives them."""
    micro = gpd.read_file(SAMPLE_DIR / "micro_grids.geojson")
    x0, y0, x1, y1 = (float(v) for v in micro.total_bounds)
    inner = [(float(p.x), float(p.y)) for p in micro.geometry.representative_point()]
    vertices = [(float(a), float(b)) for a, b in shapely.get_coordinates(micro.geometry.iloc[:40])[::7]]
    outside = [(x0 - 0.01, y0), (x1 + 0.002, (y0 + y1) / 2)]
    pts = inner * 4 + vertices + outside
    expected = []
    for lon, lat in dict.fromkeys(pts):  # one GET per distinct point
        body = client.get("/lookup", params={"lon": repr(lon), "lat": repr(lat)}).json()
        expected.append(
            (lon, lat, *(body[k]["code"] if body[k] else None for k in ("micro", "tertiary", "community")))
        )
    table = {(a, b): rest for a, b, *rest in expected}
    rows = [(lon, lat, *table[(lon, lat)]) for lon, lat in pts]
    frame = pd.DataFrame(rows, columns=["lon", "lat", "micro", "tertiary", "community"])
    frame.insert(0, "id", [f"{i:06d}" for i in range(len(frame))])  # leading zeros must survive
    return frame


@pytest.fixture
def env(ro_db_url: str) -> dict[str, str]:
    return {"GEO_GRID_DATABASE_URL": ro_db_url}


# rows with unusable coordinates, inserted among the good ones (index in the output, lon, lat, error)
BAD = [
    (5, "", "34.76", "missing coordinates"),
    (17, "abc", "34.76", "coordinates are not numbers"),
    (1500, "113.7", "95", "out of range"),
    (2700, "inf", "34.7", "coordinates must be finite"),
]


def with_bad_rows(points: pd.DataFrame) -> pd.DataFrame:
    frame = points[["id", "lon", "lat"]].astype({"lon": object, "lat": object})
    frame = frame.assign(lon=[repr(v) for v in frame.lon], lat=[repr(v) for v in frame.lat])
    for i, lon, lat, _ in BAD:
        frame.loc[i, ["lon", "lat"]] = [lon, lat]
    return frame


def run(env: dict[str, str], *args: Any) -> None:
    result = runner.invoke(app, ["assign", *map(str, args), "--chunk-rows", CHUNK], env=env)
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output


def check(out: pd.DataFrame, points: pd.DataFrame, bad: list[int]) -> None:
    """Same rows in the same order; good rows carry GET /lookup's codes, bad rows an error and no code."""
    assert list(out["id"]) == list(points["id"])
    good = out.drop(index=bad)
    ref = points.drop(index=bad)
    for col, key in (("micro_code", "micro"), ("tertiary_code", "tertiary"), ("community_code", "community")):
        assert list(map(_code, good[col])) == list(map(_code, ref[key])), col
    outside = [_code(m) is None for m in ref["micro"]]
    # (GDAL reads a GeoJSON boolean with nulls as 1.0/0.0/NaN)
    assert [str(v) in ("True", "true", "1", "1.0") for v in good["outside"]] == outside
    assert good["error"].isna().all() or (good["error"].fillna("") == "").all()
    assert len(ref) - sum(outside) > 2600 and sum(outside) == 2


def _code(v: Any) -> str | None:
    return None if (v is None or v == "" or (isinstance(v, float) and math.isnan(v))) else str(v)


def test_csv_keeps_rows_values_order_and_flags_bad_rows(tmp_path: Path, env, points) -> None:
    src = with_bad_rows(points)
    src.insert(1, "note", ['含,逗号 "引号"' if i % 500 == 0 else "" for i in range(len(src))])
    src.to_csv(tmp_path / "in.csv", index=False)
    run(env, tmp_path / "in.csv", "-o", tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert list(out.columns) == [
        *src.columns,
        "micro_code",
        "tertiary_code",
        "community_code",
        "outside",
        "error",
    ]
    assert out[list(src.columns)].equals(src.astype(str))  # input cells written back verbatim
    check(out, points, [i for i, *_ in BAD])
    for i, _, _, message in BAD:
        assert (
            out.loc[i, "error"].startswith(message)
            and out.loc[i, "micro_code"] == ""
            and out.loc[i, "outside"] == ""
        )


def test_csv_gcj02_input_and_column_names(tmp_path: Path, env, points) -> None:
    gx, gy = crs.from_wgs84(points.lon.to_numpy(), points.lat.to_numpy(), "gcj02")
    pd.DataFrame({"id": points.id, "经度": gx, "纬度": gy}).to_csv(tmp_path / "gcj.csv", index=False)
    run(
        env,
        tmp_path / "gcj.csv",
        "-o",
        tmp_path / "out.csv",
        "--lon-col",
        "经度",
        "--lat-col",
        "纬度",
        "--crs",
        "gcj02",
    )
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    # the iterative inverse is within 0.5 m: points on shared vertices may fall either side, the rest agree
    inner = points.index[: len(points) - 200]
    assert (out.loc[inner, "micro_code"] == points.loc[inner, "micro"]).mean() > 0.99


def test_parquet(tmp_path: Path, env, points) -> None:
    lon = [float(v) for v in points.lon]
    lat = [float(v) for v in points.lat]
    lon[5], lat[17] = None, float("nan")
    table = pa.table(
        {"id": points.id, "lon": pa.array(lon, type=pa.float64()), "lat": lat, "n": range(len(points))}
    )
    pq.write_table(table, tmp_path / "in.parquet")
    run(env, tmp_path / "in.parquet", "-o", tmp_path / "out.parquet")
    out_t = pq.read_table(tmp_path / "out.parquet")
    assert out_t.schema.field("n").type == pa.int64() and out_t.schema.field("outside").type == pa.bool_()
    out = out_t.to_pandas()
    check(out, points, [5, 17])
    assert list(out.error[[5, 17]]) == ["missing coordinates", "missing coordinates"]


@pytest.mark.parametrize("suffix", ["geojson", "gpkg"])
def test_geo_formats_use_the_point_geometry(tmp_path: Path, env, points, suffix: str) -> None:
    geoms = list(shapely.points(points.lon, points.lat))
    geoms[5] = None
    geoms[17] = shapely.box(113.7, 34.76, 113.71, 34.77)
    gdf = gpd.GeoDataFrame({"id": points.id, "名称": "点"}, geometry=geoms, crs=4326)
    pyogrio.write_dataframe(gdf, tmp_path / f"in.{suffix}")
    run(env, tmp_path / f"in.{suffix}", "-o", tmp_path / f"out.{suffix}")
    out = pyogrio.read_dataframe(tmp_path / f"out.{suffix}")
    check(out, points, [5, 17])
    assert out.error[5] == "missing geometry" and out.error[17] == "geometry is not a point"
    assert out.geometry[17].equals(geoms[17]) and out["名称"].eq("点").all()
    if suffix == "geojson":
        json.loads((tmp_path / "out.geojson").read_text(encoding="utf-8"))  # a well-formed document


def test_clear_errors(tmp_path: Path, env) -> None:
    pd.DataFrame({"x": [1.0], "y": [2.0]}).to_csv(tmp_path / "in.csv", index=False)
    r = runner.invoke(app, ["assign", str(tmp_path / "in.csv"), "-o", str(tmp_path / "o.csv")], env=env)
    assert r.exit_code == 2 and "no column 'lon'" in r.output
    r = runner.invoke(app, ["assign", str(tmp_path / "in.csv"), "-o", str(tmp_path / "o.parquet")], env=env)
    assert r.exit_code == 2 and "format" in r.output
    r = runner.invoke(app, ["assign", str(tmp_path / "in.csv"), "-o", str(tmp_path / "o.txt")], env=env)
    assert r.exit_code == 2 and "unknown format" in r.output
