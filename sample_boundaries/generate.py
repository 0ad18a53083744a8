#!/usr/bin/env python3
"""Deterministic generator of the GENERATED SAMPLE DATA in sample_boundaries/ (not real boundaries).

Everything is built in EPSG:4547 (CGCS2000 / 3-degree Gauss-Krüger CM 114E, metres) and written in
WGS84 lon/lat (EPSG:4326, RFC 7946, 7 decimals).  The grid hierarchy is one noded edge network:
hierarchical Voronoi edges inside each parent, jittered once per EDGE (so both neighbours share the
same vertices), snap-rounded, densified and polygonized.  Parents are coverage unions of their
children, so the tiling is exact at every level.

Run:  python sample_boundaries/generate.py [--out-dir DIR]
Same seed -> byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon, mapping
from shapely.geometry.polygon import orient
from shapely.ops import polylabel

SEED = 20251101
# The place the sample draws (written to subdistricts.csv; the service reads it from the database).
SUBDISTRICT_CODE = "410105012"
SUBDISTRICT_NAME = "未来路街道"
SUBDISTRICT_ROW = {
    "code": SUBDISTRICT_CODE,
    "name": SUBDISTRICT_NAME,
    "district_code": "410105",
    "district_name": "金水区",
    "city_code": "410100",
    "city_name": "郑州市",
    "province_code": "410000",
    "province_name": "河南省",
}
COMMUNITY_NAMES = [
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
N_TERTIARY = 73
N_MICRO = 652
MIN_TERTIARY_PER_COMMUNITY = 3
MIN_MICRO_PER_TERTIARY = 4
TARGET_AREA_M2 = 5.2e6
CENTER_LONLAT = (113.70, 34.76)
SNAP_GRID_M = 0.001  # snap-rounding grid used to node the edge network
DENSIFY_M = 25.0  # max segment length of grid edges (gives 10-60 vertices per micro-grid)
# Numbering rule: rows of this height (m, EPSG:4547) counted from the parent's northern bound.
ROW_BAND_M = {"community": 700.0, "tertiary": 250.0, "micro": 90.0}
DECIMALS = 7
NOTE = "GENERATED SAMPLE DATA - synthetic, not real boundaries, people, addresses or reports."

N_ROAD_SEGMENTS = 202
N_COURTYARDS = 157
N_REPORTS = 12000
PARKING_AREA_M2 = 22 * 2000 / 3  # 22 亩, 1 亩 = 2000/3 m²

TZ = timezone(timedelta(hours=8))
REPORT_START = datetime(2025, 11, 1, 0, 0, 0, tzinfo=TZ)
REPORT_END = datetime(2026, 10, 31, 23, 59, 59, tzinfo=TZ)

TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
TO_LONLAT = Transformer.from_crs("EPSG:4547", "EPSG:4326", always_xy=True)


def rng_for(*keys: int) -> np.random.Generator:
    return np.random.default_rng([SEED, *keys])


# --------------------------------------------------------------------------- geometry helpers


def to_lonlat_geom(geom):
    """Metric -> rounded lon/lat.  Identical input vertices give identical output vertices."""

    def f(coords: np.ndarray) -> np.ndarray:
        x, y = TO_LONLAT.transform(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([x, y]), DECIMALS)

    return shapely.transform(geom, f)


def to_metric_geom(geom):
    def f(coords: np.ndarray) -> np.ndarray:
        x, y = TO_METRIC.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, f)


def polsby_popper(p: Polygon) -> float:
    return 4 * math.pi * p.area / (p.length**2)


def random_points_in(poly, n: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    out: list[tuple[float, float]] = []
    while len(out) < n:
        xs = rng.uniform(minx, maxx, 4 * n)
        ys = rng.uniform(miny, maxy, 4 * n)
        ok = shapely.contains_xy(poly, xs, ys)
        out.extend(zip(xs[ok].tolist(), ys[ok].tolist(), strict=True))
    return np.array(out[:n])


def voronoi_cells(poly, seeds: np.ndarray):
    vor = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=poly, ordered=True)
    return list(vor.geoms)


def lloyd(poly, seeds: np.ndarray, iters: int) -> np.ndarray:
    for _ in range(iters):
        cells = [c.intersection(poly) for c in voronoi_cells(poly, seeds)]
        seeds = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    return seeds


def internal_edges(poly, seeds: np.ndarray) -> list[LineString]:
    """Voronoi ridges of seeds clipped to poly, one straight piece per ridge."""
    net = shapely.unary_union([c.boundary for c in voronoi_cells(poly, seeds)])
    inner = net.intersection(poly)
    pieces = []
    boundary = poly.boundary
    for g in shapely.get_parts(inner):
        if not isinstance(g, LineString) or g.length < 1e-6:
            continue
        if boundary.distance(g.interpolate(0.5, normalized=True)) < 1e-6:
            continue  # lies along the parent boundary, not an internal ridge
        pieces.append(g)
    return pieces


def jitter_edge(line: LineString, rng: np.random.Generator, max_off: float) -> LineString:
    """Street-like bend(s) on one edge; endpoints fixed, so both neighbours share it."""
    c = np.asarray(line.coords)
    a, b = c[0], c[-1]
    length = float(np.hypot(*(b - a)))
    if length < 20.0:
        return LineString([a, b])
    d = (b - a) / length
    nrm = np.array([-d[1], d[0]])
    ts = [rng.uniform(0.35, 0.65)] if length < 160.0 else [rng.uniform(0.2, 0.4), rng.uniform(0.6, 0.8)]
    pts = [a]
    for t in ts:
        off = min(max_off, rng.uniform(0.015, 0.05) * length) * rng.choice([-1.0, 1.0])
        pts.append(a + (b - a) * t + nrm * off)
    pts.append(b)
    return LineString(pts)


def split_parent(
    poly, k: int, keys: tuple[int, ...], iters: int, max_off: float, min_area: float, min_pp: float
):
    """Split poly into k faces; returns (faces, jittered internal edges, not snapped)."""
    for attempt in range(200):
        rng = rng_for(*keys, attempt)
        seeds = lloyd(poly, random_points_in(poly, k, rng), iters)
        edges = [jitter_edge(e, rng, max_off) for e in internal_edges(poly, seeds)]
        net = shapely.unary_union([poly.boundary, *edges], grid_size=SNAP_GRID_M)
        faces = list(shapely.get_parts(shapely.polygonize(shapely.get_parts(net))))
        if len(faces) != k:
            continue
        if not all(f.is_valid and f.area >= min_area and polsby_popper(f) >= min_pp for f in faces):
            continue
        if abs(sum(f.area for f in faces) - poly.area) > 1.0:
            continue
        return faces, edges
    raise RuntimeError(f"could not split parent {keys} into {k}")


def allocate(total: int, weights, minimum: int) -> list[int]:
    w = np.asarray(weights, float)
    ideal = w / w.sum() * total
    n = np.maximum(minimum, np.floor(ideal)).astype(int)
    while n.sum() > total:
        cand = np.where(n > minimum, n - ideal, -np.inf)
        n[int(np.argmax(cand))] -= 1
    while n.sum() < total:
        n[int(np.argmax(ideal - n))] += 1
    return n.tolist()


def make_outline() -> Polygon:
    """Irregular street-like subdistrict outline (metric), area exactly TARGET_AREA_M2."""
    rng = rng_for(1)
    corners = np.array(
        [
            (-1300, -900),
            (-160, -980),
            (-140, -1060),
            (1100, -1000),
            (1170, -220),
            (1250, 240),
            (1150, 1000),
            (320, 1080),
            (300, 950),
            (-600, 1010),
            (-1280, 900),
            (-1210, 100),
            (-1350, -300),
        ],
        float,
    )
    pts = []
    for i in range(len(corners)):
        a, b = corners[i], corners[(i + 1) % len(corners)]
        pts.append(a)
        length = float(np.hypot(*(b - a)))
        d = (b - a) / length
        nrm = np.array([-d[1], d[0]])
        k = max(1, int(length // 330))
        for j in range(1, k + 1):
            t = (j + rng.uniform(-0.15, 0.15)) / (k + 1)
            pts.append(a + (b - a) * t + nrm * rng.uniform(-14, 14))
    poly = Polygon(pts)
    s = math.sqrt(TARGET_AREA_M2 / poly.area)
    poly = affinity.scale(poly, s, s, origin=(0, 0))
    cx, cy = TO_METRIC.transform(*CENTER_LONLAT)
    c = poly.centroid
    poly = affinity.translate(poly, cx - c.x, cy - c.y)
    poly = shapely.set_precision(poly, SNAP_GRID_M)
    assert poly.is_valid
    return orient(poly, 1.0)


# --------------------------------------------------------------------------- grid hierarchy


def polygonize_net(net) -> list[Polygon]:
    return list(shapely.get_parts(shapely.polygonize(shapely.get_parts(net))))


def assign(children: list[Polygon], parents: list[Polygon]) -> list[int]:
    """Index of the parent polygon containing each child's representative point."""
    tree = shapely.STRtree(parents)
    out = []
    for c in children:
        hits = tree.query(c.point_on_surface(), predicate="intersects")
        assert len(hits) == 1, hits
        out.append(int(hits[0]))
    return out


