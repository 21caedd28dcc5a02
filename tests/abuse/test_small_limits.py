"""Issue 13, item 8: a made-up kiosk id, DEBUG when unset, and how long sessions last."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from django.urls import reverse

from backend.accounts.models import Role
from pb.voting.models import KioskSession
from tests.factories import UserFactory
from tests.foundation.test_settings import PRODUCTION, ROOT, _clean_env, _run


@pytest.mark.parametrize("value", ["not-a-uuid", "1", "", "' OR 1=1 --", "0" * 40])
def test_locking_a_kiosk_with_a_value_that_is_no_kiosk_id_answers_not_found(
    client: Any, vw: Any, value: str
) -> None:
    client.force_login(vw.staff)
    response = client.post(reverse("kiosk_desk", args=[vw.round.slug]), {"lock": value})
    assert response.status_code == 404


def test_locking_a_real_kiosk_still_works(client: Any, vw: Any) -> None:
    kiosk = KioskSession.objects.create(round=vw.round, area=vw.north, label="Hall")
    client.force_login(vw.staff)
    response = client.post(reverse("kiosk_desk", args=[vw.round.slug]), {"lock": str(kiosk.pk)})
    assert response.status_code == 302
    kiosk.refresh_from_db()
    assert kiosk.locked_at is not None


def test_debug_is_off_when_the_environment_does_not_set_it() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "DEBUG"}
    result = _run(
        env, "import django; django.setup(); from django.conf import settings as s; print(s.DEBUG)"
    )
    assert result.stdout.split() == ["False"], result.stderr[-2000:]


def test_check_deploy_is_clean_when_debug_is_simply_left_unset() -> None:
    env = {k: v for k, v in _clean_env().items() if k != "DEBUG"}
    env.update({k: v for k, v in PRODUCTION.items() if k != "DEBUG"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _log_in(client: Any, user: Any) -> None:
    response = client.post(reverse("login"), {"username": user.email, "password": "demo-pass-2026"})
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.mark.parametrize(
    "role", [Role.MANAGER, Role.EVENT_STAFF, Role.FACILITATOR, Role.COUNCILLOR, Role.ADMIN]
)
def test_staff_roles_get_a_working_day_session(client: Any, db: Any, settings: Any, role: str):
    user = UserFactory(role=role)
    user.set_password("demo-pass-2026")
    user.save()
    _log_in(client, user)
    assert client.session.get_expiry_age() == settings.STAFF_SESSION_SECONDS == 8 * 3600


def test_residents_keep_the_two_week_session(client: Any, db: Any, settings: Any) -> None:
    user = UserFactory(role=Role.RESIDENT)
    user.set_password("demo-pass-2026")
    user.save()
    _log_in(client, user)
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 14 * 24 * 3600
