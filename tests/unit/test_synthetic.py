"""geo_grid.synthetic: exact hierarchical tilings, shared subdistrict borders, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo_grid.synthetic import LEVELS, SyntheticDistrict, synthetic_district, synthetic_micro_grids

CODE_DIGITS = {"subdistrict": 9, "community": 12, "tertiary": 15, "micro": 18}
PARENT = {"community": "subdistrict", "tertiary": "community", "micro": "tertiary"}


@pytest.fixture(scope="module")
def district() -> SyntheticDistrict:
    # 5 subdistricts: a 3 x 2 layout with a partial last row (vertical and horizontal borders)
    return synthetic_district(5, 150, seed=7)


def polygons(areas) -> np.ndarray:
    return np.array([a.polygon for a in areas], dtype=object)


def test_counts_and_codes_are_hierarchical(district: SyntheticDistrict) -> None:
    assert [a.code for a in district.subdistricts] == [f"410105{k:03d}" for k in range(1, 6)]
    for level in LEVELS:
        units = district.level(level)
        codes = [a.code for a in units]
        assert codes == sorted(codes) and len(set(codes)) == len(codes)
        assert all(len(c) == CODE_DIGITS[level] and c.isdigit() for c in codes)
        assert all(a.level == level and a.name for a in units)
    assert all(a.parent_code == "410105" for a in district.subdistricts)
    for level, parent_level in PARENT.items():
        parents = {a.code for a in district.level(parent_level)}
        for a in district.level(level):
            assert a.parent_code == a.code[: CODE_DIGITS[parent_level]] and a.parent_code in parents
    assert len(district.micro_grids) == 5 * 144  # a 12 x 12 block per subdistrict
    assert len(district.communities) == 5 * 9 and len(district.tertiary_grids) == 5 * 9 * 6
    with pytest.raises(ValueError):
        district.level("district")


def test_each_level_tiles_its_parent_exactly(district: SyntheticDistrict) -> None:
    for level, parent_level in PARENT.items():
        children = district.level(level)
        for parent in district.level(parent_level):
            mine = polygons([c for c in children if c.parent_code == parent.code])
            assert len(mine) > 0
            assert shapely.coverage_is_valid(mine)  # no overlap, edges matching exactly
            union = shapely.coverage_union_all(mine)
            assert union.area == pytest.approx(parent.polygon.area, rel=1e-12)
            assert shapely.symmetric_difference(union, parent.polygon).area < 1e-12 * parent.polygon.area
    micro_area = shapely.area(polygons(district.micro_grids))
    assert micro_area.mean() * 111_320 * 0.8217 * 110_574 == pytest.approx(8000, rel=0.1)  # ≈ 0.008 km²


def test_no_overlaps_and_no_gaps_between_subdistricts(district: SyntheticDistrict) -> None:
    for level in LEVELS:
        polys = polygons(district.level(level))
        assert shapely.is_valid(polys).all()
        assert all(p.geom_type == "Polygon" for p in polys)
        tree = shapely.STRtree(polys)
        a, b = tree.query(polys, predicate="intersects")
        pairs = a < b
        overlap = shapely.area(shapely.intersection(polys[a[pairs]], polys[b[pairs]]))
        assert overlap.max() < 1e-15  # shared edges only (intersection has no area)
    subs = polygons(district.subdistricts)
    whole = shapely.union_all(subs)
    assert whole.geom_type == "Polygon" and len(whole.interiors) == 0  # no gap anywhere
    assert whole.area == pytest.approx(shapely.area(subs).sum(), rel=1e-12)


def test_neighbouring_subdistricts_share_identical_border_coordinates(district: SyntheticDistrict) -> None:
    subs = district.subdistricts
    neighbours = 0
    for i, a in enumerate(subs):
        for b in subs[i + 1 :]:
            border = shapely.intersection(a.polygon.boundary, b.polygon.boundary)
            if border.length == 0:
                continue
            # every vertex of A on the border is a vertex of B and vice versa
            va = {
                tuple(c)
                for c in shapely.get_coordinates(a.polygon)
                if b.polygon.boundary.intersects(shapely.Point(c))
            }
            vb = {
                tuple(c)
                for c in shapely.get_coordinates(b.polygon)
                if a.polygon.boundary.intersects(shapely.Point(c))
            }
            assert va == vb and len(va) >= 2
            neighbours += len(va) > 10  # a long border, not a diagonal neighbour's corner
            # the border vertices are covered by both (no gap) and the border has no area (no overlap)
            x, y = np.array(sorted(va)).T
            assert (
                shapely.intersects_xy(a.polygon, x, y).all() and shapely.intersects_xy(b.polygon, x, y).all()
            )
            assert shapely.intersection(a.polygon, b.polygon).area == 0.0
    assert neighbours >= 5  # 1-2, 2-3, 1-4, 2-5, 4-5 (diagonal ones may touch too)


def test_deterministic_for_a_seed() -> None:
    one, two = synthetic_district(2, 100, seed=3), synthetic_district(2, 100, seed=3)
    for level in LEVELS:
        assert [a.code for a in one.level(level)] == [a.code for a in two.level(level)]
        assert (
            shapely.to_wkb(polygons(one.level(level))).tolist()
            == shapely.to_wkb(polygons(two.level(level))).tolist()
        )
    other = synthetic_district(2, 100, seed=4)
    assert (
        shapely.to_wkb(polygons(other.micro_grids)).tolist()
        != shapely.to_wkb(polygons(one.micro_grids)).tolist()
    )


def test_micro_grids_only_equals_the_district(district: SyntheticDistrict) -> None:
    codes, polys = synthetic_micro_grids(5, 150, seed=7)
    assert codes == [a.code for a in district.micro_grids]
    assert all(p.equals_exact(a.polygon, 0.0) for p, a in zip(polys, district.micro_grids, strict=True))
    # micro-grid numbers are shuffled: code order is not the west-to-east order in every tertiary grid
    shuffled = 0
    for tert in district.tertiary_grids:
        mine = [a for a in district.micro_grids if a.parent_code == tert.code]
        shuffled += [a.code for a in mine] != [
            a.code for a in sorted(mine, key=lambda a: a.polygon.centroid.x)
        ]
    assert shuffled > len(district.tertiary_grids) // 2


def test_extent_around_zhengzhou_and_options() -> None:
    d = synthetic_district(4, 100, seed=0, skip_numbers=(2,), district_code="410104")
    assert [a.code for a in d.subdistricts] == ["410104001", "410104003", "410104004", "410104005"]
    minx, miny, maxx, maxy = shapely.total_bounds(polygons(d.subdistricts))
    assert 113.5 < minx < maxx < 114.0 and 34.5 < miny < maxy < 35.0
    with pytest.raises(ValueError):
        synthetic_district(0)
    with pytest.raises(ValueError):
        synthetic_district(1, 4, communities=(3, 3))
    with pytest.raises(ValueError):
        synthetic_district(1, district_code="4101")