def build_grids():
    """One global edge network, refined level by level.

    Every level is added to the same snap-rounded network (grid SNAP_GRID_M), so each edge exists once
    and both neighbours of an edge get identical vertices; the faces of the final network are the
    micro-grids.
    """
    outline = make_outline()
    n_outline_vertices = len(outline.exterior.coords) - 1
    net = shapely.unary_union([outline.exterior], grid_size=SNAP_GRID_M)

    _, edges = split_parent(outline, len(COMMUNITY_NAMES), (2,), 3, 30.0, 2.0e5, 0.45)
    net = shapely.unary_union([net, *edges], grid_size=SNAP_GRID_M)
    comm = polygonize_net(net)
    assert len(comm) == len(COMMUNITY_NAMES), len(comm)
    n_tert = allocate(N_TERTIARY, [f.area for f in comm], MIN_TERTIARY_PER_COMMUNITY)

    new_edges = []
    for ci, (cf, k) in enumerate(zip(comm, n_tert, strict=True)):
        new_edges += split_parent(cf, k, (3, ci), 8, 18.0, 2.5e4, 0.45)[1]
    net = shapely.unary_union([net, *new_edges], grid_size=SNAP_GRID_M)
    tert = polygonize_net(net)
    assert len(tert) == N_TERTIARY, len(tert)
    tert_comm = assign(tert, comm)
    n_micro = allocate(N_MICRO, [f.area for f in tert], MIN_MICRO_PER_TERTIARY)

    new_edges = []
    for ti, (tf, k) in enumerate(zip(tert, n_micro, strict=True)):
        new_edges += split_parent(tf, k, (4, ti), 12, 6.0, 3000.0, 0.5)[1]
    net = shapely.unary_union([net, *new_edges], grid_size=SNAP_GRID_M)
    net = shapely.segmentize(net, DENSIFY_M)
    faces = polygonize_net(net)
    assert len(faces) == N_MICRO, len(faces)
    micro_tert = assign(faces, tert)
    micro = [(tert_comm[ti], ti, f) for ti, f in zip(micro_tert, faces, strict=True)]
    return outline, n_outline_vertices, micro


