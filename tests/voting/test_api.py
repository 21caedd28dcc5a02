"""POST /api/v1/rounds/{id}/ballots/: 201 receipt, 409 twice, 400 bad, 403 outside voting."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from pb.voting.models import Participation, PendingBallot

pytestmark = pytest.mark.django_db


def api_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def url(world) -> str:
    return f"/api/v1/rounds/{world.round.pk}/ballots/"


def test_a_resident_casts_through_the_api_and_gets_a_receipt(vw):
    response = api_for(vw.resident).post(
        url(vw), {"selections": [vw.trees.pk, vw.benches.pk]}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["area"] == vw.north.pk and body["channel"] == "online"
    assert PendingBallot.objects.get().receipt_hash == body["receipt_hash"]
    assert len(body["receipt"].replace("-", "")) == 12


def test_a_voter_code_casts_without_an_account_then_gets_a_409(vw):
    [code] = vw.codes(area=vw.north)
    payload = {"selections": {str(vw.trees.pk): 1}, "voter_code": code}
    assert api_for().post(url(vw), payload, format="json").status_code == 201
    again = api_for().post(url(vw), payload, format="json")
    assert again.status_code == 409
    # The same answer as for a code that never existed (tests/abuse/test_voter_codes.py).
    assert again.json()["error"]["code"] == "code_not_accepted"
    assert PendingBallot.objects.count() == 1


def test_a_second_vote_by_account_is_a_409(vw):
    client = api_for(vw.resident)
    assert client.post(url(vw), {"selections": [vw.trees.pk]}, format="json").status_code == 201
    response = client.post(url(vw), {"selections": [vw.mural.pk]}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["status"] == 409


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"selections": "everything"}, "selections"),
        ({}, "selections"),
        ({"selections": {"abc": 1}}, "selections"),
        ({"selections": [1, 2], "area": "north"}, "area"),
    ],
)
def test_malformed_ballots_get_a_400_naming_the_field(vw, payload, field):
    response = api_for(vw.resident).post(url(vw), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Participation.objects.exists()


def test_an_over_budget_ballot_gets_a_400_and_the_voter_can_try_again(vw):
    client = api_for(vw.resident)
    over = [vw.trees.pk, vw.lights.pk, vw.mural.pk]
    response = client.post(url(vw), {"selections": over}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "over_budget"
    assert "more than the £50,000" in response.json()["error"]["detail"]
    assert client.post(url(vw), {"selections": over[:2]}, format="json").status_code == 201


def test_ineligible_voters_get_a_400_and_unknown_codes_the_one_code_refusal(vw):
    response = api_for().post(url(vw), {"selections": [vw.trees.pk]}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "ineligible"
    response = api_for().post(
        url(vw), {"selections": [vw.trees.pk], "voter_code": "XXXXX-XXXXX"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "code_not_accepted"
    assert "voter_code" in response.json()["error"]["fields"]


def test_casting_outside_the_voting_phase_gets_a_403(vw):
    vw.set(phase="counting")
    response = api_for(vw.resident).post(url(vw), {"selections": [vw.trees.pk]}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_phase"


def test_a_draft_round_is_not_found(vw):
    vw.set(phase="draft")
    response = api_for(vw.resident).post(url(vw), {"selections": [vw.trees.pk]}, format="json")
    assert response.status_code == 404 and "error" in response.json()


def test_turnout_by_area_and_channel(vw, django_assert_max_num_queries, monkeypatch):
    from pb.voting import selectors

    # The counts are cached for a few seconds of real time (Redis expires them, not the test
    # clock); keep them for the whole test so a slow machine cannot make the second read count.
    monkeypatch.setattr(selectors, "TURNOUT_SECONDS", 3600)
    api_for(vw.resident).post(url(vw), {"selections": [vw.trees.pk]}, format="json")
    response = api_for().get(f"/api/v1/rounds/{vw.round.pk}/turnout/")
    assert response.status_code == 200
    assert response.json()["by_channel"] == {"online": 1, "kiosk": 0, "paper": 0}
    with django_assert_max_num_queries(1):  # the round; the counts come from the cache
        again = api_for().get(f"/api/v1/rounds/{vw.round.pk}/turnout/")
    assert again.status_code == 200 and again.json() == response.json()


def test_a_cast_with_a_code_takes_few_queries(vw, django_assert_max_num_queries):
    warm_up, code = vw.codes(2, area=vw.north)
    api_for().post(url(vw), {"selections": [vw.trees.pk], "voter_code": warm_up}, format="json")
    # Once the process knows the round's areas (the first cast), the round, the code, the
    # participation, the survey code and the ballot are one statement, here in a savepoint
    # and its release inside the test's transaction (outside one, as from a request, the
    # statement alone); the ballot is checked against the shortlist in the cache.
    with django_assert_max_num_queries(3):
        response = api_for().post(
            url(vw), {"selections": [vw.benches.pk], "voter_code": code}, format="json"
        )
    assert response.status_code == 201


@pytest.mark.parametrize("value", ["²", "1" * 5000])
def test_a_choice_that_looks_like_digits_but_is_no_number_gets_a_400_not_a_500(vw, value):
    # str.isdigit() says yes to "²" and to 5,000 digits, but int() refuses both.
    [code] = vw.codes(area=vw.north)
    payload = {"selections": {str(vw.trees.pk): value}, "voter_code": code}
    for client in (api_for(), api_for(vw.resident)):
        response = client.post(url(vw), payload, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "malformed"
    assert not Participation.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000,
        '{"voter_code": "ABCD-EFGH", "area": 1, "own_bid": 1, "selections": ' + "[" * 100_000 + "}",
    ],
)
def test_json_nested_too_deeply_gets_a_400_not_a_500(vw, body):
    from django.test import Client

    response = Client(raise_request_exception=False).post(
        url(vw), body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    signed_in = api_for(vw.resident).post(url(vw), body, content_type="application/json")
    assert signed_in.status_code == 400
    assert not PendingBallot.objects.exists()
