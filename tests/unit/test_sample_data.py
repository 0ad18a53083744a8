"""Pure checks of the committed generated sample data in sample_boundaries/ (no database)."""

from __future__ import annotations

import csv
import json
import math
import re
import runpy
from collections import Counter
from datetime import datetime
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Point, shape

DATA = Path(__file__).resolve().parents[2] / "sample_boundaries"
TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
TOL_M2 = 1.0  # gaps and overlaps must be below 1 m² (EPSG:4547)

GRID_FILES = ["subdistrict", "communities", "tertiary_grids", "micro_grids"]
ALL_FILES = [f"{n}.geojson" for n in GRID_FILES + ["road_segments", "courtyards", "facilities"]] + [
    "people.csv",
    "addresses.csv",
    "reports.csv",
]


@cache
def fc(name: str) -> dict:
    return json.loads((DATA / f"{name}.geojson").read_text(encoding="utf-8"))


@cache
def geoms(name: str) -> tuple:
    return tuple(shape(f["geometry"]) for f in fc(name)["features"])


@cache
def metric(name: str) -> tuple:
    return tuple(to_metric(g) for g in geoms(name))


def props(name: str) -> list[dict]:
    return [f["properties"] for f in fc(name)["features"]]


def to_metric(g):
    return shapely.transform(g, lambda c: np.column_stack(TO_METRIC.transform(c[:, 0], c[:, 1])))


@cache
def rows(name: str) -> tuple:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


def by_code(name: str) -> dict:
    return {p["code"]: (g, m) for p, g, m in zip(props(name), geoms(name), metric(name), strict=True)}


# ------------------------------------------------------------------------------------ grids


def test_counts_and_names():
    assert len(fc("subdistrict")["features"]) == 1
    assert props("subdistrict")[0] == {"code": "410105012", "name": "未来路街道"}
    comms = props("communities")
    assert [c["name"] for c in comms] == [
        f"{n}社区"
        for n in [
            "康复",
            "新鑫花园",
            "名门世家",
            "民航路",
            "金色港湾",
            "燕庄花园",
            "升龙",
            "金水锦江",
            "银基花园",
            "金林",
            "协和城邦",
        ]
    ]
    assert len(props("tertiary_grids")) == 73
    assert len(props("micro_grids")) == 652


def test_codes_unique_and_hierarchical():
    comm = {p["code"]: p for p in props("communities")}
    tert = {p["code"]: p for p in props("tertiary_grids")}
    micro = {p["code"]: p for p in props("micro_grids")}
    assert len(comm) == 11 and len(tert) == 73 and len(micro) == 652
    assert sorted(comm) == [f"410105012{i:03d}" for i in range(1, 12)]
    for code, p in tert.items():
        assert re.fullmatch(r"\d{15}", code) and p["level"] == "tertiary"
        assert p["parent_code"] == p["community_code"] == code[:12] and code[:12] in comm
        assert p["name"] == f"{comm[code[:12]]['name']}第{int(code[12:])}网格"
    for code, p in micro.items():
        assert re.fullmatch(r"\d{18}", code) and p["level"] == "micro"
        assert p["parent_code"] == code[:15] and p["community_code"] == code[:12] and code[:15] in tert
        assert p["name"] == f"{tert[code[:15]]['name']}第{int(code[15:])}微网格"
    # sequences are contiguous 001..n inside each parent; each community >= 3, each tertiary >= 4
    per_comm = Counter(c[:12] for c in tert)
    per_tert = Counter(c[:15] for c in micro)
    assert min(per_comm.values()) >= 3 and min(per_tert.values()) >= 4
    for c, n in per_comm.items():
        assert sorted(t[12:] for t in tert if t[:12] == c) == [f"{i:03d}" for i in range(1, n + 1)]
    for t, n in per_tert.items():
        assert sorted(m[15:] for m in micro if m[:15] == t) == [f"{i:03d}" for i in range(1, n + 1)]


@pytest.mark.parametrize("name", GRID_FILES)
def test_grid_geometries_valid_rfc7946(name):
    data = fc(name)
    assert "crs" not in data and data["description"].startswith("GENERATED SAMPLE DATA")
    for f in data["features"]:
        g = shape(f["geometry"])
        assert f["geometry"]["type"] == "MultiPolygon" and len(g.geoms) == 1
        assert shapely.is_valid(g)
        p = g.geoms[0]
        assert p.exterior.is_ccw and all(not r.is_ccw for r in p.interiors)
        for x, y in p.exterior.coords:
            assert round(x, 7) == x and round(y, 7) == y


