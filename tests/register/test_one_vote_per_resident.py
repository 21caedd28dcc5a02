"""One vote per register entry, whatever the channel: a matched account, a code issued to the
entry (online or at a kiosk). The database constraint decides, also under concurrency."""

from __future__ import annotations

import csv
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from backend.errors import Conflict
from pb.services.register import match_key
from pb.voting.models import Participation, PendingBallot, RegisterEntry, VoterCode
from pb.voting.services.casting import ballot_cast
from pb.voting.services.codes import register_codes_issue
from tests.conftest import race
from tests.voting.conftest import VotingWorld

ALREADY = "A vote has already been cast for this resident in this round"


def _entry(area: Any, name: str = "Ann Jones") -> RegisterEntry:
    return RegisterEntry.objects.create(
        area=area,
        name=name,
        postcode="N1 1AA",
        birth_year=1980,
        match_key=match_key(name, "N1 1AA", 1980),
    )


def _linked(world: VotingWorld) -> tuple[RegisterEntry, str]:
    """The resident's account matched to an entry that also got a letter with a code."""
    entry = _entry(world.north, world.resident.display_name)
    world.resident.profile.register_entry = entry
    world.resident.profile.save()
    [(_e, code)] = register_codes_issue(actor=None, round=world.round, area=world.north)
    return entry, code


def test_account_then_letter_code_is_refused_for_the_resident(vw: VotingWorld) -> None:
    entry, code = _linked(vw)
    ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.trees.pk])
    assert Participation.objects.get().register_entry == entry
    with pytest.raises(Conflict) as refused:
        ballot_cast(
            round=vw.round, voter_code=code, area_id=vw.north.pk, selections=[vw.benches.pk]
        )
    assert refused.value.code == "resident_already_voted"
    assert ALREADY in refused.value.message
    assert PendingBallot.objects.count() == 1 and Participation.objects.count() == 1


def test_letter_code_at_a_kiosk_then_account_is_refused(vw: VotingWorld) -> None:
    entry, code = _linked(vw)
    ballot_cast(
        round=vw.round,
        voter_code=code,
        area_id=vw.north.pk,
        channel="kiosk",
        selections=[vw.trees.pk],
    )
    assert Participation.objects.get().register_entry == entry
    with pytest.raises(Conflict) as refused:
        ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.benches.pk])
    assert refused.value.code == "resident_already_voted"
    assert PendingBallot.objects.count() == 1


def test_the_api_says_what_happened(vw: VotingWorld) -> None:
    _, code = _linked(vw)
    client = APIClient()
    client.force_authenticate(vw.resident)
    url = f"/api/v1/rounds/{vw.round.pk}/ballots/"
    assert client.post(url, {"selections": [vw.trees.pk]}, format="json").status_code == 201
    second = APIClient().post(
        url, {"selections": {str(vw.trees.pk): 1}, "voter_code": code}, format="json"
    )
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "resident_already_voted"
    assert ALREADY in second.json()["error"]["detail"]


def test_anonymous_codes_and_unmatched_accounts_record_no_entry(vw: VotingWorld) -> None:
    [code] = vw.codes()
    ballot_cast(round=vw.round, voter_code=code, area_id=vw.north.pk, selections=[vw.trees.pk])
    ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.trees.pk])
    assert list(Participation.objects.values_list("register_entry", flat=True)) == [None, None]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_account_and_code_at_once_store_one_vote(clock: Any) -> None:
    world = VotingWorld()
    _, code = _linked(world)
    turn = iter(range(8))
    pick = threading.Lock()

    def cast() -> Any:
        with pick:
            mine = next(turn)
        if mine % 2:
            return ballot_cast(round=world.round, voter=world.resident, selections=[world.trees.pk])
        return ballot_cast(
            round=world.round, voter_code=code, area_id=world.north.pk, selections=[world.trees.pk]
        )

    outcomes = race(cast, threads=4)
    assert len([o for o in outcomes if o.ok]) == 1
    assert all(isinstance(o.error, Conflict) for o in outcomes if not o.ok)
    assert Participation.objects.count() == 1 and PendingBallot.objects.count() == 1


def test_issue_voter_codes_writes_the_mail_merge_file(vw: VotingWorld, tmp_path: Path) -> None:
    _entry(vw.north, '=HYPERLINK("http://evil.example","x")')
    _entry(vw.north, "Bob Smith")
    _entry(vw.south, "Gil")
    out = tmp_path / "letters.csv"
    call_command("issue_voter_codes", vw.round.pk, "--register", "--area", "north", "--out", out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["name"] for r in rows} == {'\'=HYPERLINK("http://evil.example","x")', "Bob Smith"}
    assert all(r["postcode"] == "N1 1AA" and r["area"] == "north" for r in rows)
    assert VoterCode.objects.filter(register_entry__isnull=False).count() == 2
    with pytest.raises(CommandError, match="already has a code"):
        call_command(
            "issue_voter_codes", vw.round.pk, "--register", "--area", "north", "--out", out
        )
