"""Pure tests of address normalisation and matching (geo_grid.geocoding); no database."""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

import pytest

from geo_grid.geocoding import (
    AddressMatcher,
    MatchResult,
    ParsedAddress,
)
from geo_grid.geocoding import normalize_address as _normalize_address
from geo_grid.geocoding import parse_address as _parse_address
from tests.support.places import SAMPLE_PREFIXES
from tests.support.realdata import realdata_path


# As the service does (services/addresses.py): the place's prefixes come from its data — here the
# sample's communities behind the subdistrict's administrative chain.
def normalize_address(text: str, **options: Any) -> str:
    return _normalize_address(text, prefixes=SAMPLE_PREFIXES, **options)


def parse_address(text: str) -> ParsedAddress:
    return _parse_address(text, prefixes=SAMPLE_PREFIXES)


# -- a small standard table built here (the generated sample table is not needed) -------------------


def _table() -> list[dict[str, str]]:
    layout = [
        # road, number, courtyard, buildings, units, community_code
        ("民航路", "23号", "金色港湾小区", 3, 2, "C05"),
        ("民航路", "25号", "民航路25号院", 2, 2, "C04"),
        ("民主路", "23号", "燕庄花园", 3, 1, "C06"),
        ("未来路", "88号", "银基花园", 3, 2, "C09"),
        ("未来路", "90号", "升龙小区", 3, 2, "C07"),
        ("金林路", "6号", "名门世家", 2, 2, "C03"),
    ]
    rows: list[dict[str, str]] = []
    for r, (road, number, court, n_b, n_u, code) in enumerate(layout):
        for b in range(1, n_b + 1):
            for u in range(1, n_u + 1):
                head = court if court.startswith(road + number) else road + number + court
                rows.append(
                    {
                        "address_id": f"A{len(rows) + 1:04d}",
                        "address": f"{head}{b}号楼{u}单元",
                        "road": road,
                        "number": number,
                        "courtyard": court,
                        "building": f"{b}号楼",
                        "unit": f"{u}单元",
                        "lon": f"{113.68 + r * 0.002 + b * 0.0002:.6f}",
                        "lat": f"{34.77 + r * 0.001 + u * 0.0001:.6f}",
                        "community_code": code,
                    }
                )
    return rows


ROWS = _table()
BY_ADDRESS = {row["address"]: row for row in ROWS}


@pytest.fixture(scope="module")
def matcher() -> AddressMatcher:
    return AddressMatcher.from_rows(ROWS, prefixes=SAMPLE_PREFIXES)


def _id(address: str) -> str:
    return BY_ADDRESS[address]["address_id"]


# -- normalisation: one test per rule -----------------------------------------------------------------


def test_fullwidth_digits_letters_and_punctuation_become_halfwidth() -> None:
    assert normalize_address("民航路２３号金色港湾小区３号楼２单元") == "民航路23号金色港湾小区3号楼2单元"
    assert normalize_address("民航路２３号Ｂ座") == "民航路23号B号楼"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("民航路二十三号", "民航路23号"),
        ("金色港湾小区三单元", "金色港湾小区3单元"),
        ("金色港湾小区十二号楼", "金色港湾小区12号楼"),
        ("民航路一百零五号", "民航路105号"),
        ("三单元二零三室", "3单元203室"),
        ("第三单元", "3单元"),
        ("两栋", "2号楼"),
    ],
)
def test_chinese_numerals_before_unit_words_become_digits(text: str, expected: str) -> None:
    assert normalize_address(text) == expected


@pytest.mark.parametrize("name", ["三全路", "金水锦江", "一品小区", "二七广场", "十里铺"])
def test_numerals_inside_names_are_kept(name: str) -> None:
    assert normalize_address(name + "5号") == name + "5号"


@pytest.mark.parametrize("variant", ["3栋", "3幢", "3座", "3号栋", "3号幢", "3号座", "3#楼", "3号楼", "三栋"])
def test_building_variants_become_hao_lou(variant: str) -> None:
    assert parse_address("金色港湾小区" + variant).building == "3号楼"


def test_building_written_as_lou_before_unit_but_floor_otherwise() -> None:
    p = parse_address("金色港湾小区3楼2单元5楼")
    assert (p.building, p.unit, p.floor) == ("3号楼", "2单元", "5层")


def test_room_variants_shi_hu_and_bare_digits_after_unit() -> None:
    assert parse_address("金色港湾小区3号楼2单元301户").room == "301室"
    assert parse_address("金色港湾小区3号楼2单元301室").room == "301室"
    assert parse_address("金色港湾小区3号楼2单元301").room == "301室"


