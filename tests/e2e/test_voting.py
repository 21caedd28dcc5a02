"""Voting in a real browser: online with the review step (with and without JavaScript), a kiosk
casting two ballots in a row, two staff keying paper with a mismatch, and a decision day."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from pb.rounds.models import RoundArea
from pb.voting.models import PaperBallot, Participation, PendingBallot
from tests.e2e.conftest import assert_accessible
from tests.factories import RoundFactory
from tests.voting.conftest import VotingWorld

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


def test_a_resident_votes_online_with_the_review_step_and_a_running_total(page, live_server):
    world = VotingWorld()
    log_in(page, live_server, "resident@example.org")
    page.goto(live_server.url + "/rounds/city-2027/")
    page.get_by_role("link", name="Vote", exact=True).click()
    expect(page.get_by_text("no more than £50,000")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Trees").check()
    page.get_by_label("Lights").check()
    expect(page.get_by_text("Total £38,000 of £50,000, £12,000 left.")).to_be_visible()
    page.get_by_label("Mural").check()
    expect(page.get_by_text("over the limit")).to_be_visible()
    page.get_by_role("button", name="Review my choices").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    page.get_by_label("Mural").uncheck()
    page.get_by_role("button", name="Review my choices").click()
    expect(
        page.get_by_text("You chose these 2 projects, total £38,000 of £50,000.")
    ).to_be_visible()
    assert_accessible(page)
    assert not PendingBallot.objects.exists()
    page.get_by_role("button", name="Cast my vote").click()
    page.wait_for_url("**/vote/receipt/")
    expect(page.get_by_text("Thank you: your vote is cast")).to_be_visible()
    assert_accessible(page)
    ballot = PendingBallot.objects.get()
    assert ballot.selections == {str(world.trees.pk): 1, str(world.lights.pk): 1}


def test_a_voter_code_votes_with_javascript_off_and_the_keyboard_alone(page_no_js, live_server):
    world = VotingWorld()
    [code] = world.codes(area=world.north)
    page = page_no_js
    page.goto(live_server.url + "/rounds/city-2027/vote/")
    page.get_by_label("Area").select_option(label="North")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Your voter code").fill(code)
    page.get_by_label("Benches").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Review my choices").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/vote/review/")
    expect(page.get_by_text("You chose this project, total £10,000 of £50,000.")).to_be_visible()
    page.get_by_role("button", name="Change my choices").click()
    expect(page.get_by_label("Benches")).to_be_checked()
    page.get_by_label("Mural").check()
    page.get_by_role("button", name="Review my choices").click()
    expect(
        page.get_by_text("You chose these 2 projects, total £25,000 of £50,000.")
    ).to_be_visible()
    page.get_by_role("button", name="Cast my vote").click()
    expect(page.get_by_text("Thank you: your vote is cast")).to_be_visible()
    assert PendingBallot.objects.get().selections == {
        str(world.benches.pk): 1,
        str(world.mural.pk): 1,
    }
    assert Participation.objects.get().voter_code is not None


def test_a_kiosk_casts_two_ballots_in_a_row_and_resets(page, live_server):
    world = VotingWorld()
    codes = world.codes(2, area=world.north)
    log_in(page, live_server, "staff@example.org")
    page.goto(live_server.url + "/rounds/city-2027/kiosks/")
    page.get_by_label("Area").select_option(label="North")
    page.get_by_label("Name of this kiosk").fill("Hall, table 1")
    page.get_by_role("button", name="Unlock as a kiosk").click()
    page.wait_for_url("**/kiosk/")
    for code, project in zip(codes, ["Trees", "Benches"], strict=True):
        assert_accessible(page)
        assert not page.locator("input[name=choice]:checked").count()
        page.get_by_label("Your voter code").fill(code)
        page.get_by_label(project).check()
        page.get_by_role("button", name="Review my choices").click()
        page.get_by_role("button", name="Cast my vote").click()
        expect(page.get_by_text("Thank you: your vote is cast")).to_be_visible()
        page.get_by_role("link", name="Done: next voter").click()
        page.wait_for_url("**/kiosk/")
    assert PendingBallot.objects.filter(channel="kiosk").count() == 2
    assert Participation.objects.filter(voter__isnull=False).count() == 0


def test_two_staff_key_a_paper_ballot_and_a_mismatch_goes_to_reconciliation(page, live_server):
    world = VotingWorld()
    for email, project in [("staff@example.org", "Trees"), ("staff2@example.org", "Lights")]:
        log_in(page, live_server, email)
        page.goto(live_server.url + "/rounds/city-2027/paper/")
        page.get_by_role("link", name="North").click()
        page.get_by_label("Number printed on the ballot paper").fill("P-101")
        page.get_by_label(project).check()
        page.get_by_role("button", name="Save this keying").click()
        log_out(page)
    assert PaperBallot.objects.get().status == "mismatch" and not PendingBallot.objects.exists()
    log_in(page, live_server, "manager@example.org")
    page.goto(live_server.url + "/rounds/city-2027/paper/reconcile/")
    expect(page.get_by_text("Ballot P-101")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("The second keying is right").check()
    page.get_by_label("Reason (goes in the record)").fill("The cross is on Lights.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Ballot P-101 is settled.")).to_be_visible()
    assert PendingBallot.objects.get().selections == {str(world.lights.pk): 1}


def test_a_decision_day_runs_from_open_to_the_results_reveal(page, live_server, browser):
    world = VotingWorld()
    day = RoundFactory(
        name="Poulton: In your hands",
        slug="in-your-hands",
        style="decision_day",
        phase="deliberation",
        budget=2_000_000,
        ballot_type="score",
        created_by=world.manager,  # opening and closing the vote is the round owner's
    )
    RoundArea.objects.create(round=day, area=world.north)
    bids = [
        world.proposal(name, cost, round=day, group=f"{name} group")
        for name, cost in [("Youth club", 1_200_000), ("Garden", 900_000), ("Choir", 500_000)]
    ]
    log_in(page, live_server, "manager@example.org")
    page.goto(live_server.url + "/rounds/in-your-hands/event/")
    page.get_by_role("button", name="Open the vote").click()
    expect(page.get_by_text("The vote is open.")).to_be_visible()
    from pb.voting.services.codes import voter_codes_issue

    codes = voter_codes_issue(actor=None, round=day, count=2)
    kiosk = browser.new_context(locale="en-GB").new_page()
    log_in(kiosk, live_server, "staff@example.org")
    kiosk.goto(live_server.url + "/rounds/in-your-hands/kiosks/")
    kiosk.get_by_role("button", name="Unlock as a kiosk").click()
    for code, scores in zip(codes, [(9, 4, 7), (8, 5, 6)], strict=True):
        kiosk.get_by_label("Your voter code").fill(code)
        for bid, score in zip(bids, scores, strict=True):
            kiosk.get_by_label(f"{bid.title} ").select_option(str(score))
        kiosk.get_by_role("button", name="Review my choices").click()
        kiosk.get_by_role("button", name="Cast my vote").click()
        kiosk.get_by_role("link", name="Done: next voter").click()
    screen = browser.new_context(locale="en-GB").new_page()
    screen.goto(live_server.url + "/rounds/in-your-hands/event/screen/")
    # Counts are cached for a few seconds; the screen refreshes itself and catches up.
    expect(screen.locator(".big-number")).to_have_text("2", timeout=15_000)
    page.reload()
    page.get_by_role("button", name="Close the vote and count").click()
    expect(page.get_by_text("The vote is closed")).to_be_visible()
    for _ in range(3):
        page.get_by_role("button", name="Reveal the next bid").click()
    screen.reload()
    reveal = screen.locator(".reveal li").all_inner_texts()
    assert [r.split()[0] for r in reveal] == ["Youth", "Choir", "Garden"]
    assert "17 points" in reveal[0] and "Funded: £12,000" in reveal[0]
    assert "Not funded" in reveal[2]
    expect(screen.get_by_text("Money left: £3,000")).to_be_visible()
    assert_accessible(screen)


def test_staff_tick_a_name_on_the_register_from_the_dashboard_by_keyboard(page, live_server):
    from pb.services.register import match_key
    from pb.voting.models import RegisterEntry

    world = VotingWorld()
    for name in ("Ann Jones", "Bob Smith"):
        RegisterEntry.objects.create(
            area=world.north,
            name=name,
            postcode="N1 1AA",
            birth_year=1980,
            match_key=match_key(name, "N1 1AA", 1980),
        )
    log_in(page, live_server, "staff@example.org")
    city = page.locator("li", has_text="City 2027")
    city.get_by_role("link", name="Tick names on the register").click()
    page.get_by_label("Name").fill("ann jones")
    page.get_by_label("Postcode").fill("n1 1aa")
    page.keyboard.press("Enter")
    expect(page.get_by_role("row", name="Ann Jones")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Tick Ann Jones for a paper ballot").focus()
    page.keyboard.press("Enter")
    expect(
        page.get_by_text("Ann Jones is ticked. Hand them a paper ballot for North.")
    ).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Name").fill("Bob")
    page.get_by_label("Year of birth").fill("1980")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Tick Bob Smith and give a kiosk code").click()
    expect(page.get_by_role("heading", name="Bob Smith is ticked")).to_be_visible()
    assert_accessible(page)
    assert Participation.objects.filter(desk_tick=True).count() == 1


def test_a_manager_downloads_letters_for_the_register_from_the_dashboard(page, live_server):
    from pb.services.register import match_key
    from pb.voting.models import RegisterEntry

    world = VotingWorld(phase="deliberation")
    RegisterEntry.objects.create(
        area=world.north,
        name="Ann Jones",
        postcode="N1 1AA",
        birth_year=1980,
        match_key=match_key("Ann Jones", "N1 1AA", 1980),
    )
    log_in(page, live_server, "manager@example.org")
    page.get_by_role("rowheader", name="City 2027").get_by_role("link").click()
    page.get_by_role("link", name="Letters for the register").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Letters for the register")
    assert_accessible(page)
    page.get_by_label("Letters for the residents of").select_option(label="North")
    with page.expect_download() as download:
        page.get_by_role("button", name="Make the codes and download the file").click()
    assert download.value.suggested_filename == "city-2027-north-letters.csv"
    assert "Ann Jones" in Path(download.value.path()).read_text(encoding="utf-8")


def test_a_manager_links_an_unmatched_account_to_the_register_by_keyboard(page, live_server):
    from backend.accounts.models import Profile
    from pb.services.register import match_key
    from pb.voting.models import RegisterEntry
    from tests.factories import UserFactory

    world = VotingWorld()
    entry = RegisterEntry.objects.create(
        area=world.north,
        name="Anne Jones",
        postcode="N1 1AA",
        birth_year=1980,
        match_key=match_key("Anne Jones", "N1 1AA", 1980),
    )
    ann = UserFactory(display_name="Ann Jones").profile
    ann.home_area, ann.birth_year = world.north, 1980
    ann.save()
    log_in(page, live_server, "manager@example.org")
    page.get_by_role("link", name="resident's details so they can vote").click()
    page.get_by_label("Anne Jones, N1 1AA, 1980 (North)").check()
    assert_accessible(page)
    page.get_by_role("button", name="Confirm Ann Jones and link to the register").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Ann Jones is checked and linked to the register.")).to_be_visible()
    assert Profile.objects.get(pk=ann.pk).register_entry == entry
