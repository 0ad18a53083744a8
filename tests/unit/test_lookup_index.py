"""GridIndex (geo_grid.lookup) against a brute-force shapely reference: exact on every probe point."""

from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from geo_grid.crs import to_metric
from geo_grid.lookup import GridIndex, clean_polygon
from tests.support.lookup_reference import (
    brute_force_cover_count,
    brute_force_locate,
    checkerboard,
    edge_probe_points,
    voronoi_tiling,
)
from tests.support.realdata import realdata_path


def random_points(polygons, n: int, seed: int, pad: float = 0.001) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(polygons, dtype=object))
    rng = np.random.default_rng(seed)
    return rng.uniform(minx - pad, maxx + pad, n), rng.uniform(miny - pad, maxy + pad, n)


def assert_agrees(index: GridIndex, x: np.ndarray, y: np.ndarray, scalar_every: int = 1) -> np.ndarray:
    """locate_many and locate_pos/locate equal the brute-force reference on every point."""
    ref = brute_force_locate(index.codes, index.polygons, x, y)
    got = index.locate_many(x, y)
    bad = np.flatnonzero(got != ref)
    assert len(bad) == 0, f"{len(bad)} disagreements, e.g. {[(x[i], y[i], got[i], ref[i]) for i in bad[:5]]}"
    # the tie mask (on_boundary of the batch API) equals "covered by more than one polygon"
    count = brute_force_cover_count(index.polygons, x, y)
    pos, tie = index.locate_many_with_ties(x, y)
    assert np.array_equal(pos, ref)
    bad = np.flatnonzero(tie != (count > 1))
    assert len(bad) == 0, f"{len(bad)} tie flags wrong, e.g. {[(x[i], y[i], count[i]) for i in bad[:5]]}"
    for i in range(0, len(x), scalar_every):
        a, b = float(x[i]), float(y[i])
        pos = index.locate_pos(a, b)
        assert pos == ref[i], (a, b, pos, ref[i])
        assert index.locate(a, b) == (index.codes[pos] if pos >= 0 else None)
        # candidates (raster fast path) = every covering polygon, in code order, first = the answer
        cands = index.candidates(a, b)
        assert len(cands) == count[i] and (cands[0] if cands else -1) == ref[i], (a, b, cands, count[i])
        assert cands == index.candidates_slow(a, b)
    return ref


@pytest.fixture(scope="module")
def voronoi() -> GridIndex:
    codes, polys = voronoi_tiling(652)
    return GridIndex.build(codes, polys)


# ----------------------------------------------------------------------------- synthetic tilings


def test_voronoi_random_points(voronoi: GridIndex) -> None:
    x, y = random_points(voronoi.polygons, 120_000, seed=1)
    ref = assert_agrees(voronoi, x, y, scalar_every=6)
    assert (ref == -1).any() and (ref >= 0).mean() > 0.8  # both inside and outside points were tested


def test_voronoi_vertices_edges_and_near_edges(voronoi: GridIndex) -> None:
    x, y = edge_probe_points(voronoi.polygons, eps=1e-9)
    ref = assert_agrees(voronoi, x, y)
    # the probes really exercise ties: many vertices and midpoints lie on 2-3 polygons
    on_boundary = sum(
        len(voronoi.candidates(float(a), float(b))) > 1 for a, b in zip(x[:3000], y[:3000], strict=True)
    )
    assert on_boundary > 1000
    assert (ref >= 0).all() or (ref == -1).sum() < len(ref) // 4


def test_an_index_survives_pickling_whole(voronoi: GridIndex) -> None:
    """Worker processes receive the index pickled: the copy answers exactly as the original, on edge
    probes (ties), random points inside and outside, and `nearest`."""
    import pickle

    copy = pickle.loads(pickle.dumps(voronoi))
    assert copy is not voronoi and copy.codes == voronoi.codes
    ex, ey = edge_probe_points(voronoi.polygons, eps=1e-9)
    rx, ry = random_points(voronoi.polygons, 50_000, seed=7)
    x, y = np.concatenate([ex, rx]), np.concatenate([ey, ry])
    assert np.array_equal(copy.locate_many(x, y), voronoi.locate_many(x, y))
    assert assert_agrees(copy, x[:20_000], y[:20_000], scalar_every=4) is not None
    outside = [(float(a), float(b)) for a, b in zip(rx[:400], ry[:400], strict=True)]
    assert [copy.nearest(a, b) for a, b in outside] == [voronoi.nearest(a, b) for a, b in outside]


@pytest.mark.parametrize("cell_m", [0.3, 7.0, 40.0])
def test_voronoi_other_raster_resolutions(cell_m: float) -> None:
    codes, polys = voronoi_tiling(150, seed=5, area_km2=1.2)
    index = GridIndex.build(codes, polys, cell_m=cell_m, max_cells=2_000_000)
    x, y = random_points(polys, 30_000, seed=2)
    ex, ey = edge_probe_points(polys)
    assert_agrees(index, np.concatenate([x, ex]), np.concatenate([y, ey]), scalar_every=3)


