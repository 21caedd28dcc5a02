"""Managers check residents' home area and age; changing them afterwards needs a new check."""

from __future__ import annotations

from typing import Any

import pytest

from backend.accounts import services
from backend.accounts.models import Notification, Role
from backend.errors import DomainError, NotAllowed
from pb.areas.models import AreaKind
from pb.models import AuditEntry
from pb.services import residents as resident_services
from tests.factories import AreaFactory, UserFactory


@pytest.fixture
def town(db: Any) -> Any:
    class Town:
        ward = AreaFactory(name="Harbour", slug="harbour")
        hood = AreaFactory(name="Marina", slug="marina", kind=AreaKind.NEIGHBOURHOOD, parent=ward)
        other = AreaFactory(name="Westgate", slug="westgate")
        manager = UserFactory(role=Role.MANAGER, email="m@example.org")
        other_manager = UserFactory(role=Role.MANAGER, email="o@example.org")

    Town.ward.managers.add(Town.manager)
    Town.other.managers.add(Town.other_manager)
    return Town


def _resident(area: Any, email: str) -> Any:
    person = UserFactory(email=email, display_name=email.split("@")[0].title())
    person.profile.home_area = area
    person.profile.birth_year = 1990
    person.profile.save()
    return person


def test_a_manager_confirms_a_resident_of_a_neighbourhood_in_their_ward(
    town: Any, django_capture_on_commit_callbacks: Any
):
    rita = _resident(town.hood, "rita@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        resident_services.profile_verify(actor=town.manager, profile=rita.profile, confirmed=True)
    rita.profile.refresh_from_db()
    assert rita.profile.verified
    assert AuditEntry.objects.get(action="resident.verify").area == town.hood
    assert Notification.objects.get(user=rita).subject == "Your details are checked"


def test_a_manager_of_another_area_cannot_check_a_resident(town: Any):
    rita = _resident(town.hood, "rita@example.org")
    with pytest.raises(NotAllowed):
        resident_services.profile_verify(
            actor=town.other_manager, profile=rita.profile, confirmed=True
        )
    rita.profile.refresh_from_db()
    assert not rita.profile.verified


def test_declining_needs_a_reason_that_the_resident_is_told(
    town: Any, django_capture_on_commit_callbacks: Any
):
    rita = _resident(town.ward, "rita@example.org")
    with pytest.raises(DomainError, match="Say why"):
        resident_services.profile_verify(actor=town.manager, profile=rita.profile, confirmed=False)
    with django_capture_on_commit_callbacks(execute=True):
        resident_services.profile_verify(
            actor=town.manager,
            profile=rita.profile,
            confirmed=False,
            reason="You are not on the register at that address.",
        )
    assert "not on the register" in Notification.objects.get(user=rita).body


def test_moving_area_or_changing_birth_year_after_a_check_needs_a_new_check(town: Any):
    rita = _resident(town.ward, "rita@example.org")
    rita.profile.verified = True
    rita.profile.save()
    assert not services.profile_update(profile=rita.profile, changes={"gender": "woman"})
    assert rita.profile.verified
    assert services.profile_update(profile=rita.profile, changes={"home_area": town.other})
    rita.profile.refresh_from_db()
    assert not rita.profile.verified and rita.profile.home_area == town.other


def test_the_check_page_lists_only_the_managers_residents_and_acts_on_them(town: Any, client: Any):
    rita = _resident(town.hood, "rita@example.org")
    _resident(town.other, "owen@example.org")
    client.force_login(town.manager)
    page = client.get("/accounts/residents/check/").content.decode()
    assert "rita@example.org" in page and "owen@example.org" not in page

    done = client.post(
        "/accounts/residents/check/", {"profile": rita.profile.pk, "decision": "confirm"}
    )
    assert done.status_code == 302
    rita.profile.refresh_from_db()
    assert rita.profile.verified
    gone = client.post("/accounts/residents/check/", {"profile": 999_999, "decision": "confirm"})
    assert gone.status_code == 302
    bad = client.post("/accounts/residents/check/", {"profile": "x", "decision": "maybe"})
    assert bad.status_code == 200 and "Choose confirm or decline" in bad.content.decode()


def test_residents_cannot_open_the_check_page(town: Any, client: Any):
    client.force_login(_resident(town.ward, "rita@example.org"))
    assert client.get("/accounts/residents/check/").status_code == 403


def test_a_resident_who_moves_is_told_their_details_need_checking_again(town: Any, client: Any):
    rita = _resident(town.ward, "rita@example.org")
    rita.profile.verified = True
    rita.profile.save()
    client.force_login(rita)
    response = client.post(
        "/accounts/profile/",
        {"home_area": town.other.pk, "birth_year": 1990, "email_notifications": "on"},
        follow=True,
    )
    assert "check your details again" in response.content.decode()
    rita.profile.refresh_from_db()
    assert not rita.profile.verified


def test_a_confirm_does_not_check_details_changed_after_the_manager_saw_them(
    town: Any, client: Any
):
    # Rita is listed as Harbour, born 1990; she changes her birth year before the click. The
    # manager confirmed what the page showed, not what is stored now.
    rita = _resident(town.hood, "rita@example.org")
    client.force_login(town.manager)
    page = client.get("/accounts/residents/check/").content.decode()
    assert f'name="home_area" value="{town.hood.pk}"' in page
    assert 'name="birth_year" value="1990"' in page
    services.profile_update(profile=rita.profile, changes={"birth_year": 1950})
    shown = {"home_area": town.hood.pk, "birth_year": 1990}
    response = client.post(
        "/accounts/residents/check/",
        {"profile": rita.profile.pk, "decision": "confirm", **shown},
        follow=True,
    )
    assert "changed" in response.content.decode()
    rita.profile.refresh_from_db()
    assert not rita.profile.verified
    with pytest.raises(DomainError):
        resident_services.profile_verify(
            actor=town.manager, profile=rita.profile, confirmed=True, seen=(town.hood.pk, 1990)
        )
    resident_services.profile_verify(
        actor=town.manager, profile=rita.profile, confirmed=True, seen=(town.hood.pk, 1950)
    )
    rita.profile.refresh_from_db()
    assert rita.profile.verified
