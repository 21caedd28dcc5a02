"""The Method of Equal Shares, exact and fast.

Definitions follow equalshares.net and pabutools 1.2.3's ``method_of_equal_shares``: every voter
starts with the same share of the budget; a voter's utility for project j is ``w_j * a_ij``
(``w_j`` = cost and ``a_ij`` = 1 for approval ballots, ``w_j`` = 1 and ``a_ij`` = points or
Borda score otherwise); each round funds the project with the smallest rho such that its
supporters, each paying ``min(money left, rho * utility)``, cover its cost (ties: smallest id as
text); it stops when no project can be covered.

How it stays exact and fast:

- no floats at all: money is counted in integer units of a common denominator that grows
  when a price does not divide evenly (Python integers are exact and do not overflow);
- voters are grouped twice: identical ballots are one group with a multiplicity, and groups
  whose remaining money is equal share a *money class*; a project's supporters are summarised
  by counting, per (money class, points), how many voters there are (one NumPy ``bincount``),
  so the exact rho is computed over a handful of classes, not over every voter;
- rho of a project never decreases as voters spend money, so the last computed rho is a lower
  bound: each round re-computes only the projects whose bound could beat the best so far
  (a heap ordered by (bound, id)).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Any

import numpy as np


@dataclass
class Supporters:
    """Per project, the ballot groups that give it a positive score and the score they give."""

    groups: list[Any]  # per project: int64 array of group indices
    points: list[Any]  # per project: int64 array of a_ij (> 0), same length
    max_points: int


def build_supporters(
    num_projects: int,
    ballots: Sequence[tuple[int, ...]],
    points: Sequence[tuple[int, ...]] | None,
    ordinal: bool,
) -> Supporters:
    """Invert ballots (group -> projects) into project -> (groups, points); 0 points dropped."""
    from itertools import chain

    lengths = np.fromiter(map(len, ballots), dtype=np.int64, count=len(ballots))
    total = int(lengths.sum())
    proj = np.fromiter(chain.from_iterable(ballots), dtype=np.int64, count=total)
    group = np.repeat(np.arange(len(ballots), dtype=np.int64), lengths)
    if ordinal:
        # position p on a ballot of length k scores k - p - 1
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        pos = np.arange(total, dtype=np.int64) - starts
        pts = np.repeat(lengths, lengths) - pos - 1
    elif points is not None:
        pts = np.fromiter(chain.from_iterable(points), dtype=np.int64, count=total)
    else:
        pts = np.ones(total, dtype=np.int64)
    keep = pts > 0
    proj, group, pts = proj[keep], group[keep], pts[keep]
    order = np.argsort(proj, kind="stable")
    proj, group, pts = proj[order], group[order], pts[order]
    bounds = np.searchsorted(proj, np.arange(num_projects + 1))
    groups = [group[bounds[j] : bounds[j + 1]] for j in range(num_projects)]
    pts_list = [pts[bounds[j] : bounds[j + 1]] for j in range(num_projects)]
    return Supporters(groups, pts_list, int(pts.max()) if len(pts) else 1)


@dataclass
class MESResult:
    """Projects funded by MES (no completion), in order, with what each one's supporters paid."""

    funded: list[int]
    paid: dict[int, Fraction]
    rho: dict[int, Fraction]
    spent: Fraction
    classes: MoneyClasses | None = None

    def remaining(self) -> list[Fraction]:
        """Money left to each voter of each ballot group (built on request: it is long)."""
        assert self.classes is not None
        amounts, scale = self.classes.amounts, self.classes.scale
        return [Fraction(amounts[c], scale) for c in self.classes.of_group.tolist()]


