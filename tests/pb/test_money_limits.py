"""Amounts too large for the database's 64-bit columns are refused with a field error (a page)
or a 400 naming the field (the API), never a 500 from the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from backend.errors import DomainError
from pb.money import MAX_MONEY, parse_money
from pb.proposals.models import Proposal
from pb.rounds.models import Round
from pb.rounds.services import round_create, round_update_rules
from tests.pb.test_api import api_for, body

pytestmark = pytest.mark.django_db

HUGE = 10**20  # past a bigint


def test_parse_money_refuses_an_amount_past_the_most():
    assert parse_money(f"{MAX_MONEY // 100:,}") == MAX_MONEY
    with pytest.raises(ValueError, match="That amount is too large"):
        parse_money("99999999999999999999")


def test_the_api_refuses_a_huge_budget_or_cost(world: Any) -> None:
    manager = api_for(world.manager)
    created = manager.post(
        "/api/v1/rounds/",
        {"name": "Huge", "budget": HUGE, "areas": [world.north.pk]},
        format="json",
    )
    assert created.status_code == 400 and "budget" in created.json()["error"]["fields"]
    assert not Round.objects.filter(name="Huge").exists()
    rules = manager.post(
        f"/api/v1/rounds/{world.round.pk}/rules/", {"budget": HUGE, "reason": "x"}, format="json"
    )
    assert rules.status_code == 400 and "budget" in rules.json()["error"]["fields"]
    proposal = api_for(world.resident).post(
        "/api/v1/proposals/", body(world, estimated_cost=HUGE), format="json"
    )
    assert proposal.status_code == 400
    assert "estimated_cost" in proposal.json()["error"]["fields"]
    assert not Proposal.objects.exists()


def test_the_new_round_page_refuses_a_huge_budget(client: Any, world: Any) -> None:
    client.force_login(world.manager)
    response = client.post(
        reverse("round_new"),
        {
            "name": "Huge",
            "style": "city",
            "budget": "99999999999999999999",
            "areas": [world.north.pk],
            "min_age": "16",
            "ballot_type": "approval_budget",
            "rule": "greedy",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_budget_error"' in html and "That amount is too large." in html
    assert not Round.objects.filter(name="Huge").exists()


def test_the_services_refuse_a_budget_past_the_most(world: Any) -> None:
    with pytest.raises(DomainError) as refused:
        round_create(actor=world.manager, name="Huge", budget=MAX_MONEY + 1, areas=[world.north])
    assert "budget" in refused.value.fields
    with pytest.raises(DomainError) as refused:
        round_update_rules(actor=world.manager, round=world.round, budget=MAX_MONEY + 1)
    assert "budget" in refused.value.fields