def test_micro_grid_shape():
    for p, m in zip(props("micro_grids"), metric("micro_grids"), strict=True):
        poly = m.geoms[0]
        n = len(poly.exterior.coords) - 1
        assert 10 <= n <= 60, (p["code"], n)
        assert poly.area >= 2000, p["code"]
        assert 4 * math.pi * poly.area / poly.length**2 >= 0.3, p["code"]  # no slivers
    areas = [m.area for m in metric("micro_grids")]
    assert 6000 < sum(areas) / len(areas) < 10000


def test_subdistrict_area():
    assert abs(metric("subdistrict")[0].area - 5.2e6) <= 0.03 * 5.2e6


def _check_tiling(parent, children):
    union = shapely.union_all(children)
    assert shapely.symmetric_difference(union, parent).area < TOL_M2  # no gap, nothing outside
    assert abs(sum(c.area for c in children) - parent.area) < TOL_M2  # no overlap


def test_exact_tiling_every_level():
    sub = metric("subdistrict")[0]
    comm, tert, micro = by_code("communities"), by_code("tertiary_grids"), by_code("micro_grids")
    _check_tiling(sub, [m for _, m in comm.values()])
    for c, (_, cm) in comm.items():
        _check_tiling(cm, [m for code, (_, m) in tert.items() if code[:12] == c])
    for t, (_, tm) in tert.items():
        _check_tiling(tm, [m for code, (_, m) in micro.items() if code[:15] == t])
    _check_tiling(sub, list(metric("micro_grids")))


@pytest.mark.parametrize("name", GRID_FILES[1:])
def test_shared_edges_identical_vertices(name):
    # A valid coverage: no overlaps and every shared edge has exactly matching vertices.
    assert bool(np.all(shapely.coverage_is_valid(np.array(geoms(name)))))


def test_parents_are_exact_unions_of_children():
    # Parents are coverage unions of their children, so they equal them vertex for vertex.
    comm, tert, micro = by_code("communities"), by_code("tertiary_grids"), by_code("micro_grids")
    for t, (tg, _) in tert.items():
        u = shapely.coverage_union_all([g for code, (g, _) in micro.items() if code[:15] == t])
        assert shapely.equals(u, tg)
    for c, (cg, _) in comm.items():
        u = shapely.coverage_union_all([g for code, (g, _) in tert.items() if code[:12] == c])
        assert shapely.equals(u, cg)


def test_numbering_rule():
    # Rows of fixed height from the parent's north bound (north -> south), then west -> east,
    # by shapely point_on_surface in EPSG:4547.
    bands = {"community": 700.0, "tertiary": 250.0, "micro": 90.0}

    def order_ok(parent_m, kids, band):
        top = parent_m.bounds[3]
        keys = []
        for code, m in kids:
            rp = shapely.point_on_surface(m)
            keys.append((math.floor((top - rp.y) / band), rp.x, code))
        assert [k[2] for k in sorted(keys)] == sorted(code for code, _ in kids)

    comm, tert, micro = by_code("communities"), by_code("tertiary_grids"), by_code("micro_grids")
    order_ok(metric("subdistrict")[0], [(c, m) for c, (_, m) in comm.items()], bands["community"])
    for c, (_, cm) in comm.items():
        order_ok(cm, [(t, m) for t, (_, m) in tert.items() if t[:12] == c], bands["tertiary"])
    for t, (_, tm) in tert.items():
        order_ok(tm, [(k, m) for k, (_, m) in micro.items() if k[:15] == t], bands["micro"])


# ------------------------------------------------------------------------------------ other layers


def test_road_segments():
    segs = props("road_segments")
    assert len(segs) == 202
    assert [s["segment_id"] for s in segs] == [f"RS{i:03d}" for i in range(1, 203)]
    tert = by_code("tertiary_grids")
    for s, g in zip(segs, geoms("road_segments"), strict=True):
        assert g.geom_type == "LineString" and g.is_valid and g.length > 0
        assert tert[s["tertiary_code"]][0].covers(g), s["segment_id"]
        assert s["community_code"] == s["tertiary_code"][:12] and s["road_name"].endswith("路")


