"""OGC API – Features parameters (geo_grid/services/ogc_params.py; ogc.parse_items): CRS URIs, bbox in
each CRS's axis order, datetime instants and intervals, reprojection; every malformed value is
InvalidParameter (400)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import shapely
from pyproj import Transformer

from geo_grid.errors import InvalidParameter
from geo_grid.services import ogc, ogc_params

pytestmark = pytest.mark.unit


def test_crs_uris_and_curies() -> None:
    assert ogc_params.parse_crs(None) == ogc_params.CRS84
    assert ogc_params.parse_crs("[EPSG:4547]") == ogc_params.EPSG_4547
    assert ogc_params.parse_crs("https://www.opengis.net/def/crs/EPSG/0/4490") == ogc_params.EPSG_4490
    assert ogc_params.parse_crs("[OGC:CRS84]") == ogc_params.CRS84
    for bad in ("EPSG:3857", "http://www.opengis.net/def/crs/EPSG/0/4326x", "[EPSG:9999]"):
        with pytest.raises(InvalidParameter):
            ogc_params.parse_crs(bad)


def test_bbox_in_each_crs_becomes_the_same_lonlat_area() -> None:
    lonlat = shapely.from_wkt(ogc_params.parse_bbox("113.69,34.75,113.70,34.76", None))
    assert lonlat.bounds == (113.69, 34.75, 113.70, 34.76)
    latlon = shapely.from_wkt(ogc_params.parse_bbox("34.75,113.69,34.76,113.70", ogc_params.EPSG_4490))
    assert latlon.bounds == pytest.approx(lonlat.bounds, abs=1e-12)
    to_4547 = Transformer.from_crs("OGC:CRS84", "EPSG:4547")
    n0, e0 = to_4547.transform(113.69, 34.75)
    n1, e1 = to_4547.transform(113.70, 34.76)
    metric = shapely.from_wkt(ogc_params.parse_bbox(f"{n0},{e0},{n1},{e1}", ogc_params.EPSG_4547))
    # The same corners; the edges between them are the curved images of the metric rectangle's edges.
    corners = shapely.get_coordinates(metric)
    for lon, lat in [(113.69, 34.75), (113.70, 34.76)]:
        assert min(abs(corners[:, 0] - lon) + abs(corners[:, 1] - lat)) < 1e-9
    assert len(corners) > 20  # densified every 10 m
    assert metric.symmetric_difference(lonlat).area < 0.02 * lonlat.area


@pytest.mark.parametrize(
    ("value", "bbox_crs"),
    [
        ("1,2,3", None),
        ("1,2,3,4,5", None),
        ("a,b,c,d", None),
        ("inf,1,2,3", None),
        ("2,1,1,2", None),
        ("-181,0,0,1", None),
        ("0,-91,1,1", None),
        ("113.69,34.75,113.70,34.76", ogc_params.EPSG_4490),  # lat first: 113 is no latitude
        ("1e300,1e300,2e300,2e300", ogc_params.EPSG_4547),
    ],
)
def test_bad_bboxes(value: str, bbox_crs: str | None) -> None:
    with pytest.raises(InvalidParameter):
        ogc_params.parse_bbox(value, bbox_crs)


def test_six_number_bbox_drops_heights() -> None:
    area = shapely.from_wkt(ogc_params.parse_bbox("113.69,34.75,0,113.70,34.76,100", None))
    assert area.bounds == (113.69, 34.75, 113.70, 34.76)


def test_datetime_instants_and_intervals() -> None:
    instant = ogc_params.parse_datetime("2026-03-01T00:00:00Z")
    assert instant == ogc_params.TimeFilter(
        datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC), True
    )
    naive = ogc_params.parse_datetime("2026-03-01T08:00:00")  # Beijing time, as everywhere in the API
    assert naive is not None and naive.start == datetime(2026, 3, 1, tzinfo=UTC)
    open_start = ogc_params.parse_datetime("../2026-03-01T00:00:00+08:00")
    assert open_start == ogc_params.TimeFilter(None, datetime(2026, 2, 29 - 1, 16, tzinfo=UTC), False)
    assert ogc_params.parse_datetime("2026-03-01T00:00:00Z/") == ogc_params.TimeFilter(
        datetime(2026, 3, 1, tzinfo=UTC), None, False
    )
    for bad in (
        "../..",
        "/",
        "2026-13-01T00:00:00Z",
        "a/b",
        "2026-03-02T00:00:00Z/2026-03-01T00:00:00Z",
        "1/2/3",
    ):
        with pytest.raises(InvalidParameter):
            ogc_params.parse_datetime(bad)


def test_grid_collections_take_instants_only_and_unknown_parameters_fail() -> None:
    with pytest.raises(InvalidParameter):
        ogc.parse_items("micro_grids", {"datetime": "2026-03-01T00:00:00Z/.."})
    assert ogc.parse_items("reports", {"datetime": "2026-03-01T00:00:00Z/.."}).time is not None
    with pytest.raises(InvalidParameter):
        ogc.parse_items("communities", {"community_code": "410105012004"})  # not a property of communities
    req = ogc.parse_items(
        "micro_grids", {"community_code": "410105012004", "limit": "5", "crs": "[EPSG:4547]"}
    )
    assert (
        req.equals == (("community_code", "410105012004"),)
        and req.limit == 5
        and req.crs == ogc_params.EPSG_4547
    )


def test_reproject_follows_the_authority_axis_order() -> None:
    point = {"type": "Point", "coordinates": [113.7, 34.75]}
    assert ogc_params.reproject(point, ogc_params.CRS84) == point
    assert ogc_params.reproject(point, ogc_params.EPSG_4490)["coordinates"] == (34.75, 113.7)
    n, e = ogc_params.reproject(point, ogc_params.EPSG_4547)["coordinates"]
    assert (n, e) == pytest.approx(
        Transformer.from_crs("OGC:CRS84", "EPSG:4547").transform(113.7, 34.75), abs=1e-3
    )
    assert ogc_params.reproject(None, ogc_params.EPSG_4547) is None
