from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token

from pb.rounds.models import Round

pytestmark = pytest.mark.django_db


def test_home_page_shows_an_empty_state_with_no_rounds(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "There are no budget rounds yet" in html
    assert 'href="#main"' in html and '<main id="main"' in html


def test_home_page_lists_public_rounds_but_not_drafts(client, round_factory):
    round_factory(name="Open round", phase="intake")
    round_factory(name="Secret draft", phase="draft")
    html = client.get("/").content.decode()
    assert "Open round" in html
    assert "Secret draft" not in html


def test_demo_council_loads_twice_without_duplicates(client):
    call_command("load_demo")
    call_command("load_demo")
    assert Round.objects.filter(slug="city-2027").count() == 1
    html = client.get("/").content.decode()
    assert "City budget 2027" in html and "Poulton: In your hands" in html
    city = Round.objects.get(slug="city-2027")
    assert city.split_published_at is not None
    assert sum(r["amount"] for r in city.split_result["rows"]) == city.budget
    review = Round.objects.get(slug="harbour-green-2026")
    assert review.phase == "review" and review.proposals.filter(status="submitted").count() == 3
    page = client.get("/rounds/city-2027/").content.decode()
    assert "How the money is shared between areas" in page


def test_api_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/rounds/" in schema.json()["paths"]
    assert client.get("/api/docs/").status_code == 200


def test_api_token_authentication_works(client, user_factory):
    user = user_factory(email="api@example.org")
    token = Token.objects.create(user=user)
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response.json()["email"] == "api@example.org"


def test_api_answers_401_with_the_json_error_body_when_not_signed_in(client):
    response = client.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert set(response.json()["error"]) == {"status", "code", "detail", "fields"}


def test_api_unknown_path_answers_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_page_404_is_a_friendly_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_malformed_json_body_gets_a_400_with_a_json_error(client, user_factory):
    user = user_factory()
    client.force_login(user)
    from rest_framework.test import APIClient

    api = APIClient(enforce_csrf_checks=False)
    api.force_authenticate(user)
    response = api.generic("POST", "/api/v1/rounds/", "{not json", content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["status"] == response.status_code
    assert body["error"]["detail"]


def test_healthz(client):
    assert client.get(reverse("healthz")).json() == {"status": "ok"}
