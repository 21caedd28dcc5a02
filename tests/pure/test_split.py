"""The Porto Alegre split between areas: hand-worked arithmetic and properties (no database)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pb.split.formula import (
    PORTO_ALEGRE_PRESET,
    PORTO_ALEGRE_ROUND_PRESET,
    UNRANKED,
    AreaInput,
    Band,
    Criterion,
    SplitError,
    apply_overrides,
    compute_split,
    criteria_from_config,
    criteria_to_config,
    grade_for,
    largest_remainder,
    priority_positions,
)

BUDGET = 100_000_000  # £1,000,000.00 in pence

NORTHGATE = AreaInput("a", "Northgate", {"population": 20_000, "need": 80, "priority": 1})
RIVERSIDE = AreaInput("b", "Riverside", {"population": 50_000, "need": 40, "priority": 2})
HILLCREST = AreaInput("c", "Hillcrest", {"population": 100_000, "need": 10, "priority": UNRANKED})
AREAS = (NORTHGATE, RIVERSIDE, HILLCREST)


def test_the_porto_alegre_preset_worked_example_to_the_penny() -> None:
    """Budget £1,000,000.00 = 100,000,000p, Porto Alegre preset, one theme.

    Weights: population 2, need 4, priority 5.

    =========  ==========================  ===================  ====================  =====
    area       population -> grade x 2     need -> grade x 4    priority -> grade x 5 total
    =========  ==========================  ===================  ====================  =====
    Northgate  20,000 (<= 25,000) -> 1: 2  80 (>= 76) -> 4: 16  1st -> 4: 20          38
    Riverside  50,000 (<= 90,000) -> 3: 6  40 (15-50) -> 2: 8   2nd -> 3: 15          29
    Hillcrest  100,000 (> 90,000) -> 4: 8  10 (<= 14) -> 1: 4   not ranked -> 0: 0    12
    =========  ==========================  ===================  ====================  =====

    Sum of totals = 38 + 29 + 12 = 79; shares 38/79, 29/79, 12/79.

    Exact amounts: 100,000,000 x 38/79 = 48,101,265 + 65/79
                   100,000,000 x 29/79 = 36,708,860 + 60/79
                   100,000,000 x 12/79 = 15,189,873 + 33/79
    Floors add up to 99,999,998: 2 pennies are left. The largest remainders are 65/79
    (Northgate) and 60/79 (Riverside), so each gets one penny; Hillcrest (33/79) does not.

    Amounts: 48,101,266 + 36,708,861 + 15,189,873 = 100,000,000 exactly.
    """
    result = compute_split(BUDGET, PORTO_ALEGRE_PRESET, AREAS)

    rows = {row.area_id: row for row in result.rows}
    assert [rows["a"].grade(k) for k in ("population", "need", "priority")] == [1, 4, 4]
    assert [rows["b"].grade(k) for k in ("population", "need", "priority")] == [3, 2, 3]
    assert [rows["c"].grade(k) for k in ("population", "need", "priority")] == [4, 1, 0]
    assert [c.points for c in rows["a"].grades] == [2, 16, 20]
    assert [rows[k].weighted_total for k in "abc"] == [38, 29, 12]
    assert [rows[k].share for k in "abc"] == [Fraction(38, 79), Fraction(29, 79), Fraction(12, 79)]
    assert [rows[k].amount for k in "abc"] == [48_101_266, 36_708_861, 15_189_873]
    assert sum(r.amount for r in result.rows) == BUDGET
    assert not result.equal_split
    assert [r.area_id for r in result.rows] == ["a", "b", "c"]  # the order given


def test_to_dict_is_json_with_fractions_as_text_and_percentages() -> None:
    """Northgate's share 38/79 = 48.1012...% -> "48.1%"; Hillcrest 12/79 = 15.189...% -> "15.2%"."""
    data = compute_split(
        BUDGET, PORTO_ALEGRE_PRESET, AREAS, currency="GBP", theme="parks"
    ).to_dict()

    assert json.loads(json.dumps(data)) == data
    northgate, _, hillcrest = data["rows"]
    assert northgate["share"] == "38/79"
    assert Fraction(northgate["share"]) == Fraction(38, 79)
    assert northgate["percentage"] == "48.1%"
    assert hillcrest["percentage"] == "15.2%"
    assert northgate["weighted_total"] == "38"
    assert northgate["amount"] == 48_101_266
    assert northgate["area_name"] == "Northgate"
    assert [g["grade"] for g in northgate["grade_list"]] == [1, 4, 4]
    assert data["criteria"][0] == {
        "key": "population",
        "label": "Population",
        "weight": "2",
        "bands": [
            {"upper": 25_000, "grade": 1},
            {"upper": 45_000, "grade": 2},
            {"upper": 90_000, "grade": 3},
            {"upper": None, "grade": 4},
        ],
    }
    assert data["budget"] == BUDGET
    assert data["currency"] == "GBP"
    assert data["theme"] == "parks"
    assert data["total_weighted"] == "79"


