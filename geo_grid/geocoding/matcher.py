"""Address matching against the standard door-plate table (门牌地址): exact keys first, fuzzy in small blocks.

How a query is answered:

1. It is normalised and parsed (:mod:`geo_grid.geocoding.normalize`) into road / number / courtyard /
   building / unit.
2. *Blocking*: the road is resolved first (exact; a unique suffix variant such as 民航 → 民航路 or
   未来大道 → 未来路; else rapidfuzz ``ratio`` over the few dozen road names). Inside the resolved roads the
   door number is an exact key; the courtyard (estate) name is compared with rapidfuzz only against the
   courtyards of those roads/numbers. Without a road, global indexes by courtyard name, door number or
   building are used. Buildings and units are exact keys below a courtyard.
3. Every candidate group gets a *confidence*: the length-weighted mean similarity of the parts the query
   gave (road and courtyard by rapidfuzz ratio; number, building and unit exact), times 0.85 when a part
   the query gave does not exist there. A one-character typo in a full address thus costs ≈ 0.05, while
   the same typo in a bare road name costs ≈ 0.33. Parts the query omits cost nothing; they only make the
   answer coarser (level ``building`` instead of ``unit`` …).
4. Status: ``matched`` when the best confidence ≥ ``confident_at`` (0.75) *and* the runner-up is more
   than ``margin`` (0.05) behind; ``not_found`` when there is no candidate or the best is below
   ``not_found_below`` (0.5) — candidates are then suggestions; otherwise ``ambiguous``. Nothing is guessed
   silently: only ``matched`` carries a ``best`` answer.

Coarser groups (road, number, courtyard, building) are answered with the centroid (mean lon/lat) of the
group's address points, ``address_id=None`` and ``representative_id`` = the group's address nearest to that
centroid (useful to reach a micro-grid through a real door plate).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from .blocking import AddressIndex, Key, court_core, group_label, road_core
from .normalize import (
    DEFAULT_PREFIXES,
    DEFAULT_ROAD_ALIASES,
    ParsedAddress,
    normalize_address,
    parse_normalized,
)
from .places import metres_between
from .results import LEVELS, Candidate, Level, MatchResult, Status

CONFIDENT_AT = 0.75
MARGIN = 0.05
NOT_FOUND_BELOW = 0.5
MAX_CANDIDATES = 5
MISSING_PART_FACTOR = 0.85
# Door number, building and unit are exact keys that exist under almost every road, so they are weak
# evidence: each weighs as much as 1.5 characters of a road or estate name in the confidence.
_KEY_PART_WEIGHT = 1.5


def _court_sim(query: str, name: str) -> float:
    if query == name:
        return 1.0
    score = fuzz.ratio(query, name) / 100.0
    return max(score, fuzz.ratio(court_core(query), court_core(name)) / 100.0)


# What `_suggest` compares of a query that matched nothing (see there).
SUGGEST_MAX_CHARS = 64


class AddressMatcher(AddressIndex):
    """Immutable matcher over the standard address table; build once, call :meth:`match` many times."""

    def __init__(
        self,
        rows: Iterable[Mapping[str, str]],
        *,
        aliases: Mapping[str, str] = DEFAULT_ROAD_ALIASES,
        prefixes: Iterable[str] = DEFAULT_PREFIXES,
        confident_at: float = CONFIDENT_AT,
        margin: float = MARGIN,
        not_found_below: float = NOT_FOUND_BELOW,
    ) -> None:
        self.aliases = dict(aliases)
        self.prefixes = tuple(prefixes)
        self.confident_at = confident_at
        self.margin = margin
        self.not_found_below = not_found_below
        super().__init__(rows, self.aliases)
        self._candidate_cache: dict[tuple[Level, Key], Candidate] = {}

    # -- construction helpers -------------------------------------------------------------------
    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]], **options: object) -> AddressMatcher:
        return cls(rows, **options)  # type: ignore[arg-type]

    @classmethod
    def from_csv(cls, path: str | Path, **options: object) -> AddressMatcher:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return cls.from_rows(list(csv.DictReader(fh)), **options)

    # -- matching -------------------------------------------------------------------------------
    def match(self, query: str) -> MatchResult:
        return self.match_normalized(
            query, normalize_address(query, prefixes=self.prefixes, aliases=self.aliases)
        )

    def match_normalized(self, query: str, norm: str) -> MatchResult:
        """Match an already normalised text (`normalize_address`, possibly rewritten by the spoken-address
        rules of geo_grid.geocoding.spoken); `query` is only echoed."""
        parsed = parse_normalized(norm)
        if parsed.is_empty():
            return MatchResult(query, norm, parsed, "not_found", self._suggest(norm))
        scored = self._score_candidates(parsed)
        if not scored:
            return MatchResult(query, norm, parsed, "not_found", self._suggest(norm))
        ranked = sorted(scored.items(), key=lambda kv: (-kv[1][0], -LEVELS.index(kv[0][0]), kv[0][1]))
        candidates = tuple(
            self._candidate(level, key, conf, unmatched)
            for (level, key), (conf, unmatched) in ranked[:MAX_CANDIDATES]
        )
        best = candidates[0].confidence
        if best < self.not_found_below:
            status: Status = "not_found"
        elif best < self.confident_at or (
            len(candidates) > 1 and best - candidates[1].confidence <= self.margin
        ):
            status = "ambiguous"
        else:
            status = "matched"
        return MatchResult(query, norm, parsed, status, candidates)

    def _score_candidates(self, p: ParsedAddress) -> dict[tuple[Level, Key], tuple[float, tuple[str, ...]]]:
        court_text = None if p.numbered_courtyard else p.courtyard
        road_text = p.road
        roads: dict[str, float] | None = None
        if road_text:
            roads = self._resolve_road(road_text)
            if (not roads or max(roads.values()) < 0.6) and p.number is None and p.courtyard:
                # The "road" was probably an estate name that happens to contain 街/路 …
                court_text, road_text, roads = road_text + (court_text or ""), None, None
        pool = self._court_pool(p, roads, court_text)
        if p.numbered_courtyard:
            # 民航路23号院: prefer the courtyard literally named so when the door number has several.
            named = {k for k in pool if k[2] == f"{k[0]}{k[1]}院"}
            if named:
                pool = [k for k in pool if k in named or (k[0], k[1], f"{k[0]}{k[1]}院") not in named]
        out: dict[tuple[Level, Key], tuple[float, tuple[str, ...]]] = {}
        if roads and not pool:
            for road, sim in roads.items():
                missing = tuple(n for n, v in (("number", p.number), ("building", p.building)) if v)
                self._add(out, p, road_text, sim, court_text, ("road", (road,)), None, missing)
        court_sims: dict[str, float] = {}
        buildings = self._groups["building"]
        units = self._groups["unit"]
        for key in pool:
            road_sim = 1.0
            if road_text:
                road_sim = (
                    roads.get(key[0], 0.0)
                    if roads
                    else fuzz.ratio(road_core(road_text), road_core(key[0])) / 100.0
                )
            court_sim = None
            if court_text:
                court_sim = court_sims.get(key[2])
                if court_sim is None:
                    court_sim = court_sims[key[2]] = _court_sim(court_text, key[2])
            unmatched: list[str] = []
            if p.number and key[1] != p.number:
                unmatched.append("number")
            level: Level
            if p.building:
                bkey = (*key, p.building)
                if bkey in buildings:
                    ukey = (*bkey, p.unit) if p.unit else None
                    if ukey is not None and ukey in units:
                        level, gkey = "unit", ukey
                    else:
                        level, gkey = "building", bkey
                        if p.unit:
                            unmatched.append("unit")
                else:
                    level, gkey = "courtyard", key
                    unmatched += ["building"] + (["unit"] if p.unit else [])
            elif court_text or p.numbered_courtyard:
                level, gkey = "courtyard", key
            elif p.number and not unmatched:
                level, gkey = "number", key[:2]
            else:
                level, gkey = "road", key[:1]
            if p.unit and not p.building:
                unmatched.append("unit")
            self._add(out, p, road_text, road_sim, court_text, (level, gkey), court_sim, tuple(unmatched))
        return out

    @staticmethod
    def _add(
        out: dict[tuple[Level, Key], tuple[float, tuple[str, ...]]],
        p: ParsedAddress,
        road_text: str | None,
        road_sim: float,
        court_text: str | None,
        target: tuple[Level, Key],
        court_sim: float | None,
        unmatched: tuple[str, ...],
    ) -> None:
        total = hit = 0.0
        if road_text:
            total += len(road_text)
            hit += len(road_text) * road_sim
        if court_text:
            total += len(court_text)
            hit += len(court_text) * (court_sim or 0.0)
        for name, value in (("number", p.number), ("building", p.building), ("unit", p.unit)):
            if value:
                total += _KEY_PART_WEIGHT
                hit += 0.0 if name in unmatched else _KEY_PART_WEIGHT
        conf = hit / total if total else 0.0
        if unmatched:
            conf *= MISSING_PART_FACTOR
        conf = round(min(1.0, max(0.0, conf)), 4)
        previous = out.get(target)
        if previous is None or conf > previous[0]:
            out[target] = (conf, unmatched)

    def _candidate(self, level: Level, key: Key, conf: float, unmatched: tuple[str, ...]) -> Candidate:
        base = self._candidate_cache.get((level, key))
        if base is None:
            base = self._candidate_cache[(level, key)] = self._make_candidate(level, key)
        return replace(base, confidence=conf, unmatched=unmatched)

    def _make_candidate(self, level: Level, key: Key) -> Candidate:
        start, stop = self._span(level, key)
        lons = self._lon[start:stop].tolist()
        lats = self._lat[start:stop].tolist()
        # The centroid sums the rows in the table's order (floating-point sums depend on it).
        seq = np.argsort(self._seq[start:stop], kind="stable")
        lon = sum(self._lon[start:stop][seq].tolist()) / len(lons)
        lat = sum(self._lat[start:stop][seq].tolist()) / len(lats)
        ids = self._ids
        at = start + min(
            range(stop - start), key=lambda j: ((lons[j] - lon) ** 2 + (lats[j] - lat) ** 2, ids[start + j])
        )
        rep_lon, rep_lat, rep_id = float(self._lon[at]), float(self._lat[at]), ids[at]
        codes = set(self._community[start:stop])
        parts = (*key, "", "", "", "")[:5]
        is_unit = level == "unit"
        # The answer is placed at the representative door plate: the group reaches this far from it.
        spread = (
            0.0
            if is_unit
            else max(metres_between(rep_lon, rep_lat, x, y) for x, y in zip(lons, lats, strict=True))
        )
        return Candidate(
            level=level,
            confidence=0.0,
            address=self._texts[at] if is_unit else group_label(key),
            lon=rep_lon if is_unit else lon,
            lat=rep_lat if is_unit else lat,
            address_id=rep_id if is_unit else None,
            representative_id=rep_id,
            n_addresses=stop - start,
            road=parts[0],
            number=parts[1],
            courtyard=parts[2],
            building=parts[3],
            unit=parts[4],
            community_code=codes.pop() if len(codes) == 1 else None,
            precision_m=round(spread, 1) if math.isfinite(spread) else 0.0,
        )

    def _suggest(self, norm: str) -> tuple[Candidate, ...]:
        """Closest roads and courtyards to an unknown query (for ``not_found``).

        Their confidence is the rapidfuzz ``partial_ratio`` halved, so a suggestion never reaches the
        ``not_found_below`` bar and cannot be mistaken for an answer.
        """
        if not norm:
            return ()
        # partial_ratio costs length × name length per name: a standard address is far shorter than this,
        # so a longer (hostile or rambling) text is compared by its head only (300 characters: 16 → 2 ms).
        norm = norm[:SUGGEST_MAX_CHARS]
        found: list[tuple[float, Level, Key]] = []
        for name, score, _ in process.extract(
            norm, self._road_names, scorer=fuzz.partial_ratio, limit=3, score_cutoff=1
        ):
            found.append((score / 100.0, "road", (name,)))
        for name, score, _ in process.extract(
            norm, self._court_names, scorer=fuzz.partial_ratio, limit=3, score_cutoff=1
        ):
            for key in self._courts_by_name[name][:1]:
                found.append((score / 100.0, "courtyard", key))
        found.sort(key=lambda t: (-t[0], t[2]))
        return tuple(self._candidate(lv, key, round(s * 0.5, 4), ()) for s, lv, key in found[:MAX_CANDIDATES])