def test_courtyards_inside_one_micro_grid():
    cys = props("courtyards")
    assert len(cys) == 157
    assert [c["courtyard_id"] for c in cys] == [f"CY{i:03d}" for i in range(1, 158)]
    micro = by_code("micro_grids")
    for c, g in zip(cys, geoms("courtyards"), strict=True):
        assert g.geom_type == "Polygon" and g.is_valid and g.exterior.is_ccw
        assert micro[c["micro_code"]][0].contains(g), c["courtyard_id"]
        assert c["tertiary_code"] == c["micro_code"][:15] and c["community_code"] == c["micro_code"][:12]
        assert re.fullmatch(r".+路\d+号院", c["name"])


def test_people_roles():
    people = rows("people.csv")
    assert list(people[0]) == [
        "person_id",
        "name",
        "phone",
        "role",
        "duty",
        "grid_code",
        "community_code",
        "target_id",
    ]
    assert Counter(p["role"] for p in people) == {
        "grid_leader": 73,
        "party_secretary": 73,
        "micro_grid_leader": 652,
        "road_section_chief": 202,
        "courtyard_chief": 157,
        "officer": 657,
        "volunteer": 3002,
    }
    assert len({p["person_id"] for p in people}) == len(people) == 4816
    assert len({p["phone"] for p in people}) == len(people)
    assert all(re.fullmatch(r"1[3-9]\d{9}", p["phone"]) for p in people)
    tert = {p["code"] for p in props("tertiary_grids")}
    micro = {p["code"] for p in props("micro_grids")}
    for role, grids in [("grid_leader", tert), ("party_secretary", tert), ("micro_grid_leader", micro)]:
        assert sorted(p["grid_code"] for p in people if p["role"] == role) == sorted(grids)
    segs = {s["segment_id"]: s for s in props("road_segments")}
    cys = {c["courtyard_id"]: c for c in props("courtyards")}
    for p in people:
        if p["role"] == "road_section_chief":
            assert segs[p["target_id"]]["tertiary_code"] == p["grid_code"]
        elif p["role"] == "courtyard_chief":
            assert cys[p["target_id"]]["micro_code"] == p["grid_code"]
        elif p["role"] == "volunteer":
            assert p["grid_code"] == "" and p["community_code"]
        else:
            assert p["target_id"] == ""
    assert sorted(p["target_id"] for p in people if p["role"] == "road_section_chief") == sorted(segs)
    assert sorted(p["target_id"] for p in people if p["role"] == "courtyard_chief") == sorted(cys)
    duties = Counter(p["duty"] for p in people if p["role"] == "officer")
    assert len(duties) == 9 and set(duties.values()) == {73}


def test_parking_lot():
    fac = props("facilities")
    assert [f["facility_id"] for f in fac] == [f"F{i:03d}" for i in range(1, len(fac) + 1)]
    i = next(i for i, f in enumerate(fac) if f["kind"] == "parking")
    p = fac[i]
    assert p["name"] == "民航路社区智慧停车场"
    assert (p["car_spaces"], p["non_motor_spaces"], p["charging_piles"]) == (262, 500, 100)
    lot = metric("facilities")[i]
    assert lot.geom_type == "Polygon" and abs(lot.area - 14667) <= 0.01 * 14667
    minhang = next(
        m
        for c, (_, m) in by_code("communities").items()
        if c == next(q["code"] for q in props("communities") if q["name"] == "民航路社区")
    )
    assert minhang.contains(lot)
    overlapped = [m for m in metric("micro_grids") if m.intersection(lot).area > 1]
    assert 2 <= len(overlapped) <= 3
    lot_ll = geoms("facilities")[i]
    assert not any(lot_ll.intersects(c) for c in geoms("courtyards"))
    xs = np.array([float(a["lon"]) for a in rows("addresses.csv")])
    ys = np.array([float(a["lat"]) for a in rows("addresses.csv")])
    assert not shapely.intersects_xy(lot_ll, xs, ys).any()
    kinds = Counter(f["kind"] for f in fac)
    assert kinds["service_center"] == 11 and {
        "charging_station",
        "school",
        "health_center",
        "police_station",
    } <= set(kinds)


