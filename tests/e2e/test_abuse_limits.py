"""Issue 13 in a real browser: the voter code from a card's QR link is read from the address's
fragment (never sent to the server) and then taken out of the address bar."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from pb.voting.models import PendingBallot
from tests.voting.conftest import VotingWorld

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_qr_link_fills_the_code_from_the_fragment_and_clears_it(page, live_server, clock):
    world = VotingWorld()
    [code] = world.codes(area=world.north)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/rounds/city-2027/vote/?area={world.north.pk}#code={code}")
    expect(page.get_by_label("Your voter code")).to_have_value(code)
    assert "#" not in page.url and code not in page.url
    assert not any(code in url for url in requested)  # no request carried it
    page.get_by_label("Trees").check()
    page.get_by_role("button", name="Review my choices").click()
    page.get_by_role("button", name="Cast my vote").click()
    page.wait_for_url("**/vote/receipt/")
    assert PendingBallot.objects.filter(area=world.north).count() == 1


def test_without_javascript_the_code_is_typed_by_hand(page_no_js, live_server, clock):
    world = VotingWorld()
    [code] = world.codes(area=world.north)
    page = page_no_js
    page.goto(f"{live_server.url}/rounds/city-2027/vote/?area={world.north.pk}#code={code}")
    expect(page.get_by_label("Your voter code")).to_have_value("")
    page.get_by_label("Your voter code").fill(code)
    page.get_by_label("Trees").check()
    page.get_by_role("button", name="Review my choices").click()
    page.get_by_role("button", name="Cast my vote").click()
    page.wait_for_url("**/vote/receipt/")