def band_order(geoms_lonlat, parent_lonlat, band: float) -> list[int]:
    """Indices sorted by the numbering rule (row band north->south, then west->east)."""
    top = to_metric_geom(parent_lonlat).bounds[3]
    keys = []
    for i, g in enumerate(geoms_lonlat):
        rp = shapely.point_on_surface(to_metric_geom(g))
        keys.append((math.floor((top - rp.y) / band), rp.x, i))
    return [k[2] for k in sorted(keys)]


def as_multi(g) -> MultiPolygon:
    if isinstance(g, Polygon):
        g = MultiPolygon([g])
    return MultiPolygon([orient(p, 1.0) for p in g.geoms])


def vertex_count(p: Polygon) -> int:
    return len(p.exterior.coords) - 1 + sum(len(r.coords) - 1 for r in p.interiors)


def number_hierarchy(micro):
    """Convert to lon/lat, build parents by coverage union and assign codes and names."""
    micro_ll = []
    for ci, ti, f in micro:
        p = orient(to_lonlat_geom(f), 1.0)
        assert p.is_valid and isinstance(p, Polygon)
        micro_ll.append((ci, ti, p))
    tert_ids = sorted({ti for _, ti, _ in micro_ll})
    tert_geom = {ti: shapely.coverage_union_all([p for _, t, p in micro_ll if t == ti]) for ti in tert_ids}
    tert_comm = {ti: ci for ci, ti, _ in micro_ll}
    comm_ids = sorted(set(tert_comm.values()))
    comm_geom = {
        ci: shapely.coverage_union_all([tert_geom[t] for t in tert_ids if tert_comm[t] == ci])
        for ci in comm_ids
    }
    sub_geom = shapely.coverage_union_all(list(comm_geom.values()))
    assert isinstance(sub_geom, Polygon) and sub_geom.is_valid

    communities, tertiaries, micros = [], [], []
    corder = band_order([comm_geom[c] for c in comm_ids], sub_geom, ROW_BAND_M["community"])
    for cn, cidx in enumerate(corder, start=1):
        ci = comm_ids[cidx]
        ccode = f"{SUBDISTRICT_CODE}{cn:03d}"
        cname = f"{COMMUNITY_NAMES[cn - 1]}社区"
        communities.append({"code": ccode, "name": cname, "geom": as_multi(comm_geom[ci]), "ci": ci})
        tlist = [t for t in tert_ids if tert_comm[t] == ci]
        torder = band_order([tert_geom[t] for t in tlist], comm_geom[ci], ROW_BAND_M["tertiary"])
        for tn, tidx in enumerate(torder, start=1):
            ti = tlist[tidx]
            tcode = f"{ccode}{tn:03d}"
            tname = f"{cname}第{tn}网格"
            tertiaries.append(
                {
                    "code": tcode,
                    "name": tname,
                    "level": "tertiary",
                    "parent_code": ccode,
                    "community_code": ccode,
                    "geom": as_multi(tert_geom[ti]),
                }
            )
            mlist = [p for _, t, p in micro_ll if t == ti]
            morder = band_order(mlist, tert_geom[ti], ROW_BAND_M["micro"])
            for mn, midx in enumerate(morder, start=1):
                micros.append(
                    {
                        "code": f"{tcode}{mn:03d}",
                        "name": f"{tname}第{mn}微网格",
                        "level": "micro",
                        "parent_code": tcode,
                        "community_code": ccode,
                        "geom": as_multi(mlist[midx]),
                    }
                )
    subdistrict = {"code": SUBDISTRICT_CODE, "name": SUBDISTRICT_NAME, "geom": as_multi(sub_geom)}
    for m in micros:
        m["metric"] = to_metric_geom(m["geom"].geoms[0])
    for t in tertiaries:
        t["metric"] = to_metric_geom(t["geom"])
    for c in communities:
        c["metric"] = to_metric_geom(c["geom"])
    subdistrict["metric"] = to_metric_geom(subdistrict["geom"])
    return subdistrict, communities, tertiaries, micros


# --------------------------------------------------------------------------- roads

ROADS_EW = ["东风路", "农业路", "红专路", "纬五路", "丰产路", "燕庄路", "金水路"]  # north -> south
ROADS_NS = ["经三路", "未来路", "民航路", "玉凤路", "鑫苑路", "姚寨路"]  # west -> east