def test_addresses():
    addrs = rows("addresses.csv")
    assert list(addrs[0]) == [
        "address_id",
        "address",
        "road",
        "number",
        "courtyard",
        "building",
        "unit",
        "lon",
        "lat",
        "community_code",
    ]
    assert len(addrs) >= 5000
    assert len({a["address"] for a in addrs}) == len(addrs)
    assert len({a["address_id"] for a in addrs}) == len(addrs)
    # road + number identifies one courtyard
    plates: dict = {}
    for a in addrs:
        assert plates.setdefault((a["road"], a["number"]), a["courtyard"]) == a["courtyard"]
        plate = a["road"] + a["number"]
        rest = a["courtyard"][len(plate) :] if a["courtyard"].startswith(plate) else a["courtyard"]
        assert a["address"] == plate + rest + a["building"] + a["unit"]
    micro = [
        (p["community_code"], g) for p, g in zip(props("micro_grids"), geoms("micro_grids"), strict=True)
    ]
    tree = shapely.STRtree([g for _, g in micro])
    for a in addrs:
        pt = Point(float(a["lon"]), float(a["lat"]))
        hits = tree.query(pt, predicate="within")  # strictly inside a micro-grid, never on an edge
        assert len(hits) == 1, a["address_id"]
        assert micro[hits[0]][0] == a["community_code"]


def test_addresses_only_in_their_own_courtyard():
    # The containment rule gives an address the 楼院长 of the courtyard polygon covering it, so a point
    # must lie inside its own courtyard's polygon, or inside none when its courtyard has no polygon.
    names = [c["name"] for c in props("courtyards")]
    assert len(set(names)) == len(names)
    cys = geoms("courtyards")
    tree = shapely.STRtree(cys)
    wrong = []
    for a in rows("addresses.csv"):
        hits = tree.query(Point(float(a["lon"]), float(a["lat"])), predicate="intersects")
        covering = sorted(names[i] for i in hits)
        if covering != ([a["courtyard"]] if a["courtyard"] in names else []):
            wrong.append((a["address_id"], a["courtyard"], covering))
    assert wrong == []


def test_reports():
    reps = rows("reports.csv")
    assert list(reps[0]) == [
        "report_id",
        "category",
        "description",
        "channel",
        "created_at",
        "lon",
        "lat",
        "status",
        "accepted_at",
        "closed_at",
        "solved",
        "rating",
    ]
    assert len(reps) >= 10000
    assert {r["category"] for r in reps} == {
        "parking",
        "elderly_fraud",
        "illegal_construction",
        "road_occupation",
        "littering",
        "illegal_advertising",
        "night_street_order",
        "noise",
        "childcare",
        "facility_repair",
    }
    assert {r["channel"] for r in reps} == {"public_account", "grid_phone", "community_pc", "hotline"}
    status = Counter(r["status"] for r in reps)
    assert status["closed"] > 0.8 * len(reps)
    assert set(status) <= {"reported", "accepted", "dispatched", "in_progress", "closed", "rejected"}
    lo, hi = (
        datetime.fromisoformat("2025-11-01T00:00:00+08:00"),
        datetime.fromisoformat("2026-10-31T23:59:59+08:00"),
    )
    for r in reps:
        t = datetime.fromisoformat(r["created_at"])
        assert r["created_at"].endswith("+08:00") and lo <= t <= hi
        for k in ("accepted_at", "closed_at"):
            if r[k]:
                assert t <= datetime.fromisoformat(r[k]) <= hi
        assert (r["closed_at"] != "") == (r["status"] in ("closed", "rejected"))
    sub = geoms("subdistrict")[0]
    xs = np.array([float(r["lon"]) for r in reps])
    ys = np.array([float(r["lat"]) for r in reps])
    outside = int((~shapely.intersects_xy(sub, xs, ys)).sum())
    assert 0.005 * len(reps) <= outside <= 0.02 * len(reps)


def test_generator_is_deterministic_and_committed_files_are_current(tmp_path):
    gen = runpy.run_path(str(DATA / "generate.py"))
    assert gen["main"](["--out-dir", str(tmp_path)]) == 0
    for name in ALL_FILES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
