"""A reply in a room is about what it answers."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from backend.accounts.models import Role
from backend.errors import DomainError
from deliberation import services
from pb.proposals.models import Proposal
from pb.rounds.models import RoundArea
from tests.factories import AreaFactory, RoundFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_rate_keys(monkeypatch):
    monkeypatch.setattr(services, "RATE_KEY_PREFIX", f"journeys-rate-{uuid.uuid4().hex[:8]}")


def test_a_reply_against_an_argument_inherits_its_proposal_in_a_room_about_many():
    area = AreaFactory()
    round_ = RoundFactory(phase="deliberation")
    RoundArea.objects.create(round=round_, area=area)
    bench, lights = (
        Proposal.objects.create(
            round=round_,
            area=area,
            title=title,
            description="An idea.",
            estimated_cost=100_000,
            status="feasible",
        )
        for title in ("Bench", "Lights")
    )
    facilitator = UserFactory(role=Role.FACILITATOR)
    room = services.room_create(
        actor=facilitator, round=round_, title="All ideas", starts_at=timezone.now()
    )
    services.room_open(room=room, actor=facilitator)
    alice, bob = UserFactory(), UserFactory()
    said_for = services.contribution_say(
        room=room, actor=alice, kind="for", text="Needed.", proposal=lights.pk
    )
    reply = services.contribution_say(
        room=room, actor=bob, kind="against", text="Too costly.", reply_to=said_for.pk
    )
    assert reply.proposal == lights and reply.proposal != bench
    # Without a reply or a room proposal, an argument still has to say what it is about.
    with pytest.raises(DomainError) as exc:
        services.contribution_say(room=room, actor=bob, kind="against", text="No.")
    assert "Say which proposal" in exc.value.message


def test_the_venue_screen_has_the_whole_screen_without_the_sites_navigation(client):
    from django.urls import reverse

    round_ = RoundFactory(phase="deliberation")
    facilitator = UserFactory(role=Role.FACILITATOR)
    room = services.room_create(
        actor=facilitator, round=round_, title="Hall", starts_at=timezone.now()
    )
    html = client.get(reverse("room_screen", args=[room.pk])).content.decode()
    assert "Hall" in html and 'class="screen-main"' in html
    assert "site-header" not in html and "Log in" not in html
