"""Quality and speed benchmark of geo_grid.geocoding on a deterministic noisy test set.

Each standard address gets one noise kind (round-robin over NOISES, seeded), e.g. a one-character typo in
the road or estate, a dropped unit/courtyard/road, Chinese or full-width numerals, administrative prefixes,
号/号院 swapped, 栋/幢/座 for 号楼, spaces and punctuation, the 3-2 shorthand. The *expected* answer is
derived from the parts the query still contains exactly (typos do not remove a part):

- one address matches them and the unit is given → that ``address_id`` (level unit);
- all addresses of one group match them → that group (level building/courtyard/…);
- addresses of several groups match → the right answer is ``ambiguous``.

Printed: top-1 accuracy (matched with the expected answer, or ambiguous when that is expected), the
confident-but-wrong rate (status matched, answer wrong), ambiguous and not-found rates, per noise kind,
and lookups per second (matching only; the index build is timed separately). No assertions.

Run:  .venv/bin/python benchmarks/geocoding.py [--csv sample_boundaries/addresses.csv] [--seed 1]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import cn2an

from geo_grid.geocoding import AddressMatcher, MatchResult, place_prefixes
from geo_grid.services.sample import sample_subdistrict

PARTS = ("road", "number", "courtyard", "building", "unit")
TYPO_CHARS = "东西南北中华新建国光明大山天安平兴盛海河文龙凤长青春德福"
Row = dict[str, str]
Query = tuple[str, dict[str, str]]  # (text, the parts it still contains exactly)
# The sample's communities (the service reads them from the database; here from the sample's file).
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_boundaries"
with open(SAMPLE_DIR / "communities.geojson", encoding="utf-8") as _fh:
    COMMUNITIES: tuple[str, ...] = tuple(f["properties"]["name"] for f in json.load(_fh)["features"])


def _digits(part: str) -> str:
    return "".join(ch for ch in part if ch.isdigit())


def _rest(row: Row) -> str:
    """The courtyard as written after road+number (院 for 民航路23号院, the estate name otherwise)."""
    plate = row["road"] + row["number"]
    return row["courtyard"][len(plate) :] if row["courtyard"].startswith(plate) else row["courtyard"]


def _is_estate(row: Row) -> bool:
    return not row["courtyard"].startswith(row["road"] + row["number"])


def _compose(row: Row, **override: str) -> str:
    p = {"road": row["road"], "number": row["number"], "rest": _rest(row)}
    p.update({"building": row["building"], "unit": row["unit"]})
    p.update(override)
    return p["road"] + p["number"] + p["rest"] + p["building"] + p["unit"]


def _typo(text: str, rng: random.Random, keep_suffix: int) -> str:
    body = len(text) - keep_suffix
    i = rng.randrange(body)
    if rng.random() < 0.5 and body > 2:
        return text[:i] + text[i + 1 :]
    choices = [c for c in TYPO_CHARS if c != text[i]]
    return text[:i] + rng.choice(choices) + text[i + 1 :]


def _all(row: Row) -> dict[str, str]:
    return {k: row[k] for k in PARTS}


def n_exact(row: Row, rng: random.Random) -> Query:
    return row["address"], _all(row)


def n_typo_road(row: Row, rng: random.Random) -> Query:
    return _compose(row, road=_typo(row["road"], rng, keep_suffix=1)), _all(row)


def n_typo_estate(row: Row, rng: random.Random) -> Query:
    if not _is_estate(row):
        return n_typo_road(row, rng)
    suffix = 2 if row["courtyard"].endswith(("小区", "家园", "花园", "公寓")) else 1
    return _compose(row, rest=_typo(row["courtyard"], rng, keep_suffix=suffix)), _all(row)


def n_no_unit(row: Row, rng: random.Random) -> Query:
    kept = _all(row)
    del kept["unit"]
    return _compose(row, unit=""), kept


def n_no_courtyard(row: Row, rng: random.Random) -> Query:
    kept = _all(row)
    del kept["courtyard"]
    return _compose(row, rest=""), kept


def n_no_road(row: Row, rng: random.Random) -> Query:
    if not _is_estate(row):
        return n_no_unit(row, rng)
    kept = _all(row)
    del kept["road"], kept["number"]
    return row["courtyard"] + row["building"] + row["unit"], kept


def n_chinese_numerals(row: Row, rng: random.Random) -> Query:
    def cn(part: str, word: str) -> str:
        d = _digits(part)
        if len(d) == 3 and rng.random() < 0.5:  # digit by digit: 一五一
            return "".join("零一二三四五六七八九"[int(ch)] for ch in d) + word
        return str(cn2an.an2cn(d)) + word

    text = _compose(
        row,
        number=cn(row["number"], "号"),
        building=cn(row["building"], "号楼"),
        unit=cn(row["unit"], "单元"),
    )
    return text, _all(row)


def n_fullwidth(row: Row, rng: random.Random) -> Query:
    return row["address"].translate({ord(c): 0xFF10 + int(c) for c in "0123456789"}), _all(row)


def n_prefix(row: Row, rng: random.Random) -> Query:
    community = rng.choice(COMMUNITIES).removesuffix("社区")
    prefix = rng.choice(["河南省郑州市金水区未来路街道", "郑州市金水区", "河南郑州", "金水区未来路办事处"])
    return f"{prefix}{community}社区{row['address']}", _all(row)


def n_swap_hao_yuan(row: Row, rng: random.Random) -> Query:
    if _is_estate(row):  # 民航路23号院金色港湾小区…
        return _compose(row, number=row["number"] + "院"), _all(row)
    return _compose(row, rest=""), _all(row)  # 民航路23号1号楼… for 民航路23号院1号楼…


def n_building_variant(row: Row, rng: random.Random) -> Query:
    word = rng.choice(["栋", "幢", "座", "#楼", "号栋"])
    return _compose(row, building=_digits(row["building"]) + word), _all(row)


def n_spaces_punct(row: Row, rng: random.Random) -> Query:
    sep = rng.choice([" ", "，", "、", " , ", "　"])
    parts = [row["road"] + row["number"], _rest(row), row["building"], row["unit"]]
    return f" {sep.join(p for p in parts if p)}。", _all(row)


def n_dash(row: Row, rng: random.Random) -> Query:
    text = _compose(row, building="", unit="") + f"{_digits(row['building'])}-{_digits(row['unit'])}"
    return text, _all(row)


def n_combined(row: Row, rng: random.Random) -> Query:
    text, kept = n_typo_road(row, rng)
    text = "河南省郑州市" + text.replace(row["building"], _digits(row["building"]) + "栋")
    return text, kept


NOISES: dict[str, Callable[[Row, random.Random], Query]] = {
    "exact": n_exact,
    "typo_road": n_typo_road,
    "typo_estate": n_typo_estate,
    "no_unit": n_no_unit,
    "no_courtyard": n_no_courtyard,
    "no_road": n_no_road,
    "cn_numerals": n_chinese_numerals,
    "fullwidth": n_fullwidth,
    "prefix": n_prefix,
    "swap_hao_yuan": n_swap_hao_yuan,
    "building_variant": n_building_variant,
    "spaces_punct": n_spaces_punct,
    "dash_3_2": n_dash,
    "combined": n_combined,
}


class Expectations:
    """The right answer for a set of exactly kept parts (see the module docstring)."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        self.by_part: dict[tuple[str, str], set[int]] = defaultdict(set)
        for i, row in enumerate(rows):
            for part in PARTS:
                self.by_part[(part, row[part])].add(i)

    def expected(self, kept: dict[str, str]) -> tuple[str, ...]:
        ids = set.intersection(*(self.by_part[(k, v)] for k, v in kept.items()))
        if len(ids) == 1 and "unit" in kept:
            return ("unit", self.rows[ids.pop()]["address_id"])
        members = [self.rows[i] for i in ids]
        for depth in range(len(PARTS) - 1, 0, -1):
            keys = {tuple(r[p] for p in PARTS[:depth]) for r in members}
            if len(keys) == 1:
                key = keys.pop()
                group = set.intersection(*(self.by_part[(p, v)] for p, v in zip(PARTS, key, strict=False)))
                return (PARTS[depth - 1], *key) if group == ids else ("ambiguous",)
        return ("ambiguous",)


