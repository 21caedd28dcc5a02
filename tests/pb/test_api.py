"""The API uses the same services and predicates as the pages: a matrix of role x phase."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from pb.proposals.models import Proposal
from pb.proposals.services import proposal_create

pytestmark = pytest.mark.django_db


def api_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def body(world, **overrides):
    return {
        "round": world.round.pk,
        "area": world.north.pk,
        "theme": world.parks.pk,
        "title": "Trees on Mill Lane",
        "description": "Twelve street trees.",
        "estimated_cost": 800_000,
        **overrides,
    }


def test_a_resident_creates_a_proposal_through_the_api(world):
    response = api_for(world.resident).post("/api/v1/proposals/", body(world), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "submitted"
    assert response.json()["events"][0]["text"] == "Submitted."


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"estimated_cost": 0}, "estimated_cost"),
        ({"estimated_cost": 10_000_001}, "estimated_cost"),
        ({"title": ""}, "title"),
        ({"estimated_cost": "lots"}, "estimated_cost"),
    ],
)
def test_bad_proposals_get_a_400_json_error_naming_the_field(world, overrides, field):
    response = api_for(world.resident).post(
        "/api/v1/proposals/", body(world, **overrides), format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Proposal.objects.exists()


def test_an_area_outside_the_round_gets_a_400(world):
    response = api_for(world.resident).post(
        "/api/v1/proposals/", body(world, area=world.elsewhere.pk), format="json"
    )
    assert response.status_code == 400
    assert "area" in response.json()["error"]["fields"]


def test_submission_outside_intake_gets_a_403_with_the_phase(world):
    world.set_phase("voting")
    response = api_for(world.resident).post("/api/v1/proposals/", body(world), format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_phase"


def test_anonymous_people_cannot_propose(world):
    response = api_for().post("/api/v1/proposals/", body(world), format="json")
    assert response.status_code in (401, 403)
    assert "error" in response.json()


def _proposal(world):
    return proposal_create(
        author=world.resident,
        round=world.round,
        area=world.north,
        title="Bins",
        description="More bins.",
        estimated_cost=50_000,
    )


# role, phase, action -> expected status
MATRIX = [
    ("resident", "intake", "edit", 200),
    ("resident", "review", "edit", 403),
    ("manager", "intake", "edit", 403),
    ("resident", "intake", "support", 403),  # the resident wrote it: no support for your own
    ("councillor", "intake", "support", 200),
    ("resident", "review", "support", 403),
    ("manager", "review", "review", 200),
    ("other_manager", "review", "review", 403),
    ("manager", "intake", "review", 403),
    ("resident", "review", "review", 403),
    ("resident", "deliberation", "withdraw", 200),
    ("resident", "voting", "withdraw", 403),
    ("manager", "intake", "withdraw", 403),
    ("manager", "intake", "hide", 200),
    ("resident", "intake", "hide", 403),
]


@pytest.mark.parametrize(("role", "phase", "action", "expected"), MATRIX)
def test_permission_matrix_role_by_phase_by_action(world, role, phase, action, expected):
    proposal = _proposal(world)
    world.set_phase(phase)
    client = api_for(getattr(world, role))
    url = f"/api/v1/proposals/{proposal.pk}/"
    if action == "edit":
        response = client.patch(url, {"title": "Bigger bins"}, format="json")
    elif action == "review":
        response = client.post(
            url + "review/",
            {"decision": "feasible", "council_cost": 60_000, "reason": "Cheap and quick."},
            format="json",
        )
    elif action == "hide":
        response = client.post(url + "hide/", {"reason": "Personal data."}, format="json")
    else:
        response = client.post(url + f"{action}/", format="json")
    assert response.status_code == expected, response.json()
    if expected >= 400:
        assert set(response.json()["error"]) == {"status", "code", "detail", "fields"}


def test_two_reviews_of_the_same_proposal_the_second_gets_409(world):
    proposal = _proposal(world)
    world.set_phase("review")
    client = api_for(world.manager)
    url = f"/api/v1/proposals/{proposal.pk}/review/"
    first = client.post(url, {"decision": "not_feasible", "reason": "No."}, format="json")
    second = client.post(
        url, {"decision": "feasible", "council_cost": 1, "reason": "Yes."}, format="json"
    )
    assert first.status_code == 200 and second.status_code == 409
    assert "already reviewed" in second.json()["error"]["detail"]


def test_proposal_list_filters_and_excludes_drafts(world, django_assert_max_num_queries):
    _proposal(world)
    proposal_create(
        author=world.resident,
        round=world.round,
        area=world.south,
        title="Lights",
        description="Street lights.",
        estimated_cost=1,
        theme=world.roads,
    )
    proposal_create(
        author=world.resident,
        round=world.round,
        area=world.south,
        title="Secret",
        description="Draft.",
        estimated_cost=1,
        submit=False,
    )
    client = api_for()
    everything = client.get(f"/api/v1/proposals/?round={world.round.pk}").json()["results"]
    assert {p["title"] for p in everything} == {"Bins", "Lights"}
    by_area = client.get(f"/api/v1/proposals/?round={world.round.pk}&area={world.south.pk}")
    assert [p["title"] for p in by_area.json()["results"]] == ["Lights"]
    by_theme = client.get(f"/api/v1/proposals/?round={world.round.pk}&theme={world.roads.pk}")
    assert [p["title"] for p in by_theme.json()["results"]] == ["Lights"]
    search = client.get(f"/api/v1/proposals/?round={world.round.pk}&q=bins")
    assert [p["title"] for p in search.json()["results"]] == ["Bins"]
    bad = client.get("/api/v1/proposals/?round=abc")
    assert bad.status_code == 400
    with django_assert_max_num_queries(3):
        client.get(f"/api/v1/proposals/?round={world.round.pk}")


def test_rules_are_frozen_through_the_api_too(world):
    world.set_phase("voting")
    response = api_for(world.manager).post(
        f"/api/v1/rounds/{world.round.pk}/rules/", {"budget": 1}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "frozen"


def test_managers_create_rounds_and_advance_phases_through_the_api(world):
    client = api_for(world.manager)
    created = client.post(
        "/api/v1/rounds/",
        {"name": "North 2028", "budget": 100_000, "areas": [world.north.pk]},
        format="json",
    )
    assert created.status_code == 201
    round_id = created.json()["id"]
    moved = client.post(
        f"/api/v1/rounds/{round_id}/advance/",
        {"to_phase": "intake", "reason": "Launch"},
        format="json",
    )
    assert moved.status_code == 200 and moved.json()["phase"] == "intake"
    audit = client.get(f"/api/v1/rounds/{round_id}/audit/")
    assert [e["action"] for e in audit.json()["results"]] == ["phase.advance", "round.create"]
    assert api_for(world.resident).get(f"/api/v1/rounds/{round_id}/audit/").status_code == 403