def test_a_tie_on_remainders_gives_the_penny_to_the_smallest_area_id_as_text() -> None:
    """100p between three equal areas: 33p each and 1p left, all remainders 1/3.

    Ids compared as text: "10" < "2" < "9", so area 10 gets the penny (not area 2).
    """
    criteria = (Criterion("x", "X", (Band(None, 1),), 1),)
    areas = [AreaInput(i, f"Area {i}", {"x": 5}) for i in (9, 2, 10)]

    result = compute_split(100, criteria, areas)

    assert result.amounts() == {9: 33, 2: 33, 10: 34}


@pytest.mark.parametrize(
    ("value", "grade"),
    [(0, 1), (25_000, 1), (25_001, 2), (45_000, 2), (90_000, 3), (90_001, 4), (10**9, 4)],
)
def test_population_bands_include_their_upper_limit(value: int, grade: int) -> None:
    assert grade_for(value, PORTO_ALEGRE_PRESET[0].bands) == grade


def test_grade_for_takes_fractions() -> None:
    bands = (Band(14, 1), Band(50, 2), Band(None, 3))
    assert grade_for(Fraction(29, 2), bands) == 2  # 14.5 is above 14
    assert grade_for(Fraction(28, 2), bands) == 1


def test_a_value_above_a_closed_last_band_is_refused() -> None:
    with pytest.raises(SplitError, match="above the last band"):
        grade_for(101, (Band(50, 1), Band(100, 2)))


def test_priority_positions_share_ties_and_mark_unranked_themes() -> None:
    """Points 40, 25, 25, 10, 0 -> positions 1, 2, 2, 4, unranked."""
    points = {"roads": 40, "parks": 25, "youth": 25, "safety": 10, "arts": 0}
    assert priority_positions(points) == {
        "roads": 1,
        "parks": 2,
        "youth": 2,
        "safety": 4,
        "arts": UNRANKED,
    }


def test_all_zero_totals_split_the_budget_equally_and_say_so() -> None:
    """Weight 0 makes every total 0: 1,000p / 3 = 333p each, 1p to "a" (smallest id)."""
    criteria = (Criterion("x", "X", (Band(None, 3),), 0),)
    areas = [AreaInput(k, k.upper(), {"x": 1}) for k in "cab"]

    result = compute_split(1_000, criteria, areas)

    assert result.equal_split
    assert result.amounts() == {"c": 333, "a": 334, "b": 333}
    assert all(row.share == Fraction(1, 3) for row in result.rows)
    assert result.to_dict()["equal_split"] is True


def test_a_zero_budget_gives_everyone_nothing() -> None:
    result = compute_split(0, PORTO_ALEGRE_PRESET, AREAS)
    assert [r.amount for r in result.rows] == [0, 0, 0]
    assert result.to_dict()["rows"][0]["amount_percentage"] == "0.0%"


