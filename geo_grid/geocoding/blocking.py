"""The blocking index of the address matcher: the door-plate table grouped by level, and candidate pools."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache

import numpy as np
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process

from .normalize import ROAD_SUFFIXES, ParsedAddress, apply_aliases, normalize_part
from .results import LEVELS, Level

Key = tuple[str, ...]

_COURT_SUFFIXES = ("家属院", "小区", "社区", "院")
_DISTINCT_INSERTS = "东西南北中一二三四五六七八九"


def _with_word(value: str, word: str) -> str:
    return f"{value}{word}" if value.isdigit() else value


def court_core(name: str) -> str:
    for suffix in _COURT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def road_core(name: str) -> str:
    for suffix in ROAD_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def group_label(key: Key) -> str:
    road, number, court, building, unit = (*key, "", "", "", "", "")[:5]
    head = court if road + number and court.startswith(road + number) else road + number + court
    return head + building + unit


@lru_cache(maxsize=8192)
def pinyin_key(text: str) -> str:
    """The toneless pinyin of a text (京三 and 经三 → jingsan): how a name sounds when said."""
    return "".join(lazy_pinyin(text))


_RESOLVE_MEMO = 20_000


def _in_place(a: str, b: str) -> int:
    """How many characters two names of one length share in the same place (0 for other lengths)."""
    return sum(x == y for x, y in zip(a, b, strict=True)) if len(a) == len(b) else 0


class RoadResolver:
    """Road name as typed or said → the known roads it may mean, with a similarity in [0, 1]."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        self._set = set(self.names)
        self._by_core: dict[str, list[str]] = defaultdict(list)
        for road in self.names:
            self._by_core[road_core(road)].append(road)
        self._cores = sorted(self._by_core)
        self._memo: dict[str, dict[str, float]] = {}  # road texts repeat: 京三路 is resolved once
        self._by_sound: dict[str, list[str]] = defaultdict(list)
        for core in self._cores:
            self._by_sound[pinyin_key(core)].append(core)

    def resolve(self, text: str) -> dict[str, float]:
        """Exact, unique suffix variant, same sound, else fuzzy on the cores.

        Fuzzy similarity compares names without their generic suffix (民行 vs 民航), since 路 is shared by
        every road and would inflate it. A direction or ordinal inserted into a table name (金水东路 vs
        金水路) names a different real road, not a typo: such a pair scores at most 0.5. A name that
        sounds exactly like a known one (京三路 → 经三路, by toneless pinyin) is a misheard or mistyped
        homophone: 0.9 when one road sounds so, 0.8 each when several do — unless another road is at least
        as close in writing, character by character (then the sound decides nothing).
        """
        if text in self._set:
            return {text: 1.0}
        found = self._memo.get(text)
        if found is None:
            if len(self._memo) >= _RESOLVE_MEMO:
                self._memo.clear()
            found = self._memo[text] = self._resolve(text)
        return dict(found)

    def _resolve(self, text: str) -> dict[str, float]:
        base = road_core(text)
        variants = [base + s for s in ("路", "大道", "街", "大街") if base + s in self._set]
        if len(variants) == 1:
            return {variants[0]: 0.97}
        if variants:
            return dict.fromkeys(variants, 0.9)
        found = process.extract(base, self._cores, scorer=fuzz.ratio, limit=4, score_cutoff=50)
        out: dict[str, float] = {}
        for core, score, _ in found:
            sim = score / 100.0
            if len(base) == len(core) + 1 and any(
                base[:i] + base[i + 1 :] == core for i, ch in enumerate(base) if ch in _DISTINCT_INSERTS
            ):
                sim = min(sim, 0.5)
            for road in self._by_core[core]:
                out[road] = max(out.get(road, 0.0), sim)
        sounds = self._by_sound.get(pinyin_key(base), []) if base else []
        others = [core for core, _, _ in found if core not in sounds]
        for core in sounds:
            # 东凤 sounds like 东风 but shares as many characters in place with 玉凤: the sound decides
            # nothing (风产 → 丰产 still does: 东风 shares 风, but not in its place)
            if any(_in_place(base, other) >= _in_place(base, core) for other in others):
                continue
            for road in self._by_core[core]:
                out[road] = max(out.get(road, 0.0), 0.9 if len(sounds) == 1 else 0.8)
        return out


