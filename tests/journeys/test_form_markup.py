"""Form markup that screen readers depend on: every aria-describedby names an element on the
page, and fields the service requires are not marked "(optional)"."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from backend.accounts.models import Role
from pb.proposals.models import Proposal, ProposalStatus
from pb.rounds.models import RoundArea
from tests.factories import AreaFactory, RoundFactory, UserFactory

pytestmark = pytest.mark.django_db


def dangling_describedby(html: str) -> list[str]:
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    refs = [r for value in re.findall(r'aria-describedby="([^"]*)"', html) for r in value.split()]
    return [r for r in refs if r not in ids]


def test_described_by_points_at_hints_and_errors_that_exist(client):
    page = client.get(reverse("sign_up")).content.decode()
    assert 'aria-describedby="id_password1_helptext"' in page
    assert dangling_describedby(page) == []
    bad = client.post(reverse("sign_up"), {"email": "not-an-address", "password1": "x"})
    html = bad.content.decode()
    assert bad.status_code == 400 and 'id="id_email_error"' in html
    assert dangling_describedby(html) == []


def test_a_reason_the_service_requires_is_not_marked_optional(client):
    area = AreaFactory()
    round_ = RoundFactory(phase="review")
    RoundArea.objects.create(round=round_, area=area)
    manager = UserFactory(role=Role.MANAGER)
    area.managers.add(manager)
    proposal = Proposal.objects.create(
        round=round_,
        area=area,
        author=UserFactory(),
        title="Benches",
        description="Two benches.",
        estimated_cost=100_000,
        status=ProposalStatus.SUBMITTED,
    )
    client.force_login(manager)
    html = client.get(reverse("proposal_review", args=[proposal.pk])).content.decode()
    label = html.split('for="id_reason"', 1)[1].split("</label>", 1)[0]
    assert "Reason, written for residents" in label and "optional" not in label
    assert 'aria-required="true"' in html
    # A field that really is optional keeps its marker.
    cost = html.split('for="id_council_cost"', 1)[1].split("</label>", 1)[0]
    assert "(optional)" in cost
    assert dangling_describedby(html) == []