def build_roads(subdistrict, tertiaries):
    """Named road centre lines (metric) and exactly N_ROAD_SEGMENTS segments, each inside one tertiary."""
    rng = rng_for(10)
    area = subdistrict["metric"]
    minx, miny, maxx, maxy = area.bounds
    roads = {}
    for i, name in enumerate(ROADS_EW):
        y = maxy - (i + 0.5) * (maxy - miny) / len(ROADS_EW) + rng.uniform(-40, 40)
        xs = np.linspace(minx - 100, maxx + 100, 6)
        ys = y + np.cumsum(rng.uniform(-12, 12, 6)) + rng.uniform(-0.03, 0.03) * (xs - minx)
        roads[name] = LineString(np.column_stack([xs, ys]))
    for i, name in enumerate(ROADS_NS):
        x = minx + (i + 0.5) * (maxx - minx) / len(ROADS_NS) + rng.uniform(-40, 40)
        ys = np.linspace(miny - 100, maxy + 100, 6)
        xs = x + np.cumsum(rng.uniform(-12, 12, 6)) + rng.uniform(-0.03, 0.03) * (ys - miny)
        roads[name] = LineString(np.column_stack([xs, ys]))
    inner = area.buffer(-15)
    roads = {n: r.intersection(inner) for n, r in roads.items()}

    pieces = []  # [road, tertiary index, LineString]
    for name in ROADS_EW + ROADS_NS:
        for ti, t in enumerate(tertiaries):
            g = roads[name].intersection(t["metric"].buffer(-1.0))
            for part in shapely.get_parts(shapely.line_merge(g) if not g.is_empty else g):
                if isinstance(part, LineString) and part.length >= 25.0:
                    pieces.append([name, ti, part])
    # Adjust to exactly N_ROAD_SEGMENTS: split the longest / drop the shortest deterministically.
    while len(pieces) < N_ROAD_SEGMENTS:
        j = max(range(len(pieces)), key=lambda k: (pieces[k][2].length, -k))
        name, ti, line = pieces[j]
        L = line.length
        a = shapely.ops.substring(line, 0, L / 2)
        b = shapely.ops.substring(line, L / 2, L)
        pieces[j : j + 1] = [[name, ti, a], [name, ti, b]]
    while len(pieces) > N_ROAD_SEGMENTS:
        j = min(range(len(pieces)), key=lambda k: (pieces[k][2].length, k))
        del pieces[j]

    order = {n: i for i, n in enumerate(ROADS_EW + ROADS_NS)}

    def along(p):
        name, _, line = p
        c = line.interpolate(0.5, normalized=True)
        return (order[name], c.x if name in ROADS_EW else -c.y)

    pieces.sort(key=along)
    segments = []
    for k, (name, ti, line) in enumerate(pieces, start=1):
        ll = to_lonlat_geom(line)
        t = tertiaries[ti]
        segments.append(
            {
                "segment_id": f"RS{k:03d}",
                "road_name": name,
                "tertiary_code": t["code"],
                "community_code": t["community_code"],
                "geom": ll,
                "metric": line,
            }
        )
    return roads, segments


# --------------------------------------------------------------------------- addresses, courtyards

ESTATE_PREFIXES = [
    "金色港湾",
    "燕庄花园",
    "新鑫",
    "名门世家",
    "银基",
    "协和城邦",
    "金林",
    "升龙",
    "锦江",
    "民航",
    "康复",
    "未来",
    "凤凰",
    "紫荆",
    "翠竹",
    "丽景",
    "阳光",
    "和平",
    "温馨",
    "书香",
    "玉兰",
    "春晖",
    "怡和",
    "瑞祥",
    "天鹅",
    "嘉和",
    "东方",
    "祥和",
    "锦绣",
    "馨苑",
    "宏达",
    "金桥",
    "银河",
    "华庭",
    "秀水",
    "丰华",
    "博雅",
    "润园",
    "清华",
    "兰亭",
    "华府",
    "水岸",
    "盛世",
    "御景",
    "望湖",
    "福寿",
    "长青",
    "金都",
    "雅居",
    "安居",
    "康宁",
    "和谐",
    "晨光",
    "明珠",
    "颐和",
    "绿茵",
    "青年",
    "电力",
    "邮电",
    "纺织",
]
ESTATE_SUFFIXES = ["小区", "家园", "花园", "公寓", "苑"]


def nearest_roads(pt: Point, roads) -> list[str]:
    return sorted(roads, key=lambda n: (roads[n].distance(pt), n))


def door_number(road: LineString, pt: Point, used: set[int]) -> int:
    """Odd numbers on the left of the road direction, even on the right, rising along it."""
    s = road.project(pt)
    a = road.interpolate(max(0.0, s - 1))
    b = road.interpolate(min(road.length, s + 1))
    side = (b.x - a.x) * (pt.y - a.y) - (b.y - a.y) * (pt.x - a.x)
    n = 2 * int(s // 24) + (1 if side > 0 else 2)
    while n in used:
        n += 2
    used.add(n)
    return n


def sample_in(poly, rng, n=1):
    return [Point(p) for p in random_points_in(poly, n, rng)]


def rect(center: Point, w: float, h: float, angle_deg: float) -> Polygon:
    r = Polygon([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)])
    return affinity.translate(affinity.rotate(r, angle_deg, origin=(0, 0)), center.x, center.y)


def road_angle(road: LineString, pt: Point) -> float:
    s = road.project(pt)
    a = road.interpolate(max(0.0, s - 5))
    b = road.interpolate(min(road.length, s + 5))
    return math.degrees(math.atan2(b.y - a.y, b.x - a.x))


