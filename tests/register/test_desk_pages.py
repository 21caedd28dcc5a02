"""The register desk page: staff find a resident and tick them, without JavaScript."""

from __future__ import annotations

from typing import Any

import pytest

from backend.accounts.models import Role
from pb.services.register import match_key
from pb.voting.desk_token import desk_token
from pb.voting.models import Participation, RegisterEntry, VoterCode
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


def _token(vw: VotingWorld, entry: RegisterEntry, user: Any = None) -> str:
    """What the search page signs for ``user`` (event staff by default) to tick ``entry``."""
    return desk_token(round_id=vw.round.pk, user_id=(user or vw.staff).pk, entry_id=entry.pk)


def test_staff_reach_the_desk_from_their_dashboard(client: Any, vw: VotingWorld) -> None:
    client.force_login(vw.staff)
    assert URL in client.get("/dashboard/").content.decode()


def test_staff_find_and_tick_for_paper(client: Any, vw: VotingWorld, ann: RegisterEntry) -> None:
    client.force_login(vw.staff)
    page = client.get(URL, {"name": "ann jones", "postcode": "n1 1aa"})
    assert page.status_code == 200
    assert "Ann Jones" in page.content.decode()
    [found] = page.context["found"]
    assert f'name="token" value="{found.token}"' in page.content.decode()
    assert f'value="{ann.pk}"' not in page.content.decode()
    done = client.post(
        f"{URL}?name=ann&postcode=N11AA", {"token": found.token, "channel": "paper"}, follow=True
    )
    assert done.redirect_chain[-1][0] == URL
    assert "Ann Jones is ticked. Hand them a paper ballot for North." in done.content.decode()
    assert Participation.objects.get().desk_tick
    again = client.get(URL, {"name": "ann", "birth_year": "1980"})
    assert "Has voted already" in again.content.decode()


def test_a_fragment_of_a_name_finds_nobody(
    client: Any, vw: VotingWorld, ann: RegisterEntry
) -> None:
    client.force_login(vw.staff)
    page = client.get(URL, {"name": "Jon", "birth_year": "1980"})
    assert page.status_code == 200
    assert "Ann Jones" not in page.content.decode() and page.context["found"] == []
    assert "type whole words of the name" in page.content.decode()


def test_a_kiosk_tick_shows_the_code_once(client: Any, vw: VotingWorld, ann: RegisterEntry) -> None:
    client.force_login(vw.staff)
    page = client.post(URL, {"token": _token(vw, ann), "channel": "kiosk"})
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
    page = client.post(URL, {"token": _token(vw, ann), "channel": "paper"})
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
        ({"token": "TOKEN", "channel": "online"}, 400),
        ({"token": "TOKEN"}, 400),
    ],
)
def test_a_bad_channel_is_refused_without_a_server_error(
    client: Any, vw: VotingWorld, ann: RegisterEntry, data: dict[str, str], status: int
) -> None:
    client.force_login(vw.staff)
    data = {k: (_token(vw, ann) if v == "TOKEN" else v) for k, v in data.items()}
    page = client.post(URL, data)
    assert page.status_code == status
    assert "Choose a paper ballot or a kiosk." in page.content.decode()
    assert not Participation.objects.exists() and not VoterCode.objects.exists()


STALE = "This tick button is out of date or was not made for you."


@pytest.mark.parametrize(
    "data",
    [
        {"entry": "PK", "channel": "paper"},  # the old form: a raw register id
        {"token": "PK", "channel": "paper"},
        {"token": "abc", "channel": "kiosk"},
        {"token": "", "channel": "paper"},
        {"channel": "paper"},
        {"token": "OTHER_USER", "channel": "paper"},
        {"token": "OTHER_ROUND", "channel": "paper"},
        {"token": "TAMPERED", "channel": "paper"},
    ],
)
def test_a_tick_without_this_users_token_ticks_nobody_and_says_nothing(
    client: Any, vw: VotingWorld, ann: RegisterEntry, data: dict[str, str]
) -> None:
    """Staff cannot tick the register by walking its ids, nor learn an area or a vote so."""
    good = _token(vw, ann)
    forged = {
        "PK": str(ann.pk),
        "OTHER_USER": _token(vw, ann, vw.staff2),
        "OTHER_ROUND": desk_token(
            round_id=vw.round.pk + 1000, user_id=vw.staff.pk, entry_id=ann.pk
        ),
        "TAMPERED": desk_token(round_id=vw.round.pk, user_id=vw.staff.pk, entry_id=ann.pk + 1)[:-1]
        + ("A" if good[-1] != "A" else "B"),
    }
    client.force_login(vw.staff)
    page = client.post(URL, {k: forged.get(v, v) for k, v in data.items()})
    assert page.status_code == 400
    text = page.content.decode()
    assert STALE in text
    assert "North" not in text and "Ann Jones" not in text and "voted already" not in text
    assert not Participation.objects.exists() and not VoterCode.objects.exists()


def test_an_expired_token_is_refused(
    client: Any, vw: VotingWorld, ann: RegisterEntry, monkeypatch: Any
) -> None:
    token = _token(vw, ann)
    monkeypatch.setattr("pb.voting.desk_token.DESK_TOKEN_MAX_AGE", -1)
    client.force_login(vw.staff)
    page = client.post(URL, {"token": token, "channel": "paper"})
    assert page.status_code == 400 and STALE in page.content.decode()
    assert not Participation.objects.exists()


def test_people_who_run_no_desk_are_turned_away(
    client: Any, vw: VotingWorld, ann: RegisterEntry
) -> None:
    for who in (vw.resident, UserFactory(role=Role.COUNCILLOR), UserFactory(role=Role.MANAGER)):
        client.force_login(who)
        assert client.get(URL, {"name": "Ann", "postcode": "N1 1AA"}).status_code == 403
        assert (
            client.post(URL, {"token": _token(vw, ann, who), "channel": "paper"}).status_code == 403
        )
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
    # Even with a token signed for them (the search never gives one), the area is not theirs.
    page = client.post(URL, {"token": _token(vw, ann, south_only), "channel": "paper"})
    assert page.status_code == 403
    assert not Participation.objects.exists()


def test_after_voting_the_desk_says_so_and_ticks_nobody(
    client: Any, vw: VotingWorld, ann: RegisterEntry
) -> None:
    vw.set(phase="counting")
    client.force_login(vw.staff)
    assert "Voting is not open" in client.get(URL).content.decode()
    search = client.get(URL, {"name": "Ann Jones", "postcode": "N1 1AA"})
    assert search.context["found"] == []
    assert "Residents found" not in search.content.decode()
    assert 'name="token"' not in search.content.decode()
    assert client.post(URL, {"token": _token(vw, ann), "channel": "paper"}).status_code == 403
    assert not Participation.objects.exists()
