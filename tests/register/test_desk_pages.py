"""The register desk page: staff find a resident and tick them, without JavaScript."""

from __future__ import annotations

from typing import Any

import pytest

from backend.accounts.models import Role
from pb.models import Participation, RegisterEntry, VoterCode
from pb.services.register import match_key
from pb.voting.services.casting import ballot_cast
from tests.factories import UserFactory
from tests.voting.conftest import VotingWorld

URL = "/rounds/city-2027/register-desk/"


@pytest.fixture
def ann(vw: VotingWorld) -> RegisterEntry:
    return RegisterEntry.objects.create(
        area=vw.north,
        name="Ann Jones",
        postcode="N1 1AA",
        birth_year=1980,
        match_key=match_key("Ann Jones", "N1 1AA", 1980),
    )


def test_staff_reach_the_desk_from_their_dashboard(client: Any, vw: VotingWorld) -> None:
    client.force_login(vw.staff)
    assert URL in client.get("/dashboard/").content.decode()


def test_staff_find_and_tick_for_paper(client: Any, vw: VotingWorld, ann: RegisterEntry) -> None:
    client.force_login(vw.staff)
    page = client.get(URL, {"name": "ann jones", "postcode": "n1 1aa"})
    assert page.status_code == 200
    assert "Ann Jones" in page.content.decode()
    done = client.post(
        f"{URL}?name=ann&postcode=N11AA", {"entry": ann.pk, "channel": "paper"}, follow=True
    )
    assert done.redirect_chain[-1][0] == URL
    assert "Ann Jones is ticked. Hand them a paper ballot for North." in done.content.decode()
    assert Participation.objects.get().desk_tick
    again = client.get(URL, {"name": "ann", "birth_year": "1980"})
    assert "Has voted already" in again.content.decode()


def test_a_kiosk_tick_shows_the_code_once(client: Any, vw: VotingWorld, ann: RegisterEntry) -> None:
    client.force_login(vw.staff)
    page = client.post(URL, {"entry": ann.pk, "channel": "kiosk"})
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    code = page.context["code"]
    assert code in page.content.decode()
    ballot_cast(
        round=vw.round,
        voter_code=code,
        area_id=vw.north.pk,
        channel="kiosk",
        selections=[vw.trees.pk],
    )
    assert Participation.objects.get().register_entry == ann
    assert VoterCode.objects.get(at_desk=True).register_entry == ann


def test_ticking_a_resident_who_voted_says_so(
    client: Any, vw: VotingWorld, ann: RegisterEntry
) -> None:
    vw.resident.profile.register_entry = ann
    vw.resident.profile.save()
    ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.trees.pk])
    client.force_login(vw.staff)
    page = client.post(URL, {"entry": ann.pk, "channel": "paper"})
    assert page.status_code == 409
    assert "A vote has already been cast for this resident" in page.content.decode()
    assert Participation.objects.count() == 1


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"name": "Ann Jones"}, "Give the postcode or the year of birth as well as the name."),
        ({"name": "A", "postcode": "N1 1AA"}, "Ensure this value has at least 2 characters"),
        ({"name": "Ann", "birth_year": "nineteen"}, "Enter a whole number."),
        ({"name": "Ann", "birth_year": "1066"}, "greater than or equal to 1900"),
        ({"name": "", "postcode": "N1 1AA"}, "This field is required."),
    ],
)
def test_a_bad_search_gets_a_field_error(
    client: Any, vw: VotingWorld, ann: RegisterEntry, query: dict[str, str], error: str
) -> None:
    client.force_login(vw.staff)
    page = client.get(URL, query)
    assert page.status_code == 400
    assert error in page.content.decode()
    assert "Residents found" not in page.content.decode()


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"entry": "abc", "channel": "paper"}, 404),
        ({"entry": "999999", "channel": "paper"}, 404),
        ({"channel": "paper"}, 404),
        ({"entry": "ANN", "channel": "online"}, 404),
        ({"entry": "PK", "channel": "online"}, 400),
        ({"entry": "PK"}, 400),
    ],
)
def test_a_bad_tick_is_refused_without_a_server_error(
    client: Any, vw: VotingWorld, ann: RegisterEntry, data: dict[str, str], status: int
) -> None:
    client.force_login(vw.staff)
    data = {k: (str(ann.pk) if v == "PK" else v) for k, v in data.items()}
    page = client.post(URL, data)
    assert page.status_code == status
    if status == 400:
        assert "Choose a paper ballot or a kiosk." in page.content.decode()
    assert not Participation.objects.exists() and not VoterCode.objects.exists()


def test_people_who_run_no_desk_are_turned_away(
    client: Any, vw: VotingWorld, ann: RegisterEntry
) -> None:
    for who in (vw.resident, UserFactory(role=Role.COUNCILLOR), UserFactory(role=Role.MANAGER)):
        client.force_login(who)
        assert client.get(URL, {"name": "Ann", "postcode": "N1 1AA"}).status_code == 403
        assert client.post(URL, {"entry": ann.pk, "channel": "paper"}).status_code == 403
    client.logout()
    assert client.get(URL).status_code == 302
    assert not Participation.objects.exists()


def test_a_manager_of_another_area_cannot_tick_a_north_resident(
    client: Any, vw: VotingWorld, ann: RegisterEntry
) -> None:
    south_only = UserFactory(role=Role.MANAGER)
    vw.south.managers.add(south_only)
    client.force_login(south_only)
    assert (
        "Ann Jones" not in client.get(URL, {"name": "Ann", "birth_year": "1980"}).content.decode()
    )
    page = client.post(URL, {"entry": ann.pk, "channel": "paper"})
    assert page.status_code == 403
    assert not Participation.objects.exists()


def test_after_voting_the_desk_says_so_and_ticks_nobody(
    client: Any, vw: VotingWorld, ann: RegisterEntry
) -> None:
    vw.set(phase="counting")
    client.force_login(vw.staff)
    assert "Voting is not open" in client.get(URL).content.decode()
    assert client.post(URL, {"entry": ann.pk, "channel": "paper"}).status_code == 403
    assert not Participation.objects.exists()
