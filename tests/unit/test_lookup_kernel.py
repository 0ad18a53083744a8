"""The compiled exact test near vertices (geo_grid.lookup_kernel.covers / cell_exact): certain answers
are GEOS's, points on a boundary are never answered there, and the bulk path defers only those."""

from __future__ import annotations

import dataclasses

import numpy as np
import shapely

from geo_grid.lookup_district import DistrictIndex
from geo_grid.lookup_flat import FlatParts, consecutive_positions, polygon_rings
from geo_grid.lookup_kernel import DEFER, covers, locate_kernel
from geo_grid.lookup_scalar import Scalar
from geo_grid.synthetic import synthetic_micro_grids
from tests.support.lookup_reference import brute_force_cover_count, brute_force_locate, edge_probe_points


def test_covers_equals_geos_and_refuses_boundary_points() -> None:
    polys = [
        shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (3, 1), (3, 3), (1, 3)]]),
        shapely.MultiPolygon([shapely.box(5, 0, 6, 1), shapely.box(7, 0, 8, 1)]),
        shapely.Polygon([(9, 0), (10, 2), (11, 0), (10.5, 0.5), (9.5, 0.5)]),  # a peak and a notch
        shapely.Polygon([(0, 5), (2, 5.000000001), (4, 5), (2, 7)]),  # nearly horizontal edges
    ]
    geoms = np.asarray(polys, dtype=object)
    starts, xy = polygon_rings(geoms)
    rng = np.random.default_rng(5)
    ex, ey = edge_probe_points(polys, eps=1e-9)
    fx, fy = edge_probe_points(polys, eps=1e-15)
    x = np.concatenate([rng.uniform(-1, 12, 20_000), ex, fx, [10.0, 1.0, 2.0]])
    y = np.concatenate([rng.uniform(-1, 8, 20_000), ey, fy, [2.0, 2.0, 5.0000000005]])
    boundary = shapely.intersects_xy(shapely.union_all(shapely.boundary(geoms)), x, y)
    answered = 0
    for g, poly in enumerate(polys):
        shapely.prepare(poly)
        want = shapely.intersects_xy(poly, x, y)
        got = np.array([covers(a, b, g, starts, xy) for a, b in zip(x.tolist(), y.tolist(), strict=True)])
        sure = got >= 0
        assert np.array_equal(got[sure] == 1, want[sure]), g
        assert not (sure & boundary & want).any()  # a covered boundary point is never called certain
        answered += int(sure[:20_000].sum())
    assert answered > 0.999 * 4 * 20_000


def test_bulk_path_answers_vertex_cells_itself() -> None:
    codes, polys = synthetic_micro_grids(3, 150, seed=4)
    index = DistrictIndex.build(codes, polys, workers=1)
    assert index.stats()["multi_edge_cells"] > 1000
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(polys, dtype=object))
    rng = np.random.default_rng(9)
    x = rng.uniform(minx - 0.001, maxx + 0.001, 100_000)
    y = rng.uniform(miny - 0.001, maxy + 0.001, 100_000)
    corners = shapely.get_coordinates(np.asarray(polys, dtype=object))
    vx, vy = (corners + rng.normal(0.0, 1e-7, corners.shape)).T  # near vertices (~1 cm), off the edges
    ex, ey = edge_probe_points(polys, eps=1e-13)  # on or within rounding of edges
    x, y = np.concatenate([x, vx, ex]), np.concatenate([y, vy, ey])
    r = index._router
    out = np.empty(len(x), dtype=np.int32)
    tie = np.empty(len(x), dtype=bool)
    deferred = locate_kernel(x, y, out, tie, True, r.x0, r.y0, r.inv_x, r.inv_y, r.nx, r.ny, r.cells,
                             r.ptr, r.subs, index._rank, *index._flat.kernel_args)  # fmt: skip
    ref = brute_force_locate(index.codes, index.polygons, x, y)
    sure = out != DEFER
    assert np.array_equal(out[sure], ref[sure])
    count = brute_force_cover_count(index.polygons, x, y)
    assert np.array_equal(tie[sure], count[sure] > 1)
    # only points on or within rounding of an edge are left to GEOS: none of the random or 1e-7 ones
    n_far = 100_000 + len(vx)
    assert deferred == np.count_nonzero(~sure) and sure[:n_far].all() and deferred > 0
    assert np.array_equal(index.locate_many(x, y), ref)


