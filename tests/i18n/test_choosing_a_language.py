"""Choosing a language: the switcher, the cookie, the account, Accept-Language, kiosks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from backend.accounts.models import User
from pb.money import format_money
from pb.voting.models import KioskSession
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _html_tag(page: str) -> str:
    match = re.search(r"<html[^>]*>", page)
    assert match, "page has no <html> tag"
    return match.group(0)


def test_every_page_offers_the_four_languages_each_named_in_itself(client: Any) -> None:
    page = client.get(reverse("home")).content.decode()
    for code, name in (("en-gb", "English"), ("cy", "Cymraeg"), ("pl", "Polski"), ("ur", "اردو")):
        assert f'name="language" value="{code}" lang="{code}"' in page
        assert f">{name}</button>" in page
    assert f'action="{reverse("set_language")}"' in page


@pytest.mark.parametrize(
    ("accept", "lang", "direction"),
    [
        ("cy,en;q=0.5", "cy", "ltr"),
        ("pl-PL,pl;q=0.9", "pl", "ltr"),
        ("ur", "ur", "rtl"),
        ("fr", "en-gb", "ltr"),
    ],
)
def test_the_first_visit_follows_the_browser(
    client: Any, accept: str, lang: str, direction: str
) -> None:
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE=accept).content.decode()
    assert _html_tag(page) == f'<html lang="{lang}" dir="{direction}">'


def test_a_visitor_s_choice_is_kept_in_a_cookie_and_wins_over_the_browser(client: Any) -> None:
    response = client.post(reverse("set_language"), {"language": "ur", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ur"
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    assert _html_tag(page) == '<html lang="ur" dir="rtl">'
    assert 'value="ur" lang="ur" dir="rtl" aria-pressed="true"' in page


def test_a_signed_in_resident_s_choice_is_stored_on_the_account_and_follows_them(
    client: Any,
) -> None:
    user = UserFactory(email="gwen@example.org")
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "cy", "next": "/"})
    user.refresh_from_db()
    assert user.language == "cy"
    other_device = type(client)()
    other_device.force_login(user)
    page = other_device.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _html_tag(page).startswith('<html lang="cy"')


def test_a_language_that_is_not_offered_is_refused_with_a_message(client: Any) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    assert response.status_code == 400 and "not offered" in response.content.decode()
    user.refresh_from_db()
    assert user.language == ""
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies


def test_switching_from_a_post_only_step_goes_back_to_the_ballot(client: Any, vw: Any) -> None:
    client.force_login(vw.resident)
    review = client.post(
        reverse("vote_review", args=[vw.round.slug]),
        {"area": vw.north.pk, "choice": [vw.trees.pk]},
    ).content.decode()
    ballot = reverse("vote", args=[vw.round.slug])
    assert f'<input type="hidden" name="next" value="{ballot}">' in review


def test_signing_up_keeps_the_language_it_was_done_in(client: Any) -> None:
    client.post(reverse("set_language"), {"language": "pl", "next": "/"})
    client.post(
        reverse("sign_up"),
        {
            "email": "ola@example.org",
            "password1": "a long pass 2026",
            "password2": "a long pass 2026",
        },
    )
    assert User.objects.get(email="ola@example.org").language == "pl"


def test_money_is_written_as_each_language_writes_it() -> None:
    expected = {
        "en-gb": "£12,500",
        "cy": "£12,500",
        "pl": "12\xa0500\xa0£",
        "ur": "\u2066£12,500\u2069",  # isolated, or right-to-left text shows "12,500£"
    }
    for code, text in expected.items():
        with translation.override(code):
            assert format_money(1_250_000) == text
    with translation.override("pl"):
        assert format_money(-1_250_050) == "-12\xa0500,50\xa0£"


def test_a_kiosk_goes_back_to_its_own_language_for_the_next_voter(client: Any, vw: Any) -> None:
    (code,) = vw.codes(1, area=vw.north)
    client.force_login(vw.staff)
    unlocked = client.post(
        reverse("kiosk_desk", args=[vw.round.slug]),
        {"unlock": "1", "area": vw.north.pk, "label": "Hall", "language": "cy"},
    )
    assert KioskSession.objects.get().language == "cy"
    start = client.get(unlocked["Location"])
    assert start["Location"] == reverse("kiosk_choose")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "cy"
    first = client.get(reverse("kiosk_choose")).content.decode()
    assert _html_tag(first).startswith('<html lang="cy"')
    assert "language-switcher-large" in first  # large buttons on the first screen
    client.post(reverse("set_language"), {"language": "ur", "next": reverse("kiosk_choose")})
    data = {"voter_code": code, "choice": [vw.trees.pk]}
    review = client.post(reverse("kiosk_review"), data).content.decode()
    assert _html_tag(review).startswith('<html lang="ur" dir="rtl"')
    receipt = client.post(reverse("kiosk_cast"), data)
    assert _html_tag(receipt.content.decode()).startswith('<html lang="ur"')  # the voter's own
    assert receipt.cookies[settings.LANGUAGE_COOKIE_NAME].value == "cy"  # the next voter's
    after = client.get(reverse("kiosk_choose")).content.decode()
    assert _html_tag(after).startswith('<html lang="cy"')


def test_a_kiosk_left_idle_resets_its_language_too(client: Any, vw: Any) -> None:
    client.force_login(vw.staff)
    client.post(
        reverse("kiosk_desk", args=[vw.round.slug]),
        {"unlock": "1", "area": vw.north.pk, "language": "pl"},
    )
    client.post(reverse("set_language"), {"language": "ur", "next": reverse("kiosk_choose")})
    page = client.get(reverse("kiosk_choose")).content.decode()
    assert 'data-kiosk-home="/kiosk/?next_voter=1"' in page
    client.get(reverse("kiosk_choose") + "?next_voter=1")
    assert _html_tag(client.get(reverse("kiosk_choose")).content.decode()).startswith(
        '<html lang="pl"'
    )


def test_a_kiosk_refuses_a_language_that_is_not_offered(client: Any, vw: Any) -> None:
    client.force_login(vw.staff)
    response = client.post(
        reverse("kiosk_desk", args=[vw.round.slug]),
        {"unlock": "1", "area": vw.north.pk, "language": "xx"},
    )
    assert response.status_code == 400 and KioskSession.objects.count() == 0