def judge(result: MatchResult, expected: tuple[str, ...]) -> bool:
    if expected == ("ambiguous",):
        return result.status == "ambiguous"
    best = result.best
    if best is None:
        return False
    if expected[0] == "unit":
        return best.address_id == expected[1]
    if result.status != "matched":
        return False
    got = (best.road, best.number, best.courtyard, best.building, best.unit)[: len(expected) - 1]
    return best.level == expected[0] and got == expected[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=Path("sample_boundaries/addresses.csv"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N addresses (0 = all)")
    parser.add_argument("--show-errors", type=int, default=0, help="print N confident-but-wrong examples")
    args = parser.parse_args(argv)
    if not args.csv.exists():
        print(f"{args.csv} not found (run sample_boundaries/generate.py first)", file=sys.stderr)
        return 2
    with args.csv.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    t0 = time.perf_counter()
    matcher = AddressMatcher.from_rows(
        rows, prefixes=place_prefixes(sample_subdistrict(SAMPLE_DIR).admin_chain, COMMUNITIES)
    )
    build_s = time.perf_counter() - t0
    rng = random.Random(args.seed)
    sample = rows[: args.limit] if args.limit else rows
    kinds = list(NOISES)
    oracle = Expectations(rows)
    cases = []
    for i, row in enumerate(sample):
        kind = kinds[(i + rng.randrange(len(kinds))) % len(kinds)]
        text, kept = NOISES[kind](row, rng)
        cases.append((kind, text, oracle.expected(kept)))

    t0 = time.perf_counter()
    results = [matcher.match(text) for _, text, _ in cases]
    match_s = time.perf_counter() - t0

    per_kind: dict[str, Counter[str]] = defaultdict(Counter)
    errors = []
    refusals = []
    for (kind, text, expected), result in zip(cases, results, strict=True):
        ok = judge(result, expected)
        c = per_kind[kind]
        c["n"] += 1
        c["correct"] += ok
        c["confident_wrong"] += result.status == "matched" and not ok
        c["ambiguous"] += result.status == "ambiguous"
        c["not_found"] += result.status == "not_found"
        c["expected_ambiguous"] += expected == ("ambiguous",)
        if result.status == "matched" and not ok:
            errors.append((kind, text, expected, result))
        elif not ok:
            refusals.append((kind, text, expected, result))
    total: Counter[str] = Counter()
    for c in per_kind.values():
        total.update(c)

    n = total["n"]
    print(
        f"addresses in table: {len(rows)}   queries: {n}   seed: {args.seed}   index build: {build_s:.2f} s"
    )
    print(
        f"{'noise':<17}{'n':>6}{'top-1':>9}{'conf.wrong':>12}{'ambiguous':>11}{'not found':>11}{'exp.amb':>9}"
    )
    for kind in kinds + ["ALL"]:
        c = total if kind == "ALL" else per_kind[kind]
        if not c["n"]:
            continue
        k = c["n"]
        print(
            f"{kind:<17}{k:>6}{c['correct'] / k:>9.1%}{c['confident_wrong'] / k:>12.2%}"
            f"{c['ambiguous'] / k:>11.1%}{c['not_found'] / k:>11.1%}{c['expected_ambiguous']:>9}"
        )
    print(
        f"\ntop-1 accuracy: {total['correct'] / n:.2%}"
        f"   confident-but-wrong: {total['confident_wrong'] / n:.2%}"
        f"   ambiguous: {total['ambiguous'] / n:.2%}   not found: {total['not_found'] / n:.2%}"
    )
    print(f"speed: {n / match_s:,.0f} lookups/s ({match_s * 1e6 / n:.0f} µs per lookup, one process)")
    for kind, text, expected, result in errors[: args.show_errors]:
        best = result.best
        assert best is not None
        print(
            f"  WRONG {kind}: {text!r} expected {expected} got {best.level} {best.address} {best.confidence}"
        )
    for kind, text, expected, result in refusals[: args.show_errors]:
        cands = [(c.address, c.confidence) for c in result.candidates[:3]]
        print(f"  REFUSED {kind}: {text!r} expected {expected} got {result.status} {cands}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
