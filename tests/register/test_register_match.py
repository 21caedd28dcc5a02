"""Bulk matching: waiting accounts checked against the register at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from backend.accounts.models import Profile
from backend.accounts.services import profile_update
from backend.errors import NotAllowed
from pb.areas.models import AreaKind
from pb.models import AuditEntry
from pb.services.register import match_key, register_match
from pb.voting.models import RegisterEntry
from tests.factories import AreaFactory, UserFactory
from tests.pb.conftest import World


def _entry(area: Any, name: str, postcode: str, year: int) -> RegisterEntry:
    return RegisterEntry.objects.create(
        area=area,
        name=name,
        postcode=postcode,
        birth_year=year,
        match_key=match_key(name, postcode, year),
    )


def _waiting(area: Any, name: str, postcode: str, year: int | None) -> Profile:
    user = UserFactory(display_name=name)
    profile = user.profile
    profile.home_area, profile.postcode, profile.birth_year = area, postcode, year
    profile.save()
    return profile


def test_matches_are_checked_and_linked_the_rest_wait(world: World) -> None:
    ann_entry = _entry(world.north, "Ann Jones", "N1 1AA", 1980)
    _entry(world.north, "Bob Smith", "N1 1AB", 1990)
    ann = _waiting(world.north, "  ann  JONES", "n11aa", 1980)  # case and spaces ignored
    bob = _waiting(world.north, "Bob Smith", "N1 1AB", 1991)  # wrong year
    cy = _waiting(world.north, "Cy", "", 1970)  # no postcode
    report = register_match(actor=world.manager)
    assert (report.matched, report.unmatched) == (1, 2)
    ann.refresh_from_db()
    bob.refresh_from_db()
    cy.refresh_from_db()
    assert ann.verified and ann.register_entry == ann_entry
    assert not bob.verified and bob.register_entry is None and not cy.verified
    assert AuditEntry.objects.filter(action="resident.matched", actor=world.manager).exists()


def test_an_entry_in_another_area_or_held_by_another_account_does_not_match(
    world: World,
) -> None:
    _entry(world.south, "Ann Jones", "N1 1AA", 1980)
    ann = _waiting(world.north, "Ann Jones", "N1 1AA", 1980)
    from backend.accounts.models import Role as R

    admin = UserFactory(role=R.ADMIN)
    assert register_match(actor=admin).matched == 0  # the register puts her in South
    held = _entry(world.north, "Bob Smith", "N1 1AB", 1990)
    first = _waiting(world.north, "Bob Smith", "N1 1AB", 1990)
    second = _waiting(world.north, "Bob Smith", "N1 1AB", 1990)
    report = register_match(actor=admin)
    assert report.matched == 1  # one entry, one account: the other waits for a person
    linked = Profile.objects.filter(register_entry=held)
    assert linked.count() == 1 and linked.get().pk in (first.pk, second.pk)
    ann.refresh_from_db()
    assert not ann.verified


def test_a_neighbourhood_entry_matches_a_resident_who_gave_the_ward(world: World) -> None:
    hood = AreaFactory(name="North End", kind=AreaKind.NEIGHBOURHOOD, parent=world.north)
    entry = _entry(hood, "Ann Jones", "N1 1AA", 1980)
    ann = _waiting(world.north, "Ann Jones", "N1 1AA", 1980)
    assert register_match(actor=world.manager).matched == 1
    ann.refresh_from_db()
    assert ann.register_entry == entry


def test_a_manager_matches_only_their_areas(world: World) -> None:
    _entry(world.south, "Gil", "S1 1AA", 1970)
    gil = _waiting(world.south, "Gil", "S1 1AA", 1970)
    assert register_match(actor=world.manager).matched == 0  # South is not theirs
    gil.refresh_from_db()
    assert not gil.verified
    assert register_match(actor=world.other_manager).matched == 1
    with pytest.raises(NotAllowed):
        register_match(actor=world.resident)


def test_changing_the_details_undoes_the_match(world: World) -> None:
    _entry(world.north, "Ann Jones", "N1 1AA", 1980)
    ann = _waiting(world.north, "Ann Jones", "N1 1AA", 1980)
    register_match(actor=world.manager)
    ann.refresh_from_db()
    assert profile_update(profile=ann, changes={"postcode": "N9 9ZZ"})
    ann.refresh_from_db()
    assert not ann.verified and ann.register_entry is None


def test_the_button_matches_and_says_how_many(client: Any, world: World) -> None:
    _entry(world.north, "Ann Jones", "N1 1AA", 1980)
    ann = _waiting(world.north, "Ann Jones", "N1 1AA", 1980)
    _waiting(world.north, "Bob", "N1 1AB", 1990)
    client.force_login(world.manager)
    page = client.get(reverse("residents_check")).content.decode()
    assert reverse("register_match") in page
    mail.outbox.clear()
    done = client.post(reverse("register_match"), follow=True)
    # One of each: the sentence is said in the singular (ngettext), not "1 ... are checked".
    assert "1 account matched the register and is checked. 1 is left to check by hand." in (
        done.content.decode()
    )
    ann.refresh_from_db()
    assert ann.verified
    client.force_login(world.resident)
    assert client.post(reverse("register_match")).status_code == 403
    assert client.get(reverse("register_match")).status_code == 405


def test_sign_up_and_profile_take_a_postcode(client: Any, world: World) -> None:
    from backend.accounts.services import user_sign_up

    user = user_sign_up(
        email="new@example.org", password="correct-horse-battery", postcode=" n1  1aa "
    )
    assert Profile.objects.get(user=user).postcode == "N1 1AA"
    client.force_login(world.resident)
    assert 'name="postcode"' in client.get(reverse("profile")).content.decode()
    assert 'name="postcode"' in _signed_out_sign_up_page()


def _signed_out_sign_up_page() -> str:
    from django.test import Client

    return Client().get(reverse("sign_up")).content.decode()
