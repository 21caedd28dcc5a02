"""The tally engine on small hand-made and generated elections (no database, no files)."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pb.tally import RULES, Election, Project, TallyError, Vote, tally
from pb.tally import mes as mes_engine
from pb.tally.pabulib import dumps, load, loads
from pb.tally.rules import count

DATA = Path("/work/shared/data/pabulib")


def approval(budget: int, costs: dict[str, int], ballots: list[list[str]]) -> Election:
    return Election(
        [Project(pid, cost) for pid, cost in costs.items()],
        budget,
        [Vote(dict.fromkeys(b, 1)) for b in ballots],
        "approval",
    )


# -- hand-made cases ---------------------------------------------------------------------------


def test_greedy_takes_projects_by_votes_and_skips_what_does_not_fit() -> None:
    e = approval(100, {"a": 80, "b": 30, "c": 20}, [["a", "b"], ["a", "c"], ["a"], ["b"]])
    outcome = tally(e, "greedy")
    assert outcome.winners == ("a", "c")  # b (2 votes, 30) does not fit after a; c (1) does
    assert outcome.total_cost == 100
    assert outcome.explanations["b"].reason == "did_not_fit"
    assert outcome.explanations["c"].rank == 2


def test_greedy_no_skip_stops_at_the_first_project_that_does_not_fit() -> None:
    e = approval(100, {"a": 80, "b": 30, "c": 20}, [["a", "b"], ["a", "c"], ["a"], ["b"]])
    outcome = tally(e, "greedy-no-skip")
    assert outcome.winners == ("a",)
    assert outcome.explanations["c"].reason == "did_not_fit"
    assert "counting stopped at project b" in outcome.explanations["c"].sentence


def test_ties_are_broken_by_project_id_as_text() -> None:
    # "10" < "9" as text, so "10" is taken first and "9" no longer fits
    e = approval(10, {"9": 10, "10": 10}, [["9", "10"]])
    for rule in ("greedy", "greedy-no-skip", "mes", "mes-add1"):
        assert tally(e, rule).winners == ("10",), rule


def test_a_project_nobody_voted_for_is_never_funded() -> None:
    e = approval(100, {"a": 10, "b": 10}, [["a"]])
    for rule in ("greedy", "greedy-no-skip", "mes", "mes-add1"):
        outcome = tally(e, rule)
        assert outcome.winners == ("a",)
        assert outcome.explanations["b"].reason == "no_support"
        assert outcome.explanations["b"].sentence == "Not funded: nobody voted for it."


def test_mes_funds_a_minority_project_paid_from_its_supporters_shares() -> None:
    # 3 voters want a, 1 wants b; budget 40 gives each voter 10.
    e = approval(40, {"a": 20, "a2": 20, "b": 10}, [["a", "a2"]] * 3 + [["b"]])
    outcome = tally(e, "mes")
    assert outcome.winners[:2] == ("a", "b")
    explanation = outcome.explanations["b"]
    assert explanation.paid_by_supporters == 10
    assert explanation.sentence == (
        "Funded (2nd): 1 vote; its 1 supporter paid for it from their equal shares."
    )
    assert tally(e, "greedy").winners == ("a", "a2")


def test_mes_completion_spends_the_money_left_by_score() -> None:
    e = approval(100, {"a": 60, "b": 60, "c": 30}, [["a"], ["b"], ["a", "c"], ["b", "c"]])
    outcome = tally(e, "mes")
    assert outcome.total_cost <= 100
    phases = {pid: ex.phase for pid, ex in outcome.explanations.items() if ex.funded}
    # Four voters share 100: each has 25. a and b (60 each) are paid by two voters (50), so
    # neither is affordable in equal shares; c (30) is, by its two supporters (15 each). The
    # completion (by score) then adds a (2 votes, ties with b broken by id) with the 70 left.
    assert phases == {"c": "mes", "a": "completion"}
    assert outcome.total_cost == 90


def test_cumulative_points_and_rankings_are_scored_as_the_issue_says() -> None:
    projects = [Project("a", 10), Project("b", 10), Project("c", 10)]
    cumulative = Election(projects, 10, [Vote({"a": 1, "b": 3}), Vote({"a": 1})], "cumulative")
    assert count(cumulative).scores == [2, 3, 0]
    # position p on a ballot of length k scores k - p - 1
    ranked = Election(projects, 10, [Vote(["c", "a", "b"]), Vote(["a", "c"], 2)], "ordinal")
    assert count(ranked).scores == [1 + 2, 0, 2 + 0]
    assert tally(ranked, "greedy").winners == ("a",)


def test_a_fractional_budget_is_exact() -> None:
    e = approval("827838.5", {"a": 827838, "b": 1}, [["a"], ["a"], ["b"]])
    outcome = tally(e, "greedy")
    assert outcome.winners == ("a",)
    assert outcome.to_json()["budget"] == "827838.5"
    assert outcome.explanations["b"].sentence.endswith("only 0.50 was left when its turn came.")


def test_greedy_threshold_needs_a_share_or_a_meta_threshold() -> None:
    e = approval(100, {"a": 10}, [["a"]])
    with pytest.raises(TallyError, match="needs --min-share"):
        tally(e, "greedy-threshold")
    with pytest.raises(TallyError, match="unknown rule"):
        tally(e, "plurality")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Project("a", -1), "negative cost"),
        (lambda: Election([Project("a", 1)], 5, [Vote({"b": 1})], "approval"), "unknown project"),
        (lambda: Election([Project("a", 1)] * 2, 5, [], "approval"), "listed twice"),
        (lambda: Election([], 5, [], "plurality"), "unknown vote_type"),
        (lambda: Vote({"a": 1}, 0), "multiplicity"),
        (lambda: Vote(["a", "a"]), "twice"),
    ],
)
def test_invalid_elections_are_refused(make: object, message: str) -> None:
    with pytest.raises(TallyError, match=message):
        make()  # type: ignore[operator]


def test_outcome_json_carries_order_exact_cost_and_details() -> None:
    e = approval(100, {"2": 50, "10": 50, "3": 1}, [["2", "10"], ["2"], ["3"]])
    data = tally(e, "greedy").to_json()
    assert data["winners"] == ["2", "10"]
    assert data["selection_order"] == ["2", "10"]
    assert data["total_cost"] == "100"
    assert data["projects"]["3"]["reason"] == "did_not_fit"
    assert set(data["explanations"]) == {"2", "3", "10"}


# -- pabulib round trip ------------------------------------------------------------------------


def test_an_election_round_trips_through_pabulib_text() -> None:
    e = Election(
        [Project("1", Fraction(1, 2), 'Trees; "big" ones', "nature"), Project("x/2", 30)],
        "100.25",
        [Vote({"1": 2, "x/2": 1}, 3), Vote({"x/2": 3}), Vote({})],
        "cumulative",
        {"description": "Test round", "currency": "GBP"},
    )
    assert loads(dumps(e)) == e


@pytest.mark.parametrize("path", sorted(DATA.glob("*.pb")), ids=lambda p: p.stem)
def test_real_files_keep_projects_votes_and_meta_through_a_round_trip(path: Path) -> None:
    election = load(path)
    again = loads(dumps(election))
    assert again == election
    assert again.projects == election.projects
    assert again.meta == election.meta


# -- generated elections -----------------------------------------------------------------------

IDS = ["1", "2", "9", "10", "11", "a", "b/2"]


@st.composite
def elections(draw: st.DrawFn) -> Election:
    vote_type = draw(st.sampled_from(["approval", "cumulative", "ordinal"]))
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=6, unique=True))
    projects = [Project(pid, draw(st.integers(0, 40))) for pid in ids]
    budget = draw(st.integers(0, 100))
    votes = []
    for _ in range(draw(st.integers(0, 8))):
        chosen = draw(st.lists(st.sampled_from(ids), max_size=len(ids), unique=True))
        mult = draw(st.integers(1, 3))
        if vote_type == "approval":
            votes.append(Vote(dict.fromkeys(chosen, 1), mult))
        elif vote_type == "cumulative":
            votes.append(Vote({pid: draw(st.integers(0, 3)) for pid in chosen}, mult))
        else:
            votes.append(Vote(chosen, mult))
    return Election(projects, budget, votes, vote_type)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RULE_ARGS = [(r, None) for r in RULES if r != "greedy-threshold"] + [
    ("greedy-threshold", Fraction(1, 3))
]


@SETTINGS
@given(elections())
def test_no_rule_exceeds_the_budget_or_funds_a_project_without_support(e: Election) -> None:
    c = count(e)
    for rule, share in RULE_ARGS:
        outcome = tally(e, rule, min_share=share)
        assert outcome.total_cost <= e.budget
        assert len(set(outcome.winners)) == len(outcome.winners)
        for pid in outcome.winners:
            assert c.scores[c.ids.index(pid)] > 0
        assert set(outcome.explanations) == set(c.ids)


@SETTINGS
@given(elections())
def test_greedy_and_mes_are_exhaustive(e: Election) -> None:
    c = count(e)
    for rule in ("greedy", "mes"):
        outcome = tally(e, rule)
        left = e.budget - outcome.total_cost
        for i, pid in enumerate(c.ids):
            if pid not in outcome.winners and c.scores[i] > 0:
                assert c.costs[i] > left


@SETTINGS
@given(elections())
def test_mes_voters_never_pay_more_than_their_share(e: Election) -> None:
    c = count(e)
    t = e.table()
    n = c.num_voters
    candidates = [i for i in range(len(c.ids)) if c.scores[i] > 0 and c.costs[i] > 0]
    if n == 0 or not candidates:
        return
    supporters = mes_engine.build_supporters(
        len(c.ids), t.ballots, t.points, e.vote_type == "ordinal"
    )
    weights = [cost if e.vote_type == "approval" else Fraction(1) for cost in c.costs]
    share = e.budget / n
    result = mes_engine.equal_shares(
        c.costs, weights, c.tie, candidates, supporters, np.asarray(t.mult), share
    )
    remaining = result.remaining()
    assert all(0 <= money <= share for money in remaining)
    paid = sum((share - money) * m for money, m in zip(remaining, t.mult, strict=True))
    assert paid == result.spent == sum(c.costs[i] for i in result.funded)


@SETTINGS
@given(elections(), st.randoms(use_true_random=False))
def test_permuting_ballots_changes_nothing(e: Election, rnd: random.Random) -> None:
    votes = list(e.votes)
    rnd.shuffle(votes)
    shuffled = Election(e.projects, e.budget, votes, e.vote_type)
    for rule, share in RULE_ARGS:
        a, b = tally(e, rule, min_share=share), tally(shuffled, rule, min_share=share)
        assert a.winners == b.winners
        assert a.to_json() == b.to_json()


@SETTINGS
@given(elections())
def test_renaming_projects_in_the_same_text_order_changes_nothing(e: Election) -> None:
    old = sorted(p.id for p in e.projects)
    new_id = {pid: f"p{rank:03d}" for rank, pid in enumerate(old)}

    def rename(v: Vote) -> Vote:
        if isinstance(v.points, tuple):
            return Vote([new_id[x] for x in v.points], v.multiplicity)
        return Vote({new_id[k]: x for k, x in v.points.items()}, v.multiplicity)

    renamed = Election(
        [Project(new_id[p.id], p.cost) for p in e.projects],
        e.budget,
        [rename(v) for v in e.votes],
        e.vote_type,
    )
    for rule, share in RULE_ARGS:
        a, b = tally(e, rule, min_share=share), tally(renamed, rule, min_share=share)
        assert tuple(new_id[x] for x in a.winners) == b.winners


@SETTINGS
@given(st.integers(1, 50), st.integers(1, 5), st.permutations(IDS))
def test_tied_projects_are_taken_in_text_order_of_their_ids(
    cost: int, voters: int, ids: list[str]
) -> None:
    # identical projects, money for all but one: the last by text order is left out
    e = approval(cost * (len(ids) - 1), dict.fromkeys(ids, cost), [ids] * voters)
    for rule in ("greedy", "greedy-no-skip", "mes", "mes-add1"):
        assert tally(e, rule).winners == tuple(sorted(ids)[:-1]), rule


@SETTINGS
@given(elections())
def test_pabulib_round_trip_of_generated_elections(e: Election) -> None:
    assert loads(dumps(e)) == e
