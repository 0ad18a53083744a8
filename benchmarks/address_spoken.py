"""Benchmark addresses as people say them (issue 16): a labelled set of hotline-style phrasings built from
the sample, answered by the address service as GET /lookup/address does (match → point → grid).

    .venv/bin/python benchmarks/address_spoken.py [--database-url URL] [--seed 1] [--show-errors 10]

Without --database-url a throw-away PostgreSQL + PostGIS cluster is started (as the tests do). The set:

- intersection: every pair of roads whose centrelines meet (the union of each road's segments, crossed
  here with shapely), said as A与B交叉口 / A和B路口 / A、B交汇处 / A B 十字路口 / AB路口, with offsets
  (向南50米, 往北100米左右, 东北角: the place meant is moved so) and in both road orders;
- facility: every facility by its name, its name without 社区, with a qualifier (门口, 旁边, 附近), and
  with one character mistyped (facility typo);
- to be refused (right = not matched): every pair of roads that never meet (A与B交叉口) and short forms
  several facilities share (学校, 党群服务中心, 充电站, 服务中心);
- courtyard: every courtyard polygon by its name with a qualifier (门口, 对面, 旁边, 北门, 附近, 楼下);
- numeral / sound-alike / section / reversed / bare 院 variants of every courtyard door plate
  (经3路151号院, 京三路151号院, 经三路北段151号院, 151号院经三路, 经三路151院).

The place meant may lie outside every micro-grid (an offset past the subdistrict's edge): the answer is
then right when it is outside too.

The place meant is the crossing (moved by the offset), the facility's or courtyard's point on surface, or
the door plate's point. An answer is *right* (top-1) when it is `matched` and the micro-grid returned is
within `precision_m` (+1 m) of the place meant (EPSG:4547); *confident-wrong* when it is matched with
confidence ≥ 0.8 and not right. Printed per kind and overall, with lookups/s (match only and full
resolve). The door-plate noisy set of benchmarks/geocoding.py is also run through the same spoken
matcher (its accuracy must not drop). Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import geocoding as noisy  # noqa: E402  (benchmarks/geocoding.py: the door-plate noisy set)
from pypinyin import lazy_pinyin  # noqa: E402
from shapely.geometry import Point, shape  # noqa: E402
from shapely.ops import unary_union  # noqa: E402

from benchmarks.support import embedded_postgis  # noqa: E402
from geo_grid import db  # noqa: E402
from geo_grid.crs import from_metric, lonlat_to_metric, to_metric  # noqa: E402
from geo_grid.geocoding.places import offset_point  # noqa: E402
from geo_grid.repository import addresses as address_repo  # noqa: E402
from geo_grid.services import addresses as address_service  # noqa: E402
from geo_grid.services.directory import GridDirectory, load_active  # noqa: E402

# Homophones a caller's words may be typed with (same toneless pinyin as the road's first character).
HOMOPHONES = {
    "经": "京",
    "纬": "维",
    "农": "浓",
    "民": "敏",
    "红": "洪",
    "丰": "风",
    "金": "今",
    "燕": "艳",
    "鑫": "新",
    "玉": "预",
    "姚": "摇",
    "未": "味",
    "东": "冬",
}
CN_TO_DIGIT = {
    "一": "1",
    "二": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}
Case = tuple[str, str, float, float]  # (kind, query, lon, lat of the place meant; NaN: must be refused)
NAN = float("nan")


def intersections(segments: list[address_repo.SegmentLine]) -> list[tuple[str, str, float, float]]:
    by_road: dict[str, list[object]] = defaultdict(list)
    for s in segments:
        by_road[s.road_name].append(to_metric(shape(s.geometry)))
    lines = {road: unary_union(parts) for road, parts in by_road.items()}
    out = []
    roads = sorted(lines)
    for i, a in enumerate(roads):
        for b in roads[i + 1 :]:
            inter = lines[a].intersection(lines[b])
            if inter.is_empty:
                continue
            c = from_metric(inter.centroid)
            out.append((a, b, float(c.x), float(c.y)))
    return out


def cases(session_factory: object, seed: int) -> list[Case]:
    rng = random.Random(seed)
    with session_factory() as session:  # type: ignore[operator]
        segments = address_repo.road_segment_lines(session)
        places = address_repo.named_places(session)
        rows = address_repo.all_rows(session)
    out: list[Case] = []
    for a, b, lon, lat in intersections(segments):
        for text in (
            f"{a}与{b}交叉口",
            f"{b}和{a}路口",
            f"{a}、{b}交汇处",
            f"{a} {b} 十字路口",
            f"{a}{b}路口",
        ):
            out.append(("intersection", text, lon, lat))
        s = offset_point(lon, lat, 0.0, -50.0)
        out.append(("intersection+offset", f"{a}与{b}交叉口向南50米", *s))
        n = offset_point(lon, lat, 0.0, 100.0)
        out.append(("intersection+offset", f"{b}和{a}交叉口往北100米左右", *n))
        ne = offset_point(lon, lat, 10.6, 10.6)
        out.append(("intersection+offset", f"{a}{b}路口东北角", *ne))
    met = {frozenset((a, b)) for a, b, _, _ in intersections(segments)}
    roads = sorted({s.road_name for s in segments})
    for i, a in enumerate(roads):
        for b in roads[i + 1 :]:
            if frozenset((a, b)) not in met:  # the right answer is a refusal (404, nearest approach)
                out.append(("never meet (refuse)", f"{a}与{b}交叉口", NAN, NAN))
    for text in ("学校", "党群服务中心", "充电站", "服务中心"):  # shared by several: must not be guessed
        out.append(("shared short form (refuse)", text, NAN, NAN))
    for p in places:
        if p.kind in ("courtyard", "community"):
            continue
        if len(p.name) >= 5:  # one character mistyped, in the middle
            k = rng.randrange(1, len(p.name) - 1)
            out.append(
                ("facility typo", p.name[:k] + rng.choice("东西南北华新") + p.name[k + 1 :], p.lon, p.lat)
            )
        out.append(("facility", p.name, p.lon, p.lat))
        if "社区" in p.name:
            out.append(("facility", p.name.replace("社区", "", 1), p.lon, p.lat))
        out.append(("facility", p.name + rng.choice(("门口", "旁边", "附近")), p.lon, p.lat))
    qualifiers = ("门口", "对面", "旁边", "北门", "附近", "楼下")
    for i, p in enumerate(x for x in places if x.kind == "courtyard"):
        out.append(("courtyard+qualifier", p.name + qualifiers[i % len(qualifiers)], p.lon, p.lat))
    # door-plate variants: one door plate per courtyard group (its first unit), every variant that applies
    seen: set[tuple[str | None, str | None]] = set()
    for r in rows:
        if not (r.road and r.number and r.courtyard) or (r.road, r.number) in seen:
            continue
        seen.add((r.road, r.number))
        road, num = r.road, r.number.removesuffix("号")
        digits = "".join(CN_TO_DIGIT.get(ch, ch) for ch in road)
        if digits != road:
            out.append(("numeral", f"{digits}{num}号院", r.lon, r.lat))
            out.append(("numeral", f"{digits}{num}号院{r.building or ''}{r.unit or ''}", r.lon, r.lat))
        alike = HOMOPHONES.get(road[0], "") + road[1:]
        if alike != road and lazy_pinyin(alike) == lazy_pinyin(road):
            out.append(("sound-alike", f"{alike}{num}号院", r.lon, r.lat))
        out.append(("section", f"{road}{rng.choice('东西南北')}段{num}号院", r.lon, r.lat))
        out.append(("reversed", f"{num}号院{road}", r.lon, r.lat))
        out.append(("bare 院", f"{road}{num}院", r.lon, r.lat))
    return out


def distance_to_grid(directory: GridDirectory, code: str, lon: float, lat: float) -> float:
    tree = directory.memo.get("bench_metric_polys")
    if tree is None:
        tree = directory.memo["bench_metric_polys"] = dict(
            zip(directory.index.codes, to_metric(list(directory.index.polygons)), strict=True)
        )
    x, y = lonlat_to_metric(lon, lat)
    return float(tree[code].distance(Point(float(x), float(y))))  # type: ignore[index]


def run(url: str, seed: int, show_errors: int) -> None:
    engine = db.make_engine(url, pool_size=2)
    factory = db.make_session_factory(engine)
    t0 = time.perf_counter()
    book = address_service.load(factory)
    build_s = time.perf_counter() - t0
    directory = load_active(factory)
    labelled = cases(factory, seed)
    with factory() as session:
        rows = [
            {k: ("" if v is None else str(v)) for k, v in r.as_row().items()}
            for r in address_repo.all_rows(session)
        ]
    engine.dispose()
    assert directory is not None, "no active generation in this database"
    print(f"labelled spoken queries: {len(labelled)}   AddressBook build: {build_s:.2f} s")

    t0 = time.perf_counter()
    for _, q, _, _ in labelled:
        book.match(q)
    match_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    resolutions = [address_service.resolve(book, directory, q) for _, q, _, _ in labelled]
    resolve_s = time.perf_counter() - t0

    per: dict[str, Counter[str]] = defaultdict(Counter)
    wrong: list[str] = []
    for (kind, q, lon, lat), res in zip(labelled, resolutions, strict=True):
        c = per[kind]
        c["n"] += 1
        c[res.result.status] += 1
        ok = False
        if math.isnan(lon):  # a refusal is right; any answer is wrong
            ok = res.best is None
            if not ok:
                wrong.append(
                    f"  WRONG {kind}: {q!r} → {res.best.address if res.best else ''} (must be refused)"
                )
        elif res.best is not None and res.placement is not None and res.placement.micro is None:
            # the place meant lies outside every micro-grid (an offset past the boundary): right when the
            # answer says so too
            ok = directory.index.locate(lon, lat) is None
        elif res.best is not None and res.placement is not None and res.placement.micro is not None:
            d = distance_to_grid(directory, res.placement.micro.code, lon, lat)
            ok = d <= res.precision_m + 1.0
            if not ok:
                wrong.append(f"  WRONG {kind}: {q!r} → {res.best.address} conf {res.best.confidence} "
                             f"grid {d:.0f} m away, precision {res.precision_m:.0f} m")  # fmt: skip
        elif res.best is None:
            wrong.append(f"  REFUSED {kind}: {q!r} → {res.result.status} "
                         f"{[(x.address, x.confidence) for x in res.result.candidates[:2]]}")  # fmt: skip
        c["correct"] += ok
        c["confident_wrong"] += res.best is not None and res.best.confidence >= 0.8 and not ok
        c["grid_candidates"] += len(res.grid_candidates) > 1
    total: Counter[str] = Counter()
    for c in per.values():
        total.update(c)
    print(
        f"{'kind':<28}{'n':>6}{'top-1':>9}{'conf.wrong':>12}{'ambiguous':>11}{'not found':>11}{'>1 grid':>9}"
    )
    for kind in [*per, "ALL"]:
        c = total if kind == "ALL" else per[kind]
        k = c["n"]
        print(
            f"{kind:<28}{k:>6}{c['correct'] / k:>9.1%}{c['confident_wrong'] / k:>12.2%}"
            f"{c['ambiguous'] / k:>11.1%}{c['not_found'] / k:>11.1%}{c['grid_candidates'] / k:>9.1%}"
        )
    n = total["n"]
    print(
        f"\nspoken top-1 accuracy: {total['correct'] / n:.2%}   confident-wrong: {total['confident_wrong'] / n:.2%}"
        f"   (targets ≥ 95 %, ≤ 1 %)"
    )
    print(f"speed: match only {n / match_s:,.0f} lookups/s; full resolve (match + grid + people + "
          f"grid candidates) {n / resolve_s:,.0f} lookups/s")  # fmt: skip
    for line in wrong[:show_errors]:
        print(line)

    # the door-plate noisy set of benchmarks/geocoding.py, through the spoken matcher
    rng = random.Random(seed)
    kinds = list(noisy.NOISES)
    oracle = noisy.Expectations(rows)
    door = []
    for i, row in enumerate(rows):
        kind = kinds[(i + rng.randrange(len(kinds))) % len(kinds)]
        text, kept = noisy.NOISES[kind](row, rng)
        door.append((text, oracle.expected(kept)))
    t0 = time.perf_counter()
    results = [book.match(text) for text, _ in door]
    door_s = time.perf_counter() - t0
    correct = sum(noisy.judge(r, e) for r, (_, e) in zip(results, door, strict=True))
    conf_wrong = sum(
        r.status == "matched" and not noisy.judge(r, e) for r, (_, e) in zip(results, door, strict=True)
    )
    print(
        f"\ndoor-plate noisy set ({len(door)} queries) through the spoken matcher: top-1 {correct / len(door):.2%}"
        f"   confident-but-wrong {conf_wrong / len(door):.2%}   {len(door) / door_s:,.0f} lookups/s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an existing geo_grid database with the sample loaded")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show-errors", type=int, default=0, help="print N wrong or refused examples")
    args = parser.parse_args(argv)
    if args.database_url:
        run(args.database_url, args.seed, args.show_errors)
        return 0
    with embedded_postgis() as url:
        run(url, args.seed, args.show_errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