def test_checkerboard_shared_vertices_go_to_smallest_code() -> None:
    codes, polys = checkerboard()
    index = GridIndex.build(codes, polys)
    x, y = random_points(polys, 50_000, seed=3)
    ex, ey = edge_probe_points(polys)
    assert_agrees(index, np.concatenate([x, ex]), np.concatenate([y, ey]))
    # an inner vertex is covered by 4 squares: the smallest code wins and candidates list all 4
    vx, vy = 113.69 + 3 * 0.0005, 34.75 + 2 * 0.0005
    cands = index.candidates(vx, vy)
    assert len(cands) == 4
    assert [index.codes[c] for c in cands] == sorted(index.codes[c] for c in cands)
    assert index.locate_pos(vx, vy) == cands[0]
    assert index.locate(vx, vy) == min(index.codes[c] for c in cands)


def test_multipolygons_holes_islands_and_overlaps() -> None:
    outer = shapely.Polygon(
        [(113.70, 34.76), (113.71, 34.76), (113.71, 34.77), (113.70, 34.77)],
        holes=[[(113.703, 34.763), (113.707, 34.763), (113.707, 34.767), (113.703, 34.767)]],
    )
    island = shapely.box(113.703, 34.763, 113.707, 34.767)  # fills the hole exactly: shares its ring
    multi = shapely.MultiPolygon(
        [shapely.box(113.71, 34.76, 113.712, 34.762), shapely.box(113.712, 34.765, 113.715, 34.77)]
    )
    overlap = shapely.Polygon([(113.709, 34.769), (113.713, 34.769), (113.713, 34.772), (113.709, 34.772)])
    triangle = shapely.Polygon([(113.6995, 34.7595), (113.7005, 34.7595), (113.7, 34.7605)])
    codes = ["0005", "0003", "0004", "0001", "0002"]
    polys = [outer, island, multi, overlap, triangle]
    index = GridIndex.build(codes, polys, names=["外", "岛", "多", "叠", "角"])
    x, y = random_points(polys, 60_000, seed=4)
    ex, ey = edge_probe_points(polys)
    assert_agrees(index, np.concatenate([x, ex]), np.concatenate([y, ey]))
    assert index.locate(113.705, 34.765) == "0003"  # inside the hole: the island, not the outer polygon
    assert index.locate(113.7135, 34.768) == "0004"  # second part of the multipolygon
    assert index.locate(113.7095, 34.7695) == "0001"  # overlap of "0005" and "0001": smallest code
    assert index.names[1] == "岛"


def test_outside_nan_and_inf(voronoi: GridIndex) -> None:
    assert voronoi.locate(0.0, 0.0) is None
    assert voronoi.locate_pos(113.0, 34.76) == -1
    assert voronoi.locate_pos(float("nan"), 34.76) == -1
    assert voronoi.locate(113.70, float("inf")) is None
    lon = np.array([np.nan, 113.70, np.inf, -np.inf, 1e300, 113.0, 113.70])
    lat = np.array([34.76, np.nan, 34.76, 34.76, 34.76, 34.76, 34.76])
    got = voronoi.locate_many(lon, lat)
    assert got.dtype == np.int32
    assert list(got[:6]) == [-1] * 6 and got[6] >= 0
    assert voronoi.candidates(float("nan"), 34.76) == []
    assert voronoi.locate_many(np.zeros((0,)), np.zeros((0,))).shape == (0,)
    assert voronoi.locate_many(lon.reshape(7, 1), lat.reshape(7, 1)).shape == (7, 1)


def test_candidates_on_shared_edge(voronoi: GridIndex) -> None:
    x, y = edge_probe_points(voronoi.polygons[:40], eps=1e-9)
    for a, b in zip(x, y, strict=True):
        cands = voronoi.candidates(float(a), float(b))
        assert cands == sorted(cands, key=lambda c: voronoi.codes[c])
        assert (cands[0] if cands else -1) == voronoi.locate_pos(float(a), float(b))