def test_dash_building_unit_room_shorthand() -> None:
    p = parse_address("金色港湾小区3-2")
    assert (p.courtyard, p.building, p.unit) == ("金色港湾小区", "3号楼", "2单元")
    p = parse_address("金色港湾小区3-2-301")
    assert (p.building, p.unit, p.room) == ("3号楼", "2单元", "301室")
    # a dash inside a number range is not read as building-unit
    assert parse_address("民航路23-25号").building is None


def test_numbered_courtyard_hao_yuan() -> None:
    p = parse_address("民航路25号院1号楼")
    assert (p.road, p.number, p.courtyard, p.numbered_courtyard) == ("民航路", "25号", "民航路25号院", True)
    p = parse_address("民航路23号金色港湾小区")
    assert (p.number, p.courtyard, p.numbered_courtyard) == ("23号", "金色港湾小区", False)


@pytest.mark.parametrize(
    "prefix",
    [
        "河南省",
        "河南",
        "郑州市",
        "郑州",
        "金水区",
        "未来路街道",
        "未来路办事处",
        "未来路街道办事处",
        "民航路社区",
        "金色港湾社区",
        "协和城邦社区",
        "河南省郑州市金水区未来路街道康复社区",
        "河南郑州金水区",
    ],
)
def test_administrative_prefixes_are_stripped(prefix: str) -> None:
    assert normalize_address(prefix + "民航路23号") == "民航路23号"


def test_road_named_like_subdistrict_is_not_stripped() -> None:
    # 未来路 is both the subdistrict's name and a road: only 未来路街道/办事处 is a prefix.
    assert normalize_address("未来路88号") == "未来路88号"
    assert normalize_address("民航路社区") == "民航路社区"  # nothing left after it: kept


def test_spaces_and_punctuation_are_removed() -> None:
    text = " 民航路 23号，金色港湾小区。3号楼、2单元 (东) "
    assert normalize_address(text) == "民航路23号金色港湾小区3号楼2单元东"


def test_road_alias_table() -> None:
    assert normalize_address("未来大道88号") == "未来路88号"
    assert normalize_address("民航大道1号", aliases={"民航大道": "民航路"}) == "民航路1号"


def test_road_split_without_door_number() -> None:
    p = parse_address("民航路金色港湾小区3号楼")
    assert (p.road, p.number, p.courtyard, p.building) == ("民航路", None, "金色港湾小区", "3号楼")
    p = parse_address("民航路23金色港湾小区")
    assert (p.road, p.number, p.courtyard) == ("民航路", "23号", "金色港湾小区")


def test_parse_full_address() -> None:
    p = parse_address("河南省郑州市金水区民航路二十三号金色港湾小区3栋2单元301室")
    assert (p.road, p.number, p.courtyard, p.building, p.unit, p.room) == (
        "民航路",
        "23号",
        "金色港湾小区",
        "3号楼",
        "2单元",
        "301室",
    )


@pytest.mark.parametrize("text", ["", "   ", None, "，。", "号", "单元", "0号楼0单元", "-", "第", "楼"])
def test_degenerate_input_does_not_crash(text: str | None) -> None:
    normalize_address(text)
    parse_address(text)


# -- matching -----------------------------------------------------------------------------------------


def _check(result: MatchResult) -> None:
    assert len(result.candidates) <= 5
    for c in result.candidates:
        assert 0.0 <= c.confidence <= 1.0
    confs = [c.confidence for c in result.candidates]
    assert confs == sorted(confs, reverse=True)


def test_match_unit_level_exact(matcher: AddressMatcher) -> None:
    r = matcher.match("民航路23号金色港湾小区3号楼2单元")
    _check(r)
    assert r.status == "matched" and r.best is not None
    assert r.level == "unit" and r.confidence == 1.0
    row = BY_ADDRESS["民航路23号金色港湾小区3号楼2单元"]
    assert r.address_id == row["address_id"]
    assert (r.best.lon, r.best.lat) == (float(row["lon"]), float(row["lat"]))
    assert r.best.community_code == "C05"


def test_match_unit_with_prefixes_numerals_and_variants(matcher: AddressMatcher) -> None:
    r = matcher.match("河南省郑州市金水区未来路街道金色港湾社区 民航路二十三号 金色港湾小区 三幢二单元 301")
    assert r.status == "matched" and r.address_id == _id("民航路23号金色港湾小区3号楼2单元")


def test_match_building_level_uses_centroid(matcher: AddressMatcher) -> None:
    r = matcher.match("民航路23号金色港湾小区2号楼")
    assert r.status == "matched" and r.best is not None
    assert r.level == "building" and r.address_id is None
    rows = [row for row in ROWS if row["address"].startswith("民航路23号金色港湾小区2号楼")]
    assert r.best.n_addresses == len(rows) == 2
    assert r.best.lon == pytest.approx(sum(float(x["lon"]) for x in rows) / 2)
    assert r.best.representative_id in {x["address_id"] for x in rows}


