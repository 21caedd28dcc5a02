"""The Porto Alegre split of a city budget between areas: pure arithmetic, no Django.

How it works (the text a resident reads next to the published table):

1. Each **criterion** (population, need for a theme, the area's own priority for the theme)
   turns an area's value into a **grade** through **bands**: the first band whose upper bound
   is at least the value gives the grade.
2. Each grade is multiplied by the criterion's **weight**; an area's **weighted total** is the sum
   over the criteria.
3. An area's **share** is its weighted total over the sum of all areas' weighted totals.
4. The **amount** is the budget times the share, in integer minor units (pence, cents). Amounts
   are rounded down, and the pennies left over go one each to the areas with the **largest
   remainders** (ties: area id compared as text, smallest first), so the amounts add up exactly
   to the budget and no penny is left unassigned.

A manager may **override** an area's amount with a public reason; the rest of the budget is then
shared between the other areas by their shares, rounded the same way (`apply_overrides`).

Arithmetic is exact (`fractions.Fraction`); money is always an `int` of minor units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

__all__ = [
    "PORTO_ALEGRE_PRESET",
    "PORTO_ALEGRE_ROUND_PRESET",
    "UNRANKED",
    "AreaInput",
    "Band",
    "Criterion",
    "GradeCell",
    "SplitError",
    "SplitResult",
    "SplitRow",
    "apply_overrides",
    "compute_split",
    "criteria_from_config",
    "criteria_to_config",
    "grade_for",
    "largest_remainder",
    "priority_positions",
    "validate_criteria",
]

Number = int | Fraction
AreaId = str | int


def gettext_noop(message: str) -> str:
    """Marks a message for the translation catalogues (makemessages looks for this name); the
    site says it in the manager's language (``pb.split.services``). Returns it as it is."""
    return message


class SplitError(ValueError):
    """Input the split cannot work with; the message is meant for the manager who entered it.

    ``message`` is English with ``%(name)s`` placeholders filled from ``params``, kept apart so
    that the site can translate it; ``str(error)`` is the English sentence.
    """

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)