def build_addresses(micros, roads, parking: Polygon):
    """Door plates (road + number -> one courtyard), buildings, units; none inside the parking lot."""
    rng = rng_for(20)
    blocked = parking.buffer(3.0)
    pool = [p + s for s in ESTATE_SUFFIXES for p in ESTATE_PREFIXES]
    pool = [pool[i] for i in rng.permutation(len(pool))]
    used_numbers: dict[str, set[int]] = {n: set() for n in roads}
    free_micros = [i for i, m in enumerate(micros) if not m["metric"].intersects(blocked)]
    courtyard_micros = set(rng.choice(free_micros, N_COURTYARDS, replace=False).tolist())

    courtyards, plates, addresses = [], [], []
    for mi, m in enumerate(micros):
        poly = m["metric"]
        interior = poly.buffer(-4.0).difference(blocked)
        if interior.area < 300.0:
            continue  # (almost) entirely parking lot: no door plate
        n_plates = 2 if rng.random() < 0.3 else 1
        cy_poly = None
        for j in range(n_plates):
            if j == 0 and mi in courtyard_micros:
                center = polylabel(poly, tolerance=1.0)
            else:
                free = interior if cy_poly is None else interior.difference(cy_poly.buffer(3))
                if free.is_empty or free.area < 50:
                    free = interior
                cands = sample_in(free, rng, 8)
                road0 = nearest_roads(cands[0], roads)[0]
                center = min(cands, key=lambda p: roads[road0].distance(p))
            road = nearest_roads(center, roads)[min(j, 1)]
            number = door_number(roads[road], center, used_numbers[road])
            plate_text = f"{road}{number}号"
            if j == 0 and mi in courtyard_micros:
                courtyard = f"{plate_text}院"
                ang = road_angle(roads[road], center)
                w, h = rng.uniform(40, 75), rng.uniform(30, 60)
                cyp = rect(center, w, h, ang)
                while not interior.contains(cyp):
                    w, h = w * 0.9, h * 0.9
                    cyp = rect(center, w, h, ang)
                cy_poly = cyp
                courtyards.append({"micro": mi, "name": courtyard, "metric": cyp})
                region = cyp.buffer(-1.5)
            else:
                courtyard = pool.pop() if pool and rng.random() < 0.35 else f"{plate_text}院"
                region = poly.buffer(-2.0).difference(blocked)
            # Where a point may go: a plate without a polygon of its own stays out of the micro-grid's
            # courtyard polygon, or the containment rule would give it that courtyard's 楼院长.
            own_polygon = j == 0 and mi in courtyard_micros
            avoid = None if own_polygon or cy_poly is None else cy_poly.buffer(1.5)
            allowed = region if avoid is None else region.difference(avoid)
            plates.append({"road": road, "number": f"{number}号", "courtyard": courtyard, "micro": mi})
            n_buildings = int(rng.integers(2, 7))
            for bn in range(1, n_buildings + 1):
                near = region.intersection(center.buffer(45)) if region.area > 0 else region
                if near.is_empty or near.area < 5:
                    near = region
                bpt = sample_in(near, rng)[0]
                if not allowed.contains(bpt):
                    # Resample from a side stream so the main stream, and so every other row, is unchanged.
                    side = rng_for(21, mi, j, bn)
                    ok = near.difference(avoid) if avoid is not None else near
                    bpt = sample_in(ok if ok.area >= 5 else allowed, side)[0]
                n_units = int(rng.integers(1, 5))
                ang = rng.uniform(0, math.pi)
                for un in range(1, n_units + 1):
                    off = (un - (n_units + 1) / 2) * 4.0
                    upt = Point(bpt.x + off * math.cos(ang), bpt.y + off * math.sin(ang))
                    if not allowed.contains(upt):
                        upt = Point(bpt.x + 0.3 * un, bpt.y)
                        if not allowed.contains(upt):
                            upt = bpt
                    rest = courtyard[len(plate_text) :] if courtyard.startswith(plate_text) else courtyard
                    building, unit = f"{bn}号楼", f"{un}单元"
                    lon, lat = TO_LONLAT.transform(upt.x, upt.y)
                    addresses.append(
                        {
                            "address": f"{plate_text}{rest}{building}{unit}",
                            "road": road,
                            "number": f"{number}号",
                            "courtyard": courtyard,
                            "building": building,
                            "unit": unit,
                            "lon": round(lon, DECIMALS),
                            "lat": round(lat, DECIMALS),
                            "community_code": m["community_code"],
                            "micro": mi,
                        }
                    )
    for k, a in enumerate(addresses, start=1):
        a["address_id"] = f"A{k:05d}"
    # courtyard ids in micro code order (micros are already in code order)
    courtyards.sort(key=lambda c: c["micro"])
    for k, c in enumerate(courtyards, start=1):
        m = micros[c["micro"]]
        c.update(
            {
                "courtyard_id": f"CY{k:03d}",
                "micro_code": m["code"],
                "tertiary_code": m["parent_code"],
                "community_code": m["community_code"],
                "geom": orient(to_lonlat_geom(c["metric"]), 1.0),
            }
        )
    return courtyards, plates, addresses


# --------------------------------------------------------------------------- people

SURNAMES = list(
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红玲志新春梅亮鹏飞宇浩晨欣怡婷雪琳辉斌健波宁凯丹璐彬瑞博文晓卫东海峰燕萍慧颖佳琪子涵思雨俊鑫淑珍玉凤桂荣"
)
DUTIES = [
    "党建指导员",
    "文明宣讲员",
    "民情信息员",
    "政策宣传员",
    "矛盾调解员",
    "安全巡查员",
    "环境监督员",
    "便民服务员",
    "志愿服务员",
]
PHONE_PREFIXES = ["13800", "13900", "15000", "15800", "18600"]
N_VOLUNTEERS = 3002


