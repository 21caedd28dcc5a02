"""Ticking the name at paper and kiosk desks (pb.voting.services.desk): the tick holds the
resident's one vote on every channel and says nothing about how they voted."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from backend.accounts.models import Role
from backend.errors import Conflict, DomainError, NotAllowed
from pb.models import AuditAction, AuditEntry
from pb.services.register import match_key
from pb.voting.models import Participation, PendingBallot, RegisterEntry, VoterCode
from pb.voting.selectors import desk_register_search, turnout
from pb.voting.services.casting import ballot_cast
from pb.voting.services.codes import register_codes_issue
from pb.voting.services.desk import desk_tick
from pb.voting.services.paper import paper_entry_add
from tests.conftest import race
from tests.factories import AreaFactory, UserFactory
from tests.voting.conftest import VotingWorld

ALREADY = "A vote has already been cast for this resident in this round"


def _entry(area: Any, name: str = "Ann Jones", postcode: str = "N1 1AA") -> RegisterEntry:
    return RegisterEntry.objects.create(
        area=area,
        name=name,
        postcode=postcode,
        birth_year=1980,
        match_key=match_key(name, postcode, 1980),
    )


def _key_paper(vw: VotingWorld, serial: str = "P1") -> None:
    for who in (vw.staff, vw.staff2):
        paper_entry_add(
            actor=who, round=vw.round, serial=serial, area=vw.north, selections=[vw.trees.pk]
        )


def _linked(vw: VotingWorld) -> RegisterEntry:
    entry = _entry(vw.north, vw.resident.display_name)
    vw.resident.profile.register_entry = entry
    vw.resident.profile.save()
    return entry


# --- Paper desks ------------------------------------------------------------------------------


def test_a_paper_tick_holds_the_vote_and_is_not_a_ballot(vw: VotingWorld) -> None:
    entry = _linked(vw)
    tick = desk_tick(actor=vw.staff, round=vw.round, entry=entry, channel="paper")
    assert tick.area_id == vw.north.pk and tick.code == ""
    row = Participation.objects.get()
    assert (row.register_entry, row.channel, row.desk_tick) == (entry, "paper", True)
    assert row.voter_id is None and row.voter_code_id is None
    assert turnout(round=vw.round, fresh=True)["total"] == 0  # the paper counts once keyed
    _key_paper(vw)
    assert turnout(round=vw.round, fresh=True)["by_channel"]["paper"] == 1
    keyed = Participation.objects.get(desk_tick=False)
    assert keyed.register_entry is None  # the keyed paper names nobody
    with pytest.raises(Conflict) as refused:
        ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.trees.pk])
    assert refused.value.code == "resident_already_voted" and ALREADY in refused.value.message
    assert PendingBallot.objects.count() == 1


def test_a_letter_code_after_a_paper_tick_is_refused_truthfully(vw: VotingWorld) -> None:
    entry = _entry(vw.north)
    [(_e, code)] = register_codes_issue(actor=None, round=vw.round, area=vw.north)
    desk_tick(actor=vw.staff, round=vw.round, entry=entry, channel="paper")
    with pytest.raises(Conflict) as refused:
        ballot_cast(round=vw.round, voter_code=code, area_id=vw.north.pk, selections=[vw.trees.pk])
    assert refused.value.code == "resident_already_voted"
    assert PendingBallot.objects.count() == 0


@pytest.mark.parametrize("channel", ["paper", "kiosk"])
def test_a_resident_who_voted_online_is_not_ticked(vw: VotingWorld, channel: str) -> None:
    entry = _linked(vw)
    ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.trees.pk])
    with pytest.raises(Conflict) as refused:
        desk_tick(actor=vw.staff, round=vw.round, entry=entry, channel=channel)
    assert refused.value.code == "resident_already_voted" and ALREADY in refused.value.message
    assert Participation.objects.count() == 1
    assert not VoterCode.objects.filter(at_desk=True).exists()


def test_a_second_paper_tick_is_refused(vw: VotingWorld) -> None:
    entry = _entry(vw.north)
    desk_tick(actor=vw.staff, round=vw.round, entry=entry, channel="paper")
    with pytest.raises(Conflict) as refused:
        desk_tick(actor=vw.staff2, round=vw.round, entry=entry, channel="paper")
    assert refused.value.code == "resident_already_voted"
    assert Participation.objects.count() == 1


# --- Kiosk desks ------------------------------------------------------------------------------


def test_a_kiosk_tick_gives_a_code_that_votes_as_the_resident(vw: VotingWorld) -> None:
    entry = _linked(vw)
    tick = desk_tick(actor=vw.staff, round=vw.round, entry=entry, channel="kiosk")
    assert len(tick.code) == 11 and Participation.objects.count() == 0
    assert VoterCode.objects.get(at_desk=True).register_entry == entry
    ballot_cast(
        round=vw.round,
        voter_code=tick.code,
        area_id=vw.north.pk,
        channel="kiosk",
        selections=[vw.trees.pk],
    )
    row = Participation.objects.get()
    assert (row.register_entry, row.channel, row.desk_tick) == (entry, "kiosk", False)
    assert turnout(round=vw.round, fresh=True)["by_channel"]["kiosk"] == 1
    with pytest.raises(Conflict) as refused:
        ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.trees.pk])
    assert refused.value.code == "resident_already_voted"


@pytest.mark.parametrize("second", ["paper", "kiosk"])
def test_a_resident_given_a_kiosk_code_is_not_ticked_again(vw: VotingWorld, second: str) -> None:
    entry = _entry(vw.north)
    desk_tick(actor=vw.staff, round=vw.round, entry=entry, channel="kiosk")
    with pytest.raises(Conflict) as refused:
        desk_tick(actor=vw.staff2, round=vw.round, entry=entry, channel=second)
    assert refused.value.code == "already_ticked"
    assert VoterCode.objects.filter(at_desk=True).count() == 1
    assert Participation.objects.count() == 0


def test_a_neighbourhood_resident_is_ticked_for_the_ward_round(vw: VotingWorld) -> None:
    street = AreaFactory(name="North Street", slug="north-street", parent=vw.north)
    tick = desk_tick(actor=vw.staff, round=vw.round, entry=_entry(street), channel="paper")
    assert tick.area_id == vw.north.pk
    assert Participation.objects.get().area_id == vw.north.pk


def test_a_tick_is_in_the_audit_log_but_not_the_rounds(vw: VotingWorld) -> None:
    entry = _entry(vw.north)
    desk_tick(actor=vw.staff, round=vw.round, entry=entry, channel="paper")
    record = AuditEntry.objects.get(action=AuditAction.VOTING_DESK_TICK)
    assert record.actor == vw.staff and record.round is None
    assert record.details == {"round": vw.round.pk, "register_entry": entry.pk, "channel": "paper"}


# --- Refusals ---------------------------------------------------------------------------------


def test_a_channel_that_is_not_a_desk_is_refused(vw: VotingWorld) -> None:
    with pytest.raises(DomainError) as refused:
        desk_tick(actor=vw.staff, round=vw.round, entry=_entry(vw.north), channel="online")
    assert "channel" in refused.value.fields
    assert Participation.objects.count() == 0


def test_a_resident_of_an_area_outside_the_round_is_refused(vw: VotingWorld) -> None:
    with pytest.raises(DomainError) as refused:
        desk_tick(actor=vw.staff, round=vw.round, entry=_entry(vw.elsewhere), channel="paper")
    assert refused.value.code == "wrong_area"
    assert Participation.objects.count() == 0


def test_only_event_staff_and_the_areas_managers_tick(vw: VotingWorld) -> None:
    south_only = UserFactory(role=Role.MANAGER)
    vw.south.managers.add(south_only)
    entry = _entry(vw.north)
    for who in (vw.resident, south_only, UserFactory(role=Role.COUNCILLOR)):
        with pytest.raises(NotAllowed):
            desk_tick(actor=who, round=vw.round, entry=entry, channel="paper")
    desk_tick(actor=vw.manager, round=vw.round, entry=entry, channel="paper")
    assert Participation.objects.count() == 1


def test_names_are_ticked_only_while_voting_is_open(vw: VotingWorld) -> None:
    vw.set(phase="counting")
    with pytest.raises(NotAllowed) as refused:
        desk_tick(actor=vw.staff, round=vw.round, entry=_entry(vw.north), channel="paper")
    assert refused.value.code == "wrong_phase"
    assert Participation.objects.count() == 0


# --- Finding the resident ---------------------------------------------------------------------


def test_the_desk_finds_by_name_and_postcode_or_birth_year(vw: VotingWorld) -> None:
    ann = _entry(vw.north)
    _entry(vw.north, "Ann Jonesy", "N9 9ZZ")
    _entry(vw.elsewhere, "Ann Jones", "N1 1AB")
    found, more = desk_register_search(
        actor=vw.staff, round=vw.round, name="ann  JONES", postcode="n11aa"
    )
    assert [f.entry for f in found] == [ann] and not more
    assert found[0].area_name == "North" and not found[0].voted
    by_year, _more = desk_register_search(
        actor=vw.staff, round=vw.round, name="jones", birth_year=1980
    )
    assert {f.entry.name for f in by_year} == {"Ann Jones"}  # "Jonesy" is another word
    jonesy, _more = desk_register_search(
        actor=vw.staff, round=vw.round, name="JONESY ann", birth_year=1980
    )
    assert [f.entry.name for f in jonesy] == ["Ann Jonesy"]
    assert desk_register_search(actor=vw.staff, round=vw.round, name="Ann Jones") == ([], False)
    desk_tick(actor=vw.staff, round=vw.round, entry=ann, channel="paper")
    [again], _more = desk_register_search(
        actor=vw.staff, round=vw.round, name="Ann", postcode="N1 1AA"
    )
    assert again.voted


@pytest.mark.parametrize("name", ["Jon", "ones", "nn Jones", "Ann Jo", "An", "A J", "%", "Ann.*"])
def test_part_of_a_word_finds_nobody(vw: VotingWorld, name: str) -> None:
    """The desk finds a person the voter names; fragments would read the register."""
    _entry(vw.north)
    assert desk_register_search(actor=vw.staff, round=vw.round, name=name, postcode="N1 1AA") == (
        [],
        False,
    )
    assert desk_register_search(actor=vw.staff, round=vw.round, name=name, birth_year=1980) == (
        [],
        False,
    )


def test_a_hyphenated_surname_is_found_by_either_part_or_whole(vw: VotingWorld) -> None:
    mary = _entry(vw.north, "Mary Smith-Jones")
    for name in ("smith-jones", "Jones", "Mary Smith"):
        found, _more = desk_register_search(
            actor=vw.staff, round=vw.round, name=name, postcode="N1 1AA"
        )
        assert [f.entry for f in found] == [mary], name


@pytest.mark.parametrize("phase", ["deliberation", "counting", "results"])
def test_the_desk_finds_nobody_unless_voting_is_open(vw: VotingWorld, phase: str) -> None:
    _entry(vw.north)
    vw.set(phase=phase)
    assert desk_register_search(
        actor=vw.staff, round=vw.round, name="Ann Jones", postcode="N1 1AA"
    ) == ([], False)


def test_the_desk_shows_only_the_areas_the_person_runs(vw: VotingWorld) -> None:
    south_only = UserFactory(role=Role.MANAGER)
    vw.south.managers.add(south_only)
    _entry(vw.north)
    found, _more = desk_register_search(
        actor=south_only, round=vw.round, name="Ann", birth_year=1980
    )
    assert found == []


# --- At the same moment (PostgreSQL) ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.parametrize("channel", ["paper", "kiosk"])
def test_two_desks_ticking_one_person_at_once_one_wins(clock: Any, channel: str) -> None:
    world = VotingWorld()
    entry = _entry(world.north)
    outcomes = race(
        lambda: desk_tick(actor=world.staff, round=world.round, entry=entry, channel=channel),
        threads=6,
    )
    assert len([o for o in outcomes if o.ok]) == 1
    assert all(isinstance(o.error, Conflict) for o in outcomes if not o.ok)
    assert Participation.objects.filter(register_entry=entry).count() == (channel == "paper")
    assert VoterCode.objects.filter(register_entry=entry, at_desk=True).count() == (
        channel == "kiosk"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_paper_tick_shares_no_transaction_with_a_ballot(clock: Any) -> None:
    world = VotingWorld()
    desk_tick(actor=world.staff, round=world.round, entry=_entry(world.north), channel="paper")
    _key_paper(world)
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text FROM pb_participation WHERE desk_tick")
        [(tick_xmin,)] = cursor.fetchall()
        cursor.execute("SELECT xmin::text FROM pb_pendingballot")
        ballot_xmins = {row[0] for row in cursor.fetchall()}
    assert len(ballot_xmins) == 1 and tick_xmin not in ballot_xmins
