"""A resident casts a ballot in each of the four languages, with JavaScript and without: the
switcher on the dashboard, then every step (ballot, review, receipt) in that language, with the
right lang and dir, no serious axe problem, and Urdu laid out right to left."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import translation
from playwright.sync_api import expect

from pb.voting.models import PendingBallot
from tests.e2e.conftest import assert_accessible
from tests.voting.conftest import VotingWorld

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery"
LANGUAGES = {"en-gb": "English", "cy": "Cymraeg", "pl": "Polski", "ur": "اردو"}


def T(language: str, text: str) -> str:
    """What the page says for ``text`` in ``language`` (the same catalogues the server uses)."""
    with translation.override(language):
        return translation.gettext(text)


def longest_words(template: str) -> str:
    """The longest stretch of a message between its {placeholders}, to find it on a page."""
    return max((part.strip(" ,.:") for part in re.split(r"\{\w+\}", template)), key=len)


def expect_language(page: Any, language: str) -> None:
    html = page.locator("html")
    expect(html).to_have_attribute("lang", language)
    expect(html).to_have_attribute("dir", "rtl" if language == "ur" else "ltr")
    assert page.evaluate("getComputedStyle(document.body).direction") == (
        "rtl" if language == "ur" else "ltr"
    )


def expect_mirrored(page: Any, language: str) -> None:
    """Urdu pages lay out from the right: the site name at the right of the header, and each
    checkbox to the right of its label."""
    width = page.viewport_size["width"]
    brand = page.locator(".site-header .brand").bounding_box()
    box = page.locator("input[name=choice]").first.bounding_box()
    label = page.locator(".ballot-item label").first.bounding_box()
    if language == "ur":
        assert brand["x"] > width / 2, brand
        assert box["x"] > label["x"], (box, label)
    else:
        assert brand["x"] < width / 2, brand
        assert box["x"] < label["x"], (box, label)


def cast_in(page: Any, live_server: Any, language: str, *, javascript: bool) -> None:
    world = VotingWorld()
    page.goto(live_server.url + "/accounts/log-in/")
    page.get_by_label("E-mail address").fill("resident@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")
    # The switcher: each language named in itself, a plain form.
    page.get_by_role("button", name=LANGUAGES[language], exact=True).click()
    expect_language(page, language)
    page.get_by_role("link", name=T(language, "Rounds"), exact=True).click()
    page.get_by_role("link", name="City 2027", exact=True).click()
    page.get_by_role("link", name=T(language, "Vote"), exact=True).click()
    page.wait_for_url("**/vote/")
    expect_language(page, language)
    expect(page.get_by_role("heading", level=1)).to_contain_text(T(language, "Your ballot"))
    expect_mirrored(page, language)
    if javascript:  # axe runs in the page, so only where JavaScript is on
        assert_accessible(page)
    page.get_by_label("Trees").check()
    page.get_by_label("Lights").check()
    total = page.locator("[data-running-total]")
    if javascript:
        words = longest_words(T(language, "Total {total} of {limit}, {left} left."))
        expect(total).to_contain_text(words)
        expect(total).to_be_visible()
    else:
        expect(total).to_be_hidden()
    page.get_by_role("button", name=T(language, "Review my choices")).click()
    page.wait_for_url("**/vote/review/")
    expect_language(page, language)
    expect(page.get_by_role("heading", level=1)).to_have_text(T(language, "Check your choices"))
    with translation.override(language):
        chose = translation.ngettext(
            "You chose this project", "You chose these %(n)d projects", 2
        ) % {"n": 2}
    expect(page.locator("#review-summary")).to_contain_text(chose)
    if javascript:  # axe runs in the page, so only where JavaScript is on
        assert_accessible(page)
    page.get_by_role("button", name=T(language, "Cast my vote")).click()
    page.wait_for_url("**/vote/receipt/")
    expect_language(page, language)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        T(language, "Thank you: your vote is cast")
    )
    if javascript:  # axe runs in the page, so only where JavaScript is on
        assert_accessible(page)
    ballot = PendingBallot.objects.get()
    assert ballot.selections == {str(world.trees.pk): 1, str(world.lights.pk): 1}
    world.resident.refresh_from_db()
    assert world.resident.language == language  # kept on the account


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_a_ballot_is_cast_in_each_language_with_javascript(page, live_server, language):
    assert T(language, "Cast my vote") != "Cast my vote" or language == "en-gb"
    cast_in(page, live_server, language, javascript=True)


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_a_ballot_is_cast_in_each_language_without_javascript(page_no_js, live_server, language):
    cast_in(page_no_js, live_server, language, javascript=False)


def test_a_kiosk_shows_its_languages_as_buttons_and_the_next_voter_starts_in_its_own(
    page, live_server
):
    """Event staff unlock a kiosk in Welsh; a voter switches to Polish with the large buttons on
    the first screen and votes; the next voter finds the kiosk in Welsh again."""
    world = VotingWorld()
    codes = world.codes(2, area=world.north)
    page.goto(live_server.url + "/accounts/log-in/")
    page.get_by_label("E-mail address").fill("staff@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")
    page.get_by_role("link", name="Kiosks").first.click()
    page.get_by_label("Area").select_option(label="North")
    page.get_by_label("Language each new voter sees first").select_option("cy")
    page.get_by_role("button", name="Unlock as a kiosk").click()
    page.wait_for_url("**/kiosk/")
    expect_language(page, "cy")
    buttons = page.locator(".language-switcher-large button")
    expect(buttons).to_have_count(len(LANGUAGES))
    # Large enough to hit with a finger on a touch screen.
    assert all(b.bounding_box()["height"] >= 44 for b in buttons.all())
    assert_accessible(page)

    page.get_by_role("button", name="Polski", exact=True).click()
    expect_language(page, "pl")
    page.get_by_label(T("pl", "Your voter code")).fill(codes[0])
    page.get_by_label("Trees").check()
    page.get_by_role("button", name=T("pl", "Review my choices")).click()
    page.get_by_role("button", name=T("pl", "Cast my vote")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        T("pl", "Thank you: your vote is cast")
    )
    expect_language(page, "pl")
    page.get_by_role("link", name=T("pl", "Done: next voter")).click()
    page.wait_for_url("**/kiosk/")
    expect_language(page, "cy")  # the next voter starts in the kiosk's own language
    expect(page.get_by_label(T("cy", "Your voter code"))).to_have_value("")
    assert PendingBallot.objects.filter(channel="kiosk").count() == 1
