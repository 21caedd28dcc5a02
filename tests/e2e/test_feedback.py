"""Outcome feedback in a real browser: the residents' results, the survey, the councillors'
report (HTML and PDF), all checked with axe-core and, for the results, without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from feedback import tasks
from feedback.models import OutcomeReport, PendingSurveyAnswer
from tests.e2e.conftest import assert_accessible
from tests.feedback.conftest import Counted

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery"


def log_in(page, live_server, email):
    page.goto(live_server.url + "/accounts/log-in/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")


@pytest.fixture
def reported(db):
    world = Counted()
    tasks.outcome_pipeline.delay(world.round.pk)
    assert OutcomeReport.objects.get().published_at is not None
    return world


def test_a_voter_reads_the_results_hears_about_them_and_answers_the_survey(
    page, live_server, reported
):
    log_in(page, live_server, reported.voters[0].email)
    expect(page.get_by_role("link", name="The results of City 2027")).to_be_visible()
    page.get_by_role("link", name="The results of City 2027").click()
    page.wait_for_url("**/results/")
    expect(page.get_by_role("heading", name="Results of City 2027")).to_be_visible()
    table = page.get_by_role("table", name="Every project in North")
    assert (
        table.get_by_role("row", name="Brighter lights")
        .get_by_text("it cost more than the money left")
        .is_visible()
    )
    # The voter is thanked first, and the report's plain summary is there for everyone.
    expect(page.get_by_text("You voted in this round: thank you.")).to_be_visible()
    expect(page.get_by_role("heading", name="In short")).to_be_visible()
    # The recount command waits behind a disclosure for technical readers.
    command = page.get_by_text("python -m pb.tally FILE.pb --rule greedy")
    expect(command).to_be_hidden()
    page.get_by_text("For people who write software").click()
    expect(command).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Tell us how it went").click()
    assert_accessible(page)
    page.get_by_role("radio", name="Tend to agree").check()
    page.get_by_role("radio", name="4 – fairly satisfied").check()
    page.get_by_label("Anything else you want to tell us?").fill("More benches please")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert PendingSurveyAnswer.objects.get().influence == "tend_to_agree"


def test_the_results_page_works_without_javascript(page_no_js, live_server, reported):
    page_no_js.goto(live_server.url + "/rounds/city-2027/results/")
    expect(page_no_js.get_by_role("table", name="Every project in South")).to_be_visible()
    page_no_js.get_by_role("link", name="All the open data for this round").click()
    expect(page_no_js.get_by_text("CC BY 4.0").first).to_be_visible()


def test_a_councillor_reads_the_report_for_their_ward_and_downloads_the_pdf(
    page, live_server, reported
):
    log_in(page, live_server, reported.councillor.email)
    page.get_by_role("link", name="City 2027").first.click()
    page.wait_for_url("**/report/")
    headings = page.get_by_role("heading", level=2).all_inner_texts()
    assert headings[:5] == [
        "In short",
        "1. Integrity: were the rules fixed and can the count be checked?",
        "2. Inclusion: who took part?",
        "3. Deliberation: what information and discussion did voters have?",
        "4. Influence: what did residents decide, and what came of it?",
    ]
    assert page.get_by_role("img", name="Share of voters and share of population, by area")
    assert (
        page.get_by_role("table", name="Projects not funded, and why")
        .get_by_text("Brighter lights")
        .is_visible()
    )
    assert page.get_by_text("Clean the pond").count() == 0
    assert_accessible(page)
    pdf = page.request.get(live_server.url + "/rounds/city-2027/report.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")


def test_the_report_keeps_to_a_phone_s_width(page, live_server, reported):
    """At 390 pixels the report was 535 wide: long fact names and wide tables pushed it out."""
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, reported.councillor.email)
    page.get_by_role("link", name="City 2027").first.click()
    page.wait_for_url("**/report/")
    expect(page.get_by_role("img", name="Votes per project")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Each chart fits the screen: its figures are not cut off at the right edge.
    widths = page.evaluate(
        "[...document.querySelectorAll('figure.chart svg')]"
        ".map(s => s.getBoundingClientRect().right)"
    )
    assert widths and max(widths) <= 390
    assert_accessible(page)
