"""The manual check links an account to a resident on the register when bulk matching could
not (a misspelt name, a new postcode): the account then votes as that resident."""

from __future__ import annotations

from typing import Any

import pytest

from backend.accounts.models import Profile
from backend.errors import Conflict, DomainError, NotAllowed
from pb.models import AuditAction, AuditEntry
from pb.selectors import register_candidates
from pb.services.register import match_key
from pb.services.residents import profile_verify
from pb.voting.models import Participation, RegisterEntry
from pb.voting.services.casting import ballot_cast
from pb.voting.services.codes import register_codes_issue
from tests.factories import AreaFactory, UserFactory
from tests.pb.conftest import World
from tests.voting.conftest import VotingWorld

URL = "/accounts/residents/check/"


def _entry(area: Any, name: str, postcode: str = "N1 1AA", year: int = 1980) -> RegisterEntry:
    return RegisterEntry.objects.create(
        area=area,
        name=name,
        postcode=postcode,
        birth_year=year,
        match_key=match_key(name, postcode, year),
    )


def _waiting(area: Any, name: str, postcode: str = "", year: int | None = 1980) -> Profile:
    user = UserFactory(display_name=name)
    profile = user.profile
    profile.home_area, profile.postcode, profile.birth_year = area, postcode, year
    profile.save()
    return profile


def _seen(p: Profile) -> tuple[int | None, int | None]:
    return (p.home_area_id, p.birth_year)


# --- Candidates -------------------------------------------------------------------------------


def test_candidates_share_the_year_and_a_name_word_or_the_postcode(world: World) -> None:
    street = AreaFactory(name="North Street", slug="north-street", parent=world.north)
    misspelt = _entry(world.north, "Anne Jones")  # "Jones" in common
    moved = _entry(street, "Ann Smith", "N9 9ZZ")  # the same new postcode
    _entry(world.north, "Anne Jones", year=1981)  # another year
    _entry(world.south, "Ann Jones")  # another area
    _entry(world.north, "Bob Brown")  # nothing in common
    ann = _waiting(world.north, "Ann Jones", "n9 9zz")
    found = register_candidates(actor=world.manager, profiles=[ann])
    assert found == {ann.pk: [moved, misspelt]}


def test_candidates_leave_out_linked_entries_and_registers_the_manager_does_not_keep(
    world: World,
) -> None:
    taken = _entry(world.north, "Ann Jones")
    world.resident.profile.register_entry = taken
    world.resident.profile.save()
    ann = _waiting(world.north, "Ann Jones")
    assert register_candidates(actor=world.manager, profiles=[ann]) == {}
    free = _entry(world.north, "Ann Jonas")
    assert register_candidates(actor=world.other_manager, profiles=[ann]) == {}
    assert register_candidates(actor=world.manager, profiles=[ann]) == {ann.pk: [free]}


# --- Linking ----------------------------------------------------------------------------------


def test_confirming_with_an_entry_checks_and_links_the_account(world: World) -> None:
    entry = _entry(world.north, "Anne Jones")
    ann = _waiting(world.north, "Ann Jones")
    profile_verify(
        actor=world.manager, profile=ann, confirmed=True, seen=_seen(ann), register_entry=entry
    )
    ann.refresh_from_db()
    assert ann.verified and ann.register_entry == entry
    record = AuditEntry.objects.get(action=AuditAction.RESIDENT_VERIFY)
    assert record.details == {"user": ann.user_id, "register_entry": entry.pk}


def test_a_linked_account_votes_once_with_the_residents_letter(vw: VotingWorld) -> None:
    entry = _entry(vw.north, "Anne Jones")
    [(_e, code)] = register_codes_issue(actor=None, round=vw.round, area=vw.north)
    ann = _waiting(vw.north, "Ann Jones")
    profile_verify(
        actor=vw.manager, profile=ann, confirmed=True, seen=_seen(ann), register_entry=entry
    )
    ballot_cast(round=vw.round, voter=ann.user, selections=[vw.trees.pk])
    with pytest.raises(Conflict) as refused:
        ballot_cast(round=vw.round, voter_code=code, area_id=vw.north.pk, selections=[vw.trees.pk])
    assert refused.value.code == "resident_already_voted"