def test_one_point_path_answers_as_the_reference_and_defers_only_edge_points() -> None:
    """`locate_pos` is one compiled call (locate_one) that falls back to the Python/GEOS path only for
    points it cannot decide: its certain answers are the brute-force reference's, also across the
    subdistrict borders (router cells with several candidates) and outside."""
    codes, polys = synthetic_micro_grids(3, 150, seed=4)
    index = DistrictIndex.build(codes, polys, workers=1)
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(polys, dtype=object))
    rng = np.random.default_rng(11)
    x = rng.uniform(minx - 0.001, maxx + 0.001, 20_000)
    y = rng.uniform(miny - 0.001, maxy + 0.001, 20_000)
    corners = shapely.get_coordinates(np.asarray(polys, dtype=object))
    vx, vy = (corners + rng.normal(0.0, 1e-7, corners.shape)).T
    ex, ey = edge_probe_points(polys, eps=1e-13)
    x = np.concatenate([x, vx, ex, [np.nan, minx - 1.0]])
    y = np.concatenate([y, vy, ey, [miny, np.nan]])
    ref = brute_force_locate(index.codes, index.polygons, x, y)
    sc = index._scalar
    one = np.array([sc.one(a, b, *sc.one_args) for a, b in zip(x.tolist(), y.tolist(), strict=True)])
    sure = one != DEFER
    assert np.array_equal(one[sure], ref[sure])
    n_far = 20_000 + len(vx)
    assert sure[:n_far].all() and not sure.all()  # the on-edge probes do reach the exact path
    r = index._router
    border = np.array(
        [len(r.route1(a, b)) > 1 for a, b in zip(x[:20_000].tolist(), y[:20_000].tolist(), strict=True)]
    )
    assert border.sum() > 100  # the border cells were exercised
    got = np.array([index.locate_pos(a, b) for a, b in zip(x.tolist(), y.tolist(), strict=True)])
    assert np.array_equal(got, ref)
    slow = np.array([index._locate_pos_exact(a, b) for a, b in zip(x.tolist(), y.tolist(), strict=True)])
    assert np.array_equal(slow, ref)


def test_special_cell_records_with_int32_answers_read_the_same() -> None:
    """A special cell's segment row and answers are one record (lookup_flat "sp"): 8 bytes with int16
    answers (every part of fewer than 32,768 grids), 12 with int32. The bulk pass, the one-point call and
    the numpy path read both layouts alike."""
    codes, polys = synthetic_micro_grids(3, 150, seed=4)
    index = DistrictIndex.build(codes, polys, workers=1)
    wide = tuple(
        dataclasses.replace(p, _sp_left=p._sp_left.astype(np.int32), _sp_right=p._sp_right.astype(np.int32))
        for p in index.parts
    )
    flat16, flat32 = index._flat, FlatParts.from_parts(wide, index.part_positions)
    assert flat16.arrays["sp"].dtype.itemsize == 8 and flat32.arrays["sp"].dtype.itemsize == 12
    assert np.array_equal(flat16.views["sp_left"], flat32.views["sp_left"])
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(polys, dtype=object))
    rng = np.random.default_rng(3)
    ex, ey = edge_probe_points(polys, eps=1e-9)
    x = np.concatenate([rng.uniform(minx, maxx, 20_000), ex])
    y = np.concatenate([rng.uniform(miny, maxy, 20_000), ey])
    r = index._router
    answers = []
    for flat in (flat16, flat32):
        out = np.empty(len(x), dtype=np.int32)
        tie = np.empty(len(x), dtype=bool)
        locate_kernel(x, y, out, tie, True, r.x0, r.y0, r.inv_x, r.inv_y, r.nx, r.ny, r.cells, r.ptr,
                      r.subs, index._rank, *flat.kernel_args)  # fmt: skip
        sc = Scalar.create(r, flat)
        one = [sc.one(a, b, *sc.one_args) for a, b in zip(x[:3000].tolist(), y[:3000].tolist(), strict=True)]
        numpy_path, _ = flat.locate(x, y, np.maximum(r.route(x, y), 0), False)
        answers.append((out, tie, np.array(one), numpy_path))
    for a, b in zip(*answers, strict=True):
        assert np.array_equal(a, b)
    sure = answers[0][0] != DEFER
    assert np.array_equal(answers[0][0][sure], brute_force_locate(index.codes, index.polygons, x, y)[sure])


