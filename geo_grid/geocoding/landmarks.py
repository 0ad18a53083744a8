"""Landmarks: places people name instead of a door plate (a facility, a courtyard or 小区 the door-plate
table does not name, a community), found by their name, a short form or a generic word (智慧停车场, 停车场
when one facility alone is so called; 燕庄充电站), by sound or fuzzily (rapidfuzz); used by
geo_grid.geocoding.spoken (step 3 and 5 of its order)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from .blocking import court_core, pinyin_key
from .normalize import normalize_part, strip_prefixes
from .results import Candidate


@dataclass(frozen=True, slots=True)
class Landmark:
    """A place known by name: a facility (kind = its facility kind), a courtyard or a community."""

    kind: str
    ref_id: str
    name: str
    lon: float
    lat: float
    radius_m: float = 0.0  # how far the place reaches from (lon, lat)
    community_code: str | None = None
    community_name: str | None = None


# Words that say what a place is: a landmark whose name ends so is also found by the word alone (停车场)
# or with its community (燕庄充电站) — when only one landmark answers to it.
GENERIC_WORDS = (
    "党群服务中心",
    "卫生服务中心",
    "卫生服务站",
    "服务中心",
    "智慧停车场",
    "停车场",
    "充电站",
    "派出所",
    "小学",
    "中学",
    "幼儿园",
    "学校",
    "医院",
    "公园",
    "广场",
    "菜市场",
    "超市",
)
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "parking": ("停车场",),
    "charging_station": ("充电站", "充电桩"),
    "school": ("学校",),
    "health_center": ("社区医院", "卫生站"),
    "police_station": ("派出所",),
    "service_center": ("党群服务中心", "服务中心"),
}
_FUZZY_CUTOFF = 75.0
_SHORT_FORM = 0.95  # a short form that only this landmark answers to
_GENERIC = 0.9  # the bare word (停车场)


class LandmarkIndex:
    """Landmarks by every name they are called (normalised as a query is); see the module docstring."""

    def __init__(self, landmarks: Iterable[Landmark], prefixes: Sequence[str]) -> None:
        self.landmarks: tuple[Landmark, ...] = tuple(landmarks)
        self.prefixes = tuple(prefixes)
        names: dict[str, dict[int, float]] = defaultdict(dict)
        for i, lm in enumerate(self.landmarks):
            for alias, quality in self._aliases(lm):
                key = self.key(alias)
                if len(key) >= 2 and quality > names[key].get(i, 0.0):
                    names[key][i] = quality
        self._names = dict(names)
        self._keys = sorted(k for k in self._names if len(k) >= 4)
        sounds: dict[str, dict[int, float]] = defaultdict(dict)
        for key, hits in self._names.items():
            for i, q in hits.items():
                sounds[pinyin_key(key)][i] = max(sounds[pinyin_key(key)].get(i, 0.0), q)
        self._sounds = dict(sounds)

    def key(self, text: str) -> str:
        return strip_prefixes(normalize_part(text), self.prefixes)

    def __len__(self) -> int:
        return len(self.landmarks)

    @staticmethod
    def _aliases(lm: Landmark) -> list[tuple[str, float]]:
        name = lm.name
        out = [(name, 1.0)]
        if lm.kind == "community":
            base = name.removesuffix("社区")
            return out + [(f"{base}社区居委会", 1.0), (f"{base}社区居民委员会", 1.0)]
        if lm.kind == "courtyard":
            core = court_core(name)
            return out + ([(core + "小区", _SHORT_FORM), (core, _SHORT_FORM)] if core != name else [])
        if "社区" in name:
            out.append((name.replace("社区", "", 1), 0.97))
        rest = name
        community = lm.community_name or ""
        bases = [b for b in (community, community.removesuffix("社区")) if b]
        for b in bases:
            if name.startswith(b) and len(name) > len(b) + 1:
                rest = name[len(b) :]
                break
        if rest != name:
            out.append((rest, _SHORT_FORM))
        words = {w for w in GENERIC_WORDS if name.endswith(w)} | set(KIND_WORDS.get(lm.kind, ()))
        for w in words:
            out.append((w, _GENERIC))
            for b in bases:
                out.append((b + w, _SHORT_FORM))
        # a place-name prefix shortened as people do: 燕庄花园 → 燕庄 (the community's first two characters)
        short = community.removesuffix("社区")
        if len(short) >= 4:
            for w in words | {rest}:
                out.append((short[:2] + w, _SHORT_FORM - 0.05))
        return out

    def _candidate(self, i: int, conf: float) -> Candidate:
        lm = self.landmarks[i]
        return Candidate(
            level="landmark",
            confidence=round(conf, 4),
            address=lm.name,
            lon=lm.lon,
            lat=lm.lat,
            address_id=None,
            representative_id="",
            n_addresses=0,
            road="",
            courtyard=lm.name if lm.kind == "courtyard" else "",
            community_code=lm.community_code,
            precision_m=round(lm.radius_m, 1),
            place_kind=lm.kind,
            place_id=lm.ref_id,
        )

    def exact(self, key: str) -> tuple[Candidate, ...]:
        """Landmarks called exactly `key` (normalised), best first; several when a short form is shared."""
        hits = self._names.get(key)
        if not hits:
            return ()
        ranked = sorted(hits.items(), key=lambda kv: (-kv[1], self.landmarks[kv[0]].ref_id))
        if len(ranked) > 1:  # a shared short form names none of them for sure
            return tuple(self._candidate(i, q - 0.2) for i, q in ranked[:5])
        return (self._candidate(*ranked[0]),)

    def fuzzy(self, key: str) -> tuple[Candidate, ...]:
        """Landmarks whose name sounds the same (0.9 of the name's quality) or is close (rapidfuzz)."""
        best: dict[int, float] = {}
        for i, q in self._sounds.get(pinyin_key(key), {}).items():
            best[i] = max(best.get(i, 0.0), q * 0.9)
        if len(key) >= 4:
            for name, score, _ in process.extract(
                key, self._keys, scorer=fuzz.ratio, limit=5, score_cutoff=_FUZZY_CUTOFF
            ):
                for i, q in self._names[name].items():
                    best[i] = max(best.get(i, 0.0), q * score / 100.0 * 0.95)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], self.landmarks[kv[0]].ref_id))
        return tuple(self._candidate(i, c) for i, c in ranked[:5])