def test_match_courtyard_level_by_estate_name_without_road(matcher: AddressMatcher) -> None:
    r = matcher.match("银基花园")
    assert r.status == "matched" and r.level == "courtyard"
    assert r.best is not None and (r.best.road, r.best.number) == ("未来路", "88号")


def test_match_numbered_courtyard_hao_and_hao_yuan_are_the_same(matcher: AddressMatcher) -> None:
    a = matcher.match("民航路25号院1号楼2单元")
    b = matcher.match("民航路25号1栋2单元")
    assert a.status == b.status == "matched"
    assert a.address_id == b.address_id == _id("民航路25号院1号楼2单元")
    c = matcher.match("民航路25号院")
    assert c.status == "matched" and c.level == "courtyard"


def test_match_number_level(matcher: AddressMatcher) -> None:
    r = matcher.match("民航路23号")
    assert r.status == "matched" and r.level == "number"
    assert r.best is not None and r.best.n_addresses == 6


def test_match_road_level_and_optional_lu(matcher: AddressMatcher) -> None:
    r = matcher.match("未来路")
    assert r.status == "matched" and r.level == "road"
    r = matcher.match("民航23号金色港湾小区1号楼1单元")
    assert r.status == "matched" and r.address_id == _id("民航路23号金色港湾小区1号楼1单元")


def test_match_alias_road(matcher: AddressMatcher) -> None:
    r = matcher.match("未来大道88号银基花园1-2")
    assert r.status == "matched" and r.address_id == _id("未来路88号银基花园1号楼2单元")


def test_match_missing_courtyard_resolved_by_number(matcher: AddressMatcher) -> None:
    r = matcher.match("未来路90号2号楼1单元")
    assert r.status == "matched" and r.address_id == _id("未来路90号升龙小区2号楼1单元")


@pytest.mark.parametrize(
    "query",
    [
        "民行路23号金色港湾小区3号楼2单元",
        "民航路23号金色港弯小区3号楼2单元",
        "民航路23号金港湾小区3号楼2单元",
    ],
)
def test_match_typo_in_road_or_estate(matcher: AddressMatcher, query: str) -> None:
    r = matcher.match(query)
    _check(r)
    assert r.status == "matched" and r.address_id == _id("民航路23号金色港湾小区3号楼2单元")
    assert 0.75 <= r.confidence < 1.0


def test_ambiguous_building_without_road(matcher: AddressMatcher) -> None:
    r = matcher.match("3号楼")
    _check(r)
    assert r.status == "ambiguous" and r.best is None and r.address_id is None
    # 3号楼 exists in four courtyards of the table: all four are offered, none is chosen
    assert len(r.candidates) == 4 and all(c.level == "building" for c in r.candidates)
    assert all(c.confidence == 1.0 for c in r.candidates)


def test_ambiguous_two_roads_equally_close(matcher: AddressMatcher) -> None:
    r = matcher.match("民x路23号")  # 民航路23号 and 民主路23号 both exist
    _check(r)
    assert r.status == "ambiguous"
    assert {c.road for c in r.candidates[:2]} == {"民航路", "民主路"}


def test_low_confidence_is_not_a_match(matcher: AddressMatcher) -> None:
    r = matcher.match("民行路")  # one wrong character of a 2-character road core: similarity 0.5
    assert r.status in {"ambiguous", "not_found"} and r.best is None
    assert {c.road for c in r.candidates[:2]} == {"民航路", "民主路"}  # equally close
    assert r.candidates[0].confidence < 0.75
    r = matcher.match("金林东路6号")  # 东 inserted: a different real road, not a typo of 金林路
    assert r.status != "matched"


def test_missing_building_is_reported_not_guessed(matcher: AddressMatcher) -> None:
    r = matcher.match("民航路23号金色港湾小区9号楼2单元")
    assert r.status != "matched"
    assert r.candidates[0].level == "courtyard" and "building" in r.candidates[0].unmatched


def test_not_found_with_suggestions(matcher: AddressMatcher) -> None:
    r = matcher.match("人民路100号")
    _check(r)
    assert r.status == "not_found" and r.best is None
    assert r.candidates and r.candidates[0].road in {"民航路", "民主路"}
    r = matcher.match("完全无关的文字")
    assert r.status == "not_found" and r.best is None
    r = matcher.match("")
    assert r.status == "not_found" and r.candidates == ()