@pytest.mark.parametrize(
    ("budget", "criteria", "areas", "message"),
    [
        (-1, PORTO_ALEGRE_PRESET, AREAS, "budget cannot be negative"),
        (10, PORTO_ALEGRE_PRESET, (), "at least one area"),
        (10, (), AREAS, "at least one criterion"),
        (
            10,
            PORTO_ALEGRE_PRESET,
            (AreaInput("a", "Northgate", {"population": 1, "need": 1}),),
            "Northgate has no value for The area's priority",
        ),
        (
            10,
            (Criterion("x", "X", (Band(10, 1), Band(10, 2)), 1),),
            (AreaInput("a", "A", {"x": 1}),),
            "must go up",
        ),
        (
            10,
            (Criterion("x", "X", (Band(None, 1), Band(10, 2)), 1),),
            (AreaInput("a", "A", {"x": 1}),),
            "Only the last band",
        ),
        (
            10,
            (Criterion("x", "X", (Band(None, 1),), -1),),
            (AreaInput("a", "A", {"x": 1}),),
            "weight of X cannot be negative",
        ),
        (
            10,
            (Criterion("x", "X", (Band(None, 1),), 1),),
            (AreaInput("a", "A", {"x": -5}),),
            "cannot be negative",
        ),
        (
            10,
            (Criterion("x", "X", (Band(None, 1),), 1),),
            (AreaInput("a", "A", {"x": 1}), AreaInput("a", "B", {"x": 1})),
            "only once",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    budget: int,
    criteria: tuple[Criterion, ...],
    areas: tuple[AreaInput, ...],
    message: str,
) -> None:
    with pytest.raises(SplitError, match=message):
        compute_split(budget, criteria, areas)


def test_an_override_keeps_its_amount_and_the_rest_follows_the_shares() -> None:
    """Override Hillcrest to £200,000.00 = 20,000,000p "to finish the library started last year".

    Left: 100,000,000 - 20,000,000 = 80,000,000p between Northgate (38) and Riverside (29),
    total 67. Northgate: 80,000,000 x 38/67 = 45,373,134 + 22/67;
    Riverside: 80,000,000 x 29/67 = 34,626,865 + 45/67. One penny left: Riverside (45/67 > 22/67).
    Northgate 45,373,134 + Riverside 34,626,866 + Hillcrest 20,000,000 = 100,000,000.
    """
    split = compute_split(BUDGET, PORTO_ALEGRE_PRESET, AREAS)

    changed = apply_overrides(
        split, {"c": 20_000_000}, reasons={"c": " To finish the library started last year. "}
    )

    rows = {row.area_id: row for row in changed.rows}
    assert rows["c"].amount == 20_000_000
    assert rows["c"].overridden
    assert rows["c"].reason == "To finish the library started last year."
    assert rows["c"].formula_amount == 15_189_873
    assert rows["a"].amount == 45_373_134
    assert rows["b"].amount == 34_626_866
    assert not rows["a"].overridden
    assert rows["a"].share == Fraction(38, 79)  # the formula's share is kept for comparison
    assert sum(r.amount for r in changed.rows) == BUDGET
    row_c = changed.to_dict()["rows"][2]
    assert row_c["overridden"] is True
    assert row_c["amount_percentage"] == "20.0%"


def test_overrides_start_again_from_the_formula() -> None:
    split = compute_split(BUDGET, PORTO_ALEGRE_PRESET, AREAS)
    once = apply_overrides(split, {"c": 20_000_000}, reasons={"c": "Library."})

    again = apply_overrides(once, {}, reasons={})

    assert again.amounts() == split.amounts()
    assert not any(r.overridden for r in again.rows)


@pytest.mark.parametrize(
    ("overrides", "reasons", "message"),
    [
        ({"c": 1}, {}, "public reason"),
        ({"c": 1}, {"c": "   "}, "public reason"),
        ({"z": 1}, {"z": "Why"}, "not part of this split"),
        ({"c": -1}, {"c": "Why"}, "0 or more"),
        ({"a": 60_000_000, "b": 50_000_000}, {"a": "x", "b": "y"}, "more than the budget"),
        (
            {"a": 1, "b": 1, "c": 1},
            {"a": "x", "b": "y", "c": "z"},
            "left unassigned",
        ),
    ],
)
def test_bad_overrides_are_refused(
    overrides: dict[str, int], reasons: dict[str, str], message: str
) -> None:
    split = compute_split(BUDGET, PORTO_ALEGRE_PRESET, AREAS)
    with pytest.raises(SplitError, match=message):
        apply_overrides(split, overrides, reasons=reasons)


def test_overriding_every_area_to_the_exact_budget_is_allowed() -> None:
    split = compute_split(100, PORTO_ALEGRE_PRESET, AREAS)
    reasons = {k: "Agreed at the city forum." for k in "abc"}
    changed = apply_overrides(split, {"a": 50, "b": 50, "c": 0}, reasons=reasons)
    assert changed.amounts() == {"a": 50, "b": 50, "c": 0}


def test_override_ids_match_as_text() -> None:
    criteria = (Criterion("x", "X", (Band(None, 1),), 1),)
    split = compute_split(
        10, criteria, [AreaInput(1, "One", {"x": 1}), AreaInput(2, "Two", {"x": 1})]
    )
    changed = apply_overrides(split, {"1": 7}, reasons={"1": "Agreed."})
    assert changed.amounts() == {1: 7, 2: 3}


def test_criteria_round_trip_through_config() -> None:
    criteria = (*PORTO_ALEGRE_ROUND_PRESET, Criterion("x", "X", (Band(None, 1),), Fraction(7, 2)))
    config = criteria_to_config(criteria)
    assert json.loads(json.dumps(config)) == config
    assert criteria_from_config(config) == criteria


def test_malformed_config_is_a_split_error() -> None:
    with pytest.raises(SplitError, match="malformed"):
        criteria_from_config([{"key": "x"}])
    with pytest.raises(SplitError, match="must go up"):
        criteria_from_config(
            [
                {
                    "key": "x",
                    "weight": "1",
                    "bands": [{"upper": 5, "grade": 1}, {"upper": 2, "grade": 2}],
                }
            ]
        )


# --- Properties ------------------------------------------------------------------------------

CRITERIA = PORTO_ALEGRE_PRESET

area_values = st.fixed_dictionaries(
    {
        "population": st.integers(0, 200_000),
        "need": st.integers(0, 100),
        "priority": st.integers(0, 8),
    }
)
areas_strategy = st.lists(area_values, min_size=1, max_size=12).map(
    lambda values: [AreaInput(f"area-{i}", f"Area {i}", v) for i, v in enumerate(values)]
)
budgets = st.integers(0, 10**12)


@given(budget=budgets, areas=areas_strategy)
def test_amounts_always_sum_to_the_budget_exactly(budget: int, areas: list[AreaInput]) -> None:
    result = compute_split(budget, CRITERIA, areas)
    assert sum(r.amount for r in result.rows) == budget
    assert all(r.amount >= 0 for r in result.rows)
    assert sum(r.share for r in result.rows) == 1


@given(budget=budgets, areas=areas_strategy)
def test_amounts_are_monotone_in_the_weighted_total(budget: int, areas: list[AreaInput]) -> None:
    rows = compute_split(budget, CRITERIA, areas).rows
    for x in rows:
        for y in rows:
            if x.weighted_total > y.weighted_total:
                assert x.amount >= y.amount
            if x.weighted_total == y.weighted_total:
                assert abs(x.amount - y.amount) <= 1
            # Largest remainder never strays a penny from the exact quota.
            assert abs(x.amount - budget * x.share) < 1


@given(budget=budgets, areas=areas_strategy, data=st.data())
def test_the_split_does_not_depend_on_the_order_of_areas(
    budget: int, areas: list[AreaInput], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(areas))
    assert compute_split(budget, CRITERIA, shuffled).amounts() == (
        compute_split(budget, CRITERIA, areas).amounts()
    )


@given(budget=budgets, areas=areas_strategy, data=st.data())
def test_overrides_keep_the_sum_and_the_overridden_amounts(
    budget: int, areas: list[AreaInput], data: st.DataObject
) -> None:
    split = compute_split(budget, CRITERIA, areas)
    chosen = data.draw(st.lists(st.sampled_from(areas), unique_by=lambda a: a.area_id))
    overrides: dict[str | int, int] = {}
    left = budget
    for area in chosen:
        overrides[area.area_id] = data.draw(st.integers(0, left))
        left -= overrides[area.area_id]
    if len(chosen) == len(areas) and left:
        overrides[chosen[-1].area_id] += left  # overriding everyone must use the whole budget
    reasons = {k: "Agreed at the forum." for k in overrides}

    changed = apply_overrides(split, overrides, reasons=reasons)

    assert sum(r.amount for r in changed.rows) == budget
    for row in changed.rows:
        if row.area_id in overrides:
            assert row.amount == overrides[row.area_id]
            assert row.overridden


@given(
    total=st.integers(0, 10**9),
    weights=st.dictionaries(
        st.text(min_size=1, max_size=4), st.fractions(min_value=0, max_value=1000), min_size=1
    ),
)
def test_largest_remainder_sums_and_stays_within_a_unit(
    total: int, weights: dict[str, Fraction]
) -> None:
    parts = largest_remainder(total, weights)
    assert sum(parts.values()) == total
    weight_sum = sum(weights.values(), Fraction(0))
    if weight_sum:
        for key, weight in weights.items():
            assert abs(parts[key] - total * weight / weight_sum) < 1
