"""The monthly assessment (考核) as pure arithmetic: per-unit counts in, indicators, a composite score and
ranks out. No database here: repository/assessment.py counts, services/assessment.py assembles.

Definitions (README, "Assessment (考核)"). The names and the ratio form of 立案率, 按期处置率, 结案率,
按期结案率, 返工率, 延期率 and 退回率 follow GB/T 30428.4 (数字化城市管理信息系统 绩效评价); which cases fall in
a period is this project's rule, written next to each count below. 响应率, 解决率, 满意率 are the report
statistics' (services/stats.py, README "Reports"), over the reports created in the period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import Enum

# Units with fewer cases than this in the period are shown but not ranked (small denominators distort).
DEFAULT_MIN_CASES = 10


class Better(Enum):
    HIGHER = "higher"  # a rate where more is better (结案率)
    LOWER = "lower"  # a rate where less is better (返工率)
    COUNT = "count"  # a plain count (自行处置数): not a rate, not scored


@dataclass(frozen=True, slots=True)
class IndicatorDef:
    key: str
    label: str
    better: Better
    numerator: str  # the UnitCounts field
    denominator: str | None


# The indicators in the order they are shown; numerator / denominator name fields of UnitCounts.
INDICATORS: tuple[IndicatorDef, ...] = (
    IndicatorDef("registration_rate", "立案率", Better.HIGHER, "registered", "received"),
    IndicatorDef("on_time_handling_rate", "按期处置率", Better.HIGHER, "handled_on_time", "handle_ended"),
    IndicatorDef("closure_rate", "结案率", Better.HIGHER, "closed", "due"),
    IndicatorDef("on_time_closure_rate", "按期结案率", Better.HIGHER, "closed_on_time", "due"),
    IndicatorDef("rework_rate", "返工率", Better.LOWER, "reworks", "handle_ended"),
    IndicatorDef("extension_rate", "延期率", Better.LOWER, "extensions", "registered"),
    IndicatorDef("return_rate", "退回率", Better.LOWER, "returns", "dispatches"),
    IndicatorDef("self_resolved", "自行处置数", Better.COUNT, "self_resolved", None),
    IndicatorDef("response_rate", "响应率", Better.HIGHER, "responded_in_time", "to_handle"),
    IndicatorDef("resolution_rate", "解决率", Better.HIGHER, "solved", "to_handle"),
    IndicatorDef("satisfaction_rate", "满意率", Better.HIGHER, "satisfied", "rated"),
    IndicatorDef("supervisions", "督办数", Better.COUNT, "supervisions", None),
    IndicatorDef("urges", "催办数", Better.COUNT, "urges", None),
)
INDICATOR_BY_KEY = {i.key: i for i in INDICATORS}

# The composite score's default weights (they need not add up to 100: the score divides by the weights of
# the indicators that have a rate). The closing figures weigh most, as in the 数字城管 assessments.
DEFAULT_WEIGHTS: dict[str, float] = {
    "on_time_closure_rate": 25,
    "closure_rate": 20,
    "on_time_handling_rate": 15,
    "resolution_rate": 10,
    "registration_rate": 5,
    "response_rate": 5,
    "satisfaction_rate": 5,
    "rework_rate": 5,
    "extension_rate": 5,
    "return_rate": 5,
}


@dataclass(frozen=True, slots=True)
class UnitCounts:
    """What one unit did in one period; every field is a count that adds up over child units.

    Periods are half-open [start, end) in Asia/Shanghai; "in the period" means that moment falls in it."""

    cases: int = 0  # reports created in the period (the ranking threshold counts these)
    received: int = 0  # 受理数: accepted in the period
    registered: int = 0  # 立案数: registered (立案) in the period; 自办自结 cases are not registered
    handle_ended: int = 0  # 处置次数: handle stages ended in the period (挂账 cases left out)
    handled_on_time: int = 0  # of those, ended by their deadline
    due: int = 0  # 应结案数: see below
    closed: int = 0  # 结案数: of the due cases, closed before the period's end
    closed_on_time: int = 0  # 按期结案数: of the due cases, closed by their close deadline
    reworks: int = 0  # 返工次数: rework events in the period
    extensions: int = 0  # 延期数: approved extensions in the period
    returns: int = 0  # 退回次数: returns in the period
    dispatches: int = 0  # 派遣次数: dispatches (first or again) in the period
    self_resolved: int = 0  # 自行处置数: 自办自结 cases closed in the period
    to_handle: int = 0  # reports created in the period but rejected and duplicates (services/stats.py)
    responded_in_time: int = 0  # of those, accepted by the response deadline
    solved: int = 0  # of those, closed as solved
    rated: int = 0  # reports created in the period that were rated
    satisfied: int = 0  # of those, rated 4–5
    supervisions: int = 0  # 督办 orders issued in the period
    urges: int = 0  # 催办 orders issued in the period

    def __add__(self, other: UnitCounts) -> UnitCounts:
        return UnitCounts(**{f: getattr(self, f) + getattr(other, f) for f in COUNT_FIELDS})


# 应结案数 (cases due to close in the period): the registered cases — not rejected, not duplicates, not
# 自办自结, not 挂账 at any time in the period — whose assessment moment falls in the period. A case's
# assessment moment is its close deadline, or its closing time when it closed before that deadline: so every
# case is due in exactly one period (periods add up to the year), a case closed early counts in the month
# it closed, a late one in the month of its deadline, and a month's figures do not change afterwards.

COUNT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(UnitCounts))


def total(counts: Iterable[UnitCounts]) -> UnitCounts:
    """The parent's counts: the sum of its children's (every count adds up)."""
    out = UnitCounts()
    for c in counts:
        out = out + c
    return out


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator of a unit: numerator / denominator, the rate 0–1 rounded to 4 places (None when the
    denominator is 0 or the indicator is a plain count)."""

    numerator: int
    denominator: int | None
    rate: float | None