class AddressIndex:
    """The standard address table indexed for blocking (see geo_grid.geocoding.matcher, step 2).

    Held columnar, for a city's hundreds of thousands of door plates: the rows are kept sorted by their
    parts (stably: rows of equal parts keep the table's order), so that every group of every level is one
    contiguous span of rows; a group is a key → span entry, a row is a position in a few flat columns
    (ids and texts in lists, coordinates in float64 arrays) and the parts' strings are stored once each.
    """

    def __init__(self, rows: Iterable[Mapping[str, str]], aliases: Mapping[str, str]) -> None:
        pool: dict[str, str] = {}  # one string object per distinct part text (roads repeat per door plate)

        def one(text: str) -> str:
            return pool.setdefault(text, text)

        ids: list[str] = []
        texts: list[str] = []
        keys: list[Key] = []
        lon: list[float] = []
        lat: list[float] = []
        community: list[str] = []
        seen: dict[Level, set[Key]] = {lv: set() for lv in ("courtyard", "building")}
        courts_by_road: dict[str, list[Key]] = defaultdict(list)
        courts_by_rn: dict[Key, list[Key]] = defaultdict(list)
        courts_by_number: dict[str, list[Key]] = defaultdict(list)
        courts_by_name: dict[str, list[Key]] = defaultdict(list)
        courts_by_building: dict[str, list[Key]] = defaultdict(list)
        for raw in rows:
            parts = (
                one(apply_aliases(normalize_part(raw.get("road")), aliases)),
                one(_with_word(normalize_part(raw.get("number")), "号")),
                one(normalize_part(raw.get("courtyard"))),
                one(_with_word(normalize_part(raw.get("building")), "号楼")),
                one(_with_word(normalize_part(raw.get("unit")), "单元")),
            )
            index = len(ids)
            ids.append(str(raw.get("address_id", index)))
            texts.append(str(raw.get("address") or group_label(parts)))
            keys.append(parts)
            lon.append(float(raw.get("lon") or "nan"))
            lat.append(float(raw.get("lat") or "nan"))
            community.append(one(str(raw.get("community_code") or "")))
            # The pools list each courtyard (building) key once, in the table's order.
            court = parts[:3]
            if court not in seen["courtyard"]:
                seen["courtyard"].add(court)
                courts_by_road[court[0]].append(court)
                courts_by_rn[court[:2]].append(court)
                courts_by_number[court[1]].append(court)
                courts_by_name[court[2]].append(court)
            building = parts[:4]
            if building not in seen["building"]:
                seen["building"].add(building)
                courts_by_building[building[3]].append(court)
        del seen
        order = sorted(range(len(keys)), key=keys.__getitem__)
        self._ids = [ids[i] for i in order]
        self._texts = [texts[i] for i in order]
        self._community = [community[i] for i in order]
        self._lon = np.array(lon, dtype=np.float64)[order] if order else np.empty(0)
        self._lat = np.array(lat, dtype=np.float64)[order] if order else np.empty(0)
        # Each row's place in the table: a group's centroid sums its rows in the table's order.
        self._seq = np.array(order, dtype=np.int32)
        del ids, texts, community, lon, lat
        # Every group of a level → its span of rows [start, stop), packed in one int (start << 32 | stop).
        self._groups: dict[Level, dict[Key, int]] = {lv: {} for lv in LEVELS}
        for depth, level in enumerate(LEVELS, start=1):
            spans = self._groups[level]
            start = 0
            for pos in range(1, len(order) + 1):
                if pos == len(order) or keys[order[pos]][:depth] != keys[order[start]][:depth]:
                    key = keys[order[start]]
                    spans[key if depth == 5 else key[:depth]] = start << 32 | pos
                    start = pos
        del keys, order
        self._courts_by_road = dict(courts_by_road)
        self._courts_by_rn = dict(courts_by_rn)
        self._courts_by_number = dict(courts_by_number)
        self._courts_by_name = dict(courts_by_name)
        self._courts_by_building = dict(courts_by_building)
        self._road_names = sorted(k[0] for k in self._groups["road"])
        self._road_set = set(self._road_names)
        self._court_names = sorted(n for n in self._courts_by_name if n)
        self._courts_by_core: dict[str, list[str]] = defaultdict(list)
        for name in self._court_names:
            self._courts_by_core[court_core(name)].append(name)
        self._court_cores = sorted(self._courts_by_core)
        self.roads = RoadResolver(self._road_names)

    def __len__(self) -> int:
        return len(self._ids)

    def _span(self, level: Level, key: Key) -> tuple[int, int]:
        """The rows [start, stop) of a group."""
        packed = self._groups[level][key]
        return packed >> 32, packed & 0xFFFFFFFF

    @property
    def court_names(self) -> tuple[str, ...]:
        """Every courtyard name of the table (normalised)."""
        return tuple(self._court_names)

    def _resolve_road(self, text: str) -> dict[str, float]:
        return self.roads.resolve(text)

    def _court_pool(
        self, parsed: ParsedAddress, roads: dict[str, float] | None, court_text: str | None
    ) -> list[Key]:
        number = parsed.number
        if roads:
            pool: list[Key] = []
            for road in roads:
                if number and (road, number) in self._courts_by_rn and not court_text:
                    pool += self._courts_by_rn[(road, number)]
                else:
                    pool += self._courts_by_road.get(road, [])
            return pool
        if court_text:
            names = {
                n
                for n, _, _ in process.extract(
                    court_text, self._court_names, scorer=fuzz.ratio, limit=8, score_cutoff=50
                )
            }
            core = court_core(court_text)
            for c, _, _ in process.extract(
                core, self._court_cores, scorer=fuzz.ratio, limit=8, score_cutoff=50
            ):
                names.update(self._courts_by_core[c])
            return [k for name in sorted(names) for k in self._courts_by_name[name]]
        if number:
            return list(self._courts_by_number.get(number, []))
        if parsed.building:
            return list(self._courts_by_building.get(parsed.building, []))
        return []