# --- Configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """One band of a criterion: values up to and including ``upper`` get ``grade``.

    ``upper=None`` means "and above" and may only be the last band. Grades are non-negative
    integers; they need not increase with the value (a theme's 1st priority gets the top grade).
    """

    upper: int | None
    grade: int


@dataclass(frozen=True)
class Criterion:
    """A criterion of the split: ``key`` names the value in `AreaInput.values`.

    ``bands`` are in increasing order of ``upper`` (strictly); ``weight`` is non-negative and
    multiplies the grade.
    """

    key: str
    label: str
    bands: tuple[Band, ...]
    weight: Number


# The Porto Alegre criteria, from the Orçamento Participativo's own rules (Regimento Interno do
# OP, as described by B. de Sousa Santos, "Participatory Budgeting in Porto Alegre: toward a
# redistributive democracy", Politics & Society 26(4), 1998, and the World Bank report "Brazil:
# toward a more inclusive and effective participatory budget in Porto Alegre", 2008):
#
# - population of the region: up to 25,000 = 1; 25,001-45,000 = 2; 45,001-90,000 = 3;
#   above 90,000 = 4; weight 2.
# - lack of the service or infrastructure ("carência"), as a 0-100 index: up to 14.99% = 1;
#   15-50.99% = 2; 51-75.99% = 3; 76% and above = 4. The city's weight for need moved over the
#   years (3 in the early 1990s, later 4); we use 4. Our need index is a whole number 0-100, so
#   the bands become 0-14, 15-50, 51-75, 76-100.
# - the region's own priority for the theme: 1st = 4, 2nd = 3, 3rd = 2, 4th = 1; the weight was
#   4 or 5 depending on the year; we use 5, the later rule, so that what residents ranked counts
#   most. A theme the area did not rank at all (value `UNRANKED`) or ranked below 4th gets 0.
#
# Rounds may change all of this; the preset is only the starting point a manager sees.

UNRANKED = 0
"""The priority value of a theme that an area gave no points at all (see `priority_positions`)."""

POPULATION = Criterion(
    key="population",
    label=gettext_noop("Population"),
    bands=(Band(25_000, 1), Band(45_000, 2), Band(90_000, 3), Band(None, 4)),
    weight=2,
)
NEED = Criterion(
    key="need",
    label=gettext_noop("Need (lack of the service, 0-100)"),
    bands=(Band(14, 1), Band(50, 2), Band(75, 3), Band(None, 4)),
    weight=4,
)
PRIORITY = Criterion(
    key="priority",
    label=gettext_noop("The area's priority for the theme (1 = first)"),
    bands=(Band(UNRANKED, 0), Band(1, 4), Band(2, 3), Band(3, 2), Band(4, 1), Band(None, 0)),
    weight=5,
)

PORTO_ALEGRE_PRESET: tuple[Criterion, ...] = (POPULATION, NEED, PRIORITY)
"""Per-theme split: population (weight 2), need for the theme (4), the area's priority (5)."""

PORTO_ALEGRE_ROUND_PRESET: tuple[Criterion, ...] = (POPULATION, NEED)
"""Whole-round split (no single theme to rank): population (weight 2) and overall need (4)."""


def validate_criteria(criteria: Sequence[Criterion]) -> None:
    """Raise `SplitError` unless the criteria are usable.

    Usable: at least one criterion; keys unique and non-empty; weights non-negative numbers;
    each criterion has at least one band, band uppers strictly increasing, only the last band
    open-ended (``upper=None``), grades non-negative integers.
    """
    if not criteria:
        raise SplitError(gettext_noop("Add at least one criterion."))
    seen: set[str] = set()
    for criterion in criteria:
        name = criterion.label or criterion.key
        if not criterion.key:
            raise SplitError(gettext_noop("Every criterion needs a key."))
        if criterion.key in seen:
            raise SplitError(
                gettext_noop("The criterion %(key)s is listed twice."), key=repr(criterion.key)
            )
        seen.add(criterion.key)
        weight = criterion.weight
        if isinstance(weight, bool) or not isinstance(weight, int | Fraction):
            raise SplitError(
                gettext_noop("The weight of %(name)s must be a whole number or a fraction."),
                name=name,
            )
        if weight < 0:
            raise SplitError(
                gettext_noop("The weight of %(name)s cannot be negative (it is %(weight)s)."),
                name=name,
                weight=weight,
            )
        _validate_bands(criterion.bands, name)


def _validate_bands(bands: Sequence[Band], name: str) -> None:
    if not bands:
        raise SplitError(gettext_noop("%(name)s needs at least one band."), name=name)
    previous: int | None = None
    for index, band in enumerate(bands):
        if isinstance(band.grade, bool) or not isinstance(band.grade, int) or band.grade < 0:
            raise SplitError(
                gettext_noop("The grades of %(name)s must be whole numbers, 0 or more."), name=name
            )
        if band.upper is None:
            if index != len(bands) - 1:
                raise SplitError(
                    gettext_noop("Only the last band of %(name)s can be open-ended ('and above')."),
                    name=name,
                )
            continue
        if isinstance(band.upper, bool) or not isinstance(band.upper, int):
            raise SplitError(
                gettext_noop("The band limits of %(name)s must be whole numbers."), name=name
            )
        if previous is not None and band.upper <= previous:
            raise SplitError(
                gettext_noop(
                    "The bands of %(name)s must go up: %(upper)s comes after %(previous)s."
                ),
                name=name,
                upper=band.upper,
                previous=previous,
            )
        previous = band.upper


def grade_for(value: Number, bands: Sequence[Band]) -> int:
    """The grade of ``value``: that of the first band whose ``upper`` is at least ``value``.

    Bands are checked as in `validate_criteria`. Raises `SplitError` for a negative value, a value
    that is not a number, or a value above the last band when that band is not open-ended.
    """
    _validate_bands(bands, "the criterion")
    _check_value(value, gettext_noop("The value"))
    for band in bands:
        if band.upper is None or value <= band.upper:
            return band.grade
    raise SplitError(
        gettext_noop("%(value)s is above the last band (%(last)s); add an open-ended band."),
        value=value,
        last=bands[-1].upper,
    )


def _check_value(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        raise SplitError(
            gettext_noop("%(what)s must be a whole number or a fraction, not %(value)s."),
            what=what,
            value=repr(value),
        )
    if value < 0:
        raise SplitError(
            gettext_noop("%(what)s cannot be negative (it is %(value)s)."), what=what, value=value
        )


def criteria_to_config(criteria: Sequence[Criterion]) -> list[dict[str, Any]]:
    """JSON-ready criteria (for ``Round.split_config``); weights as text ("4" or "7/2")."""
    return [
        {
            "key": c.key,
            "label": c.label,
            "weight": str(c.weight),
            "bands": [{"upper": b.upper, "grade": b.grade} for b in c.bands],
        }
        for c in criteria
    ]


def criteria_from_config(config: Sequence[Mapping[str, Any]]) -> tuple[Criterion, ...]:
    """Criteria from `criteria_to_config`'s output, validated; raises `SplitError` if malformed."""
    criteria: list[Criterion] = []
    try:
        for item in config:
            raw_weight = item["weight"]
            if isinstance(raw_weight, bool) or not isinstance(raw_weight, int | str):
                raise SplitError(
                    gettext_noop("The weight of %(key)s must be a number as text."),
                    key=repr(item.get("key")),
                )
            weight = Fraction(raw_weight)
            criteria.append(
                Criterion(
                    key=str(item["key"]),
                    label=str(item.get("label") or item["key"]),
                    bands=tuple(Band(upper=b["upper"], grade=b["grade"]) for b in item["bands"]),
                    weight=int(weight) if weight.denominator == 1 else weight,
                )
            )
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        if isinstance(exc, SplitError):
            raise
        raise SplitError(
            gettext_noop("The split settings are incomplete or malformed (%(detail)s)."), detail=exc
        ) from exc
    result = tuple(criteria)
    validate_criteria(result)
    return result


def priority_positions(points_by_theme: Mapping[str, int]) -> dict[str, int]:
    """Each theme's position in an area's ranking, from the priority points residents gave it.

    Position = 1 + the number of themes with strictly more points (ties share the better
    position: 1, 2, 2, 4). A theme with 0 points was not ranked by anyone and gets `UNRANKED`.
    """
    positions: dict[str, int] = {}
    for theme, points in points_by_theme.items():
        if points < 0:
            raise SplitError(
                gettext_noop("Priority points cannot be negative (%(theme)s: %(points)s)."),
                theme=theme,
                points=points,
            )
        if points == 0:
            positions[theme] = UNRANKED
        else:
            positions[theme] = 1 + sum(1 for other in points_by_theme.values() if other > points)
    return positions


# --- Inputs and results ----------------------------------------------------------------------


@dataclass(frozen=True)
class AreaInput:
    """An area taking part: ``values`` holds one non-negative number per criterion key."""

    area_id: AreaId
    name: str
    values: Mapping[str, Number]


@dataclass(frozen=True)
class GradeCell:
    """One criterion for one area: the value, its grade, and ``points`` = grade x weight."""

    key: str
    value: Number
    grade: int
    weight: Number
    points: Fraction


@dataclass(frozen=True)
class SplitRow:
    """One area's line of the published table.

    - ``grades``: one `GradeCell` per criterion, in the criteria's order.
    - ``weighted_total`` = sum over criteria of grade x weight.
    - ``share`` = weighted_total / sum of all areas' weighted totals (1/n each if that sum is 0).
    - ``formula_amount``: budget x share, rounded by largest remainder.
    - ``amount``: what the area gets; equals ``formula_amount`` unless a manager overrode it
      (``overridden``, with the public ``reason``) or overrides elsewhere moved the remainder.
    """

    area_id: AreaId
    name: str
    grades: tuple[GradeCell, ...]
    weighted_total: Fraction
    share: Fraction
    formula_amount: int
    amount: int
    overridden: bool = False
    reason: str = ""

    def grade(self, key: str) -> int:
        """The grade for criterion ``key``; `KeyError` if the split has no such criterion."""
        for cell in self.grades:
            if cell.key == key:
                return cell.grade
        raise KeyError(key)


@dataclass(frozen=True)
class SplitResult:
    """A computed split: rows in the order the areas were given.

    Invariant: ``sum(row.amount for row in rows) == budget``. ``equal_split`` is True when every
    area's weighted total was 0, so no criterion could tell areas apart and each got 1/n.
    """

    rows: tuple[SplitRow, ...]
    budget: int
    criteria: tuple[Criterion, ...]
    currency: str = "GBP"
    theme: str | None = None
    equal_split: bool = False

    def amounts(self) -> dict[AreaId, int]:
        """Area id to amount in minor units."""
        return {row.area_id: row.amount for row in self.rows}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form for publishing (``Round.split_result``).

        Fractions are text, "p/q" (or "p" when whole), readable back with ``Fraction(text)``;
        each share also comes as a percentage with one decimal ("33.3%", half rounded up).
        ``amount_share`` is the amount actually given over the budget (differs from ``share``
        after overrides).
        """
        return {
            "budget": self.budget,
            "currency": self.currency,
            "theme": self.theme,
            "equal_split": self.equal_split,
            "total_weighted": str(sum((r.weighted_total for r in self.rows), Fraction(0))),
            "criteria": criteria_to_config(self.criteria),
            "rows": [self._row_dict(row) for row in self.rows],
        }

    def _row_dict(self, row: SplitRow) -> dict[str, Any]:
        amount_share = Fraction(row.amount, self.budget) if self.budget else Fraction(0)
        return {
            "area_id": row.area_id,
            "area_name": row.name,
            "grade_list": [
                {
                    "key": cell.key,
                    "value": str(cell.value),
                    "grade": cell.grade,
                    "weight": str(cell.weight),
                    "points": str(cell.points),
                }
                for cell in row.grades
            ],
            "weighted_total": str(row.weighted_total),
            "share": str(row.share),
            "percentage": _percent(row.share),
            "formula_amount": row.formula_amount,
            "amount": row.amount,
            "amount_share": str(amount_share),
            "amount_percentage": _percent(amount_share),
            "overridden": row.overridden,
            "reason": row.reason,
        }


def _percent(share: Fraction) -> str:
    """``share`` as a percentage with one decimal, half rounded up: 1/3 -> "33.3%"."""
    tenths = share * 1000
    whole = (tenths.numerator * 2 + tenths.denominator) // (tenths.denominator * 2)
    sign = "-" if whole < 0 else ""
    units, decimal = divmod(abs(whole), 10)
    return f"{sign}{units}.{decimal}%"


# --- Computation -----------------------------------------------------------------------------


def largest_remainder(total: int, weights: Mapping[str, Fraction]) -> dict[str, int]:
    """Share ``total`` minor units in proportion to ``weights`` so the parts sum to ``total``.

    Each key gets floor(total x w / W), W the sum of weights; the units left over (fewer than the
    number of keys) go one each to the largest remainders, ties broken by key, smallest first.
    If W is 0 every key weighs the same. Requires ``total >= 0``, weights >= 0, at least one key.
    """
    if total < 0:
        raise SplitError(
            gettext_noop("The amount to share cannot be negative (%(total)s)."), total=total
        )
    if not weights:
        raise SplitError(gettext_noop("There is nobody to share the amount between."))
    if any(w < 0 for w in weights.values()):
        raise SplitError(gettext_noop("Weights cannot be negative."))
    weight_sum = sum(weights.values(), Fraction(0))
    if weight_sum == 0:
        weights = {key: Fraction(1) for key in weights}
        weight_sum = Fraction(len(weights))
    parts: dict[str, int] = {}
    remainders: dict[str, Fraction] = {}
    for key, weight in weights.items():
        quota = total * weight / weight_sum
        parts[key] = quota.numerator // quota.denominator
        remainders[key] = quota - parts[key]
    left = total - sum(parts.values())
    for key in sorted(remainders, key=lambda k: (-remainders[k], k))[:left]:
        parts[key] += 1
    return parts


def _check_budget(budget_minor: int) -> None:
    if isinstance(budget_minor, bool) or not isinstance(budget_minor, int):
        raise SplitError(
            gettext_noop("The budget must be a whole number of minor units, not %(budget)s."),
            budget=repr(budget_minor),
        )
    if budget_minor < 0:
        raise SplitError(
            gettext_noop("The budget cannot be negative (%(budget)s)."), budget=budget_minor
        )


def _keys_of(areas: Sequence[AreaInput]) -> list[str]:
    keys = [str(area.area_id) for area in areas]
    if len(set(keys)) != len(keys):
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        raise SplitError(
            gettext_noop("Each area can be listed only once (repeated: %(areas)s)."),
            areas=", ".join(duplicates),
        )
    return keys


def compute_split(
    budget_minor: int,
    criteria: Sequence[Criterion],
    areas: Sequence[AreaInput],
    *,
    currency: str = "GBP",
    theme: str | None = None,
) -> SplitResult:
    """Split ``budget_minor`` between ``areas`` by the weighted grades of ``criteria``.

    Contract: amounts are non-negative ints summing exactly to ``budget_minor``; an area with a
    larger weighted total never gets less; the result does not depend on the order of ``areas``
    (rows keep that order). If every weighted total is 0 the budget is split equally and
    ``equal_split`` is set: nothing distinguishes the areas, and refusing would leave the money
    unallocated, while an equal split is what a manager would do by hand and is visible as such.

    Raises `SplitError` for: a negative or non-integer budget, no areas, an area listed twice, an
    area missing a value for a criterion or with a negative value, unusable criteria (see
    `validate_criteria`), or a value above a closed last band.
    """
    _check_budget(budget_minor)
    criteria = tuple(criteria)
    validate_criteria(criteria)
    if not areas:
        raise SplitError(gettext_noop("Add at least one area to split the budget between."))
    keys = _keys_of(areas)

    cells_by_area: list[tuple[GradeCell, ...]] = []
    totals: dict[str, Fraction] = {}
    for key, area in zip(keys, areas, strict=True):
        cells = []
        for criterion in criteria:
            if criterion.key not in area.values:
                raise SplitError(
                    gettext_noop("%(area)s has no value for %(criterion)s."),
                    area=area.name,
                    criterion=criterion.label,
                )
            value = area.values[criterion.key]
            _check_value(
                value,
                gettext_noop("%(area)s's value for %(criterion)s")
                % {"area": area.name, "criterion": criterion.label},
            )
            grade = grade_for(value, criterion.bands)
            cells.append(
                GradeCell(
                    key=criterion.key,
                    value=value,
                    grade=grade,
                    weight=criterion.weight,
                    points=Fraction(grade) * criterion.weight,
                )
            )
        cells_by_area.append(tuple(cells))
        totals[key] = sum((cell.points for cell in cells), Fraction(0))

    grand_total = sum(totals.values(), Fraction(0))
    equal = grand_total == 0
    amounts = largest_remainder(budget_minor, totals)
    rows = tuple(
        SplitRow(
            area_id=area.area_id,
            name=area.name,
            grades=cells,
            weighted_total=totals[key],
            share=Fraction(1, len(areas)) if equal else totals[key] / grand_total,
            formula_amount=amounts[key],
            amount=amounts[key],
        )
        for key, area, cells in zip(keys, areas, cells_by_area, strict=True)
    )
    return SplitResult(
        rows=rows,
        budget=budget_minor,
        criteria=criteria,
        currency=currency,
        theme=theme,
        equal_split=equal,
    )


def apply_overrides(
    split: SplitResult,
    overrides: Mapping[str, int] | Mapping[int, int] | Mapping[AreaId, int],
    *,
    reasons: Mapping[str, str] | Mapping[int, str] | Mapping[AreaId, str],
) -> SplitResult:
    """Set some areas' amounts by hand and share the rest of the budget among the others.

    Overrides always start from the formula: any earlier override on ``split`` is dropped, so pass
    the complete set each time. Each overridden area gets exactly its amount and its public reason;
    the remaining budget (budget - sum of overrides) is shared between the other areas in
    proportion to their weighted totals (equally if those are all 0), by largest remainder. Shares
    (``share``) and formula amounts stay as the formula gave them, for comparison.

    Raises `SplitError` when: an override names an area not in the split; an amount is negative
    or not an int; a reason is missing or blank; the overrides add up to more than the budget; or
    every area is overridden and the overrides do not add up to the budget exactly.
    Area ids match as text, so ``3`` and ``"3"`` name the same area.
    """
    by_key = {str(row.area_id): row for row in split.rows}
    wanted: dict[str, int] = {}
    for area_id, amount in overrides.items():
        key = str(area_id)
        if key not in by_key:
            raise SplitError(gettext_noop("Area %(area)s is not part of this split."), area=area_id)
        if key in wanted:
            raise SplitError(gettext_noop("Area %(area)s is overridden twice."), area=area_id)
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise SplitError(
                gettext_noop(
                    "The amount for %(area)s must be a whole number of minor units, "
                    "0 or more (got %(amount)s)."
                ),
                area=by_key[key].name,
                amount=repr(amount),
            )
        wanted[key] = amount
    reason_by_key = {str(k): v for k, v in reasons.items()}
    for key in wanted:
        reason = reason_by_key.get(key, "")
        if not isinstance(reason, str) or not reason.strip():
            raise SplitError(
                gettext_noop("Give a public reason for changing the amount for %(area)s."),
                area=by_key[key].name,
            )

    overridden_total = sum(wanted.values())
    if overridden_total > split.budget:
        raise SplitError(
            gettext_noop(
                "The changed amounts add up to %(total)s, more than the budget of "
                "%(budget)s (by %(over)s)."
            ),
            total=overridden_total,
            budget=split.budget,
            over=overridden_total - split.budget,
        )
    rest = {key: row.weighted_total for key, row in by_key.items() if key not in wanted}
    remaining = split.budget - overridden_total
    if not rest and remaining:
        raise SplitError(
            gettext_noop(
                "Every area's amount was changed, and they add up to %(total)s, not the "
                "budget of %(budget)s: %(remaining)s would be left unassigned."
            ),
            total=overridden_total,
            budget=split.budget,
            remaining=remaining,
        )
    shared = largest_remainder(remaining, rest) if rest else {}

    rows = []
    for row in split.rows:
        key = str(row.area_id)
        if key in wanted:
            rows.append(
                replace(row, amount=wanted[key], overridden=True, reason=reason_by_key[key].strip())
            )
        else:
            rows.append(replace(row, amount=shared[key], overridden=False, reason=""))
    return replace(split, rows=tuple(rows))