class MoneyClasses:
    """Remaining money per ballot group, as a class id per group into a table of amounts.

    Groups with equal remaining money share a class, so the number of classes stays small.
    Amounts are exact integers counted in units of ``1 / scale``: when a price does not divide
    evenly, every amount is multiplied up (Python integers do not overflow), which keeps
    ``Fraction`` arithmetic, and its gcd on every operation, out of the inner loops.
    """

    def __init__(self, num_groups: int, share: Fraction, costs: Sequence[Fraction]) -> None:
        scale = share.denominator
        for cost in costs:
            scale = scale * cost.denominator // gcd(scale, cost.denominator)
        self.scale = scale
        first = share.numerator * (scale // share.denominator)
        self.amounts: list[int] = [first]
        self.ids: dict[int, int] = {first: 0}
        self.of_group = np.zeros(num_groups, dtype=np.int64)

    def class_of(self, amount: int) -> int:
        c = self.ids.get(amount)
        if c is None:
            c = len(self.amounts)
            self.ids[amount] = c
            self.amounts.append(amount)
        return c

    def rescale(self, factor: int) -> None:
        """Count in units ``factor`` times smaller (amounts are unchanged in value)."""
        if factor != 1:
            self.scale *= factor
            self.amounts = [x * factor for x in self.amounts]
            self.ids = {x: i for i, x in enumerate(self.amounts)}

    def units(self, money: Fraction) -> int:
        """``money`` in the current units (exact: scale is a multiple of every denominator)."""
        return money.numerator * (self.scale // money.denominator)


def _summary(
    classes: MoneyClasses, groups: Any, pts: Any, mult: Any, max_points: int
) -> tuple[Any, Any]:
    """(keys, counts): voters per (money class, points) among a project's supporters.

    key = class * (max_points + 1) + points; counts are numbers of voters (multiplicity).
    """
    keys = classes.of_group[groups] * (max_points + 1) + pts
    weights = mult[groups]
    size = len(classes.amounts) * (max_points + 1)
    if size <= 4 * len(keys) + 1024:
        counts = np.bincount(keys, weights=weights, minlength=size)
        nz = np.flatnonzero(counts)
        return nz, counts[nz]
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, np.bincount(inverse, weights=weights)


def _rho(
    cost: int, keys: Any, counts: Any, classes: MoneyClasses, max_points: int, lcm_points: int
) -> tuple[int, int] | None:
    """Smallest r with sum over supporters of min(money, r * points) >= cost, or None.

    ``cost`` and the answer are in the units of ``classes``; r is returned as (numerator,
    denominator). Integers only: supporters are sorted by money / points through the exact
    integer key money * (lcm_points / points).
    """
    entries: list[tuple[int, int, int, int]] = []
    available = 0
    denom = 0
    amounts = classes.amounts
    width = max_points + 1
    for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
        money = amounts[key // width]
        if money:
            a = key % width
            m = int(count)  # exact: counts are sums of integers far below 2**53
            entries.append((money * (lcm_points // a), money, a, m))
            available += money * m
            denom += a * m
    if available < cost:
        return None
    entries.sort()
    covered = 0
    for _, money, a, m in entries:
        # r = (cost - covered) / denom is enough for this supporter iff r * a <= money
        if (cost - covered) * a <= money * denom:
            return cost - covered, denom
        covered += money * m
        denom -= a * m
    raise AssertionError("unreachable: available >= cost")  # pragma: no cover


def equal_shares(
    costs: Sequence[Fraction],
    weights: Sequence[Fraction],
    order_key: Sequence[int],
    candidates: Sequence[int],
    supporters: Supporters,
    mult: Any,
    share: Fraction,
) -> MESResult:
    """Run MES (without completion) over ``candidates`` (projects with cost > 0 and score > 0).

    ``weights[j]`` scales utilities (cost for approval ballots, 1 otherwise); ``order_key[j]``
    is the project's rank when ids are sorted as text (the tie-break); ``share`` is each voter's
    starting money. Budgets never go below zero and a voter never pays more than they have.
    """
    classes = MoneyClasses(len(mult), share, [costs[j] for j in candidates])
    width = supporters.max_points + 1
    lcm_points = 1
    for a in range(1, width):
        lcm_points = lcm_points * a // gcd(lcm_points, a)
    heap: list[tuple[Fraction, int, int]] = []
    for j in candidates:
        total = int((mult[supporters.groups[j]] * supporters.points[j]).sum())
        # with full shares the bound cost / (w * total points) is the true rho or below it
        heap.append((costs[j] / (weights[j] * total), order_key[j], j))
    heapq.heapify(heap)
    funded: list[int] = []
    paid: dict[int, Fraction] = {}
    rhos: dict[int, Fraction] = {}
    spent = Fraction(0)
    while heap:
        best: tuple[Fraction, int, int, tuple[int, int], Any] | None = None
        fresh: list[tuple[Fraction, int, int]] = []
        while heap and (best is None or heap[0][0] <= best[0]):
            _, tie, j = heapq.heappop(heap)
            keys, counts = _summary(
                classes, supporters.groups[j], supporters.points[j], mult, supporters.max_points
            )
            r = _rho(
                classes.units(costs[j]), keys, counts, classes, supporters.max_points, lcm_points
            )
            if r is None:
                continue  # its supporters can never cover it again: money only decreases
            rho = Fraction(r[0], r[1] * classes.scale) / weights[j]
            if best is None or (rho, tie) < (best[0], best[1]):
                if best is not None:
                    fresh.append((best[0], best[1], best[2]))
                best = (rho, tie, j, r, keys)
            else:
                fresh.append((rho, tie, j))
        if best is None:
            break
        for item in fresh:
            heapq.heappush(heap, item)
        rho, _, j, (num, den), keys = best
        # Pay: each supporter in (class, points a) pays min(money, num / den * a). Count in
        # units den / g times smaller so that every price is a whole number of units.
        g = gcd(num, den)
        classes.rescale(den // g)
        unit_price = num // g
        new_class = np.empty(int(keys.max()) + 1, dtype=np.int64)
        amounts = classes.amounts
        for key in keys.tolist():
            money = amounts[key // width]
            price = unit_price * (key % width)
            new_class[key] = classes.class_of(money - price if price < money else 0)
        groups = supporters.groups[j]
        classes.of_group[groups] = new_class[
            classes.of_group[groups] * width + supporters.points[j]
        ]
        funded.append(j)
        paid[j] = costs[j]
        rhos[j] = rho
        spent += costs[j]
    return MESResult(funded, paid, rhos, spent, classes)
