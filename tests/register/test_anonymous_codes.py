"""Codes for nobody in particular (handed out at an event's door) only when the round says so
(``Round.anonymous_codes``, off unless a manager turns it on): every other code is made for a
resident on the register, so the register holds each person to one vote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from backend.errors import DomainError, NotAllowed
from pb.rounds.models import Round
from pb.rounds.services import round_create
from pb.services.register import match_key
from pb.voting.models import RegisterEntry, VoterCode
from pb.voting.services.codes import register_codes_issue, voter_codes_issue
from tests.pb.conftest import World
from tests.voting.conftest import VotingWorld

REFUSED = "This round does not take codes for nobody in particular"


@pytest.fixture
def closed_door(vw: VotingWorld) -> VotingWorld:
    """The voting world before voting opens, with the round at the model's default."""
    vw.set(phase="deliberation", anonymous_codes=False)
    return vw


def _entry(area: Any) -> RegisterEntry:
    return RegisterEntry.objects.create(
        area=area,
        name="Ann Jones",
        postcode="N1 1AA",
        birth_year=1980,
        match_key=match_key("Ann Jones", "N1 1AA", 1980),
    )


def test_a_new_round_takes_no_anonymous_codes(world: World) -> None:
    made = round_create(actor=world.manager, name="North 2028", budget=100, areas=[world.north])
    assert Round.objects.get(pk=made.pk).anonymous_codes is False


def test_anonymous_codes_are_refused_unless_the_round_allows_them(
    closed_door: VotingWorld,
) -> None:
    vw = closed_door
    for actor in (vw.manager, None):
        with pytest.raises(DomainError) as refused:
            voter_codes_issue(actor=actor, round=vw.round, count=3, area=vw.north)
        assert refused.value.code == "anonymous_codes_off"
        assert "count" in refused.value.fields and REFUSED in refused.value.message
    assert not VoterCode.objects.exists()
    vw.set(anonymous_codes=True)
    assert len(voter_codes_issue(actor=vw.manager, round=vw.round, count=3, area=vw.north)) == 3


def test_codes_for_residents_on_the_register_need_no_setting(closed_door: VotingWorld) -> None:
    vw = closed_door
    entry = _entry(vw.north)
    [(got, _code)] = register_codes_issue(actor=vw.manager, round=vw.round, area=vw.north)
    assert got == entry and VoterCode.objects.get().register_entry == entry


def test_someone_who_makes_no_codes_hears_about_their_rights_first(
    closed_door: VotingWorld,
) -> None:
    """Whether someone may make codes at all is said before the round's setting."""
    with pytest.raises(NotAllowed):
        voter_codes_issue(
            actor=closed_door.resident, round=closed_door.round, count=1, area=closed_door.north
        )


def test_the_command_refuses_with_a_clear_error(closed_door: VotingWorld, tmp_path: Path) -> None:
    out = tmp_path / "codes.csv"
    with pytest.raises(CommandError, match=REFUSED):
        call_command(
            "issue_voter_codes",
            closed_door.round.pk,
            "--count",
            "3",
            "--area",
            "north",
            "--out",
            out,
        )
    assert not out.exists() and not VoterCode.objects.exists()


def test_the_codes_page_says_so_and_refuses_with_a_field_error(
    client: Any, closed_door: VotingWorld
) -> None:
    vw = closed_door
    client.force_login(vw.manager)
    url = f"/rounds/{vw.round.slug}/voter-codes/"
    assert "takes codes only for residents on the register" in client.get(url).content.decode()
    page = client.post(url, {"area": vw.north.pk, "count": 3, "language": ""})
    assert page.status_code == 400
    assert REFUSED in str(page.context["form"].errors["count"])
    assert not VoterCode.objects.exists()


def test_managers_turn_door_codes_on_in_the_rules_page(
    client: Any, closed_door: VotingWorld
) -> None:
    vw = closed_door
    client.force_login(vw.manager)
    page = client.get(f"/rounds/{vw.round.slug}/manage/")
    assert "Allow codes for nobody in particular" in page.content.decode()


def test_the_api_shows_and_changes_the_setting(world: World) -> None:
    client = APIClient()
    client.force_authenticate(world.manager)
    url = f"/api/v1/rounds/{world.round.pk}/"
    assert client.get(url).json()["anonymous_codes"] is True  # RoundFactory hands codes out
    changed = client.post(url + "rules/", {"anonymous_codes": False}, format="json")
    assert changed.status_code == 200 and changed.json()["anonymous_codes"] is False
    assert Round.objects.get(pk=world.round.pk).anonymous_codes is False
    bad = client.post(url + "rules/", {"anonymous_codes": "perhaps"}, format="json")
    assert bad.status_code == 400
    assert "anonymous_codes" in bad.json()["error"]["fields"]
    created = client.post(
        "/api/v1/rounds/",
        {
            "name": "Door 2028",
            "budget": 100_000,
            "areas": [world.north.pk],
            "anonymous_codes": True,
        },
        format="json",
    )
    assert created.status_code == 201 and created.json()["anonymous_codes"] is True
