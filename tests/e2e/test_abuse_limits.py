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


def test_the_api_docs_work_offline_from_the_sites_own_files(page, live_server):
    """/api/docs/ loaded Swagger UI from a CDN (blank offline); now from drf-spectacular-sidecar
    under the site's CSP, with no request leaving this machine."""
    elsewhere: list[str] = []

    def only_here(route):
        host = route.request.url.split("/")[2].split(":")[0]
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    response = page.goto(live_server.url + "/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_text("Commonpurse API").first).to_be_visible()
    expect(page.get_by_text("/api/v1/rounds/{id}/ballots/").first).to_be_visible()
    assert elsewhere == []


def test_the_ballot_runs_its_script_under_the_csp(page, live_server, clock):
    world = VotingWorld()
    response = page.goto(f"{live_server.url}/rounds/city-2027/vote/?area={world.north.pk}")
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy
    page.get_by_label("Trees").check()
    expect(page.get_by_text("Total £20,000 of £50,000")).to_be_visible()  # ballot.js ran
