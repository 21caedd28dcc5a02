from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from backend.accounts import services
from backend.accounts.models import Profile, User
from backend.errors import DomainError

pytestmark = pytest.mark.django_db

GOOD = {
    "email": "new@example.org",
    "display_name": "New Person",
    "password1": "a-long-unusual-passphrase",
    "password2": "a-long-unusual-passphrase",
}


def confirmation_link(mailoutbox) -> str:
    return next(line for line in mailoutbox[-1].body.splitlines() if "/confirm/" in line).strip()


def test_sign_up_creates_a_resident_who_confirms_the_address_then_is_logged_in(
    client, area_factory, mailoutbox
):
    area = area_factory()
    response = client.post(
        reverse("sign_up"), {**GOOD, "home_area": area.pk, "birth_year": 1990, "gender": "woman"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("sign_up_sent")
    user = User.objects.get(email="new@example.org")
    assert user.role == "resident" and not user.is_active  # not until the address is confirmed
    assert user.profile.home_area == area
    assert user.profile.birth_year == 1990
    assert user.profile.gender == "woman"
    assert client.get(reverse("dashboard")).status_code == 302
    assert (
        client.post(
            reverse("login"), {"username": GOOD["email"], "password": GOOD["password1"]}
        ).status_code
        == 200
    )  # an unconfirmed account cannot log in, so cannot vote
    link = confirmation_link(mailoutbox)
    confirmed = client.get(link)
    assert confirmed.status_code == 302 and confirmed["Location"] == reverse("dashboard")
    assert User.objects.get(pk=user.pk).is_active
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get(link).status_code == 400  # a link works once


def test_sign_up_with_a_taken_email_looks_the_same_and_mails_the_owner(
    client, user_factory, mailoutbox
):
    """The page never says whether an address has an account (issue 13): the same redirect and
    page either way; the owner of the taken address gets an e-mail saying so."""
    user_factory(email="taken@example.org")
    taken = client.post(reverse("sign_up"), {**GOOD, "email": "TAKEN@example.org"})
    fresh = client.post(reverse("sign_up"), {**GOOD, "email": "fresh@example.org"})
    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert User.objects.filter(email__iexact="taken@example.org").count() == 1
    assert [m.to for m in mailoutbox] == [["taken@example.org"], ["fresh@example.org"]]
    assert (
        "already have" in mailoutbox[0].body and "/accounts/password-reset/" in mailoutbox[0].body
    )
    assert "/confirm/" not in mailoutbox[0].body and "/confirm/" in mailoutbox[1].body
    page = client.get(reverse("sign_up_sent")).content.decode()
    assert "Check your e-mail" in page and "already" not in page


@pytest.mark.parametrize(
    "link",
    [
        "/accounts/confirm/MQ/not-a-token/",
        "/accounts/confirm/!!!/x/",
        "/accounts/confirm/OTk5OTk/1-2/",
    ],
)
def test_a_wrong_confirmation_link_says_what_to_do(client, link):
    response = client.get(link)
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()


def test_sign_up_with_a_weak_password_shows_a_field_error_and_creates_nothing(client):
    response = client.post(reverse("sign_up"), {**GOOD, "password1": "123", "password2": "123"})
    assert response.status_code == 400
    assert "too short" in response.content.decode()
    assert not User.objects.exists()


def test_sign_up_with_a_birth_year_in_the_future_is_refused(client):
    future = dt.date.today().year + 1
    response = client.post(reverse("sign_up"), {**GOOD, "birth_year": future})
    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()
    assert not User.objects.exists()
    assert not Profile.objects.exists()


def test_sign_up_with_different_passwords_is_refused(client):
    response = client.post(reverse("sign_up"), {**GOOD, "password2": "something-else-entirely"})
    assert response.status_code == 400
    assert "not the same" in response.content.decode()
    assert not User.objects.exists()


def test_user_sign_up_service_rejects_duplicates_case_insensitively(user_factory):
    user_factory(email="dup@example.org")
    with pytest.raises(DomainError) as info:
        services.user_sign_up(email="Dup@Example.org", password="a-long-unusual-passphrase")
    assert "email" in info.value.fields


def test_log_in_and_log_out(client, user_factory):
    user_factory(email="me@example.org")
    response = client.post(
        reverse("login"), {"username": "me@example.org", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard")).status_code == 302


def test_password_reset_sends_an_email(client, user_factory, mailoutbox):
    user_factory(email="forgetful@example.org")
    response = client.post(reverse("password_reset"), {"email": "forgetful@example.org"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert "/accounts/reset/" in mailoutbox[0].body
