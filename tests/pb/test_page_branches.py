"""What the pages show depending on a round's style and rule and a proposal's status: the
templates ask the objects (``round.is_decision_day``, ``proposal.awaiting_review``...), and
these tests fail if a branch stops being taken."""

from __future__ import annotations

from fractions import Fraction

import pytest
from django.urls import reverse

from pb.proposals.models import Proposal, ProposalStatus
from pb.rounds.models import CountingRule, RoundArea, RoundStyle
from tests.factories import RoundFactory

pytestmark = pytest.mark.django_db


def _proposal(world, status: str) -> Proposal:
    return Proposal.objects.create(
        round=world.round,
        area=world.north,
        author=world.resident,
        title=f"Benches ({status})",
        description="Six.",
        estimated_cost=120_000,
        status=status,
    )


def test_a_reviewer_is_offered_the_review_of_a_submitted_proposal_only(client, world):
    world.set_phase("review")
    submitted = _proposal(world, ProposalStatus.SUBMITTED)
    decided = _proposal(world, ProposalStatus.FEASIBLE)
    client.force_login(world.manager)
    page = client.get(reverse("proposal_detail", args=[submitted.pk])).content.decode()
    assert "Review this proposal" in page
    page = client.get(reverse("proposal_detail", args=[decided.pk])).content.decode()
    assert "Review this proposal" not in page


def test_a_draft_shows_no_comments_and_a_submitted_proposal_does(client, world):
    draft = _proposal(world, ProposalStatus.DRAFT)
    submitted = _proposal(world, ProposalStatus.SUBMITTED)
    client.force_login(world.resident)
    page = client.get(reverse("proposal_detail", args=[draft.pk])).content.decode()
    assert 'id="comments' not in page
    page = client.get(reverse("proposal_detail", args=[submitted.pk])).content.decode()
    assert 'id="comments' in page


def test_the_manage_page_links_what_the_rounds_style_has(client, world):
    client.force_login(world.manager)
    city = client.get(reverse("round_manage", args=[world.round.slug])).content.decode()
    assert reverse("round_split", args=[world.round.slug]) in city
    assert reverse("event_desk", args=[world.round.slug]) not in city

    day = RoundFactory(slug="day", style=RoundStyle.DECISION_DAY, created_by=world.manager)
    RoundArea.objects.create(round=day, area=world.north)
    page = client.get(reverse("round_manage", args=["day"])).content.decode()
    assert reverse("event_desk", args=["day"]) in page
    assert reverse("round_split", args=["day"]) not in page


def test_only_a_decision_day_offers_its_desk_on_the_round_page_and_dashboard(client, world):
    world.set_phase("voting")
    day = RoundFactory(
        slug="day", style=RoundStyle.DECISION_DAY, phase="voting", created_by=world.manager
    )
    RoundArea.objects.create(round=day, area=world.north)
    client.force_login(world.manager)
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert reverse("event_desk", args=["day"]) in dashboard
    assert reverse("event_desk", args=[world.round.slug]) not in dashboard
    page = client.get(reverse("round_detail", args=["day"])).content.decode()
    assert reverse("event_desk", args=["day"]) in page
    page = client.get(reverse("round_detail", args=[world.round.slug])).content.decode()
    assert reverse("event_desk", args=[world.round.slug]) not in page


def test_the_threshold_share_is_the_min_share_under_the_threshold_rule_only(world):
    round_ = world.round
    round_.rule, round_.min_share = CountingRule.GREEDY_THRESHOLD, "0.2500"
    assert round_.threshold_share == Fraction(1, 4)
    round_.rule = CountingRule.GREEDY
    assert round_.threshold_share is None
    round_.rule = CountingRule.MES
    assert round_.threshold_share is None
