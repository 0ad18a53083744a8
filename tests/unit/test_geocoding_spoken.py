"""Pure tests of spoken addresses (geo_grid.geocoding.spoken / places): qualifiers, offsets, variants,
intersections and landmarks on a small network built here; no database."""

from __future__ import annotations

import pytest

from geo_grid.geocoding import AddressMatcher
from geo_grid.geocoding.blocking import RoadResolver
from geo_grid.geocoding.landmarks import Landmark
from geo_grid.geocoding.places import RoadNetwork, SegmentLine, line_from, metres_between, offset_point
from geo_grid.geocoding.spoken import (
    SpokenMatcher,
    parse_offset,
    spoken_variants,
    strip_qualifier,
)
from tests.support.places import SAMPLE_PREFIXES

# A small grid of streets: 经三路 and 民航路 run north-south, 纬五路 and 农业路 east-west; 金水路 runs
# east-west far south and stops short of 经三路 (they never meet).
X1, X2 = 113.680, 113.690  # 经三路, 民航路
Y1, Y2 = 34.760, 34.765  # 纬五路, 农业路


def _segments() -> list[SegmentLine]:
    return [
        SegmentLine("S1", "经三路", line_from([(X1, 34.755), (X1, Y1)])),
        SegmentLine("S2", "经三路", line_from([(X1, Y1), (X1, 34.770)])),
        SegmentLine("S3", "民航路", line_from([(X2, 34.755), (X2, 34.770)])),
        SegmentLine("S4", "纬五路", line_from([(113.675, Y1), (113.695, Y1)])),
        SegmentLine("S5", "农业路", line_from([(113.675, Y2), (113.695, Y2)])),
        SegmentLine("S6", "金水路", line_from([(113.685, 34.750), (113.695, 34.750)])),
    ]


def _rows() -> list[dict[str, str]]:
    rows = []
    for i, (road, number, lon, lat) in enumerate(
        [("经三路", "151号", X1 + 0.0005, 34.762), ("民航路", "23号", X2 - 0.0005, 34.763)]
    ):
        for b in (1, 2):
            rows.append(
                {
                    "address_id": f"A{i}{b}",
                    "address": f"{road}{number}院{b}号楼1单元",
                    "road": road,
                    "number": number,
                    "courtyard": f"{road}{number}院",
                    "building": f"{b}号楼",
                    "unit": "1单元",
                    "lon": str(lon + b * 0.0001),
                    "lat": str(lat),
                    "community_code": "C04",
                }
            )
    return rows


LANDMARKS = [
    Landmark("service_center", "F005", "民航路社区党群服务中心", 113.688, 34.761, 0.0, "C04", "民航路社区"),
    Landmark("service_center", "F002", "康复社区党群服务中心", 113.682, 34.768, 0.0, "C01", "康复社区"),
    Landmark("parking", "F001", "民航路社区智慧停车场", 113.689, 34.757, 40.0, "C04", "民航路社区"),
    Landmark("school", "F017", "未来路小学", 113.684, 34.758, 0.0, "C01", "康复社区"),
    Landmark("school", "F018", "燕庄中学", 113.686, 34.759, 0.0, "C06", "燕庄花园社区"),
    Landmark("courtyard", "CY900", "金色港湾小区", 113.687, 34.763, 60.0, "C05", None),
    Landmark("courtyard", "CY901", "经三路151号院", 113.6805, 34.762, 30.0, "C04", None),
]


@pytest.fixture(scope="module")
def spoken() -> SpokenMatcher:
    matcher = AddressMatcher.from_rows(_rows(), prefixes=SAMPLE_PREFIXES)
    return SpokenMatcher(matcher, RoadNetwork(_segments()), LANDMARKS)