def ratio(numerator: int, denominator: int) -> float | None:
    """numerator / denominator rounded to 4 places (as services/stats.py rounds its rates); None for /0."""
    return round(numerator / denominator, 4) if denominator else None


def indicators(c: UnitCounts) -> dict[str, Indicator]:
    out: dict[str, Indicator] = {}
    for d in INDICATORS:
        n = getattr(c, d.numerator)
        if d.denominator is None:
            out[d.key] = Indicator(n, None, None)
        else:
            den = getattr(c, d.denominator)
            out[d.key] = Indicator(n, den, ratio(n, den))
    return out


def check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights of known rate indicators, ≥ 0, not all 0 (a ValueError names what is wrong)."""
    unknown = [k for k in weights if k not in INDICATOR_BY_KEY or INDICATOR_BY_KEY[k].better is Better.COUNT]
    if unknown:
        raise ValueError(f"not a rate indicator: {', '.join(sorted(unknown))}")
    if any(w < 0 for w in weights.values()) or not any(w > 0 for w in weights.values()):
        raise ValueError("weights must be ≥ 0 and at least one > 0")
    return dict(weights)


def score(values: Mapping[str, Indicator], weights: Mapping[str, float]) -> float | None:
    """The composite score 0–100: the weighted mean of the indicators' rates (1 − rate where less is
    better), over the weighted indicators that have a rate; None when none has one. Rounded to 2 places."""
    num = den = 0.0
    for key, weight in weights.items():
        rate = values[key].rate
        if rate is None or weight <= 0:
            continue
        good = 1 - rate if INDICATOR_BY_KEY[key].better is Better.LOWER else rate
        num += weight * good
        den += weight
    return round(100 * num / den, 2) if den else None


@dataclass(frozen=True, slots=True)
class Assessed:
    """One unit assessed: its indicators, score, rank (None: not ranked) and whether it is ranked."""

    code: str | None
    name: str | None
    counts: UnitCounts
    indicators: dict[str, Indicator]
    score: float | None
    rank: int | None
    ranked: bool


@dataclass(frozen=True, slots=True)
class Unit:
    code: str | None
    name: str | None
    counts: UnitCounts


def assess(
    units: Sequence[Unit], weights: Mapping[str, float] = DEFAULT_WEIGHTS, min_cases: int = DEFAULT_MIN_CASES
) -> list[Assessed]:
    """Indicators and scores of every unit; units with at least `min_cases` cases and a score are ranked by
    score, highest first (equal scores share a rank: 1, 2, 2, 4). A unit without a code (reports outside
    every grid) is shown, never ranked. Returned in rank order, then by code."""
    weights = check_weights(weights)
    scored = []
    for u in units:
        values = indicators(u.counts)
        s = score(values, weights)
        scored.append((u, values, s, s is not None and u.code is not None and u.counts.cases >= min_cases))
    ranked_scores = sorted((s for _, _, s, ok in scored if ok and s is not None), reverse=True)
    first_rank: dict[float, int] = {}
    for i, s in enumerate(ranked_scores, start=1):
        first_rank.setdefault(s, i)
    out = [
        Assessed(u.code, u.name, u.counts, values, s, first_rank[s] if ok and s is not None else None, ok)
        for u, values, s, ok in scored
    ]
    out.sort(key=lambda a: (a.rank is None, a.rank or 0, a.code is None, a.code or ""))
    return out
