from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backend.accounts.models import User
from tests.e2e.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


def test_home_page_renders_and_is_accessible(page, live_server, round_factory):
    round_factory(name="Harbour green fund", phase="intake")
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Harbour green fund")).to_be_visible()
    assert_accessible(page)


def test_skip_link_is_first_and_moves_focus_to_main(page, live_server):
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert "Skip to main content" in focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_resident_signs_up_logs_out_and_logs_in_with_the_keyboard(page, live_server, area_factory):
    area_factory(name="Poulton")
    page.goto(live_server.url + "/accounts/sign-up/")
    assert_accessible(page)
    page.get_by_label("E-mail address").fill("rosa@example.org")
    page.get_by_label("Your name").fill("Rosa")
    page.get_by_label("Password", exact=True).fill("a-long-unusual-passphrase")
    page.get_by_label("Password again").fill("a-long-unusual-passphrase")
    page.get_by_label("Where you live").select_option(label="Poulton")
    page.get_by_label("Year you were born").fill("1988")
    page.get_by_label("Year you were born").press("Enter")  # submit with the keyboard
    page.wait_for_url("**/sign-up/sent/")
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    assert_accessible(page)
    from urllib.parse import urlsplit

    from django.core import mail

    link = next(line for line in mail.outbox[-1].body.splitlines() if "/confirm/" in line)
    page.goto(live_server.url + urlsplit(link.strip()).path)  # the link in the e-mail
    page.wait_for_url("**/dashboard/")
    expect(page.get_by_role("heading", name="Your page")).to_be_visible()
    assert User.objects.get(email="rosa@example.org").profile.home_area.name == "Poulton"

    page.get_by_role("button", name="Log out").click()
    page.goto(live_server.url + "/accounts/log-in/")
    assert_accessible(page)
    page.get_by_label("E-mail address").fill("rosa@example.org")
    page.get_by_label("Password").fill("a-long-unusual-passphrase")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")


def test_sign_up_errors_are_shown_and_accessible(page, live_server):
    page.goto(live_server.url + "/accounts/sign-up/")
    page.get_by_label("E-mail address").fill("rosa@example.org")
    page.get_by_label("Password", exact=True).fill("123")
    page.get_by_label("Password again").fill("123")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert "too short" in page.content()
    assert_accessible(page)
    assert not User.objects.exists()
