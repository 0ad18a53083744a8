"""The assessment's arithmetic (geo_grid/assessment.py): the issue's 972/911/737 fixture, child units add up
to their parent, the composite score and the ranking rule."""

from __future__ import annotations

import random
from dataclasses import fields, replace

import pytest

from geo_grid import assessment as a
from geo_grid.assessment import UnitCounts


def test_972_due_911_closed_737_on_time() -> None:
    values = a.indicators(UnitCounts(due=972, closed=911, closed_on_time=737))
    assert values["closure_rate"] == a.Indicator(911, 972, 0.9372)
    assert values["on_time_closure_rate"] == a.Indicator(737, 972, 0.7582)
    assert f"{values['closure_rate'].rate:.2%}" == "93.72%"
    assert f"{values['on_time_closure_rate'].rate:.2%}" == "75.82%"


def test_every_indicator_reads_its_own_fields() -> None:
    counts = UnitCounts(**{f.name: i + 1 for i, f in enumerate(fields(UnitCounts))})
    values = a.indicators(counts)
    for d in a.INDICATORS:
        got = values[d.key]
        assert got.numerator == getattr(counts, d.numerator)
        if d.denominator is None:
            assert (got.denominator, got.rate) == (None, None)
        else:
            den = getattr(counts, d.denominator)
            assert got.denominator == den
            assert got.rate == round(got.numerator / den, 4)


def test_no_denominator_no_rate() -> None:
    values = a.indicators(UnitCounts())
    assert all(v.rate is None for v in values.values())
    assert a.score(values, a.DEFAULT_WEIGHTS) is None


def _random_counts(rng: random.Random) -> UnitCounts:
    due = rng.randint(0, 200)
    closed = rng.randint(0, due)
    rest = {f.name: rng.randint(0, 300) for f in fields(UnitCounts)}
    return UnitCounts(**{**rest, "due": due, "closed": closed, "closed_on_time": rng.randint(0, closed)})


def test_children_sum_to_their_parent() -> None:
    rng = random.Random(12)
    micro = [_random_counts(rng) for _ in range(60)]
    # micro → tertiary (6 of 10) → community (2 of 3) → subdistrict: the sum of sums is the sum.
    tertiary = [a.total(micro[i : i + 10]) for i in range(0, 60, 10)]
    community = [a.total(tertiary[i : i + 3]) for i in range(0, 6, 3)]
    subdistrict = a.total(community)
    assert subdistrict == a.total(micro)
    for f in fields(UnitCounts):
        assert getattr(subdistrict, f.name) == sum(getattr(m, f.name) for m in micro)
    # The parent's rates are the ratios of the summed numerators and denominators, not means of rates.
    parent = a.indicators(subdistrict)
    for d in a.INDICATORS:
        assert parent[d.key].numerator == sum(a.indicators(m)[d.key].numerator for m in micro)
        if d.denominator:
            assert parent[d.key].denominator == sum(a.indicators(m)[d.key].denominator or 0 for m in micro)


def test_score_is_the_weighted_mean_with_lower_is_better_inverted() -> None:
    values = a.indicators(UnitCounts(due=100, closed=90, closed_on_time=60, handle_ended=50, reworks=5))
    weights = {"closure_rate": 1, "on_time_closure_rate": 3, "rework_rate": 1, "satisfaction_rate": 5}
    # satisfaction has no rate (nothing rated): its weight drops out of the mean.
    assert a.score(values, weights) == round(100 * (0.9 + 3 * 0.6 + (1 - 0.1)) / 5, 2)


def test_weights_are_checked() -> None:
    with pytest.raises(ValueError, match="self_resolved"):
        a.check_weights({"self_resolved": 1})
    with pytest.raises(ValueError, match="nonsense"):
        a.check_weights({"nonsense": 1})
    with pytest.raises(ValueError):
        a.check_weights({"closure_rate": 0})


def test_small_units_are_shown_but_not_ranked_and_ties_share_a_rank() -> None:
    good = UnitCounts(cases=20, due=10, closed=10, closed_on_time=10)
    units = [
        a.Unit("c1", "一", replace(good, closed_on_time=5)),
        a.Unit("c2", "二", good),
        a.Unit("c3", "三", good),
        a.Unit("c4", "四", replace(good, cases=9)),  # the best score, too few cases
        a.Unit("c5", "五", UnitCounts(cases=50)),  # nothing to score
    ]
    out = a.assess(units, {"closure_rate": 1, "on_time_closure_rate": 1}, min_cases=10)
    by_code = {u.code: u for u in out}
    assert [(u.code, u.rank) for u in out] == [("c2", 1), ("c3", 1), ("c1", 3), ("c4", None), ("c5", None)]
    assert by_code["c4"].score == 100.0 and not by_code["c4"].ranked
    assert by_code["c5"].score is None and not by_code["c5"].ranked
    assert by_code["c1"].score == 75.0 and by_code["c1"].ranked