# -- parsing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rest", "qualifier", "extra"),
    [
        ("经三路151号院门口", "经三路151号院", "门口", 15.0),
        ("经三路151号院对面", "经三路151号院", "对面", 60.0),
        ("经三路151号院的旁边", "经三路151号院", "旁边", 30.0),
        ("经三路151号院北门", "经三路151号院", "北门", 30.0),
        ("经三路151号院门口对面", "经三路151号院", "门口对面", 75.0),
        ("1号楼楼下", "1号楼", "楼下", 10.0),
        ("经三路151号院", "经三路151号院", None, 0.0),
        ("附近", "附近", None, 0.0),  # a qualifier alone qualifies nothing
    ],
)
def test_strip_qualifier(text: str, rest: str, qualifier: str | None, extra: float) -> None:
    assert strip_qualifier(text) == (rest, qualifier, extra)


@pytest.mark.parametrize(
    ("norm", "rewritten"),
    [
        ("经3路151号院", "经三路151号院"),
        ("纬5路31号院", "纬五路31号院"),
        ("经三路北段151号院", "经三路151号院"),
        ("经三路151院", "经三路151号院"),
        ("151号院经三路", "经三路151号院"),
        ("151号经三路", "经三路151号"),
        ("经三路151号院1号楼1单元", "经三路151号院1号楼1单元"),  # a door plate is left alone
        ("民航路23号", "民航路23号"),
    ],
)
def test_spoken_variants(norm: str, rewritten: str) -> None:
    assert spoken_variants(norm) == rewritten


def test_offsets() -> None:
    south = parse_offset("向南50米")
    assert south is not None and (south.east_m, south.north_m, south.spread_m) == (0.0, -50.0, 10.0)
    about = parse_offset("往北100米左右")
    assert about is not None and about.north_m == 100.0 and about.spread_m == 40.0
    corner = parse_offset("东北角")
    assert corner is not None and corner.east_m == pytest.approx(10.6, abs=0.1) and corner.north_m > 0
    spelled = parse_offset("往西五十米")
    assert spelled is not None and spelled.east_m == -50.0
    assert parse_offset("西侧") is not None
    assert parse_offset("151号院") is None
    none = parse_offset("")
    assert none is not None and none.spread_m == 0.0


def test_road_resolver_sound_alike_numeral_and_missing_suffix() -> None:
    roads = RoadResolver(["经三路", "纬五路", "民航路", "金水路"])
    assert roads.resolve("经三路") == {"经三路": 1.0}
    assert roads.resolve("京三路")["经三路"] == 0.9  # same toneless pinyin
    assert roads.resolve("经三") == {"经三路": 0.97}
    assert max(roads.resolve("火星路").values(), default=0.0) < 0.6


def test_metres_and_offsets_agree() -> None:
    lon, lat = offset_point(113.69, 34.76, 30.0, 40.0)
    assert metres_between(113.69, 34.76, lon, lat) == pytest.approx(50.0, rel=1e-3)


# -- intersections --------------------------------------------------------------------------------


def test_network_meetings() -> None:
    net = RoadNetwork(_segments())
    meet = net.meeting("经三路", "纬五路")
    assert meet is not None and meet.meets and len(meet.points) == 1
    (lon, lat) = meet.points[0]
    assert metres_between(lon, lat, X1, Y1) < 0.5
    apart = net.meeting("经三路", "金水路")
    assert apart is not None and not apart.meets and apart.gap_m > 400
    seg = net.nearest_segment(X1 + 0.0001, Y1 + 0.0001, 300.0, prefer=("纬五路",))
    assert seg is not None and seg[1] == "纬五路"


@pytest.mark.parametrize(
    "query",
    ["经三路与纬五路交叉口", "纬五路和经三路路口", "经三路、纬五路交汇处", "经三路 纬五路 十字路口", "经三路纬五路路口",
     "经3路与纬5路交叉口", "京三路与纬五路交叉口", "经三与纬五路口", "经三路和纬五路"],
)  # fmt: skip
def test_intersection_phrasings(spoken: SpokenMatcher, query: str) -> None:
    r = spoken.match(query)
    assert r.status == "matched", r
    best = r.best
    assert best is not None and best.level == "intersection" and best.address_id is None
    assert metres_between(best.lon, best.lat, X1, Y1) < 0.5
    assert best.precision_m == 25.0 and best.confidence >= 0.8