def test_confidence_range_on_random_noise(matcher: AddressMatcher) -> None:
    rng = random.Random(7)
    alphabet = "民航路金色港湾小区号楼单元院0123456789一二三未来大道燕庄花园，- "
    for _ in range(300):
        r = matcher.match("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 25))))
        _check(r)
        assert r.status in {"matched", "ambiguous", "not_found"}
        assert (r.best is not None) == (r.status == "matched")


def test_from_csv_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "addresses.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ROWS[0]))
        writer.writeheader()
        writer.writerows(ROWS)
    m = AddressMatcher.from_csv(path, prefixes=SAMPLE_PREFIXES)
    assert len(m) == len(ROWS)
    assert m.match(ROWS[0]["address"]).address_id == ROWS[0]["address_id"]


SAMPLE_TABLE = Path(__file__).resolve().parents[2] / "sample_boundaries" / "addresses.csv"


def test_generated_sample_table_addresses_match_themselves() -> None:
    """Every 17th address of the generated table, written as in the table, is matched to itself."""
    if not SAMPLE_TABLE.is_file():
        pytest.skip(f"{SAMPLE_TABLE} not generated yet (python sample_boundaries/generate.py)")
    m = AddressMatcher.from_csv(SAMPLE_TABLE, prefixes=SAMPLE_PREFIXES)
    assert len(m) >= 5000
    with SAMPLE_TABLE.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))[::17]
    for row in rows:
        r = m.match(row["address"])
        assert (r.status, r.address_id) == ("matched", row["address_id"]), row["address"]


# -- real-world input (only with GEO_GRID_REALDATA_DIR) ---------------------------------------------------

_HENAN_PREFIXES = ("河南省", "河南", "郑州市", "郑州", "金水区")


def test_realdata_company_addresses_never_crash_and_lose_henan_prefixes() -> None:
    path = realdata_path("cpca_raw_company_addresses.csv")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        addresses = [row["原始地址"] for row in csv.DictReader(fh)]
    assert len(addresses) == 18367
    henan = 0
    for text in addresses:
        norm = normalize_address(text)
        parse_address(text)
        assert " " not in norm and "，" not in norm
        if text.startswith(_HENAN_PREFIXES):
            henan += 1
            # what is asserted: the 河南/郑州/金水区 prefixes are gone; other districts (高新区 …) stay.
            assert not norm.startswith(_HENAN_PREFIXES), (text, norm)
            assert norm, text
    assert henan >= 50  # 112 rows mention 郑州; most start with it


def test_realdata_company_addresses_sample_parses_building_parts() -> None:
    """On the Zhengzhou rows, 号楼/单元/室 written in real addresses come out as parts."""
    path = realdata_path("cpca_raw_company_addresses.csv")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = [row["原始地址"] for row in csv.DictReader(fh) if "郑州" in row["原始地址"]]
    p = parse_address("郑州金水区红专路姚寨路交叉口金成东苑4号楼5单元1楼东户")
    assert "郑州金水区红专路姚寨路交叉口金成东苑4号楼5单元1楼东户" in rows
    assert (p.building, p.unit, p.floor) == ("4号楼", "5单元", "1层")
    with_building = [r for r in rows if "号楼" in r]
    assert with_building and all(parse_address(r).building for r in with_building)


def test_realdata_cpca_parse_cases_normalise_without_crash() -> None:
    """cpca's own cases are from other provinces: we only strip Henan prefixes, so we assert no crash and
    that the street part (remainder) survives normalisation unchanged apart from our spelling rules."""
    path = realdata_path("cpca_address_parse_cases.csv")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        cases = list(csv.DictReader(fh))
    assert len(cases) == 12
    for case in cases:
        norm = normalize_address(case["input"])
        remainder = normalize_address(case["addr_remainder"])
        assert remainder in norm, (case["input"], norm)


def test_place_prefixes_come_from_the_places_data_not_the_code() -> None:
    from geo_grid.geocoding import place_prefixes

    prefixes = place_prefixes(("河南省", "郑州市", "金水区", "未来路街道"), ["新建花园社区"])
    for prefix in ("河南郑州金水区未来路办事处", "新建花园社区居民委员会", "新建花园社区居委会", "中国"):
        assert _normalize_address(prefix + "民航路23号", prefixes=prefixes) == "民航路23号"
    # A community that is not in the data is not a prefix; the bare 未来路 (a road too) never is.
    assert _normalize_address("康复社区民航路23号", prefixes=prefixes) == "康复社区民航路23号"
    assert _normalize_address("未来路88号", prefixes=prefixes) == "未来路88号"
    assert prefixes == tuple(sorted(prefixes, key=lambda p: (-len(p), p)))  # longest first