def test_nearest_distance_matches_shapely_in_epsg4547(voronoi: GridIndex) -> None:
    metric = to_metric(np.asarray(voronoi.polygons, dtype=object))
    rng = np.random.default_rng(9)
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(voronoi.polygons, dtype=object))
    for lon, lat in zip(
        rng.uniform(minx - 0.01, maxx + 0.01, 200), rng.uniform(miny - 0.01, maxy + 0.01, 200), strict=True
    ):
        pos, dist = voronoi.nearest(float(lon), float(lat))
        if voronoi.locate_pos(float(lon), float(lat)) >= 0:
            assert dist == 0.0
            continue
        pt = to_metric(shapely.Point(lon, lat))
        d = shapely.distance(metric, pt)
        assert dist == pytest.approx(d.min(), abs=1e-6)
        assert pos == min(np.flatnonzero(d == d.min()), key=lambda i: voronoi.codes[i])
    # the vectorised version gives the same positions and distances
    lon = rng.uniform(minx - 0.01, maxx + 0.01, 500)
    lat = rng.uniform(miny - 0.01, maxy + 0.01, 500)
    pos_many, dist_many = voronoi.nearest_many(lon, lat)
    one = [voronoi.nearest(float(a), float(b)) for a, b in zip(lon, lat, strict=True)]
    assert list(pos_many) == [p for p, _ in one] and (pos_many < 0).sum() == 0
    assert np.allclose(dist_many, [d for _, d in one], atol=1e-6) and (dist_many > 0).sum() > 100
    # a point 1 km west of the tiling is ≈ 1 km away
    pos, dist = voronoi.nearest(minx - 1000 / (111_320 * np.cos(np.radians(34.76))), (miny + maxy) / 2)
    assert 995 < dist < 1005 and pos >= 0
    with pytest.raises(ValueError):
        voronoi.nearest(float("nan"), 34.76)


def test_immutable_and_reports_memory(voronoi: GridIndex) -> None:
    assert isinstance(voronoi.codes, tuple) and voronoi.size == len(voronoi.codes) == 652
    with pytest.raises(dataclasses.FrozenInstanceError):
        voronoi.size = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        voronoi._raster[0] = 5
    assert 0 < voronoi.nbytes <= 32 * 2**20
    assert voronoi.stats()["special_cells"] > 0


def test_build_validation_and_repair() -> None:
    sq = shapely.box(0, 0, 1, 1)
    with pytest.raises(ValueError, match="unique"):
        GridIndex.build(["1", "1"], [sq, sq])
    with pytest.raises(ValueError, match="same length"):
        GridIndex.build(["1"], [sq, sq])
    with pytest.raises(ValueError):
        GridIndex.build(["1"], [shapely.Polygon()])
    with pytest.raises(ValueError):
        GridIndex.build([], [])
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])  # self-intersecting
    repaired = clean_polygon(bowtie)
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon" and repaired.area == pytest.approx(0.5)
    index = GridIndex.build(["01", "02"], [bowtie, shapely.box(1, 0, 2, 1)])
    assert index.polygons[0].equals(repaired)
    assert index.locate(0.5, 0.5) == "01"  # the crossing point of the bow tie
    assert index.locate(0.5, 0.9) is None  # "above" the crossing: not part of either triangle
    assert index.locate(1.0, 0.5) == "01"  # shared edge of the triangle and the square
    x, y = random_points(index.polygons, 20_000, seed=6, pad=0.1)
    ex, ey = edge_probe_points(index.polygons)
    assert_agrees(index, np.concatenate([x, ex]), np.concatenate([y, ey]))


# --------------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def la_index() -> GridIndex:
    with realdata_path("la_county_neighborhoods_v6_latimes.geojson").open(encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    assert len(features) == 318
    polys = [shape(f["geometry"]) for f in features]
    # 4 invalid rings (self-intersections) are repaired by make_valid at build, see geo_grid.lookup
    assert sum(not p.is_valid for p in polys) == 4
    codes = [f["properties"]["slug"] for f in features]
    assert len(set(codes)) == len(codes)
    index = GridIndex.build(codes, polys)
    assert all(p.is_valid for p in index.polygons)
    return index


def test_la_neighborhoods_with_myla311_points(la_index: GridIndex) -> None:
    lon, lat = [], []
    with realdata_path("la_myla311_requests_2020-01-01_to_03.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 10_000
    for row in rows:
        if row["latitude"].strip() and row["longitude"].strip():
            lon.append(float(row["longitude"]))
            lat.append(float(row["latitude"]))
    assert len(lon) == 10_000 - 11
    x, y = np.array(lon), np.array(lat)
    ref = assert_agrees(la_index, x, y)
    # SOURCES.md: 9986 points in exactly one neighbourhood, 2 in two, 1 in none
    counts = np.array([len(la_index.candidates(a, b)) for a, b in zip(lon, lat, strict=True)])
    assert (counts == 1).sum() == 9986 and (counts == 2).sum() == 2 and (counts == 0).sum() == 1
    assert (ref == -1).sum() == 1


@pytest.mark.slow
def test_la_neighborhoods_edges_and_random(la_index: GridIndex) -> None:
    ex, ey = edge_probe_points(la_index.polygons)
    x, y = random_points(la_index.polygons, 100_000, seed=8, pad=0.0)
    assert_agrees(la_index, np.concatenate([x, ex]), np.concatenate([y, ey]), scalar_every=5)