def test_intersection_offsets_move_the_point(spoken: SpokenMatcher) -> None:
    r = spoken.match("经三路与纬五路交叉口向南50米")
    assert r.best is not None and r.best.address == "经三路与纬五路交叉口向南50米"
    assert metres_between(r.best.lon, r.best.lat, X1, Y1 - 50 / 110_574) < 0.5
    assert r.best.precision_m == 35.0
    corner = spoken.match("经三路纬五路路口东北角").best
    assert corner is not None and corner.lon > X1 and corner.lat > Y1
    near = spoken.match("经三路与纬五路交叉口附近")
    assert near.qualifier == "附近" and near.best is not None and near.best.precision_m == 125.0


def test_roads_that_never_meet_are_not_found_with_the_nearest_approach(spoken: SpokenMatcher) -> None:
    r = spoken.match("经三路与金水路交叉口")
    assert r.status == "not_found"
    (cand,) = r.candidates
    assert cand.place_kind == "nearest_approach" and cand.confidence < 0.5
    assert "最近处" in cand.address


# -- landmarks and door plates ----------------------------------------------------------------------


def test_landmarks_by_name_and_short_forms(spoken: SpokenMatcher) -> None:
    full = spoken.match("民航路社区党群服务中心")
    assert full.status == "matched" and full.best is not None and full.best.place_id == "F005"
    assert full.best.level == "landmark" and full.best.confidence == 1.0
    short = spoken.match("民航路党群服务中心")
    assert short.best is not None and short.best.place_id == "F005" and short.best.confidence < 1.0
    parking = spoken.match("停车场门口")
    assert parking.best is not None and parking.best.place_id == "F001" and parking.qualifier == "门口"
    assert parking.best.precision_m == 55.0  # the lot's own reach plus 门口
    assert spoken.match("智慧停车场").best is not None
    estate = spoken.match("金色港湾小区对面")
    assert estate.best is not None and estate.best.place_id == "CY900" and estate.qualifier == "对面"
    prefixed = spoken.match("郑州市金水区民航路社区党群服务中心")
    assert prefixed.best is not None and prefixed.best.place_id == "F005"


def test_shared_short_form_is_ambiguous_and_not_confident(spoken: SpokenMatcher) -> None:
    for query in ("党群服务中心", "学校"):
        r = spoken.match(query)
        assert r.status == "ambiguous" and len(r.candidates) == 2
        assert all(c.confidence < 0.8 for c in r.candidates)


def test_courtyard_the_door_plate_table_knows_stays_a_door_plate(spoken: SpokenMatcher) -> None:
    r = spoken.match("经三路151号院")
    assert r.best is not None and r.best.level == "courtyard" and r.best.representative_id.startswith("A0")


@pytest.mark.parametrize(
    "query",
    ["经3路151号院", "京三路151号院", "经三路北段151号院", "151号院经三路", "经三路151院", "经三151号院"],
)
def test_door_plate_variants(spoken: SpokenMatcher, query: str) -> None:
    r = spoken.match(query)
    assert r.status == "matched" and r.best is not None
    assert (r.best.level, r.best.courtyard) == ("courtyard", "经三路151号院")
    assert r.best.precision_m > 0  # two buildings: the courtyard reaches from its representative


def test_door_plate_answers_are_unchanged(spoken: SpokenMatcher) -> None:
    r = spoken.match("经三路151号院1号楼1单元")
    assert r.best is not None and r.best.address_id == "A01" and r.best.precision_m == 0.0
    assert r.qualifier is None
    assert spoken.match("火星路99号").status == "not_found"
