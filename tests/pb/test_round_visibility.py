"""Every page and API view that names a round fetches it through ``get_visible_round``: a round
being prepared answers 404 to residents, exactly as a round that does not exist, and its
managers still reach it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pb.rules import can_see_round

pytestmark = pytest.mark.django_db

PAGES = [
    ("round_detail", {}),
    ("round_manage", {}),
    ("proposal_new", {}),
    ("priorities", {}),
    ("round_split", {}),
    ("round_tally", {}),
    ("ballots_file", {"fmt": "pb"}),
    ("receipts_file", {}),
    ("audit_log", {}),
    ("vote", {}),
    ("vote_receipt", {}),
    ("voter_codes", {}),
    ("kiosk_desk", {}),
    ("paper_desk", {}),
    ("paper_reconcile", {}),
    ("event_desk", {}),
    ("round_results", {}),
    ("outcome_report", {}),
    ("outcome_manage", {}),
    ("outcome_survey", {}),
    ("open_data", {}),
    ("room_list", {}),
]
API_BY_PK = ["round-detail", "api-round-tally", "api-round-turnout"]
API_BY_SLUG = ["api-round-results", "api-open-data", "api-outcome-report"]


@pytest.mark.parametrize(("name", "extra"), PAGES)
def test_a_draft_round_page_is_not_found_for_a_resident(client, world, name, extra):
    client.force_login(world.resident)
    url = reverse(name, kwargs={"slug": world.round.slug, **extra})
    assert client.get(url).status_code != 404  # published: the page is there (or refused)
    world.set_phase("draft")
    assert client.get(url).status_code == 404


def test_a_draft_round_is_seen_by_its_managers_only(client, world):
    world.set_phase("draft")
    assert not can_see_round(world.resident, world.round)
    assert can_see_round(world.manager, world.round)
    client.force_login(world.manager)
    assert client.get(reverse("round_detail", args=[world.round.slug])).status_code == 200
    assert client.get(reverse("room_list", args=[world.round.slug])).status_code == 200
    listed = client.get(reverse("proposal-list"), {"round": world.round.pk})
    assert listed.status_code == 200


def test_the_api_answers_a_draft_round_with_a_json_404_that_says_so(client, world):
    client.force_login(world.resident)
    world.set_phase("draft")
    urls = [reverse(n, args=[world.round.pk]) for n in API_BY_PK]
    urls += [reverse(n, args=[world.round.slug]) for n in API_BY_SLUG]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["detail"] == "There is no such round.", url
    listed = client.get(reverse("proposal-list"), {"round": world.round.pk})
    assert listed.status_code == 404
    assert listed.json()["error"]["detail"] == "There is no such round."
    ballot = client.post(
        reverse("api-round-ballots", args=[world.round.pk]),
        {"selections": {}, "area": world.north.pk},
        content_type="application/json",
    )
    assert ballot.status_code == 404
    assert ballot.json()["error"]["code"] == "not_found"
