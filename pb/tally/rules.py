"""The counting rules: greedy (three variants), MES completed by greedy, and MES with Add1.

``tally(election, rule)`` returns an ``Outcome`` with the funded projects in selection order
and an explanation for every project. Every decision is made on ``int`` or ``Fraction``.
Ties are broken by project id compared as text; a project with total score zero is never
funded.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from pb.tally.explain import explain
from pb.tally.model import Counted, Decision, Election, Outcome, TallyError

RULES = ("greedy", "greedy-no-skip", "greedy-threshold", "mes", "mes-add1")


def count(election: Election) -> Counted:
    """Total score and number of supporters per project (pure Python: no NumPy needed)."""
    t = election.table()
    n = len(election.projects)
    scores = [0] * n
    supporters = [0] * n
    if t.points is not None:
        for ballot, pts, m in zip(t.ballots, t.points, t.mult, strict=True):
            for i, x in zip(ballot, pts, strict=True):
                if x:
                    scores[i] += x * m
                    supporters[i] += m
    elif election.vote_type == "ordinal":
        for ballot, m in zip(t.ballots, t.mult, strict=True):
            k = len(ballot)
            for p, i in enumerate(ballot):
                if k - p - 1:
                    scores[i] += (k - p - 1) * m
                    supporters[i] += m
    else:
        for ballot, m in zip(t.ballots, t.mult, strict=True):
            if m == 1:
                for i in ballot:
                    scores[i] += 1
            else:
                for i in ballot:
                    scores[i] += m
        supporters = list(scores)
    ids = [p.id for p in election.projects]
    tie = [0] * n
    for rank, i in enumerate(sorted(range(n), key=ids.__getitem__)):
        tie[i] = rank
    by_score = sorted(range(n), key=lambda i: (-scores[i], tie[i]))
    return Counted(
        election,
        ids,
        [p.cost for p in election.projects],
        scores,
        supporters,
        t.num_voters,
        tie,
        by_score,
    )


def _greedy(
    c: Counted,
    budget: Fraction,
    order: Sequence[int],
    funded: list[int],
    *,
    skip: bool = True,
    phase: str = "",
    decision: Decision | None = None,
) -> Decision:
    """Fund ``order`` in turn while money lasts, after the already ``funded`` projects."""
    d = decision or Decision([], {}, {}, {}, {})
    left = budget - sum((c.costs[i] for i in funded), Fraction(0))
    taken = set(funded)
    stopped = False
    for i in order:
        if i in taken:
            continue
        if c.scores[i] == 0:
            d.reasons[i] = "no_support"
            continue
        if stopped:
            d.reasons[i] = "did_not_fit"
            d.left_at_turn[i] = left
            continue
        if c.costs[i] <= left:
            left -= c.costs[i]
            d.winners.append(i)
            taken.add(i)
            d.reasons[i] = "funded"
            d.phase[i] = phase
        else:
            d.reasons[i] = "did_not_fit"
            d.left_at_turn[i] = left
            if not skip:
                stopped = True
                d.stopped_at = i
    return d


def _mes(c: Counted, share_increment: int | None) -> Decision:
    """MES; completed by greedy (``share_increment`` None) or by Add1 (increment 1)."""
    from pb.tally import mes as mes_engine

    e = c.election
    t = e.table()
    n = c.num_voters
    d = Decision([], {}, {}, {}, {})
    # Projects costing nothing are funded first, as pabutools does (nobody pays for them).
    free = [i for i in sorted(range(len(c.ids)), key=c.tie.__getitem__) if c.scores[i] > 0]
    free = [i for i in free if c.costs[i] == 0]
    candidates = [i for i in range(len(c.ids)) if c.scores[i] > 0 and c.costs[i] > 0]
    if n == 0 or not candidates:
        for i in free:
            d.winners.append(i)
            d.reasons[i] = "funded"
            d.phase[i] = "mes"
            d.paid[i] = Fraction(0)
        return _greedy(c, e.budget, c.by_score, d.winners, phase="completion", decision=d)
    import numpy as np

    supporters = mes_engine.build_supporters(
        len(c.ids), t.ballots, t.points, e.vote_type == "ordinal"
    )
    mult = np.asarray(t.mult, dtype=np.int64)
    approval = e.vote_type in ("approval", "choose-1")
    weights = [cost if approval else Fraction(1) for cost in c.costs]

    def run(share: Fraction) -> mes_engine.MESResult:
        return mes_engine.equal_shares(c.costs, weights, c.tie, candidates, supporters, mult, share)

    base = e.budget / n
    if share_increment is None:
        result = run(base)
        iterations = 1
    else:
        # Add1 as issue 6 and equalshares.net define it: raise every share by 1 (currency unit)
        # for k = 0, 1, 2, ... and keep the last outcome that fits the real budget. Unlike
        # pabutools' voter_budget_increment it does not stop at the first exhaustive outcome:
        # that stop misses Wieliczka 2023's published result (k = 154..164 reproduce it).
        previous: mes_engine.MESResult | None = None
        k = 0
        while True:
            outcome = run(base + k * share_increment)
            if outcome.spent > e.budget:
                result = previous or mes_engine.MESResult([], {}, {}, Fraction(0))
                break
            if len(outcome.funded) == len(candidates):
                result = outcome  # everything is funded: more money changes nothing
                break
            previous = outcome
            k += 1
        iterations = k + 1
        d.details = {"share_increment_steps": k, "final_share": base + k * share_increment}
    for i in free:
        d.winners.append(i)
        d.reasons[i] = "funded"
        d.phase[i] = "mes"
        d.paid[i] = Fraction(0)
    for i in result.funded:
        d.winners.append(i)
        d.reasons[i] = "funded"
        d.phase[i] = "mes"
        d.paid[i] = result.paid[i]
    d.details = {**(d.details or {}), "mes_iterations": iterations}
    if share_increment is None:
        _greedy(c, e.budget, c.by_score, list(d.winners), phase="completion", decision=d)
    else:
        spent = sum((c.costs[i] for i in d.winners), Fraction(0))
        for i in range(len(c.ids)):
            if i not in d.reasons:
                d.reasons[i] = "no_support" if c.scores[i] == 0 else "shares_exhausted"
                d.left_at_turn[i] = e.budget - spent
    # Under MES a project left out had supporters whose shares could not cover it.
    for i, reason in list(d.reasons.items()):
        if reason == "did_not_fit":
            d.reasons[i] = "shares_exhausted"
    return d


def tally(election: Election, rule: str, *, min_share: Fraction | None = None) -> Outcome:
    """Count ``election`` under ``rule`` (one of ``RULES``).

    ``min_share`` (greedy-threshold only): the share of voters (0..1) who must support a
    project for it to take part. Without it, greedy-threshold uses the META entry
    ``min_project_score_threshold`` as the minimum total score; with neither it is an error.
    Raises ``TallyError`` for an unknown rule or a bad threshold.
    """
    if rule not in RULES:
        raise TallyError(f"unknown rule {rule!r} (expected one of {', '.join(RULES)})")
    if min_share is not None:
        min_share = Fraction(min_share)
        if not 0 <= min_share <= 1:
            raise TallyError(f"min share must be between 0 and 1, not {min_share}")
        if rule != "greedy-threshold":
            raise TallyError("--min-share only applies to the greedy-threshold rule")
    c = count(election)
    if rule == "greedy":
        d = _greedy(c, election.budget, c.by_score, [])
    elif rule == "greedy-no-skip":
        d = _greedy(c, election.budget, c.by_score, [], skip=False)
    elif rule == "greedy-threshold":
        if min_share is not None:
            # supporters >= min_share * n, compared exactly
            ok = [
                c.supporters[i] * min_share.denominator >= min_share.numerator * c.num_voters
                for i in range(len(c.ids))
            ]
            threshold = None
        else:
            raw = election.meta.get("min_project_score_threshold")
            if raw is None:
                raise TallyError(
                    "greedy-threshold needs --min-share (or META min_project_score_threshold)"
                )
            try:
                threshold_value = Fraction(raw.replace(",", "."))
            except (ValueError, ZeroDivisionError):
                raise TallyError(
                    f"META min_project_score_threshold is not a number: {raw!r}"
                ) from None
            ok = [c.scores[i] >= threshold_value for i in range(len(c.ids))]
            threshold = int(threshold_value)
        order = [i for i in c.by_score if ok[i]]
        d = _greedy(c, election.budget, order, [])
        d.threshold = threshold
        for i in range(len(c.ids)):
            if not ok[i]:
                d.reasons[i] = "no_support" if c.scores[i] == 0 else "below_threshold"
    elif rule == "mes":
        d = _mes(c, None)
    else:
        d = _mes(c, 1)
    return explain(c, d, rule, min_share)
