"""A manager's check and a resident's change of details at the same moment never leave a
resident checked on details the manager did not see (PostgreSQL, real threads)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from backend.accounts import services
from backend.accounts.models import Profile, Role
from pb.services.residents import profile_verify
from tests.conftest import race
from tests.factories import AreaFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_a_birth_year_changed_while_the_manager_confirms_is_not_confirmed(clock):
    ward = AreaFactory(name="Harbour", slug="harbour")
    manager = UserFactory(role=Role.MANAGER)
    ward.managers.add(manager)
    rita = UserFactory(email="rita@example.org")
    born = clock.today().year - 36
    rita.profile.home_area = ward
    rita.profile.birth_year = born
    rita.profile.save()
    read = threading.Event()
    turn = iter(["manager", "resident"])
    pick = threading.Lock()

    def signal_after_the_profile_read(execute: Any, sql: str, *args: Any) -> Any:
        result = execute(sql, *args)
        if 'FROM "accounts_profile"' in sql:
            read.set()
        return result

    def act() -> str:
        with pick:
            who = next(turn)
        if who == "manager":
            listed = Profile.objects.get(pk=rita.profile.pk)
            with connection.execute_wrapper(signal_after_the_profile_read):
                profile_verify(actor=manager, profile=listed, confirmed=True, seen=(ward.pk, born))
        else:
            # The resident's page was loaded before; the save lands after the manager's read.
            mine = Profile.objects.get(pk=rita.profile.pk)
            assert read.wait(timeout=10)
            services.profile_update(profile=mine, changes={"birth_year": born - 20})
        return who

    outcomes = race(act, threads=2, hold='FROM "accounts_profile"', hold_at=2)

    assert [o.error for o in outcomes] == [None, None]
    stored = Profile.objects.get(pk=rita.profile.pk)
    assert stored.birth_year == born - 20
    assert stored.verified is False
