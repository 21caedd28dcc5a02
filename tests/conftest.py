"""Shared fixtures.

Under ``CI=true`` a test that needs PostgreSQL, Redis or the browser fails when that part is
missing instead of skipping, so a green CI always means the real parts were exercised.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.factories import AreaFactory, RoundFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(condition: bool, what: str) -> None:
    """Skip locally, fail in CI, when a real part the test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is not available")
    pytest.skip(f"{what} is not available here")


@pytest.fixture(autouse=True)
def _eager_celery(settings: Any) -> None:
    """Tasks run inline in tests unless a test starts a real worker."""
    from backend.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    # PBKDF2 is deliberately slow; tests create many people and do not test the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def user_factory() -> type[UserFactory]:
    return UserFactory


@pytest.fixture
def area_factory() -> type[AreaFactory]:
    return AreaFactory


@pytest.fixture
def round_factory() -> type[RoundFactory]:
    return RoundFactory
