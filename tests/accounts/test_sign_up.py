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


def test_sign_up_creates_a_resident_with_a_profile_and_logs_them_in(client, area_factory):
    area = area_factory()
    response = client.post(
        reverse("sign_up"), {**GOOD, "home_area": area.pk, "birth_year": 1990, "gender": "woman"}
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.org")
    assert user.role == "resident"
    assert user.profile.home_area == area
    assert user.profile.birth_year == 1990
    assert user.profile.gender == "woman"
    assert client.get(reverse("dashboard")).status_code == 200


def test_sign_up_with_a_taken_email_shows_a_field_error_and_creates_nothing(client, user_factory):
    user_factory(email="new@example.org")
    response = client.post(reverse("sign_up"), {**GOOD, "email": "NEW@example.org"})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert User.objects.filter(email__iexact="new@example.org").count() == 1


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
