"""A round's support threshold (CONSUL's pre-selection): proposals with at least that many
supports go forward to the council's review; the round page says so in plain words, and the
manager sees the shortlist in the review queue."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from backend.errors import DomainError
from pb.proposals.models import Proposal, ProposalStatus
from pb.proposals.services import proposal_review
from pb.rounds.models import MAX_SUPPORT_THRESHOLD, Round
from pb.rounds.selectors import manager_queues
from pb.rounds.services import round_update_rules
from tests.pb.test_api import api_for

pytestmark = pytest.mark.django_db


def _proposal(world: Any, title: str, supports: int) -> Proposal:
    return Proposal.objects.create(
        round=world.round,
        area=world.north,
        author=world.resident,
        title=title,
        description=f"{title} for North",
        estimated_cost=100_000,
        status=ProposalStatus.SUBMITTED,
        support_count=supports,
    )


@pytest.fixture
def shortlisting(world: Any) -> Any:
    world.round.support_threshold = 25
    world.round.save(update_fields=["support_threshold"])
    world.set_phase("review")
    world.popular = _proposal(world, "Popular benches", 40)
    world.exactly = _proposal(world, "Just enough lights", 25)
    world.quiet = _proposal(world, "Quiet mural", 24)
    return world


def test_a_proposal_below_the_threshold_cannot_go_on_the_ballot(shortlisting):
    with pytest.raises(DomainError) as refused:
        proposal_review(
            actor=shortlisting.manager,
            proposal=shortlisting.quiet,
            decision="feasible",
            council_cost=100_000,
            reason="Fine",
        )
    assert refused.value.fields["decision"] == [
        "This proposal has 24 supports, fewer than the 25 the round asks for to go forward to "
        "review, so it cannot go on the ballot. Decide it is not feasible, or merge it into a "
        "proposal that went forward."
    ]
    shortlisting.quiet.refresh_from_db()
    assert shortlisting.quiet.status == ProposalStatus.SUBMITTED
    # It can still be decided, with a reason residents read.
    proposal_review(
        actor=shortlisting.manager,
        proposal=shortlisting.quiet,
        decision="not_feasible",
        reason="Too few supports to go forward.",
    )


def test_a_proposal_at_the_threshold_goes_on_the_ballot(shortlisting):
    proposal_review(
        actor=shortlisting.manager,
        proposal=shortlisting.exactly,
        decision="feasible",
        council_cost=100_000,
        reason="Fine",
    )
    assert Proposal.objects.get(pk=shortlisting.exactly.pk).status == ProposalStatus.FEASIBLE


def test_the_review_queue_shows_the_shortlist_then_the_rest(client, shortlisting):
    client.force_login(shortlisting.manager)
    page = client.get(reverse("review_queue", args=[shortlisting.round.slug, "north"]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "proposals with 25 supports or more from residents go forward to review" in html
    shortlist, below = html.split('id="below-threshold"', 1)
    # Most supported first on the shortlist; the one short of 25 only below it.
    assert shortlist.index("Popular benches") < shortlist.index("Just enough lights")
    assert "Quiet mural" not in shortlist and "Quiet mural" in below


def test_the_dashboard_counts_only_the_shortlist_as_waiting_for_review(shortlisting):
    [queue] = manager_queues(user=shortlisting.manager)
    assert queue["waiting"] == 2


def test_without_a_threshold_every_proposal_waits_for_review(client, world):
    world.set_phase("review")
    _proposal(world, "Quiet mural", 0)
    [queue] = manager_queues(user=world.manager)
    assert queue["waiting"] == 1
    client.force_login(world.manager)
    html = client.get(reverse("review_queue", args=[world.round.slug, "north"])).content.decode()
    assert "Quiet mural" in html and "below-threshold" not in html


@pytest.mark.parametrize(
    ("threshold", "sentence"),
    [
        (25, "Ideas with 25 supports or more go forward to the council's review"),
        (1, "Ideas with 1 support or more go forward to the council's review"),
    ],
)
def test_the_round_page_explains_the_threshold_in_plain_words(client, world, threshold, sentence):
    world.round.support_threshold = threshold
    world.round.save(update_fields=["support_threshold"])
    html = client.get(reverse("round_detail", args=[world.round.slug])).content.decode()
    assert sentence in html


def test_a_proposal_page_says_how_many_supports_it_needs(client, shortlisting):
    quiet = client.get(reverse("proposal_detail", args=[shortlisting.quiet.pk])).content.decode()
    assert "It needs 25 supports to go forward to the council's review." in quiet
    popular = client.get(reverse("proposal_detail", args=[shortlisting.popular.pk]))
    assert "Enough supports: it goes forward" in popular.content.decode()


RULES = {
    "save_rules": "1",
    "budget": "100000",
    "min_age": "16",
    "ballot_type": "approval_budget",
    "rule": "greedy",
    "reason": "Pre-selection",
}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("0", "Give 1 or more, or leave it empty."),
        ("lots", "Enter a whole number."),
        ("99999999999", "Give at most 1000000, or leave it empty."),
    ],
)
def test_a_bad_threshold_on_the_manage_page_is_a_field_error(client, world, value, error):
    client.force_login(world.manager)
    url = reverse("round_manage", args=[world.round.slug])
    response = client.post(url, {**RULES, "support_threshold": value})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_support_threshold_error"' in html and error in html
    assert Round.objects.get(pk=world.round.pk).support_threshold is None


def test_the_round_owner_sets_and_clears_the_threshold(client, world):
    client.force_login(world.manager)
    url = reverse("round_manage", args=[world.round.slug])
    assert "Supports needed to go forward to review" in client.get(url).content.decode()
    assert client.post(url, {**RULES, "support_threshold": "25"}).status_code == 302
    assert Round.objects.get(pk=world.round.pk).support_threshold == 25
    assert client.post(url, {**RULES, "support_threshold": ""}).status_code == 302
    assert Round.objects.get(pk=world.round.pk).support_threshold is None


def test_the_api_sets_the_threshold_and_refuses_zero(world):
    api = api_for(world.manager)
    url = f"/api/v1/rounds/{world.round.pk}/rules/"
    bad = api.post(url, {"support_threshold": 0, "reason": "x"}, format="json")
    assert bad.status_code == 400
    assert "support_threshold" in bad.content.decode()
    done = api.post(url, {"support_threshold": 25, "reason": "Pre-selection"}, format="json")
    assert done.status_code == 200 and done.json()["support_threshold"] == 25


HUGE = 99_999_999_999


def test_a_huge_threshold_is_refused_by_the_api_not_a_500(world):
    api = api_for(world.manager)
    rules = api.post(
        f"/api/v1/rounds/{world.round.pk}/rules/",
        {"support_threshold": HUGE, "reason": "x"},
        format="json",
    )
    assert rules.status_code == 400
    assert "support_threshold" in rules.json()["error"]["fields"]
    created = api.post(
        "/api/v1/rounds/",
        {
            "name": "North 2029",
            "budget": 100_000,
            "areas": [world.north.pk],
            "support_threshold": HUGE,
        },
        format="json",
    )
    assert created.status_code == 400
    assert "support_threshold" in created.json()["error"]["fields"]
    assert not Round.objects.filter(name="North 2029").exists()
    assert Round.objects.get(pk=world.round.pk).support_threshold is None


def test_a_huge_threshold_on_the_new_round_form_is_a_field_error(client, world):
    client.force_login(world.manager)
    response = client.post(
        reverse("round_new"),
        {
            "name": "North 2029",
            "style": "city",
            "budget": "50,000",
            "areas": [world.north.pk],
            "min_age": "16",
            "ballot_type": "approval_budget",
            "rule": "greedy",
            "support_threshold": str(HUGE),
        },
    )
    assert response.status_code == 400
    assert 'id="id_support_threshold_error"' in response.content.decode()
    assert not Round.objects.filter(name="North 2029").exists()


def test_the_service_refuses_a_threshold_above_the_most(world):
    with pytest.raises(DomainError) as refused:
        round_update_rules(
            actor=world.manager,
            round=world.round,
            reason="x",
            support_threshold=MAX_SUPPORT_THRESHOLD + 1,
        )
    assert "support_threshold" in refused.value.fields
