"""Where the money that areas leave unspent goes: carried on, or a second pass across areas.

Every expected figure is worked out by hand in the test's comments (money in pence).
"""

from __future__ import annotations

from pb.counting.result import CountResult, ProjectResult
from pb.counting.unspent import Policy, Unspent, unspent_money


def _p(pid: str, title: str, cost: int, supporters: int, reason: str, area: str) -> ProjectResult:
    return ProjectResult(
        id=pid,
        title=title,
        cost=cost,
        theme="",
        area=area,
        score=supporters,
        supporters=supporters,
        funded=reason == "funded",
        rank=None,
        reason=reason,
        sentence="",
    )


def _area(name: str, budget: int, voters: int, *projects: ProjectResult) -> tuple[str, CountResult]:
    spent = sum(p.cost for p in projects if p.funded)
    return name, CountResult(
        rule="greedy-threshold",
        vote_type="approval",
        budget=budget,
        total_cost=spent,
        voters=voters,
        winners=tuple(p.id for p in projects if p.funded),
        projects=projects,
    )


def _round() -> list[tuple[str, CountResult]]:
    # North: £500 for 10 voters; Lights (£300) and Benches (£150) funded, £50 left; Trees
    # (£250, 6 of 10 voters) did not fit; Swings had no votes.
    north = _area(
        "North",
        50_000,
        10,
        _p("1", "Lights", 30_000, 7, "funded", "North"),
        _p("2", "Trees", 25_000, 6, "did_not_fit", "North"),
        _p("3", "Benches", 15_000, 3, "funded", "North"),
        _p("4", "Swings", 4_000, 0, "no_support", "North"),
    )
    # South: £300 for 4 voters; Mural (£120) funded, £180 left; Garden (£190, 2 of 4) did not
    # fit; Bins (£50, 1 of 4) was below the round's minimum share.
    south = _area(
        "South",
        30_000,
        4,
        _p("5", "Mural", 12_000, 3, "funded", "South"),
        _p("6", "Garden", 19_000, 2, "did_not_fit", "South"),
        _p("7", "Bins", 5_000, 1, "below_threshold", "South"),
    )
    return [north, south]


def test_carried_money_is_each_areas_leftover_and_funds_nothing():
    unspent = unspent_money(_round(), Policy.CARRY)
    assert [(a.area, a.budget, a.spent, a.left) for a in unspent.areas] == [
        ("North", 50_000, 45_000, 5_000),
        ("South", 30_000, 12_000, 18_000),
    ]
    assert unspent.pot == 23_000
    assert unspent.funded == ()
    assert unspent.carried == 23_000


def test_a_second_pass_pools_the_leftovers_and_funds_the_next_best_project_that_fits():
    unspent = unspent_money(_round(), Policy.SECOND_PASS)
    # Pot: £50 + £180 = £230. Next best: Trees (6 of 10 = 60%) costs £250 > £230, skipped;
    # Garden (2 of 4 = 50%) costs £190, funded; £40 left. Swings (no votes, £40) would fit
    # exactly and is still not funded; Bins was below the minimum share and is not a candidate.
    assert unspent.pot == 23_000
    assert [(p.id, p.title, p.area, p.cost) for p in unspent.funded] == [
        ("6", "Garden", "South", 19_000)
    ]
    assert unspent.second_pass_spent == 19_000
    assert unspent.carried == 4_000


def test_projects_of_different_sized_areas_are_compared_by_their_share_of_voters():
    # Pot: £100 + £100 = £200. A has more supporters (6 of 10, 60%), B a larger share (3 of 4,
    # 75%): B is funded first (£150), and A (£150) no longer fits the £50 left.
    counts = [
        _area("North", 10_000, 10, _p("1", "A", 15_000, 6, "did_not_fit", "North")),
        _area("South", 10_000, 4, _p("2", "B", 15_000, 3, "did_not_fit", "South")),
    ]
    unspent = unspent_money(counts, Policy.SECOND_PASS)
    assert unspent.pot == 20_000
    assert [p.title for p in unspent.funded] == ["B"]
    assert unspent.carried == 5_000


def test_equal_shares_go_to_the_project_with_more_supporters_then_by_id():
    # 2 of 4 and 4 of 8 are both 50%: the 4 supporters come first. Pot £100 funds one £100.
    counts = [
        _area("North", 10_000, 4, _p("1", "Two", 10_000, 2, "did_not_fit", "North")),
        _area("South", 0, 8, _p("2", "Four", 10_000, 4, "did_not_fit", "South")),
    ]
    assert [p.title for p in unspent_money(counts, Policy.SECOND_PASS).funded] == ["Four"]


def test_the_stored_json_reads_back_as_the_same_unspent_money():
    unspent = unspent_money(_round(), Policy.SECOND_PASS)
    data = unspent.to_json()
    assert data["pot"] == 23_000 and data["carried"] == 4_000
    assert Unspent.from_json(data) == unspent
