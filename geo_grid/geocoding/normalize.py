"""Address normalisation: free-text Chinese door-plate addresses → one canonical spelling and its parts.

The canonical spelling is what the matcher compares; the standard table is normalised with the same
functions, so any rule applies symmetrically to queries and to the table.

Rules, applied in this order (each has its own test in tests/unit/test_geocoding.py):

1. NFKC: full-width digits/letters/punctuation → half-width (``２３号`` → ``23号``); letters upper-cased.
2. ``N#`` → ``N号`` (``3#楼`` is common shorthand for ``3号楼``).
3. Dashed building/unit/room: ``3-2`` → ``3号楼2单元`` and ``3-2-101`` → ``3号楼2单元101室``, only at the
   *end* of the text and only when the digits are not followed by 号 (so ``23-25号`` is left alone).
4. Spaces and punctuation removed (``，,。.、;:()【】-—`` …).
5. Chinese numerals → digits, only for a numeral run directly before a unit word
   (号/号院/号楼/栋/幢/座/单元/室/户/层/楼), so names such as 三全路, 金水, 一品 keep their characters;
   ``第三单元`` → ``3单元``. Positional numerals (二十三 → 23) and digit-by-digit ones (二零三 → 203).
6. Variants unified: 号楼/栋/幢/座 (with or without 号) → ``N号楼``; 户/房 → 室; ``N楼`` directly before a
   unit (``3楼2单元``) is a building, elsewhere a floor (``5楼`` → ``5层``).
7. Prefixes stripped (repeatedly, from the start): 中国, 河南省, 河南, 郑州市, 郑州, 金水区,
   未来路街道(办事处), 未来路办事处 and ``<community>社区`` (e.g. 民航路社区) — configurable.
8. Road aliases (configurable table, default 未来大道 → 未来路) replaced wherever they occur.

``N号院`` (a courtyard named by road + door number) is parsed as number N with
``numbered_courtyard=True``; the matcher treats ``民航路23号院`` and ``民航路23号`` as the same place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import cn2an

# What every address here may start with, whatever the place; the place's own names (province … subdistrict,
# its communities) are data: `place_prefixes` builds them from the database's rows.
COUNTRY_PREFIXES: tuple[str, ...] = ("中华人民共和国", "中国")
DEFAULT_PREFIXES: tuple[str, ...] = COUNTRY_PREFIXES


def place_prefixes(admin_chain: Iterable[str], community_names: Iterable[str]) -> tuple[str, ...]:
    """The administrative prefixes people write before an address in one subdistrict, longest first (so
    that 郑州市 is removed before 郑州 could leave a stray 市): the country; each level of `admin_chain`
    (河南省 and 河南, 郑州市 and 郑州, 金水区, 未来路街道 with 未来路街道办事处 and 未来路办事处 — never the bare
    未来路, which is also a road); each community (康复社区 with 康复社区居委会 and 康复社区居民委员会)."""
    out: set[str] = set(COUNTRY_PREFIXES)
    for name in admin_chain:
        out.add(name)
        if name.endswith(("省", "市")) and len(name) > 2:
            out.add(name[:-1])
        if name.endswith("街道"):
            out.update({f"{name}办事处", f"{name[:-2]}办事处"})
    for name in community_names:
        base = name.removesuffix("社区")
        out.update({f"{base}社区", f"{base}社区居委会", f"{base}社区居民委员会"})
    return tuple(sorted(out, key=lambda p: (-len(p), p)))


DEFAULT_ROAD_ALIASES: Mapping[str, str] = {"未来大道": "未来路"}

# Suffixes that end a road name; used to split "road + estate" when no door number separates them.
ROAD_SUFFIXES: tuple[str, ...] = ("大道", "大街", "路", "街", "巷", "胡同")

_CN_DIGITS = "零〇一二两三四五六七八九十百千"
_CN_DIGIT_VALUE = {"零": "0", "〇": "0", "一": "1", "二": "2", "两": "2", "三": "3", "四": "4"}
_CN_DIGIT_VALUE.update({"五": "5", "六": "6", "七": "7", "八": "8", "九": "9"})
_UNIT_WORDS = "号院|号楼|号|栋|幢|座|单元|室|户|层|楼"

# Linear time on any input (a 300 KB query once took minutes): every pattern that starts with a run of
# digits/letters is anchored at the run's first character by a negative lookbehind and consumes the run
# possessively (`++`, Python ≥ 3.11), so the engine never retries a match from inside a run or backtracks
# through it. The words that may follow a run (号, 单元, 室 …) never belong to the run's character class,
# so these are the matches the greedy patterns found before.
_RE_HASH = re.compile(r"(?<!\d)(\d++)#")
_RE_DASH3 = re.compile(r"(?<![\d-])(\d++)\s*+[-—–]\s*+(\d++)\s*+[-—–]\s*+(\d++)\s*+(?:室|户)?\s*+$")
_RE_DASH2 = re.compile(r"(?<![\d-])(\d++)\s*+[-—–]\s*+(\d++)\s*+$")
_RE_PUNCT = re.compile(r"[\s,，。.、;；:：·•'\"“”‘’`()（）\[\]【】<>《》\-—–_~/\\|*]+")
_RE_CN_NUM = re.compile(rf"(?:第|(?<![{_CN_DIGITS}]))([{_CN_DIGITS}]++)(?={_UNIT_WORDS})")
_RE_ORDINAL = re.compile(rf"第(\d++)(?={_UNIT_WORDS})")
_RE_BUILDING = re.compile(r"(?<![0-9A-Z])([0-9A-Z]++)(?:号楼|号栋|号幢|号座|栋楼|栋|幢|座)")
_RE_BUILDING_BY_FLOOR_WORD = re.compile(r"(?<!\d)(\d++)楼(?=\d++单元)")
_RE_ROOM = re.compile(r"(?<!\d)(\d++)(?:室|户|房)")

_TOKEN = re.compile(r"(?<![0-9A-Z])([0-9A-Z]++)(号楼|号院|号|单元|室|层)")


def _cn_to_digits(run: str) -> str | None:
    """二十三 → 23, 二零三 → 203; None when the run is not a number cn2an understands."""
    if not any(ch in "十百千" for ch in run):
        return "".join(_CN_DIGIT_VALUE[ch] for ch in run)
    try:
        return str(int(cn2an.cn2an(run, "smart")))
    except (ValueError, KeyError, TypeError):
        return None


def _replace_cn_numerals(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        digits = _cn_to_digits(m.group(1))
        return digits if digits is not None else m.group(0)

    return _RE_ORDINAL.sub(r"\1", _RE_CN_NUM.sub(repl, text))


def normalize_part(text: str | None) -> str:
    """Normalise one field (road, estate, ``3栋`` …): rules 1–6, no prefix stripping."""
    if not text:
        return ""
    s = unicodedata.normalize("NFKC", text).upper()
    s = _RE_HASH.sub(r"\1号", s)
    s = _RE_DASH3.sub(r"\1号楼\2单元\3室", s)
    s = _RE_DASH2.sub(r"\1号楼\2单元", s)
    s = _RE_PUNCT.sub("", s)
    s = _replace_cn_numerals(s)
    s = _RE_BUILDING.sub(r"\1号楼", s)
    s = _RE_BUILDING_BY_FLOOR_WORD.sub(r"\1号楼", s)
    s = _RE_ROOM.sub(r"\1室", s)
    # A remaining "N楼" not preceded by 号 is a floor; "N号楼" must survive untouched.
    s = re.sub(r"(?<!号)(?<=\d)楼", "层", s)
    return s


def strip_prefixes(text: str, prefixes: Iterable[str] = DEFAULT_PREFIXES) -> str:
    """Remove administrative prefixes from the start, repeatedly (河南省郑州市金水区… → …).

    Walks an offset instead of re-slicing the text after each prefix, so that a text made of thousands
    of prefixes costs linear time, not quadratic."""
    ordered = sorted(set(prefixes), key=len, reverse=True)
    start, n = 0, len(text)
    changed = True
    while changed and start < n:
        changed = False
        for prefix in ordered:
            if text.startswith(prefix, start) and n - start > len(prefix):
                start += len(prefix)
                changed = True
                break
    return text[start:]


def apply_aliases(text: str, aliases: Mapping[str, str] = DEFAULT_ROAD_ALIASES) -> str:
    for alias, canonical in aliases.items():
        if alias in text:
            text = text.replace(alias, canonical)
    return text


def normalize_address(
    text: str | None,
    *,
    prefixes: Iterable[str] = DEFAULT_PREFIXES,
    aliases: Mapping[str, str] = DEFAULT_ROAD_ALIASES,
) -> str:
    """Canonical spelling of a free-text address (all rules, see the module docstring)."""
    s = normalize_part(text)
    s = strip_prefixes(s, prefixes)
    return apply_aliases(s, aliases)


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """Parts of a normalised address; every part is in canonical spelling or None when absent.

    ``number`` is like ``23号``, ``building`` ``3号楼``, ``unit`` ``2单元``, ``room`` ``101室``,
    ``floor`` ``5层``. ``courtyard`` is an estate name (``金色港湾小区``) or, for ``N号院``, road + ``N号院``
    with ``numbered_courtyard=True``. ``rest`` is trailing text that fits no part (``东户`` …).
    """

    road: str | None = None
    number: str | None = None
    courtyard: str | None = None
    building: str | None = None
    unit: str | None = None
    room: str | None = None
    floor: str | None = None
    numbered_courtyard: bool = False
    rest: str | None = None

    def is_empty(self) -> bool:
        return not any((self.road, self.number, self.courtyard, self.building, self.unit))


def split_road(head: str) -> tuple[str | None, str | None]:
    """Split ``民航路金色港湾小区`` into (road, rest) at the first road suffix; (None, head) if none."""
    best: int | None = None
    for suffix in ROAD_SUFFIXES:
        pos = head.find(suffix, 1)
        if pos >= 0:
            end = pos + len(suffix)
            if best is None or end < best:
                best = end
    if best is None:
        return None, head or None
    return head[:best], head[best:] or None


def parse_normalized(s: str) -> ParsedAddress:
    """Parse an already normalised string (see :func:`normalize_address`)."""
    tokens = list(_TOKEN.finditer(s))
    road = number = courtyard = building = unit = room = floor = None
    numbered = False
    rest_parts: list[str] = []
    cursor = 0
    head = ""
    for i, tok in enumerate(tokens):
        between = s[cursor : tok.start()]
        cursor = tok.end()
        value, word = tok.group(1), tok.group(2)
        if i == 0:
            head = between
        elif between:
            if number is not None and building is None and courtyard is None:
                courtyard = between
            else:
                rest_parts.append(between)
        if word in ("号", "号院") and number is None and building is None and unit is None:
            number = f"{value}号"
            numbered = word == "号院"
        elif word == "号楼" and building is None:
            building = f"{value}号楼"
        elif word == "单元" and unit is None:
            unit = f"{value}单元"
        elif word == "室" and room is None:
            room = f"{value}室"
        elif word == "层" and floor is None:
            floor = f"{value}层"
        else:
            rest_parts.append(tok.group(0))
    tail = s[cursor:] if tokens else ""
    if not tokens:
        head = s
    if tail and unit is not None and room is None and tail.isdigit():
        room, tail = f"{tail}室", ""  # 2单元101: bare digits after the unit are the room
    if tail:
        if number is not None and building is None and courtyard is None and unit is None:
            courtyard = tail
        else:
            rest_parts.append(tail)

    if number is not None:
        road = head or None
    else:
        road, courtyard_head = split_road(head)
        if road is not None and courtyard_head and courtyard_head[0].isdigit():
            # 民航路23金色港湾小区: digits straight after the road are the door number.
            m = re.match(r"(\d+)(.*)", courtyard_head)
            assert m is not None
            number, courtyard_head = f"{m.group(1)}号", m.group(2) or None
        if courtyard_head:
            courtyard = courtyard_head + (courtyard or "")
    if numbered and number is not None and courtyard is None:
        courtyard = f"{road or ''}{number}院"
    else:
        numbered = False
    return ParsedAddress(
        road=road,
        number=number,
        courtyard=courtyard,
        building=building,
        unit=unit,
        room=room,
        floor=floor,
        numbered_courtyard=numbered,
        rest="".join(rest_parts) or None,
    )


def parse_address(
    text: str | None,
    *,
    prefixes: Iterable[str] = DEFAULT_PREFIXES,
    aliases: Mapping[str, str] = DEFAULT_ROAD_ALIASES,
) -> ParsedAddress:
    """Normalise ``text`` and split it into road / number / courtyard / building / unit / room."""
    return parse_normalized(normalize_address(text, prefixes=prefixes, aliases=aliases))
