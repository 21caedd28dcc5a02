"""Nothing a resident can press answers a server error; refusals and errors are pages in the
site's style that say what to do next."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from django.urls import reverse

from backend import views
from backend.errors import DomainError
from pb.voting.models import Ballot
from pb.voting.services.casting import ballot_cast
from tests.voting.conftest import VotingWorld

pytestmark = pytest.mark.django_db


@pytest.fixture
def vw(db: Any) -> VotingWorld:
    return VotingWorld()


def live_elsewhere(vw: VotingWorld) -> None:
    vw.resident.profile.home_area = vw.elsewhere
    vw.resident.profile.save()


def test_a_resident_of_an_area_outside_the_round_is_told_before_the_ballot_not_given_a_500(
    client, vw
):
    live_elsewhere(vw)
    vw.set(voter_codes_enabled=False)
    client.force_login(vw.resident)
    response = client.get(reverse("vote", args=[vw.round.slug]))
    html = response.content.decode()
    assert response.status_code == 403
    assert "This round is for North, South" in html
    assert "Your checked home area is Elsewhere" in html
    assert 'class="notice notice-warning"' in html
    assert f'href="{reverse("home")}"' in html and "See the rounds open to your area" in html


def test_with_voter_codes_the_same_resident_gets_a_warning_with_a_link_and_the_code_ballot(
    client, vw
):
    live_elsewhere(vw)
    client.force_login(vw.resident)
    response = client.get(reverse("vote", args=[vw.round.slug]), follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="message message-warning"' in html
    assert "This round is for North, South" in html
    assert f'<a href="{reverse("home")}">See the rounds open to your area</a>' in html


def test_an_unchecked_account_is_warned_with_a_link_to_its_details(client, vw):
    vw.resident.profile.verified = False
    vw.resident.profile.save()
    client.force_login(vw.resident)
    html = client.get(reverse("vote", args=[vw.round.slug])).content.decode()
    assert 'class="message message-warning"' in html and "have not been checked" in html
    assert f'<a href="{reverse("profile")}">' in html


def test_casting_for_an_area_outside_the_round_is_refused_with_a_reason(vw):
    live_elsewhere(vw)
    with pytest.raises(DomainError) as exc:
        ballot_cast(round=vw.round, voter=vw.resident, selections={str(vw.trees.pk): 1})
    assert exc.value.code == "wrong_area" and not Ballot.objects.exists()
    with pytest.raises(DomainError) as exc:
        ballot_cast(
            round=vw.round,
            voter=vw.resident,
            area_id=vw.elsewhere.pk,
            selections={str(vw.trees.pk): 1},
        )
    assert exc.value.code == "wrong_area" and not Ballot.objects.exists()


def test_a_neighbourhood_resident_is_given_the_ward_of_the_round_without_choosing(client, vw):
    street = vw.north.children.create(name="Mill Street", slug="mill-street")
    vw.resident.profile.home_area = street
    vw.resident.profile.save()
    client.force_login(vw.resident)
    response = client.get(reverse("vote", args=[vw.round.slug]))
    assert response.status_code == 200 and "You are voting for North" in response.content.decode()


def test_a_refusal_is_a_styled_page_that_says_what_to_do_next(client, vw):
    client.force_login(vw.resident)
    response = client.get(reverse("round_manage", args=[vw.round.slug]))
    html = response.content.decode()
    assert response.status_code == 403
    assert "You cannot open this page" in html and "css/site.css" in html
    assert f'href="{reverse("dashboard")}"' in html
    client.logout()
    response = client.get(reverse("residents_check"))
    assert response.status_code in (302, 403)


def test_the_api_still_answers_a_refusal_in_json(client):
    request = RequestFactory().get("/api/v1/anything/")
    response = views.forbidden(request)
    assert response.status_code == 403 and response["Content-Type"] == "application/json"


def test_page_not_found_and_server_error_are_in_the_site_style(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and "css/site.css" in response.content.decode()
    response = views.server_error(RequestFactory().get("/rounds/x/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "css/site.css" in html and "Go to the home page" in html