def test_earlier_votes_of_the_account_become_the_residents(vw: VotingWorld) -> None:
    entry = _entry(vw.north, "Anne Jones")
    ann = _waiting(vw.north, "Ann Jones")
    ann.verified = True
    ann.save()
    ballot_cast(round=vw.round, voter=ann.user, selections=[vw.trees.pk])
    ann.verified = False
    ann.save()
    profile_verify(
        actor=vw.manager, profile=ann, confirmed=True, seen=_seen(ann), register_entry=entry
    )
    assert Participation.objects.get(voter=ann.user).register_entry == entry


def test_a_resident_who_voted_twice_is_not_linked_and_it_says_why(vw: VotingWorld) -> None:
    entry = _entry(vw.north, "Anne Jones")
    [(_e, code)] = register_codes_issue(actor=None, round=vw.round, area=vw.north)
    ballot_cast(round=vw.round, voter_code=code, area_id=vw.north.pk, selections=[vw.trees.pk])
    ann = _waiting(vw.north, "Ann Jones")
    ann.verified = True
    ann.save()
    ballot_cast(round=vw.round, voter=ann.user, selections=[vw.trees.pk])  # before any link
    ann.verified = False
    ann.save()
    with pytest.raises(Conflict) as refused:
        profile_verify(
            actor=vw.manager, profile=ann, confirmed=True, seen=_seen(ann), register_entry=entry
        )
    assert refused.value.code == "resident_already_voted"
    ann.refresh_from_db()
    assert not ann.verified and ann.register_entry is None
    assert Participation.objects.get(voter=ann.user).register_entry is None


def test_an_entry_held_by_another_account_is_refused(world: World) -> None:
    entry = _entry(world.north, "Ann Jones")
    world.resident.profile.register_entry = entry
    world.resident.profile.save()
    ann = _waiting(world.north, "Ann Jones")
    with pytest.raises(Conflict) as refused:
        profile_verify(
            actor=world.manager, profile=ann, confirmed=True, seen=_seen(ann), register_entry=entry
        )
    assert refused.value.code == "entry_taken"
    ann.refresh_from_db()
    assert not ann.verified and ann.register_entry is None


def test_an_entry_of_another_area_is_refused(world: World) -> None:
    entry = _entry(world.south, "Ann Jones")
    ann = _waiting(world.north, "Ann Jones")
    with pytest.raises(DomainError) as refused:
        profile_verify(
            actor=world.manager, profile=ann, confirmed=True, seen=_seen(ann), register_entry=entry
        )
    assert "register_entry" in refused.value.fields
    ann.refresh_from_db()
    assert not ann.verified


def test_a_ward_entry_needs_the_wards_manager(world: World) -> None:
    street = AreaFactory(name="North Street", slug="north-street", parent=world.north)
    street_manager = UserFactory(role="manager")
    street.managers.add(street_manager)
    entry = _entry(world.north, "Ann Jones")  # on the ward's register
    ann = _waiting(street, "Ann Jones")
    with pytest.raises(NotAllowed):
        profile_verify(
            actor=street_manager, profile=ann, confirmed=True, seen=_seen(ann), register_entry=entry
        )
    ann.refresh_from_db()
    assert not ann.verified and ann.register_entry is None


def test_declining_with_an_entry_is_refused(world: World) -> None:
    entry = _entry(world.north, "Ann Jones")
    ann = _waiting(world.north, "Ann Jones")
    with pytest.raises(DomainError):
        profile_verify(
            actor=world.manager, profile=ann, confirmed=False, reason="no", register_entry=entry
        )
    ann.refresh_from_db()
    assert ann.register_entry is None


# --- Page -------------------------------------------------------------------------------------


