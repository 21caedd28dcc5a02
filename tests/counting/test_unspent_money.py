"""Money the areas' counts leave unspent: carried to the next round (the default), or a second
pass across areas; the count page, the outcome page, the report and proposals say where it went.

Figures, worked out by hand (money in pence). North has 50,000 and three voters: Lights (30,000)
gets 3 votes and is funded; Trees (25,000, 2 votes) no longer fits the 20,000 left; Benches has
no votes. South has 40,000 and two voters: Mural (30,000, 2 votes) is funded, 10,000 left.
The areas leave 20,000 + 10,000 = 30,000.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from feedback import tasks as feedback_tasks
from pb.counting import services
from pb.counting.selectors import round_unspent
from pb.models import AuditEntry
from pb.proposals.selectors import proposal_outcomes
from pb.rounds.models import Round, RoundArea
from tests.counting.conftest import CountWorld


def _count(cw: CountWorld, policy: str | None = None) -> None:
    RoundArea.objects.filter(round=cw.round, area=cw.south).update(allocation=40_000)
    if policy is not None:
        cw.round.unspent_money = policy
        cw.round.save(update_fields=["unspent_money"])
    cw.cast(cw.north, cw.lights, cw.trees)
    cw.cast(cw.north, cw.lights, cw.trees)
    cw.cast(cw.north, cw.lights)
    cw.cast(cw.south, cw.mural)
    cw.cast(cw.south, cw.mural)
    cw.set_phase("counting")
    services.round_count(round=cw.round)
    cw.round.refresh_from_db()


def test_a_new_round_carries_what_areas_leave_to_the_next_round(cw: CountWorld):
    assert Round.objects.get(pk=cw.round.pk).unspent_money == "carry"
    _count(cw)
    unspent = round_unspent(round=cw.round)
    assert unspent is not None
    assert [(a.area, a.budget, a.spent, a.left) for a in unspent.areas] == [
        ("North", 50_000, 30_000, 20_000),
        ("South", 40_000, 30_000, 10_000),
    ]
    assert unspent.funded == () and unspent.carried == 30_000
    assert proposal_outcomes(round=cw.round)[cw.trees.pk]["funded"] is False


def test_a_second_pass_funds_the_next_best_project_from_the_pooled_leftovers(cw: CountWorld):
    _count(cw, "second_pass")
    unspent = round_unspent(round=cw.round)
    assert unspent is not None
    # 30,000 pooled: Trees (2 of North's 3 voters) costs 25,000 and fits; 5,000 is carried.
    assert [(p.id, p.cost, p.supporters, p.voters) for p in unspent.funded] == [
        (str(cw.trees.pk), 25_000, 2, 3)
    ]
    assert unspent.second_pass_spent == 25_000 and unspent.carried == 5_000
    outcome = proposal_outcomes(round=cw.round)[cw.trees.pk]
    assert outcome["funded"] is True
    assert outcome["sentence"] == (
        "Funded in the second pass, from the money the areas left unspent: 2 of 3 voters in "
        "North supported it."
    )
    assert proposal_outcomes(round=cw.round)[cw.bench.pk]["funded"] is False
    # North's own count is the engine's, unchanged: its recount from the published ballots
    # still matches it.
    assert services.recount_published(round=cw.round, area=cw.north) == (str(cw.lights.pk),)
    counted = AuditEntry.objects.get(round=cw.round, action="round.counted")
    assert counted.details["unspent"]["carried"] == 5_000
    assert counted.details["unspent"]["funded"][0]["id"] == str(cw.trees.pk)


def test_a_decision_days_one_pot_is_carried_whatever_the_setting(cw: CountWorld):
    cw.decision_day()
    cw.round.unspent_money = "second_pass"
    cw.round.save(update_fields=["unspent_money"])
    # One pot of 50,000 over every bid: Lights (2 votes, 30,000) funded; Trees (1 vote,
    # 25,000) does not fit the 20,000 left; nothing else gets votes.
    cw.cast(cw.north, cw.lights, cw.trees)
    cw.cast(cw.north, cw.lights)
    cw.set_phase("counting")
    services.round_count(round=cw.round)
    cw.round.refresh_from_db()
    unspent = round_unspent(round=cw.round)
    assert unspent is not None
    assert unspent.policy == "carry" and unspent.funded == () and unspent.carried == 20_000


def test_nothing_is_said_about_leftovers_before_the_results(cw: CountWorld):
    cw.set_phase("counting")
    assert round_unspent(round=cw.round) is None


@pytest.fixture
def second_pass(cw: CountWorld, django_capture_on_commit_callbacks: Any) -> CountWorld:
    _count(cw, "second_pass")
    with django_capture_on_commit_callbacks(execute=True):
        feedback_tasks.outcome_pipeline.delay(cw.round.pk)
    return cw


def test_the_count_page_says_where_the_unspent_money_went(client, second_pass):
    cw = second_pass
    text = client.get(reverse("round_tally", args=[cw.round.slug])).content.decode()
    assert "Money left unspent" in text
    assert "The areas left £300 unspent in all." in text
    assert "The second pass funded 1 more project, for £250:" in text
    assert "The £50 still left after the second pass is carried to the council" in text
    assert "Funded after all in the second pass across areas" in text


def test_the_outcome_page_shows_the_project_funded_by_the_second_pass(client, second_pass):
    cw = second_pass
    text = client.get(reverse("round_results", args=[cw.round.slug])).content.decode()
    assert "Money left unspent" in text
    # The summary for residents, from the report, says it in one line.
    assert (
        "£300 that the areas&#x27; counts left unspent went to a second pass across areas, "
        "which funded 1 more project (£250); £50 is carried to the next round."
    ) in text
    # Trees is funded, so it has a delivery page like the others, which opens.
    delivery = reverse("project_delivery", args=[cw.trees.pk])
    assert delivery in text
    assert client.get(delivery).status_code == 200


def test_the_report_says_where_the_unspent_money_went(client, second_pass):
    cw = second_pass
    client.force_login(cw.manager)
    text = client.get(reverse("outcome_report", args=[cw.round.slug])).content.decode()
    assert "Money left unspent" in text
    assert "2 of 3 voters in North supported it." in text
    assert "which funded 1 more project (£250)" in text


def test_carried_money_is_said_area_by_area(client, cw):
    _count(cw)
    text = client.get(reverse("round_tally", args=[cw.round.slug])).content.decode()
    assert "£200 left unspent in North is carried to the council" in text
    assert "£100 left unspent in South is carried to the council" in text
    assert "In all, £300 is carried to the next round" in text


def test_the_round_owner_chooses_the_setting_on_the_manage_page(client, cw):
    cw.set_phase("intake")
    client.force_login(cw.manager)
    url = reverse("round_manage", args=[cw.round.slug])
    page = client.get(url).content.decode()
    assert "A second pass across areas" in page and "pools every area" in page
    rules = {
        "save_rules": "1",
        "budget": "100000",
        "min_age": "16",
        "ballot_type": "approval_budget",
        "rule": "greedy",
        "reason": "Spend it all",
    }
    bad = client.post(url, {**rules, "unspent_money": "give_it_back"})
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()
    assert Round.objects.get(pk=cw.round.pk).unspent_money == "carry"
    done = client.post(url, {**rules, "unspent_money": "second_pass"})
    assert done.status_code == 302
    assert Round.objects.get(pk=cw.round.pk).unspent_money == "second_pass"
    change = AuditEntry.objects.get(round=cw.round, action="round.update")
    assert change.details["after"]["unspent_money"] == "second_pass"
