"""Plain-English explanations, one per project, for outcome reports and "why not" messages."""

from __future__ import annotations

from fractions import Fraction

from pb.tally.model import Counted, Decision, Explanation, Outcome
from pb.tally.wording import (
    ENGLISH,
    Amount,
    Ordinal,
    Percent,
    Phrase,
    gettext_noop,
    ngettext_lazy,
    say,
)


def score_phrase(score: int, vote_type: str) -> Phrase:
    if vote_type in ("approval", "choose-1"):
        return ngettext_lazy("%(n)s vote", "%(n)s votes", score, n=score)
    if vote_type == "ordinal":
        return ngettext_lazy("%(n)s Borda point", "%(n)s Borda points", score, n=score)
    return ngettext_lazy("%(n)s point", "%(n)s points", score, n=score)


def supporters_phrase(n: int) -> Phrase:
    return ngettext_lazy("%(n)s supporter", "%(n)s supporters", n, n=n)


def wording(
    c: Counted, d: Decision, i: int, rank: int | None, min_share: Fraction | None
) -> Phrase:
    """Why project ``i`` was or was not funded, as a phrase each reader's language can say."""
    reason = d.reasons.get(i, "no_support" if c.scores[i] == 0 else "did_not_fit")
    score = score_phrase(c.scores[i], c.election.vote_type)
    phase = d.phase.get(i, "")
    if reason == "funded":
        place = Ordinal(rank or 0)
        if phase == "mes" and c.costs[i] == 0:
            return gettext_noop(
                "Funded (%(rank)s): %(score)s; it costs nothing, so it was funded first.",
                rank=place,
                score=score,
            )
        if phase == "mes":
            return gettext_noop(
                "Funded (%(rank)s): %(score)s; its %(supporters)s paid for it from their "
                "equal shares.",
                rank=place,
                score=score,
                supporters=supporters_phrase(c.supporters[i]),
            )
        if phase == "completion":
            return gettext_noop(
                "Funded (%(rank)s): %(score)s; paid from the money left after the equal shares "
                "were spent, taking projects in order of score.",
                rank=place,
                score=score,
            )
        return gettext_noop(
            "Funded (%(rank)s): %(score)s; funded in order of score while the money lasted.",
            rank=place,
            score=score,
        )
    if reason == "did_not_fit":
        if d.stopped_at is not None and d.stopped_at != i:
            return gettext_noop(
                "Not funded: %(score)s; counting stopped at project %(project)s, the first "
                "that did not fit the money left.",
                score=score,
                project=c.ids[d.stopped_at],
            )
        return gettext_noop(
            "Not funded: %(score)s, but it costs %(cost)s and only %(left)s was left when its "
            "turn came.",
            score=score,
            cost=Amount(c.costs[i]),
            left=Amount(d.left_at_turn.get(i, Fraction(0))),
        )
    if reason == "below_threshold":
        if d.threshold is not None:
            return gettext_noop(
                "Not funded: %(score)s, below the minimum of %(minimum)s a project needed to "
                "take part.",
                score=score,
                minimum=score_phrase(d.threshold, c.election.vote_type),
            )
        return gettext_noop(
            "Not funded: %(supporters)s of %(voters)s, below the minimum share of "
            "%(share)s needed to take part.",
            supporters=supporters_phrase(c.supporters[i]),
            voters=ngettext_lazy("%(n)s voter", "%(n)s voters", c.num_voters, n=c.num_voters),
            share=Percent(min_share or Fraction(0)),
        )
    if reason == "shares_exhausted":
        return gettext_noop(
            "Not funded: %(score)s; %(shares)s could not cover its cost of %(cost)s, and it "
            "did not fit the money left afterwards.",
            score=score,
            shares=ngettext_lazy(
                "its %(n)s supporter's equal shares",
                "its %(n)s supporters' equal shares",
                c.supporters[i],
                n=c.supporters[i],
            ),
            cost=Amount(c.costs[i]),
        )
    return gettext_noop("Not funded: nobody voted for it.")


def explain(c: Counted, d: Decision, rule: str, min_share: Fraction | None) -> Outcome:
    """Turn a rule's decision into an ``Outcome`` with one ``Explanation`` per project.

    Each explanation's ``sentence`` is its ``wording`` said in the engine's English."""
    rank = {i: r + 1 for r, i in enumerate(d.winners)}
    explanations: dict[str, Explanation] = {}
    for i, pid in enumerate(c.ids):
        reason = d.reasons.get(i, "no_support" if c.scores[i] == 0 else "did_not_fit")
        phrase = wording(c, d, i, rank.get(i), min_share)
        paid = d.paid.get(i)
        phase = d.phase.get(i, "")
        sentence = say(phrase, ENGLISH)
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
            wording=phrase,
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
