"""The PB round journeys in a real browser, checked with the keyboard and axe-core."""

from __future__ import annotations

import pytest
from django.utils.formats import date_format
from django.utils.timezone import localtime
from playwright.sync_api import expect

from backend.accounts.models import Role
from pb.proposals.models import Proposal
from pb.rounds.models import Round
from tests.e2e.conftest import assert_accessible
from tests.factories import AreaFactory, ThemeFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery"


def log_in(page, live_server, email):
    page.goto(live_server.url + "/accounts/log-in/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")


def log_out(page):
    page.get_by_role("button", name="Log out").click()
    # Wait for the page after logging out: the next step must not act on the old one.
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def test_city_round_from_creation_to_published_split_and_reviewed_proposal(page, live_server):
    north = AreaFactory(name="North Ward", slug="north-ward", population=30_000)
    south = AreaFactory(name="South Ward", slug="south-ward", population=60_000)
    manager = UserFactory(email="manager@example.org", role=Role.MANAGER)
    north.managers.add(manager)
    south.managers.add(manager)
    resident = UserFactory(email="rosa@example.org")
    resident.profile.home_area = north
    resident.profile.save()
    ThemeFactory(name="Parks", slug="parks")

    # The manager creates a city round with two areas.
    log_in(page, live_server, "manager@example.org")
    page.goto(live_server.url + "/rounds/new/")
    assert_accessible(page)
    page.get_by_label("Name").fill("City budget 2028")
    page.get_by_label("Total budget in pounds").fill("100,000")
    page.get_by_label("North Ward").check()
    page.get_by_label("South Ward").check()
    page.get_by_role("button", name="Create round").click()
    page.wait_for_url("**/manage/")
    round_ = Round.objects.get(name="City budget 2028")

    # ... computes the Porto Alegre split (population only, so the figures are easy) ...
    page.get_by_role("link", name="Budget split between areas").click()
    assert_accessible(page)
    page.locator("#id_need-use").uncheck()
    page.locator("#id_priority-use").uncheck()
    page.locator("#id_population-use").check()
    page.get_by_role("button", name="Compute the split").click()
    expect(page.get_by_role("cell", name="£40,000")).to_be_visible()
    expect(page.get_by_role("cell", name="£60,000")).to_be_visible()
    page.get_by_role("button", name="Publish this split").click()
    # The page shows the publication date in its own format; read it back from the stored time
    # rather than guessing a digit, so the check holds on every day of the month.
    round_.refresh_from_db()
    published = date_format(localtime(round_.split_published_at), "j M Y, H:i")
    expect(page.get_by_text(f"Published on {published}")).to_be_visible()

    # ... and opens intake with a reason.
    page.goto(live_server.url + f"/rounds/{round_.slug}/manage/")
    page.get_by_label("Move the round to").select_option("intake")
    page.get_by_label("Why now?").fill("Launch evening held on Monday")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Move the round on").click()
    expect(page.get_by_text("Taking proposals").first).to_be_visible()
    log_out(page)

    # A resident sees the published split, submits a proposal and edits it.
    log_in(page, live_server, "rosa@example.org")
    page.goto(live_server.url + f"/rounds/{round_.slug}/")
    expect(
        page.get_by_role("heading", name="How the money is shared between areas")
    ).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Put forward a proposal").click()
    page.get_by_label("Title").fill("Benches by the pond")
    page.get_by_label("What would the project do").fill("Six benches along the pond path.")
    page.get_by_label("Estimated cost in pounds").fill("3,000")
    page.get_by_role("button", name="Submit proposal").click()
    expect(page.get_by_role("heading", name="Benches by the pond")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Change your proposal").click()
    page.get_by_label("Estimated cost in pounds").fill("3,500")
    page.get_by_role("button", name="Submit proposal").click()
    proposal = Proposal.objects.get(title="Benches by the pond")
    assert proposal.estimated_cost == 350_000 and proposal.area == north
    log_out(page)

    # The manager moves to review and decides, with the council's cost and a public reason.
    log_in(page, live_server, "manager@example.org")
    page.goto(live_server.url + f"/rounds/{round_.slug}/manage/")
    page.get_by_label("Move the round to").select_option("review")
    page.get_by_label("Why now?").fill("Intake closed on its date")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Move the round on").click()
    page.get_by_role("link", name="North Ward").click()
    assert_accessible(page)
    page.get_by_role("link", name="Benches by the pond").click()
    page.get_by_label("Feasible: put it on the ballot").check()
    page.get_by_label("Council's cost estimate in pounds").fill("4,200")
    page.get_by_label("Reason, written for residents").fill(
        "Parks can install these in spring; the cost includes foundations."
    )
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_text("Decision recorded")).to_be_visible()
    log_out(page)

    # The resident sees the decision on their page and on the proposal.
    log_in(page, live_server, "rosa@example.org")
    expect(page.get_by_text("On the ballot").first).to_be_visible()
    page.get_by_role("link", name="Benches by the pond").first.click()
    expect(page.get_by_text("the cost includes foundations").first).to_be_visible()
    expect(page.get_by_text("£4,200").first).to_be_visible()
    assert_accessible(page)


def test_proposal_form_works_without_javascript_and_shows_errors(page_no_js, live_server):
    page = page_no_js
    area = AreaFactory(name="Harbour", slug="harbour")
    round_ = Round.objects.create(
        name="Harbour 2027", slug="harbour-2027", budget=1_000_000, phase="intake"
    )
    round_.round_areas.create(area=area)
    UserFactory(email="rosa@example.org")
    log_in(page, live_server, "rosa@example.org")
    page.goto(live_server.url + f"/rounds/{round_.slug}/propose/")
    page.get_by_label("Title").fill("")
    page.get_by_label("Estimated cost in pounds").fill("-5")
    page.get_by_role("button", name="Submit proposal").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert "Give your proposal a title." in page.content()
    assert not Proposal.objects.exists()
