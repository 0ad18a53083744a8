"""DistrictIndex (geo_grid.lookup_district) against the brute-force reference, over many subdistricts."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo_grid.lookup import GridIndex
from geo_grid.lookup_bulk import locate_chunk
from geo_grid.lookup_district import DistrictIndex
from geo_grid.lookup_kernel import DEFER, locate_kernel
from geo_grid.synthetic import synthetic_district, synthetic_micro_grids
from tests.support.lookup_reference import (
    brute_force_cover_count,
    brute_force_locate,
    checkerboard,
    edge_probe_points,
)


def random_points(polygons, n: int, seed: int, pad: float = 0.002) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(polygons, dtype=object))
    rng = np.random.default_rng(seed)
    return rng.uniform(minx - pad, maxx + pad, n), rng.uniform(miny - pad, maxy + pad, n)


def assert_agrees(index: DistrictIndex, x: np.ndarray, y: np.ndarray, scalar_every: int = 1) -> np.ndarray:
    """locate_many, ties, locate_pos, candidates equal the brute-force reference on every point."""
    ref = brute_force_locate(index.codes, index.polygons, x, y)
    got = index.locate_many(x, y)
    bad = np.flatnonzero(got != ref)
    assert len(bad) == 0, f"{len(bad)} disagreements, e.g. {[(x[i], y[i], got[i], ref[i]) for i in bad[:5]]}"
    count = brute_force_cover_count(index.polygons, x, y)
    pos, tie = index.locate_many_with_ties(x, y)
    assert np.array_equal(pos, ref)
    bad = np.flatnonzero(tie != (count > 1))
    assert len(bad) == 0, f"{len(bad)} tie flags wrong, e.g. {[(x[i], y[i], count[i]) for i in bad[:5]]}"
    for i in range(0, len(x), scalar_every):
        a, b = float(x[i]), float(y[i])
        p = index.locate_pos(a, b)
        assert p == ref[i], (a, b, p, ref[i])
        assert index.locate(a, b) == (index.codes[p] if p >= 0 else None)
        cands = index.candidates(a, b)
        assert len(cands) == count[i] and (cands[0] if cands else -1) == ref[i], (a, b, cands, count[i])
        assert cands == index.candidates_slow(a, b)
    return ref


@pytest.fixture(scope="module")
def district() -> tuple[DistrictIndex, object]:
    d = synthetic_district(6, 120, seed=11)  # a 3 x 2 layout of subdistricts
    codes = [a.code for a in d.micro_grids]
    polys = [a.polygon for a in d.micro_grids]
    return DistrictIndex.build(codes, polys, [a.name for a in d.micro_grids]), d


def test_random_points_edges_and_vertices(district) -> None:
    index, _ = district
    assert len(index.parts) == 6 and index.stats()["router_border_cells"] > 0
    x, y = random_points(index.polygons, 60_000, seed=1)
    ex, ey = edge_probe_points(index.polygons, eps=1e-9)
    ref = assert_agrees(index, np.concatenate([x, ex]), np.concatenate([y, ey]), scalar_every=10)
    assert (ref == -1).any() and (ref >= 0).mean() > 0.6


def test_compiled_path_equals_numpy_path_and_defers_edge_points(district) -> None:
    """The compiled bulk path (geo_grid.lookup_kernel) answers what the numpy path answers, NaN and
    far points included, and hands the points on edges (and only a few others) to the exact test."""
    index, _ = district
    x, y = random_points(index.polygons, 40_000, seed=7, pad=0.01)
    ex, ey = edge_probe_points(index.polygons, eps=1e-12)
    x = np.concatenate([x, ex, [np.nan, 0.0, np.inf, 113.7]])
    y = np.concatenate([y, ey, [34.7, np.nan, 34.7, -np.inf]])
    r = index._router
    out = np.empty(len(x), dtype=np.int32)
    tie = np.empty(len(x), dtype=bool)
    deferred = locate_kernel(x, y, out, tie, True, r.x0, r.y0, r.inv_x, r.inv_y, r.nx, r.ny, r.cells,
                             r.ptr, r.subs, index._rank, *index._flat.kernel_args)  # fmt: skip
    slow = np.empty(len(x), dtype=np.int32)
    slow_tie = np.empty(len(x), dtype=bool)
    locate_chunk(index._router, index._flat, index._rank, index._by_rank, index.size, x, y, slow, slow_tie)
    sure = out != DEFER
    assert deferred == np.count_nonzero(~sure) and 0 < deferred < len(x) // 2
    assert np.array_equal(out[sure], slow[sure]) and np.array_equal(tie[sure], slow_tie[sure])
    pos, many = index.locate_many_with_ties(x, y)
    assert np.array_equal(pos, slow) and np.array_equal(many, slow_tie)
    assert (out[-4:] == -1).all()


def test_subdistrict_borders_go_to_the_smallest_code(district) -> None:
    index, d = district
    # every vertex of every subdistrict outline: on the border between two or three subdistricts
    sub_polys = [a.polygon for a in d.subdistricts]
    ex, ey = edge_probe_points(sub_polys, eps=1e-10)
    ref = assert_agrees(index, ex, ey, scalar_every=2)
    across = 0
    for a, b in zip(ex.tolist(), ey.tolist(), strict=True):
        subs = {index.subdistrict_of[c] for c in index.candidates(a, b)}
        across += len(subs) > 1
    assert across > 100  # the probes really sit on borders between subdistricts
    pos = index.locate_many(ex, ey)
    assert np.array_equal(pos, ref)
    codes = index.subdistrict_many(pos)
    assert all(c is None or index.codes[p].startswith(c) for c, p in zip(codes, pos, strict=True))
    assert index.subdistrict(float(ex[0]), float(ey[0])) == codes[0]


def test_grouping_not_geometric_and_four_way_vertices() -> None:
    # checkerboard codes are shuffled: the 3-digit "subdistricts" interleave across the board
    codes, polys = checkerboard()
    index = DistrictIndex.build(codes, polys, subdistrict_digits=3, part_cell_m=2.0, router_cell_m=60.0)
    assert len(index.parts) > 3
    x, y = random_points(polys, 30_000, seed=3)
    ex, ey = edge_probe_points(polys)
    assert_agrees(index, np.concatenate([x, ex]), np.concatenate([y, ey]))
    vx, vy = 113.69 + 3 * 0.0005, 34.75 + 2 * 0.0005
    cands = index.candidates(vx, vy)
    assert len(cands) == 4 and index.locate(vx, vy) == min(index.codes[c] for c in cands)


def test_one_subdistrict_equals_grid_index() -> None:
    codes, polys = synthetic_micro_grids(1, 300, seed=5)
    index = DistrictIndex.build(codes, polys)
    grid = GridIndex.build(codes, polys, cell_m=index.part_cell_m, max_cells=index.part_max_cells)
    assert len(index.parts) == 1 and index.subdistrict_codes == (codes[0][:9],)
    x, y = random_points(polys, 40_000, seed=2)
    ex, ey = edge_probe_points(polys)
    x, y = np.concatenate([x, ex]), np.concatenate([y, ey])
    assert np.array_equal(index.locate_many(x, y), grid.locate_many(x, y))
    assert_agrees(index, x, y, scalar_every=9)


def test_a_grid_index_becomes_a_one_part_district_index_as_built() -> None:
    codes, polys = synthetic_micro_grids(1, 200, seed=8)
    grid = GridIndex.build(codes, polys)
    index = DistrictIndex.from_grid_index(grid)
    assert len(index.parts) == 1 and index.codes == tuple(grid.codes)
    x, y = random_points(polys, 20_000, seed=3)
    ex, ey = edge_probe_points(polys)
    x, y = np.concatenate([x, ex]), np.concatenate([y, ey])
    assert np.array_equal(index.locate_many(x, y), grid.locate_many(x, y))
    assert_agrees(index, x, y, scalar_every=7)


def test_nearest_equals_grid_index(district) -> None:
    index, _ = district
    grid = GridIndex.build(index.codes, index.polygons, cell_m=10.0)
    x, y = random_points(index.polygons, 20_000, seed=4, pad=0.02)
    out = np.flatnonzero(index.locate_many(x, y) < 0)[:2000]
    assert len(out) > 500
    p1, d1 = index.nearest_many(x[out], y[out])
    p2, d2 = grid.nearest_many(x[out], y[out])
    assert np.array_equal(p1, p2) and np.allclose(d1, d2, rtol=0, atol=1e-6) and (d1 > 0).all()
    for i in out[:200].tolist():
        p, dist = index.nearest(float(x[i]), float(y[i]))
        q, e = grid.nearest(float(x[i]), float(y[i]))
        assert p == q and dist == pytest.approx(e, abs=1e-6)
    # covered points: distance 0; far away points: geodesic, same as GridIndex
    inside = np.flatnonzero(index.locate_many(x, y) >= 0)[:100]
    pos, dist = index.nearest_many(x[inside], y[inside])
    assert (dist == 0).all() and np.array_equal(pos, index.locate_many(x[inside], y[inside]))
    fx, fy = np.array([0.0, 120.0, -170.0, 113.0]), np.array([0.0, 30.0, -80.0, 34.7])
    p1, d1 = index.nearest_many(fx, fy)
    p2, d2 = grid.nearest_many(fx, fy)
    assert np.array_equal(p1, p2) and np.allclose(d1, d2, rtol=1e-12)
    with pytest.raises(ValueError):
        index.nearest(float("nan"), 34.7)
    # only boundary segments are kept for nearest
    assert index.stats()["nearest_segments"] < index.stats()["segments"] / 4


def test_nan_outside_and_shapes(district) -> None:
    index, _ = district
    lon = np.array([np.nan, 113.70, np.inf, -np.inf, 1e300, 113.0])
    lat = np.array([34.76, np.nan, 34.76, 34.76, 34.76, 34.76])
    assert list(index.locate_many(lon, lat)) == [-1] * 6
    assert index.locate(float("nan"), 34.7) is None and index.candidates(float("nan"), 34.7) == []
    assert index.locate_many(np.zeros(0), np.zeros(0)).shape == (0,)
    assert index.locate_many(lon.reshape(3, 2), lat.reshape(3, 2)).shape == (3, 2)
    with pytest.raises(ValueError):
        index.locate_many(np.zeros(2), np.zeros(3))


def by_code(index: DistrictIndex, x: np.ndarray, y: np.ndarray) -> list[str | None]:
    return [index.codes[p] if p >= 0 else None for p in index.locate_many(x, y).tolist()]


def test_replace_one_subdistrict_shares_the_others(district) -> None:
    index, _ = district
    target = index.subdistrict_codes[2]
    # the target subdistrict re-drawn: the same outline cut into 2 x 1 blocks of its micro-grids
    mine = [i for i, c in enumerate(index.codes) if c.startswith(target)]
    polys = [index.polygons[i] for i in mine]
    halves = (
        shapely.coverage_union_all(polys[: len(polys) // 2]),
        shapely.coverage_union_all(polys[len(polys) // 2 :]),
    )
    new_codes = [target + "001001001", target + "001001002"]
    new = index.replace(target, new_codes, list(halves))
    assert new.size == index.size - len(mine) + 2
    for s, code in enumerate(new.subdistrict_codes):
        old = index.parts[index.subdistrict_codes.index(code)] if code in index.subdistrict_codes else None
        if code != target:  # reused as built (copied into the new flat arrays), codes and answers alike
            assert old is not None and new.parts[s].codes == old.codes
            assert np.array_equal(new.parts[s]._raster, old._raster)
            assert np.array_equal(new.parts[s]._sp_cand, old._sp_cand)
        else:
            assert new.parts[s].size == 2
    fresh = DistrictIndex.build(new.codes, new.polygons)
    x, y = random_points(index.polygons, 30_000, seed=5)
    ex, ey = edge_probe_points(new.polygons)
    x, y = np.concatenate([x, ex]), np.concatenate([y, ey])
    assert by_code(new, x, y) == by_code(fresh, x, y)
    assert_agrees(new, x[:20_000], y[:20_000], scalar_every=10)
    # removing a subdistrict, adding it back
    gone = new.replace(target, [], [])
    assert target not in gone.subdistrict_codes and len(gone.parts) == 5
    assert_agrees(gone, x[:10_000], y[:10_000], scalar_every=25)
    back = gone.replace(target, [index.codes[i] for i in mine], polys)
    assert by_code(back, x, y) == by_code(index, x, y)
    with pytest.raises(ValueError):
        index.replace(target, ["410105999001001001"], [halves[0]])  # not in that subdistrict
    with pytest.raises(ValueError):
        index.replace("4101", [], [])


def test_build_validation() -> None:
    sq = shapely.box(113.7, 34.7, 113.71, 34.71)
    with pytest.raises(ValueError, match="unique"):
        DistrictIndex.build(["1", "1"], [sq, sq])
    with pytest.raises(ValueError, match="same length"):
        DistrictIndex.build(["1"], [sq, sq])
    with pytest.raises(ValueError):
        DistrictIndex.build([], [])


def test_pickles_with_parts_as_views(district) -> None:
    import pickle

    index, _ = district
    copy = pickle.loads(pickle.dumps(index))
    assert copy is not index and copy.codes == index.codes
    assert np.shares_memory(copy.parts[1]._raster, copy._flat.arrays["raster"])  # views, not copies
    x, y = random_points(index.polygons, 20_000, seed=12)
    ex, ey = edge_probe_points(index.polygons[:200], eps=1e-9)
    x, y = np.concatenate([x, ex]), np.concatenate([y, ey])
    assert np.array_equal(copy.locate_many_with_ties(x, y)[0], index.locate_many(x, y))
    out = np.flatnonzero(index.locate_many(x, y) < 0)[:300]
    assert np.array_equal(copy.nearest_many(x[out], y[out])[0], index.nearest_many(x[out], y[out])[0])
    assert [copy.candidates(a, b) for a, b in zip(ex[:300], ey[:300], strict=True)] == [
        index.candidates(a, b) for a, b in zip(ex[:300], ey[:300], strict=True)
    ]


def test_parallel_build_equals_serial_build() -> None:
    codes, polys = synthetic_micro_grids(8, 60, seed=13)
    serial = DistrictIndex.build(codes, polys, workers=1)
    parallel = DistrictIndex.build(codes, polys, workers=2)
    for name, arr in serial._flat.views.items():  # the special cell records field by field
        if arr.dtype.names is None:
            assert np.array_equal(arr, parallel._flat.views[name], equal_nan=True), name
    assert serial._flat.arrays["sp"].tobytes() == parallel._flat.arrays["sp"].tobytes()
    assert np.array_equal(serial._router.cells, parallel._router.cells)
    assert np.array_equal(serial._nearest.segments, parallel._nearest.segments)
    x, y = random_points(polys, 20_000, seed=2)
    assert np.array_equal(serial.locate_many(x, y), parallel.locate_many(x, y))