def build_people(communities, tertiaries, micros, segments, courtyards):
    rng = rng_for(30)
    rows = []

    def add(role, duty, grid_code, community_code, target_id=""):
        rows.append(
            {
                "role": role,
                "duty": duty,
                "grid_code": grid_code,
                "community_code": community_code,
                "target_id": target_id,
            }
        )

    for t in tertiaries:
        add("grid_leader", "网格长", t["code"], t["community_code"])
    for t in tertiaries:
        add("party_secretary", "网格党支部书记", t["code"], t["community_code"])
    for m in micros:
        add("micro_grid_leader", "微网格长", m["code"], m["community_code"])
    for s in segments:
        add("road_section_chief", "路段长", s["tertiary_code"], s["community_code"], s["segment_id"])
    for c in courtyards:
        add("courtyard_chief", "楼院长", c["micro_code"], c["community_code"], c["courtyard_id"])
    for t in tertiaries:
        for d in DUTIES:
            add("officer", d, t["code"], t["community_code"])
    vols = allocate(N_VOLUNTEERS, [c["metric"].area for c in communities], 1)
    for c, n in zip(communities, vols, strict=True):
        for _ in range(n):
            add("volunteer", "双报到党员", "", c["code"])
    for i, r in enumerate(rows):
        given = "".join(rng.choice(GIVEN, int(rng.integers(1, 3))).tolist())
        r["person_id"] = f"P{i + 1:05d}"
        r["name"] = str(rng.choice(SURNAMES)) + given
        r["phone"] = f"{PHONE_PREFIXES[i % len(PHONE_PREFIXES)]}0{i // len(PHONE_PREFIXES) + 1:05d}"
    return rows


# --------------------------------------------------------------------------- facilities


def build_parking(communities, micros) -> Polygon:
    minhang = next(c for c in communities if c["name"] == "民航路社区")
    inner = minhang["metric"].buffer(-3.0)
    # Parking lot: two or three adjacent micro-grids of 民航路社区, shrunk inwards (mitred) until the area
    # is exactly 22 亩, so it lies inside the community and overlaps exactly those micro-grids.
    mh = [m for m in micros if m["community_code"] == minhang["code"]]
    cands = []
    for i, a in enumerate(mh):
        for j in range(i + 1, len(mh)):
            b = mh[j]
            if a["metric"].intersection(b["metric"]).length < 40:
                continue
            u = shapely.coverage_union_all([a["metric"], b["metric"]])
            if isinstance(u, Polygon) and 1.15 * PARKING_AREA_M2 <= u.area <= 1.6 * PARKING_AREA_M2:
                cands.append((polsby_popper(u), a["code"], b["code"], u))
    cands.sort(key=lambda c: (-c[0], c[1], c[2]))
    best = None
    for _, _, _, u in cands:
        lo, hi = 0.0, 40.0
        for _ in range(60):
            mid = (lo + hi) / 2
            area = u.buffer(-mid, join_style="mitre").area
            lo, hi = (mid, hi) if area > PARKING_AREA_M2 else (lo, mid)
        r = shapely.set_precision(u.buffer(-lo, join_style="mitre"), 0.01)
        if (
            isinstance(r, Polygon)
            and r.is_valid
            and inner.contains(r)
            and len(r.exterior.coords) <= 80
            and abs(r.area - PARKING_AREA_M2) < 1.0
            and polsby_popper(r) > 0.5
        ):
            best = r
            break
    assert best is not None
    return best


def build_facilities(communities, parking: Polygon):
    rng = rng_for(40)
    feats = []
    minhang = next(c for c in communities if c["name"] == "民航路社区")
    blocked = parking.buffer(10.0)
    feats.append(
        {
            "facility_id": "",
            "kind": "parking",
            "name": "民航路社区智慧停车场",
            "community_code": minhang["code"],
            "capacity": 262,
            "car_spaces": 262,
            "non_motor_spaces": 500,
            "charging_piles": 100,
            "geom": orient(to_lonlat_geom(parking), 1.0),
        }
    )

    def point_in(comm):
        p = sample_in(comm["metric"].buffer(-20).difference(blocked), rng)[0]
        return to_lonlat_geom(p)

    for c in communities:
        feats.append(
            {
                "facility_id": "",
                "kind": "service_center",
                "name": f"{c['name']}党群服务中心",
                "community_code": c["code"],
                "capacity": int(rng.integers(4, 9)) * 10,
                "geom": point_in(c),
            }
        )
    extra = [
        ("charging_station", "民航路充电站", 3, 24),
        ("charging_station", "金色港湾充电站", 4, 16),
        ("charging_station", "燕庄充电站", 5, 12),
        ("charging_station", "协和城邦充电站", 10, 20),
        ("school", "未来路小学", 0, 1800),
        ("school", "燕庄中学", 5, 1500),
        ("health_center", "未来路街道社区卫生服务中心", 1, 60),
        ("health_center", "金林社区卫生服务站", 9, 20),
        ("police_station", "未来路派出所", 6, None),
    ]
    for kind, name, ci, cap in extra:
        c = communities[ci]
        feats.append(
            {
                "facility_id": "",
                "kind": kind,
                "name": name,
                "community_code": c["code"],
                "capacity": cap,
                "geom": point_in(c),
            }
        )
    for k, f in enumerate(feats, start=1):
        f["facility_id"] = f"F{k:03d}"
    return feats


# --------------------------------------------------------------------------- reports

