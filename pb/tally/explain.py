"""Plain-English explanations, one per project, for outcome reports and "why not" messages."""

from __future__ import annotations

from fractions import Fraction

from pb.tally.model import Counted, Decision, Explanation, Outcome


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def amount(value: Fraction) -> str:
    """Money for a sentence: "1,200,000", "827,838.50" (exact value is in the JSON)."""
    if value.denominator == 1:
        return f"{value.numerator:,}"
    cents = round(value * 100)
    return f"{cents // 100:,}.{cents % 100:02d}"


def score_text(score: int, vote_type: str) -> str:
    if vote_type in ("approval", "choose-1"):
        return f"{score:,} vote" + ("" if score == 1 else "s")
    if vote_type == "ordinal":
        return f"{score:,} Borda point" + ("" if score == 1 else "s")
    return f"{score:,} point" + ("" if score == 1 else "s")


def people(n: int, word: str = "supporter") -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def explain(c: Counted, d: Decision, rule: str, min_share: Fraction | None) -> Outcome:
    """Turn a rule's decision into an ``Outcome`` with one ``Explanation`` per project."""
    vote_type = c.election.vote_type
    rank = {i: r + 1 for r, i in enumerate(d.winners)}
    explanations: dict[str, Explanation] = {}
    for i, pid in enumerate(c.ids):
        reason = d.reasons.get(i, "no_support" if c.scores[i] == 0 else "did_not_fit")
        score = score_text(c.scores[i], vote_type)
        phase = d.phase.get(i, "")
        paid = d.paid.get(i)
        if reason == "funded":
            head = f"Funded ({ordinal(rank[i])}): {score}"
            if phase == "mes":
                if c.costs[i] == 0:
                    sentence = f"{head}; it costs nothing, so it was funded first."
                else:
                    sentence = (
                        f"{head}; its {people(c.supporters[i])} paid for it from their "
                        "equal shares."
                    )
            elif phase == "completion":
                sentence = (
                    f"{head}; paid from the money left after the equal shares were spent, "
                    "taking projects in order of score."
                )
            else:
                sentence = f"{head}; funded in order of score while the money lasted."
        elif reason == "did_not_fit":
            left = d.left_at_turn.get(i, Fraction(0))
            if d.stopped_at is not None and d.stopped_at != i:
                sentence = (
                    f"Not funded: {score}; counting stopped at project {c.ids[d.stopped_at]}, "
                    "the first that did not fit the money left."
                )
            else:
                sentence = (
                    f"Not funded: {score}, but it costs {amount(c.costs[i])} and only "
                    f"{amount(left)} was left when its turn came."
                )
        elif reason == "below_threshold":
            if d.threshold is not None:
                minimum = score_text(d.threshold, vote_type)
                sentence = (
                    f"Not funded: {score}, below the minimum of {minimum} a project needed "
                    "to take part."
                )
            else:
                share = min_share or Fraction(0)
                sentence = (
                    f"Not funded: {people(c.supporters[i])} of {c.num_voters:,} voters, "
                    f"below the minimum share of {float(share) * 100:.4g}% needed to take part."
                )
        elif reason == "shares_exhausted":
            sentence = (
                f"Not funded: {score}; its {people(c.supporters[i])}' equal shares could not "
                f"cover its cost of {amount(c.costs[i])}, and it did not fit the money left "
                "afterwards."
            )
        else:
            sentence = "Not funded: nobody voted for it."
        explanations[pid] = Explanation(
            project_id=pid,
            funded=reason == "funded",
            rank=rank.get(i),
            score=c.scores[i],
            supporters=c.supporters[i],
            reason=reason,
            sentence=sentence,
            paid_by_supporters=paid,
            phase=phase,
        )
    total = sum((c.costs[i] for i in d.winners), Fraction(0))
    return Outcome(
        rule=rule,
        winners=tuple(c.ids[i] for i in d.winners),
        total_cost=total,
        budget=c.election.budget,
        explanations=explanations,
        num_voters=c.num_voters,
        min_share=min_share,
        details={k: str(v) if isinstance(v, Fraction) else v for k, v in (d.details or {}).items()},
    )