def test_positions_in_any_order_answer_alike() -> None:
    """Built in code order, every part's positions are consecutive and the bulk pass adds them instead
    of gathering from `pos`; built in any other order it gathers. Both answer as the reference."""
    codes, polys = synthetic_micro_grids(3, 150, seed=4)
    shuffled = np.random.default_rng(2).permutation(len(codes))
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(polys, dtype=object))
    rng = np.random.default_rng(8)
    ex, ey = edge_probe_points(polys, eps=1e-9)
    x = np.concatenate([rng.uniform(minx - 0.001, maxx + 0.001, 30_000), ex])
    y = np.concatenate([rng.uniform(miny - 0.001, maxy + 0.001, 30_000), ey])
    direct = []
    for order in (np.arange(len(codes)), shuffled):
        index = DistrictIndex.build([codes[i] for i in order], [polys[i] for i in order], workers=1)
        flat = index._flat
        direct.append(consecutive_positions(flat.arrays["pos"], flat.col["pos"], flat.col["size"])[1])
        r = index._router
        out = np.empty(len(x), dtype=np.int32)
        tie = np.empty(len(x), dtype=bool)
        locate_kernel(x, y, out, tie, True, r.x0, r.y0, r.inv_x, r.inv_y, r.nx, r.ny, r.cells, r.ptr,
                      r.subs, index._rank, *flat.kernel_args)  # fmt: skip
        ref = brute_force_locate(index.codes, index.polygons, x, y)
        sure = out != DEFER
        assert sure[:30_000].all()
        assert np.array_equal(out[sure], ref[sure])
        assert np.array_equal(index.locate_many(x, y), ref)
    assert direct == [True, False]


def test_consecutive_positions() -> None:
    pos = np.array([5, 6, 7, 0, 1], dtype=np.int32)
    offsets, sizes = np.array([0, 3, 5]), np.array([3, 2, 0])
    first, direct = consecutive_positions(pos, offsets, sizes)
    assert first.tolist() == [5, 0, 0] and direct
    assert not consecutive_positions(np.array([5, 7, 6, 0, 1], dtype=np.int32), offsets, sizes)[1]


def test_one_point_lookup_takes_any_real_number() -> None:
    """Every point takes the compiled one-point call, whose entry converts its coordinates as float()
    does: Python ints and numpy floats answer as the same Python floats; what is no number is refused."""
    codes, polys = synthetic_micro_grids(2, 100, seed=6)
    index = DistrictIndex.build(codes, polys, workers=1)
    inside = polys[7].representative_point()
    lon, lat = inside.x, inside.y
    assert index.locate(lon, lat) == index.locate(np.float64(lon), np.float64(lat)) == codes[7]
    assert index.locate(int(lon), int(lat)) == index.locate(float(int(lon)), float(int(lat)))
    assert index.locate(float("nan"), lat) is None and index.locate(lon, float("inf")) is None
    for bad in ("东经113", None, [lon]):
        try:
            index.locate(bad, lat)  # type: ignore[arg-type]
        except TypeError:
            continue
        raise AssertionError(f"{bad!r} was taken as a coordinate")
