"""pabutools 1.2.3 as the reference for the tally engine (tests and bench only).

The sat classes realise the rules as issue 6 defines them:

- ``greedy`` funds projects in decreasing *total score*. pabutools' greedy orders by
  total satisfaction divided by cost, so the satisfaction used is score x cost: ``Cost_Sat``
  for approval/choose-1 ballots, and points x cost (cumulative, scoring) or Borda x cost
  (ordinal) through pabutools' own ``AdditiveSatisfaction``.
- ``mes`` is ``method_of_equal_shares`` with utility = cost (``Cost_Sat``) for approval,
  points (``Additive_Cardinal_Sat``) for cumulative/scoring, Borda (``Additive_Borda_Sat``,
  k - p - 1) for ordinal; completed by the greedy above through
  ``completion_by_rule_combination``.
- ``mes-add1`` is ``method_of_equal_shares`` with ``voter_budget_increment=1``.

Projects whose total score is zero are dropped from pabutools' outcome (its greedy would fund
them with money left over; ours never does).

Run as a script for the benchmark: ``python tests/tally/pabutools_reference.py FILE RULE``
prints the winners as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from pabutools.election import (
    AbstractApprovalProfile,
    AbstractCardinalProfile,
    Additive_Borda_Sat,
    Additive_Cardinal_Sat,
    Cost_Sat,
    parse_pabulib,
)
from pabutools.election.satisfaction.additivesatisfaction import AdditiveSatisfaction
from pabutools.rules import (
    completion_by_rule_combination,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)


class PointsTimesCostSat(AdditiveSatisfaction):  # type: ignore[misc]
    """Points x cost, so that pabutools' greedy (sat / cost) orders by total points."""

    def __init__(self, instance: Any, profile: Any, ballot: Any) -> None:
        super().__init__(
            instance, profile, ballot, lambda _i, _p, b, proj, _pre: b.get(proj, 0) * proj.cost
        )


class BordaTimesCostSat(AdditiveSatisfaction):  # type: ignore[misc]
    """Borda score (k - p - 1) x cost, so that pabutools' greedy orders by total Borda score."""

    def __init__(self, instance: Any, profile: Any, ballot: Any) -> None:
        def func(_i: Any, _p: Any, b: Any, proj: Any, _pre: Any) -> Any:
            return (len(b) - b.position(proj) - 1) * proj.cost if proj in b else 0

        super().__init__(instance, profile, ballot, func)


def sat_classes(profile: Any) -> tuple[Any, Any]:
    """(greedy sat class, MES sat class) for a pabutools profile."""
    if isinstance(profile, AbstractApprovalProfile):
        return Cost_Sat, Cost_Sat
    if isinstance(profile, AbstractCardinalProfile):
        return PointsTimesCostSat, Additive_Cardinal_Sat
    return BordaTimesCostSat, Additive_Borda_Sat


def total_scores(profile: Any) -> dict[str, Any]:
    """Total score per project name (approvals, points or Borda score)."""
    scores: dict[str, Any] = {}
    for ballot in profile:
        mult = profile.multiplicity(ballot)
        if isinstance(profile, AbstractApprovalProfile):
            items = [(p, 1) for p in ballot]
        elif isinstance(profile, AbstractCardinalProfile):
            items = [(p, ballot[p]) for p in ballot]
        else:
            items = [(p, len(ballot) - ballot.position(p) - 1) for p in ballot]
        for p, s in items:
            scores[p.name] = scores.get(p.name, 0) + s * mult
    return scores


def reference_winners(path: str, rule: str) -> list[str]:
    """Project names pabutools funds under ``rule`` (set semantics, sorted as text)."""
    instance, profile = parse_pabulib(path)
    greedy_sat, mes_sat = sat_classes(profile)
    if rule == "greedy":
        outcome = greedy_utilitarian_welfare(instance, profile, sat_class=greedy_sat)
    elif rule == "mes":
        outcome = completion_by_rule_combination(
            instance,
            profile,
            [method_of_equal_shares, greedy_utilitarian_welfare],
            [{"sat_class": mes_sat}, {"sat_class": greedy_sat}],
        )
    elif rule == "mes-add1":
        outcome = method_of_equal_shares(
            instance, profile, sat_class=mes_sat, voter_budget_increment=1
        )
    else:
        raise ValueError(rule)
    scores = total_scores(profile)
    return sorted(p.name for p in outcome if scores.get(p.name, 0) > 0)


if __name__ == "__main__":
    started = time.perf_counter()
    winners = reference_winners(sys.argv[1], sys.argv[2])
    print(json.dumps({"winners": winners, "seconds": time.perf_counter() - started}))
