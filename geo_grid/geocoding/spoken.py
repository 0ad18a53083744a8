"""Addresses as people say them (12345 hotline, the resident page): intersections, landmarks, qualifiers
and spoken variants of door plates, on top of the door-plate matcher.

A query is answered in this order (:meth:`SpokenMatcher.match`):

1. Normalised as a door plate (:func:`~geo_grid.geocoding.normalize.normalize_address`); a trailing
   *qualifier* is taken off and recorded (门口, 对面, 旁边, 附近, 楼下, 东侧…, 北门…, repeated at most
   twice: 门口对面); each widens ``precision_m`` by its own distance (对面 by a road's width and more, so
   the circle reaches across the road).
2. *Intersection*: ``A与B交叉口``, ``A和B路口``, ``A、B交汇处``, ``A B 十字路口``, ``AB路口`` — two road
   names (resolved like a door plate's road: exact, 经三 → 经三路, 经3路, 京三路 by sound, typos) and a
   junction word, optionally followed by an offset: a corner (东北角) or a direction with a distance
   (向南50米, 往北100米左右, 西侧). The answer is where the two centrelines meet (road segments of the
   database), moved by the offset: ``level='intersection'``. Roads that never meet → ``not_found`` whose
   only suggestion is their nearest approach (confidence below the not-found bar); roads that cross twice →
   ``ambiguous`` between the crossings.
3. *Landmark*, exact: a facility, a courtyard/小区 the door-plate table does not name, a community, by its
   name or a short form (民航路党群服务中心 for 民航路社区党群服务中心; 智慧停车场 or 停车场 when one facility
   alone is so called; 燕庄充电站 for the charging station of 燕庄花园社区): ``level='landmark'``; a short form
   several landmarks share → ``ambiguous``.
4. *Door plate* with the spoken variants rewritten first: Arabic numerals in a road name (经3路 → 经三路),
   a road section (经三路北段 → 经三路), a bare ``N院`` (151院 → 151号院), the door number said before the
   road (151号院经三路 → 经三路151号院); a missing 路 (经三151号院) and sound-alikes are resolved by the
   road resolver. A ``matched`` door plate is the answer.
5. Otherwise a fuzzy landmark (rapidfuzz on the names, or the same sound) when it scores higher than the
   door plate's best candidate; else the door plate's answer (ambiguous / not found).

Confidence stays comparable with the door plate's: 1.0 only for an exact name; a short form, a homophone
or a fuzzy name costs; a qualifier does not lower it (the place is right) but widens ``precision_m``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

import cn2an

from .blocking import RoadResolver
from .landmarks import Landmark, LandmarkIndex
from .matcher import AddressMatcher
from .normalize import ParsedAddress, apply_aliases, normalize_part, strip_prefixes
from .places import Meeting, RoadNetwork, offset_point
from .results import Candidate, MatchResult, Status

# Qualifier → how many metres it may put between the place said and the place meant.
QUALIFIERS: dict[str, float] = {
    "大门口": 15.0,
    "门口": 15.0,
    "门前": 15.0,
    "楼下": 10.0,
    "院内": 0.0,
    "院里": 0.0,
    "里面": 0.0,
    "旁边": 30.0,
    "边上": 30.0,
    "隔壁": 40.0,
    "前面": 30.0,
    "后面": 40.0,
    "后边": 40.0,
    "马路对面": 60.0,
    "对面": 60.0,
    "对过": 60.0,
    "附近": 100.0,
    "周边": 100.0,
    "周围": 100.0,
    "一带": 150.0,
}
for _side in "东西南北":
    QUALIFIERS |= {f"{_side}侧": 40.0, f"{_side}边": 40.0, f"{_side}门": 30.0, f"{_side}大门": 30.0}
for _corner in ("东北", "东南", "西北", "西南"):
    QUALIFIERS[f"{_corner}角"] = 40.0
_RE_QUALIFIER = re.compile(
    "(?:的)?(" + "|".join(sorted(QUALIFIERS, key=len, reverse=True)) + ")$",
)
_CJK = "\u4e00-\u9fff"
_ROAD_END = "(?:大道|大街|路|街|巷)"
_RE_ROAD_DIGITS = re.compile(rf"(?<=[{_CJK}])(\d{{1,2}})(?={_ROAD_END})")
_RE_SECTION = re.compile(rf"({_ROAD_END})(?:[东西南北中]段|[东西南北]延长线)")
_RE_BARE_COURT = re.compile(r"(?<![\d号])(\d++)院")
_RE_REVERSED = re.compile(rf"^(\d+号院?)([^\d]+?{_ROAD_END})$")

# Junction words, longest first; "A与B" alone (no junction word) also names a crossing.
_JUNCTIONS = (
    "十字路口",
    "丁字路口",
    "交叉路口",
    "交叉口",
    "交汇处",
    "交会处",
    "交界处",
    "交口",
    "路口",
    "交叉",
)
_RE_JUNCTION = re.compile("(" + "|".join(_JUNCTIONS) + ")")
_SEPARATORS = ("与", "和", "跟", "同", "及", "&", "+")
_DIRECTIONS: dict[str, tuple[float, float]] = {
    "东": (1.0, 0.0),
    "西": (-1.0, 0.0),
    "南": (0.0, -1.0),
    "北": (0.0, 1.0),
    "东北": (0.7071, 0.7071),
    "东南": (0.7071, -0.7071),
    "西北": (-0.7071, 0.7071),
    "西南": (-0.7071, -0.7071),
}
_RE_OFFSET = re.compile(
    r"^(?:向|往|朝)?(东北|东南|西北|西南|东|西|南|北)(?:方向|侧|边|面)?(?:约|大约)?"
    r"(?:(\d+(?:\.\d+)?)(?:米|M|公里|KM)(左右|附近|多|上下)?)?$"
)
_RE_CORNER = re.compile(r"^(东北|东南|西北|西南)角$")
_RE_CN_DISTANCE = re.compile(r"([零〇一二两三四五六七八九十百千]+)(?=米|公里)")

INTERSECTION_PRECISION_M = 25.0  # half a junction's width plus the drawing of the centrelines
CORNER_M = 15.0  # a corner (东北角) is this far from the meeting point, diagonally
SIDE_M = 30.0  # "路口东侧" without a distance
NO_MEETING_CONFIDENCE = 0.3  # the nearest approach of two roads that never meet: a suggestion only
ROAD_SIM_MIN = 0.8  # both roads of an intersection must resolve at least this well
MAX_SPOKEN_CHARS = 40  # longer texts are not read as intersections or fuzzy landmark names


def strip_qualifier(text: str) -> tuple[str, str | None, float]:
    """``经三路151号院门口`` → (``经三路151号院``, ``门口``, 15.0); at most two qualifiers (门口对面)."""
    found: list[str] = []
    extra = 0.0
    for _ in range(2):
        m = _RE_QUALIFIER.search(text)
        if m is None or m.start() == 0:
            break
        found.insert(0, m.group(1))
        extra += QUALIFIERS[m.group(1)]
        text = text[: m.start()]
    return text, ("".join(found) or None), extra


def spoken_variants(norm: str) -> str:
    """Rewrite the spoken forms of a normalised door plate into the table's: 经3路 → 经三路, 经三路北段 →
    经三路, 151院 → 151号院, 151号院经三路 → 经三路151号院 (see the module docstring, step 4)."""
    s = _RE_ROAD_DIGITS.sub(lambda m: str(cn2an.an2cn(m.group(1))), norm)
    s = _RE_SECTION.sub(r"\1", s)
    s = _RE_BARE_COURT.sub(r"\1号院", s)
    m = _RE_REVERSED.match(s)
    if m:
        s = m.group(2) + m.group(1)
    return s


@dataclass(frozen=True, slots=True)
class Offset:
    """Where the place is from an intersection: east/north metres and how much that widens precision."""

    east_m: float
    north_m: float
    spread_m: float
    text: str


def parse_offset(tail: str) -> Offset | None:
    """``向南50米`` → 50 m south; ``东北角`` → 15 m north-east; ``西侧`` → 30 m west; '' → no offset.
    None when the tail is not an offset (then the text is not an intersection)."""
    if not tail:
        return Offset(0.0, 0.0, 0.0, "")
    tail = _RE_CN_DISTANCE.sub(lambda m: str(int(cn2an.cn2an(m.group(1), "smart"))), tail)
    m = _RE_CORNER.match(tail)
    if m:
        dx, dy = _DIRECTIONS[m.group(1)]
        return Offset(dx * CORNER_M, dy * CORNER_M, CORNER_M, tail)
    m = _RE_OFFSET.match(tail)
    if m is None:
        return None
    dx, dy = _DIRECTIONS[m.group(1)]
    if m.group(2) is None:
        dist, spread = SIDE_M, SIDE_M
    else:
        dist = float(m.group(2)) * (1000.0 if "公里" in tail or "KM" in tail else 1.0)
        spread = 0.2 * dist + (0.2 * dist if m.group(3) else 0.0)
    return Offset(dx * dist, dy * dist, spread, tail)


class SpokenMatcher:
    """The door-plate matcher plus intersections and landmarks (see the module docstring)."""

    def __init__(
        self,
        matcher: AddressMatcher,
        network: RoadNetwork | None = None,
        landmarks: Iterable[Landmark] = (),
    ) -> None:
        self.matcher = matcher
        self.network = network
        # Landmark names keep their community: 民航路社区党群服务中心 must not lose 民航路社区 as a prefix.
        admin = [p for p in matcher.prefixes if "社区" not in p]
        door_courts = set(matcher.court_names)
        kept = [
            lm for lm in landmarks if not (lm.kind == "courtyard" and normalize_part(lm.name) in door_courts)
        ]
        self.landmarks = LandmarkIndex(kept, admin)
        roads = set(matcher.roads.names) | (set(network.roads) if network else set())
        self.roads = RoadResolver(roads)

    def __len__(self) -> int:
        return len(self.matcher)

    def match(self, query: str) -> MatchResult:
        m = self.matcher
        part = normalize_part(query)  # what normalize_address does, once for both readings
        norm = apply_aliases(strip_prefixes(part, m.prefixes), m.aliases)
        text, qualifier, extra = strip_qualifier(norm)
        if self.network is not None and text:
            # 东北角 / 西侧 after a junction are its offset; elsewhere they are qualifiers
            crossing = self._intersection(query, norm, norm)
            if crossing is not None:
                return crossing
            if qualifier is not None:
                crossing = self._intersection(query, norm, text)
                if crossing is not None:
                    return _widen(crossing, qualifier, extra)
        key, _, _ = strip_qualifier(apply_aliases(strip_prefixes(part, self.landmarks.prefixes), m.aliases))
        found = self.landmarks.exact(key) if key else ()
        if found:
            status: Status = "matched" if len(found) == 1 else "ambiguous"
            return _widen(MatchResult(query, norm, ParsedAddress(), status, found), qualifier, extra)
        door = m.match_normalized(query, spoken_variants(text))
        door = replace(door, normalized=norm)
        if door.status == "matched":
            return _widen(door, qualifier, extra)
        fuzzy = self.landmarks.fuzzy(key) if key and len(key) <= MAX_SPOKEN_CHARS else ()
        if fuzzy and fuzzy[0].confidence > door.confidence:
            best = fuzzy[0].confidence
            second = fuzzy[1].confidence if len(fuzzy) > 1 else 0.0
            if best < m.not_found_below:
                status = "not_found"
            elif best < m.confident_at or best - second <= m.margin:
                status = "ambiguous"
            else:
                status = "matched"
            return _widen(MatchResult(query, norm, ParsedAddress(), status, fuzzy), qualifier, extra)
        return _widen(door, qualifier, extra)

    # -- intersections ------------------------------------------------------------------------------
    def _resolve(self, text: str) -> tuple[str, float] | None:
        found = self.roads.resolve(spoken_variants(text))
        if not found:
            return None
        ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))
        if ranked[0][1] < ROAD_SIM_MIN or (len(ranked) > 1 and ranked[1][1] >= ranked[0][1] - 0.05):
            return None
        return ranked[0]

    def _split(self, head: str, need_separator: bool) -> tuple[tuple[str, float], tuple[str, float]] | None:
        splits: list[tuple[str, str]] = []
        for i, ch in enumerate(head):
            if ch in _SEPARATORS and 0 < i < len(head) - 1:
                splits.append((head[:i], head[i + 1 :]))
        if not splits and not need_separator:
            splits = [(head[:i], head[i:]) for i in range(2, len(head) - 1)]
        best: tuple[float, tuple[str, float], tuple[str, float]] | None = None
        for a_text, b_text in splits:
            a, b = self._resolve(a_text), self._resolve(b_text)
            if a is None or b is None or a[0] == b[0]:
                continue
            score = min(a[1], b[1])
            if best is None or score > best[0]:
                best = (score, a, b)
        return None if best is None else (best[1], best[2])

    def _intersection(self, query: str, norm: str, text: str) -> MatchResult | None:
        if len(text) > MAX_SPOKEN_CHARS:  # two road names and an offset are short; keeps hostile text linear
            return None
        m = _RE_JUNCTION.search(text)
        if m is not None and m.start() >= 4:
            head, tail = text[: m.start()], text[m.end() :]
            pair = self._split(head, need_separator=False)
        else:  # "A与B" (optionally with an offset) names a crossing too
            sep = re.match(rf"^(.+?{_ROAD_END}?)([与和跟同及&+])(.+?{_ROAD_END})(.*)$", text)
            if sep is None:
                return None
            head, tail = sep.group(1) + sep.group(2) + sep.group(3), sep.group(4)
            pair = self._split(head, need_separator=True)
        offset = parse_offset(tail)
        if pair is None or offset is None or self.network is None:
            return None
        (road_a, sim_a), (road_b, sim_b) = pair
        meeting = self.network.meeting(road_a, road_b)
        if meeting is None:
            return None
        conf = min(sim_a, sim_b)
        parsed = ParsedAddress(road=road_a, rest=road_b)
        if not meeting.meets:
            cand = _crossing((road_a, road_b), meeting, meeting.points[0], offset, NO_MEETING_CONFIDENCE, 0)
            return MatchResult(query, norm, parsed, "not_found", (cand,))
        cands = tuple(
            _crossing((road_a, road_b), meeting, p, offset, conf, i) for i, p in enumerate(meeting.points)
        )
        status: Status = "matched" if len(cands) == 1 and conf >= self.matcher.confident_at else "ambiguous"
        if len(cands) > 1:
            cands = tuple(replace(c, confidence=round(conf * 0.8, 4)) for c in cands)
        return MatchResult(query, norm, parsed, status, cands)


def _crossing(
    roads: tuple[str, str], meeting: Meeting, point: tuple[float, float], offset: Offset, conf: float, i: int
) -> Candidate:
    """One crossing of two roads (in the order said), moved by the offset."""
    a, b = roads
    lon, lat = offset_point(point[0], point[1], offset.east_m, offset.north_m)
    if meeting.meets:
        label = f"{a}与{b}交叉口{offset.text}"
        precision = INTERSECTION_PRECISION_M + offset.spread_m
    else:
        label = f"{a}与{b}最近处（两路不相交，相距{meeting.gap_m:.0f}米）"
        precision = INTERSECTION_PRECISION_M + meeting.gap_m / 2
    return Candidate(
        level="intersection",
        confidence=round(conf, 4),
        address=label,
        lon=lon,
        lat=lat,
        address_id=None,
        representative_id="",
        n_addresses=0,
        road=a,
        precision_m=round(precision, 1),
        place_kind="intersection" if meeting.meets else "nearest_approach",
        place_id=f"{a}/{b}" + (f"#{i + 1}" if len(meeting.points) > 1 else ""),
    )


def _widen(result: MatchResult, qualifier: str | None, extra: float) -> MatchResult:
    """Record the qualifier and widen every candidate's precision by its distance."""
    if qualifier is None:
        return result
    cands = tuple(replace(c, precision_m=round(c.precision_m + extra, 1)) for c in result.candidates)
    return replace(result, candidates=cands, qualifier=qualifier)
