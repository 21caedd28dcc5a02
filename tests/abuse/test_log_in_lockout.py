"""Issue 13, item 4: 30 wrong passwords, then the right one, logged in. Now django-axes pauses
logging in to an account, or from an address, after LOGIN_FAILURE_LIMIT (10) failures."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"
pytestmark = pytest.mark.django_db


def attempt(client: Client, email: str, password: str, **extra: Any) -> Any:
    return client.post(reverse("login"), {"username": email, "password": password}, **extra)


def test_thirty_wrong_passwords_then_the_right_one_does_not_log_in() -> None:
    user = UserFactory(email="resident@example.org")
    client = Client()
    statuses = [attempt(client, user.email, f"wrong-{i}").status_code for i in range(30)]
    assert statuses[:9] == [200] * 9  # the form again, "wrong password"
    assert set(statuses[9:]) == {429}
    right = attempt(client, user.email, PASSWORD)
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    page = right.content.decode()
    assert "Log-in paused" in page and "Wait 15 minutes" in page
    assert reverse("password_reset") in page
    assert 'rel="stylesheet"' in page  # the site's own page, not a bare text answer
    assert int(right["Retry-After"]) == 15 * 60


def test_the_lock_is_per_account_from_any_address_and_ignores_letter_case() -> None:
    user = UserFactory(email="resident@example.org")
    for i in range(10):
        address = f"10.0.0.{i}"
        email = user.email.upper() if i % 2 else user.email
        attempt(Client(), email, "wrong", REMOTE_ADDR=address)
    assert attempt(Client(), user.email, PASSWORD, REMOTE_ADDR="10.0.1.1").status_code == 429


def test_the_lock_is_per_address_across_accounts() -> None:
    people = [UserFactory() for _ in range(10)]
    for person in people:
        attempt(Client(), person.email, "wrong", REMOTE_ADDR="10.0.0.9")
    someone = UserFactory()
    assert attempt(Client(), someone.email, PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 429
    # The same person from another address is fine: only that address is paused.
    assert attempt(Client(), someone.email, PASSWORD, REMOTE_ADDR="10.0.0.10").status_code == 302
    # And a forged X-Forwarded-For does not escape the paused address.
    forged = attempt(
        Client(), someone.email, PASSWORD, REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="1.2.3.4"
    )
    assert forged.status_code == 429


def test_the_lock_ends_after_the_cool_off(clock: Any) -> None:
    user = UserFactory()
    for _ in range(10):
        attempt(Client(), user.email, "wrong")
    assert attempt(Client(), user.email, PASSWORD).status_code == 429
    clock.advance(minutes=16)
    assert attempt(Client(), user.email, PASSWORD).status_code == 302


def test_a_few_mistakes_then_the_right_password_logs_in_and_clears_the_count() -> None:
    user = UserFactory()
    client = Client()
    for _ in range(9):
        assert attempt(client, user.email, "wrong").status_code == 200
    assert attempt(client, user.email, PASSWORD).status_code == 302
    for _ in range(9):  # the count started again
        assert attempt(Client(), user.email, "wrong").status_code == 200


def test_setting_a_new_password_by_the_e_mailed_link_ends_the_lock(client: Any) -> None:
    user = UserFactory(email="resident@example.org")
    for _ in range(10):
        attempt(Client(), user.email, "wrong", REMOTE_ADDR=f"10.1.0.{_}")
    assert attempt(Client(), user.email, PASSWORD, REMOTE_ADDR="10.2.0.1").status_code == 429
    client.post(reverse("password_reset"), {"email": user.email})
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/reset/" in line).strip()
    form = client.get(link, follow=True)
    new = "a-brand-new-long-password-2027"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert attempt(Client(), user.email, new, REMOTE_ADDR="10.2.0.1").status_code == 302


def test_a_log_in_from_code_without_a_request_is_left_to_django() -> None:
    """Tests log in with ``Client.login``, which passes no request: axes has no address to
    count there, so Django's backend answers (right password in, wrong one out)."""
    user = UserFactory()
    assert Client().login(email=user.email, password=PASSWORD)
    assert not Client().login(email=user.email, password="wrong")