def test_the_check_page_offers_the_candidates_and_links_one(client: Any, world: World) -> None:
    entry = _entry(world.north, "Anne Jones")
    ann = _waiting(world.north, "Ann Jones")
    client.force_login(world.manager)
    assert URL in client.get("/dashboard/").content.decode()
    page = client.get(URL).content.decode()
    assert "Or confirm Ann Jones as this resident on the register" in page
    assert "Anne Jones, N1 1AA, 1980 (North)" in page
    data = {
        "profile": ann.pk,
        "decision": "confirm",
        "home_area": world.north.pk,
        "birth_year": 1980,
        "register_entry": entry.pk,
    }
    done = client.post(URL, data, follow=True)
    assert "Ann Jones is checked and linked to the register." in done.content.decode()
    ann.refresh_from_db()
    assert ann.verified and ann.register_entry == entry


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Choose a resident on the register from the list."),
        ("-3", "Choose a resident on the register from the list."),
        ("999999", "That resident is no longer on the register."),
        # Another area's entry, which North's manager does not keep: refused without its area.
        ("SOUTH", "Only the managers of the resident&#x27;s area link them to its register."),
    ],
)
def test_a_bad_entry_is_refused_with_a_message(
    client: Any, world: World, value: str, message: str
) -> None:
    south = _entry(world.south, "Ann Jones")
    ann = _waiting(world.north, "Ann Jones")
    client.force_login(world.manager)
    data = {
        "profile": ann.pk,
        "decision": "confirm",
        "home_area": world.north.pk,
        "birth_year": 1980,
        "register_entry": str(south.pk) if value == "SOUTH" else value,
    }
    page = client.post(URL, data, follow=True)
    assert page.status_code == 200
    assert message in page.content.decode()
    ann.refresh_from_db()
    assert not ann.verified and ann.register_entry is None


def test_an_entry_of_an_area_one_does_not_keep_is_refused_without_naming_it(
    world: World,
) -> None:
    south = _entry(world.south, "Ann Jones")
    ann = _waiting(world.north, "Ann Jones")
    with pytest.raises(NotAllowed) as refused:
        profile_verify(
            actor=world.manager,
            profile=ann,
            confirmed=True,
            seen=_seen(ann),
            register_entry=south,
        )
    assert "South" not in refused.value.message
    assert not any("South" in m for ms in refused.value.fields.values() for m in ms)
    ann.refresh_from_db()
    assert not ann.verified and ann.register_entry is None


def test_a_manager_of_both_areas_is_told_the_entry_lives_elsewhere(world: World) -> None:
    world.south.managers.add(world.manager)
    south = _entry(world.south, "Ann Jones")
    ann = _waiting(world.north, "Ann Jones")
    with pytest.raises(DomainError) as refused:
        profile_verify(
            actor=world.manager,
            profile=ann,
            confirmed=True,
            seen=_seen(ann),
            register_entry=south,
        )
    assert "lives in South, but this account says North" in refused.value.message


def test_other_roles_cannot_link(client: Any, world: World) -> None:
    entry = _entry(world.north, "Ann Jones")
    ann = _waiting(world.north, "Ann Jones")
    data = {"profile": ann.pk, "decision": "confirm", "register_entry": entry.pk}
    for who in (world.resident, world.councillor, UserFactory(role="event_staff")):
        client.force_login(who)
        assert client.post(URL, data).status_code == 403
    client.force_login(world.other_manager)  # manages South only
    client.post(URL, data)
    ann.refresh_from_db()
    assert not ann.verified and ann.register_entry is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_two_accounts_linked_to_one_resident_at_once_one_wins() -> None:
    import threading

    from tests.conftest import race

    world = World()
    entry = _entry(world.north, "Ann Jones")
    accounts = iter([_waiting(world.north, f"Ann Jones {i}") for i in range(4)])
    pick = threading.Lock()

    def link() -> Profile:
        with pick:
            mine = next(accounts)
        return profile_verify(
            actor=world.manager,
            profile=mine,
            confirmed=True,
            seen=_seen(mine),
            register_entry=entry,
        )

    outcomes = race(link, threads=4)
    assert len([o for o in outcomes if o.ok]) == 1
    assert all(isinstance(o.error, Conflict) for o in outcomes if not o.ok)
    assert Profile.objects.filter(register_entry=entry).count() == 1
    assert Profile.objects.filter(verified=True).exclude(pk=world.resident.profile.pk).count() == 1