CATEGORIES = {
    "parking": (
        0.18,
        [
            "{p}附近车辆乱停放，堵塞消防通道",
            "{p}门口停车难，夜间车位严重不足",
            "{p}有僵尸车长期占用车位",
            "{p}电动车乱停放影响通行",
        ],
    ),
    "elderly_fraud": (
        0.04,
        [
            "{p}有人以保健品讲座名义向老人推销高价产品",
            "{p}老人反映接到冒充社保的诈骗电话",
            "{p}有不明人员以养老投资为名吸收老人资金",
        ],
    ),
    "illegal_construction": (
        0.06,
        ["{p}一楼住户私自扩建院墙", "{p}楼顶疑似违法搭建彩钢房", "{p}有住户占用绿地搭建棚屋"],
    ),
    "road_occupation": (0.12, ["{p}路边商户占道经营", "{p}流动摊贩占用人行道", "{p}门店出店经营堆放货物"]),
    "littering": (0.14, ["{p}垃圾桶满溢无人清运", "{p}楼道内堆放杂物和生活垃圾", "{p}绿化带内有人乱扔垃圾"]),
    "illegal_advertising": (
        0.08,
        ["{p}电线杆上乱贴小广告", "{p}单元门口张贴大量开锁广告", "{p}墙面被喷涂办证小广告"],
    ),
    "night_street_order": (0.08, ["{p}夜间烧烤摊油烟扰民", "{p}深夜有人聚集喧哗", "{p}夜市收摊后秩序混乱"]),
    "noise": (0.10, ["{p}装修施工超时噪音扰民", "{p}广场舞音响声音过大", "{p}商铺外放音乐噪音大"]),
    "childcare": (
        0.06,
        ["{p}居民咨询附近普惠托育名额", "{p}双职工家庭希望开设午托服务", "{p}居民反映托育机构收费问题"],
    ),
    "facility_repair": (
        0.14,
        ["{p}楼道灯损坏需维修", "{p}井盖松动存在安全隐患", "{p}健身器材损坏", "{p}单元门禁故障"],
    ),
}
CHANNELS = (["public_account", "grid_phone", "community_pc", "hotline"], [0.40, 0.35, 0.15, 0.10])
SEASON = {
    "night_street_order": [0.4, 0.3, 0.3, 0.4, 0.6, 1.0, 1.6, 1.8, 1.8, 1.4, 0.9, 0.5],
    "noise": [0.8, 0.8, 0.7, 0.9, 1.0, 1.1, 1.4, 1.4, 1.2, 1.0, 0.9, 0.8],
    "littering": [1.0, 1.5, 1.2, 1.0, 1.0, 1.0, 1.1, 1.1, 1.0, 1.1, 1.0, 1.0],
}


def fmt_ts(t: datetime | None) -> str:
    return "" if t is None else t.isoformat(timespec="seconds")


def build_reports(subdistrict, micros, plates, roads, parking: Polygon):
    rng = rng_for(50)
    cats = list(CATEGORIES)
    base_w = np.array([CATEGORIES[c][0] for c in cats])
    plates_by_micro: dict[int, list[dict]] = {}
    for p in plates:
        plates_by_micro.setdefault(p["micro"], []).append(p)
    areas = np.array([m["metric"].area for m in micros])
    hot = {c: rng.gamma(1.5, 1.0, len(micros)) * areas for c in cats}
    outer = subdistrict["metric"].buffer(200).difference(subdistrict["metric"].buffer(5))
    rows = []
    span = (REPORT_END - REPORT_START).total_seconds()
    created = sorted(REPORT_START + timedelta(seconds=float(s)) for s in rng.uniform(0, span, N_REPORTS))
    for t0 in created:
        w = base_w * np.array([SEASON.get(c, [1.0] * 12)[t0.month - 1] for c in cats])
        cat = cats[int(rng.choice(len(cats), p=w / w.sum()))]
        if cat == "night_street_order":
            hour = int(rng.choice([19, 20, 21, 22, 23, 0, 1]))
        else:
            hour = int(rng.choice(range(7, 22)))
        t0 = t0.replace(hour=hour)
        if t0 > REPORT_END:
            t0 = REPORT_END - timedelta(hours=1)
        if rng.random() < 0.01:
            pt = sample_in(outer, rng)[0]
            place = nearest_roads(pt, roads)[0] + "附近"
        else:
            hw = hot[cat]
            mi = int(rng.choice(len(micros), p=hw / hw.sum()))
            pt = sample_in(micros[mi]["metric"].buffer(-1.0), rng)[0]
            if parking.contains(pt) or mi not in plates_by_micro:
                place = (
                    "民航路社区智慧停车场" if parking.contains(pt) else nearest_roads(pt, roads)[0] + "附近"
                )
            else:
                pl = plates_by_micro[mi][int(rng.integers(len(plates_by_micro[mi])))]
                place = f"{pl['road']}{pl['number']}" + (
                    pl["courtyard"] if not pl["courtyard"].startswith(pl["road"] + pl["number"]) else "院"
                )
        tmpl = CATEGORIES[cat][1]
        desc = tmpl[int(rng.integers(len(tmpl)))].format(p=place)
        channel = str(rng.choice(CHANNELS[0], p=CHANNELS[1]))
        accepted = t0 + timedelta(minutes=float(rng.uniform(5, 240)))
        closed = accepted + timedelta(hours=float(rng.gamma(1.6, 20.0)))
        solved = rating = ""
        if rng.random() < 0.03:
            status, acc, clo = "rejected", None, t0 + timedelta(hours=float(rng.uniform(1, 24)))
            if clo > REPORT_END:
                status, clo = "reported", None
        elif rng.random() < 0.02 and closed < REPORT_END:
            status, acc, clo = str(rng.choice(["accepted", "dispatched", "in_progress"])), accepted, None
        elif closed <= REPORT_END:
            status, acc, clo = "closed", accepted, closed
            solved = "true" if rng.random() < 0.92 else "false"
            if rng.random() < 0.8:
                rating = str(int(rng.choice([1, 2, 3, 4, 5], p=[0.03, 0.04, 0.13, 0.35, 0.45])))
        elif accepted > REPORT_END:
            status, acc, clo = "reported", None, None
        else:
            frac = (REPORT_END - accepted) / (closed - accepted)
            status = "accepted" if frac < 0.2 else ("dispatched" if frac < 0.5 else "in_progress")
            acc, clo = accepted, None
        lon, lat = TO_LONLAT.transform(pt.x, pt.y)
        rows.append(
            {
                "category": cat,
                "description": desc,
                "channel": channel,
                "created_at": fmt_ts(t0),
                "lon": round(lon, DECIMALS),
                "lat": round(lat, DECIMALS),
                "status": status,
                "accepted_at": fmt_ts(acc),
                "closed_at": fmt_ts(clo),
                "solved": solved,
                "rating": rating,
            }
        )
    rows.sort(key=lambda r: r["created_at"])
    for k, r in enumerate(rows, start=1):
        r["report_id"] = f"R{k:05d}"
    return rows


