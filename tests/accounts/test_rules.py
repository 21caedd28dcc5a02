"""The permission predicates as a matrix of role x scope."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from backend.accounts import rules
from backend.accounts.models import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "in_scope", "manages", "represents"),
    [
        (Role.RESIDENT, True, False, False),
        (Role.MANAGER, True, True, False),
        (Role.MANAGER, False, False, False),
        (Role.COUNCILLOR, True, False, True),
        (Role.COUNCILLOR, False, False, False),
        (Role.FACILITATOR, True, False, False),
        (Role.EVENT_STAFF, True, False, False),
        (Role.ADMIN, False, True, True),
    ],
)
def test_area_scoped_predicates(user_factory, area_factory, role, in_scope, manages, represents):
    ward = area_factory()
    neighbourhood = area_factory(parent=ward)
    other = area_factory()
    user = user_factory(role=role)
    scope = ward if in_scope else other
    if role == Role.MANAGER:
        scope.managers.add(user)
    if role == Role.COUNCILLOR:
        scope.councillors.add(user)
    # Scope on a ward covers the neighbourhoods inside it.
    assert rules.manages_area(user, neighbourhood) is manages
    assert rules.represents_area(user, neighbourhood) is represents


def test_anonymous_people_have_no_role():
    anonymous = AnonymousUser()
    assert not rules.is_signed_in(anonymous)
    assert not rules.has_role(anonymous, Role.RESIDENT)
    assert not rules.can_facilitate(anonymous)


def test_inactive_accounts_lose_their_role(user_factory):
    user = user_factory(role=Role.FACILITATOR, is_active=False)
    assert not rules.can_facilitate(user)
