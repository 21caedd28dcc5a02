"""Each demo role's tour, as the README gives it, walked from the dashboard by clicking (never by
typing an address) and checked with axe-core on every page it reaches."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.e2e.conftest import (
    assert_accessible,
    click_from_dashboard,
    log_in_by_clicking,
    log_out_waiting,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _main(page: Any) -> Any:
    return page.get_by_role("main")


def _checkboxes_sit_beside_their_labels(page: Any) -> None:
    """Each single checkbox on the page is on its label's line, before it (they were drawn
    above their labels on the manage and profile pages)."""
    fields = page.locator(".field-checkbox")
    assert fields.count() > 0
    for i in range(fields.count()):
        box = fields.nth(i).locator("input[type=checkbox]").bounding_box()
        label = fields.nth(i).locator("label").first.bounding_box()
        assert box["x"] + box["width"] <= label["x"], (i, box, label)
        assert box["y"] < label["y"] + label["height"] and label["y"] < box["y"] + box["height"]


def test_every_demo_role_finds_its_work_from_its_dashboard(page: Any, live_server: Any):
    call_command("load_demo", verbosity=0)
    url = live_server.url

    # Resident (lives in Poulton): the advertised Westgate round says why they cannot vote
    # with their account, as a warning with a way on, not a server error.
    log_in_by_clicking(page, url, "resident@example.org")
    assert_accessible(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Your details").click()
    _checkboxes_sit_beside_their_labels(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rounds").click()
    _main(page).get_by_role("link", name="Westgate small grants 2026", exact=True).click()
    # The round page says so before the ballot is opened...
    expect(page.locator(".notice-warning")).to_contain_text("This round is for Westgate")
    _main(page).get_by_role("link", name="Vote with a voter code").click()
    warning = page.locator(".message-warning")
    expect(warning).to_contain_text("This round is for Westgate")
    expect(warning.get_by_role("link", name="See the rounds open to your area")).to_be_visible()
    assert_accessible(page)
    # ...and the live room of the city round is two clicks from the round page.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rounds").click()
    _main(page).get_by_role("link", name="City budget 2027", exact=True).click()
    # The proposals with a place are on the round's map (Leaflet, the tile server a setting).
    expect(page.locator("#proposal-map")).to_be_visible()
    expect(page.locator("#proposal-map .leaflet-marker-icon")).to_have_count(2)
    # The README's tour: a comment under their proposal, then the live room.
    _main(page).get_by_role("link", name="Safer crossing on Station Road").first.click()
    page.get_by_label("Your comment").fill("The crossing would help the whole street.")
    page.get_by_role("group", name="Where do you stand?").get_by_label("For").check()
    page.get_by_role("button", name="Publish your comment").click()
    expect(_main(page)).to_contain_text("The crossing would help the whole street.")
    assert_accessible(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rounds").click()
    _main(page).get_by_role("link", name="City budget 2027", exact=True).click()
    _main(page).get_by_role("link", name="See the rooms").click()
    _main(page).get_by_role("link", name="Poulton evening: the Station Road crossing").click()
    expect(page.locator("#agenda-current")).to_have_text(
        "The Station Road crossing: for and against"
    )
    expect(_main(page)).to_contain_text("Children cross here twice a day")
    expect(_main(page)).to_contain_text("Should the crossing go forward")
    # Only the one contribution the facilitator pinned shows the badge (every one did once).
    expect(page.locator("#contributions .c-pinned:visible")).to_have_count(1)
    assert_accessible(page)
    log_out_waiting(page)

    # Facilitator: their rooms are on their dashboard.
    log_in_by_clicking(page, url, "facilitator@example.org")
    expect(_main(page).get_by_role("heading", name="Deliberation rooms you run")).to_be_visible()
    click_from_dashboard(page, "Poulton evening: the Station Road crossing")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Poulton evening: the Station Road crossing"
    )
    expect(page.locator("#queue")).to_contain_text("Rosa Resident")
    assert_accessible(page)
    # The venue screen on a 1080p projector: the whole width, no site navigation, and the
    # poll whole on the screen (it was cut off, in a narrow column under the site's menu).
    page.set_viewport_size({"width": 1920, "height": 1080})
    _main(page).get_by_role("link", name="Venue screen").click()
    expect(page.locator("#agenda-current")).to_have_text(
        "The Station Road crossing: for and against"
    )
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    assert page.locator("#room").bounding_box()["width"] > 1600
    poll = page.locator("#polls").bounding_box()
    assert poll["height"] > 0 and poll["y"] + poll["height"] <= 1080
    assert_accessible(page)
    page.go_back()
    page.set_viewport_size({"width": 1280, "height": 720})
    # Plan a room for a round from the dashboard.
    click_from_dashboard(page, "City budget 2027")
    expect(page.get_by_role("heading", name="Plan a room")).to_be_visible()
    assert_accessible(page)
    log_out_waiting(page)

    # Event staff: the voting desks of the open round.
    log_in_by_clicking(page, url, "staff@example.org")
    expect(_main(page).get_by_role("heading", name="Voting desks")).to_be_visible()
    click_from_dashboard(page, "Paper ballots")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Key a paper ballot")
    assert_accessible(page)
    # Paper voters get a survey slip with their ballot paper, as kiosk and code voters get a
    # survey code on their receipt.
    _main(page).get_by_role("link", name="Print survey slips to hand out with the papers").click()
    assert_accessible(page)
    page.get_by_label("How many slips").fill("2")
    page.get_by_role("button", name="Make the slips").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("2 survey slips for")
    expect(page.locator(".receipt-code")).to_have_count(2)
    assert_accessible(page)
    click_from_dashboard(page, "Kiosks")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kiosks")
    assert_accessible(page)
    log_out_waiting(page)

    # Manager: queues per round, and a new round one click away.
    log_in_by_clicking(page, url, "manager@example.org")
    expect(_main(page).get_by_role("link", name="2 proposals to review").first).to_be_visible()
    click_from_dashboard(page, "Start a new round")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.url.endswith("/rounds/new/")
    # What happens to money an area leaves unspent, and the supports a proposal needs to go
    # forward, are set with the round.
    expect(page.get_by_text("Money an area leaves unspent")).to_be_visible()
    expect(page.get_by_label("A second pass across areas")).to_be_visible()
    expect(page.get_by_label("Supports needed to go forward to review")).to_be_visible()
    _checkboxes_sit_beside_their_labels(page)
    assert_accessible(page)
    click_from_dashboard(page, "2 proposals to review")
    expect(page.get_by_role("heading", name="Review by area")).to_be_visible()
    assert_accessible(page)
    click_from_dashboard(page, "Check residents' details so they can vote with their account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check residents' details")
    assert_accessible(page)
    # The city round's split between areas, its bands entered as rows of a table.
    click_from_dashboard(page, "City budget 2027", "Budget split between areas")
    expect(page.get_by_role("heading", level=1)).to_have_text("Share the budget between areas")
    assert_accessible(page)
    # The open round's manage page moves it on to counting.
    click_from_dashboard(page, "Westgate small grants 2026")
    expect(page.get_by_role("button", name="Move the round on")).to_be_visible()
    assert_accessible(page)
    log_out_waiting(page)

    # Councillor: the outcome report of last year's round, with rules published before voting.
    log_in_by_clicking(page, url, "councillor@example.org")
    click_from_dashboard(page, "Westgate small grants 2025")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Westgate small grants 2025")
    expect(_main(page)).to_contain_text(
        "The rules, budget and eligibility were published before voting opened"
    )
    assert_accessible(page)
    with page.expect_response(lambda r: r.url.startswith(url) and "pdf" in r.url) as pdf:
        _main(page).get_by_role("link", name="Download as PDF").click()
    assert pdf.value.status == 200 and pdf.value.headers["content-type"] == "application/pdf"
    page.go_back()
    with page.expect_download() as csv:
        _main(page).get_by_role("link", name="Download the figures (CSV)").click()
    assert csv.value.suggested_filename.endswith(".csv")
    log_out_waiting(page)

    # Admin: the site's administration, from "Running the site" on their page.
    log_in_by_clicking(page, url, "admin@example.org")
    click_from_dashboard(page, "Site administration: areas, census figures and people's roles")
    expect(page.get_by_role("heading", level=1)).to_have_text("Site administration")
    expect(page.get_by_role("link", name="Areas")).to_be_visible()
    assert_accessible(page)