# --------------------------------------------------------------------------- writers


def geojson_feature(props: dict, geom) -> str:
    return json.dumps(
        {"type": "Feature", "properties": props, "geometry": mapping(geom)},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def write_fc(path: Path, name: str, features: list[str]) -> None:
    head = json.dumps(
        {"type": "FeatureCollection", "name": name, "description": NOTE},
        ensure_ascii=False,
        separators=(",", ":"),
    )[:-1]
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(head + ',"features":[\n' + ",\n".join(features) + "\n]}\n")


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args(argv)
    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    outline, n_outline_vertices, micro = build_grids()
    subdistrict, communities, tertiaries, micros = number_hierarchy(micro)
    roads, segments = build_roads(subdistrict, tertiaries)
    parking = build_parking(communities, micros)
    courtyards, plates, addresses = build_addresses(micros, roads, parking)
    people = build_people(communities, tertiaries, micros, segments, courtyards)
    facilities = build_facilities(communities, parking)
    reports = build_reports(subdistrict, micros, plates, roads, parking)

    write_fc(
        out / "subdistrict.geojson",
        "subdistrict",
        [geojson_feature({"code": subdistrict["code"], "name": subdistrict["name"]}, subdistrict["geom"])],
    )
    write_fc(
        out / "communities.geojson",
        "communities",
        [geojson_feature({"code": c["code"], "name": c["name"]}, c["geom"]) for c in communities],
    )
    grid_keys = ["code", "name", "level", "parent_code", "community_code"]
    write_fc(
        out / "tertiary_grids.geojson",
        "tertiary_grids",
        [geojson_feature({k: t[k] for k in grid_keys}, t["geom"]) for t in tertiaries],
    )
    write_fc(
        out / "micro_grids.geojson",
        "micro_grids",
        [geojson_feature({k: m[k] for k in grid_keys}, m["geom"]) for m in micros],
    )
    seg_keys = ["segment_id", "road_name", "tertiary_code", "community_code"]
    write_fc(
        out / "road_segments.geojson",
        "road_segments",
        [geojson_feature({k: s[k] for k in seg_keys}, s["geom"]) for s in segments],
    )
    cy_keys = ["courtyard_id", "name", "micro_code", "tertiary_code", "community_code"]
    write_fc(
        out / "courtyards.geojson",
        "courtyards",
        [geojson_feature({k: c[k] for k in cy_keys}, c["geom"]) for c in courtyards],
    )
    fac_keys = [
        "facility_id",
        "kind",
        "name",
        "community_code",
        "capacity",
        "car_spaces",
        "non_motor_spaces",
        "charging_piles",
    ]
    write_fc(
        out / "facilities.geojson",
        "facilities",
        [geojson_feature({k: f.get(k) for k in fac_keys}, f["geom"]) for f in facilities],
    )
    write_csv(out / "subdistricts.csv", list(SUBDISTRICT_ROW), [SUBDISTRICT_ROW])
    write_csv(
        out / "people.csv",
        ["person_id", "name", "phone", "role", "duty", "grid_code", "community_code", "target_id"],
        people,
    )
    write_csv(
        out / "addresses.csv",
        [
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
        ],
        addresses,
    )
    write_csv(
        out / "reports.csv",
        [
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
        ],
        reports,
    )

    mv = [vertex_count(m["geom"].geoms[0]) for m in micros]
    ma = [m["metric"].area for m in micros]
    print(
        f"outline design vertices: {n_outline_vertices}; stored subdistrict vertices: "
        f"{vertex_count(subdistrict['geom'].geoms[0])}; area {subdistrict['metric'].area / 1e6:.4f} km²"
    )
    print(
        f"communities {len(communities)}, tertiary {len(tertiaries)}, micro {len(micros)} "
        f"(area {min(ma):.0f}..{max(ma):.0f} m², vertices {min(mv)}..{max(mv)})"
    )
    print(
        f"road segments {len(segments)}, courtyards {len(courtyards)}, people {len(people)}, "
        f"facilities {len(facilities)}, addresses {len(addresses)}, reports {len(reports)}"
    )
    print(f"done in {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
