"""The report's integrity section counts ballots by how the voter was identified: counts only,
with small cells hidden as in the ballot files."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from feedback import indicators as ind
from feedback import tasks
from feedback.definitions import integrity_rows
from feedback.selectors import identified_ballots
from pb.services.register import match_key
from pb.voting.models import Participation, RegisterEntry
from pb.voting.services.casting import ballot_cast
from pb.voting.services.codes import register_codes_issue
from pb.voting.services.desk import desk_tick
from pb.voting.services.paper import paper_entry_add
from tests.factories import UserFactory
from tests.voting.conftest import VotingWorld

KINDS = ind.IDENTIFICATION_KINDS


def _entry(area: Any, name: str) -> RegisterEntry:
    return RegisterEntry.objects.create(
        area=area,
        name=name,
        postcode="N1 1AA",
        birth_year=1980,
        match_key=match_key(name, "N1 1AA", 1980),
    )


def _shown(counts: tuple[ind.IdentifiedCount, ...]) -> dict[str, int | None]:
    return {c.kind: c.ballots for c in counts}


# --- The pure figure --------------------------------------------------------------------------


def test_counts_of_five_or_more_and_zeros_are_shown() -> None:
    got = ind.identification_counts({"account_checked": 12, "letter_code": 5}, min_cell=5)
    assert [c.kind for c in got] == list(KINDS)
    assert _shown(got) == {k: {"account_checked": 12, "letter_code": 5}.get(k, 0) for k in KINDS}


def test_a_lone_small_count_hides_the_next_smallest_too() -> None:
    got = ind.identification_counts(
        {"account_checked": 40, "letter_code": 9, "anonymous_code": 2}, min_cell=5
    )
    shown = _shown(got)
    assert shown["anonymous_code"] is None and shown["letter_code"] is None
    assert shown["account_checked"] == 40 and shown["paper_untracked"] == 0


def test_two_small_counts_hide_only_themselves() -> None:
    got = ind.identification_counts(
        {"account_checked": 40, "desk_ticked": 1, "anonymous_code": 4}, min_cell=5
    )
    assert {c.kind for c in got if c.suppressed} == {"desk_ticked", "anonymous_code"}


def test_a_lone_small_count_with_nothing_else_is_hidden_alone() -> None:
    got = ind.identification_counts({"paper_untracked": 3}, min_cell=5)
    assert [c.kind for c in got if c.suppressed] == ["paper_untracked"]


@pytest.mark.parametrize(
    "counts", [{"by_pigeon": 3}, {"letter_code": -1}, {"letter_code": 2.5}, {"letter_code": True}]
)
def test_bad_counts_are_refused(counts: dict[str, Any]) -> None:
    with pytest.raises(ind.IndicatorError):
        ind.identification_counts(counts, min_cell=5)


def test_the_report_rows_say_hidden_counts_in_words() -> None:
    report = ind.integrity_indicators(
        [],
        voting_opened_at=dt.datetime(2027, 5, 1, tzinfo=dt.UTC),
        identified={"account_checked": 7, "anonymous_code": 1},
        min_cell=5,
    )
    rows = {r[0]: r[1] for r in integrity_rows(report)}
    assert rows["Integrity: ballots whose voter was identified by anonymous_code"] == (
        "fewer than 5"
    )
    assert rows["Integrity: ballots whose voter was identified by account_checked"] == (
        "fewer than 5"
    )
    assert report.to_dict()["identification"][0] == {
        "kind": "account_on_register",
        "ballots": 0,
        "suppressed": False,
    }


# --- Counted from the votes -------------------------------------------------------------------


def test_every_way_of_voting_lands_in_its_own_count(vw: VotingWorld) -> None:
    # An account matched to the register.
    vw.resident.profile.register_entry = _entry(vw.north, vw.resident.display_name)
    vw.resident.profile.save()
    ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.trees.pk])
    # An account checked by hand.
    checked = UserFactory(email="checked@example.org")
    checked.profile.home_area, checked.profile.birth_year = vw.north, 1990
    checked.profile.verified = True
    checked.profile.save()
    ballot_cast(round=vw.round, voter=checked, selections=[vw.trees.pk])
    # A letter to a resident on the register.
    letter = _entry(vw.north, "Lettie Post")
    issued = dict(register_codes_issue(actor=None, round=vw.round, area=vw.north))
    code = issued[letter]
    ballot_cast(round=vw.round, voter_code=code, area_id=vw.north.pk, selections=[vw.trees.pk])
    # Ticked at a kiosk desk, then at a paper desk (the paper keyed), a paper nobody ticked.
    kiosk = desk_tick(
        actor=vw.staff, round=vw.round, entry=_entry(vw.north, "Kim Kiosk"), channel="kiosk"
    )
    ballot_cast(
        round=vw.round,
        voter_code=kiosk.code,
        area_id=vw.north.pk,
        channel="kiosk",
        selections=[vw.trees.pk],
    )
    desk_tick(actor=vw.staff, round=vw.round, entry=_entry(vw.north, "Pat Paper"), channel="paper")
    for serial in ("P1", "P2"):
        for who in (vw.staff, vw.staff2):
            paper_entry_add(
                actor=who, round=vw.round, serial=serial, area=vw.north, selections=[vw.trees.pk]
            )
    # Two codes handed out at the door.
    for door in vw.codes(2):
        ballot_cast(round=vw.round, voter_code=door, area_id=vw.north.pk, selections=[vw.trees.pk])
    assert identified_ballots(round=vw.round) == {
        "account_on_register": 1,
        "account_checked": 1,
        "letter_code": 1,
        "desk_ticked": 2,
        "anonymous_code": 2,
        "paper_untracked": 1,
    }
    assert sum(identified_ballots(round=vw.round).values()) == (
        Participation.objects.ballots().count()
    )


def test_paper_ticks_beyond_the_keyed_papers_count_no_ballot(vw: VotingWorld) -> None:
    for name in ("Pat One", "Pat Two"):
        desk_tick(actor=vw.staff, round=vw.round, entry=_entry(vw.north, name), channel="paper")
    for who in (vw.staff, vw.staff2):
        paper_entry_add(
            actor=who, round=vw.round, serial="P1", area=vw.north, selections=[vw.trees.pk]
        )
    counts = identified_ballots(round=vw.round)
    assert counts["desk_ticked"] == 1 and counts["paper_untracked"] == 0


# --- On the report ----------------------------------------------------------------------------


def test_the_report_shows_the_counts_and_hides_small_ones(
    client: Any, counted: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # The five voters of the counted round voted with checked accounts; one more with a door
    # code (the participation alone: the report counts who voted, not what).
    Participation.objects.create(
        round=counted.round,
        area=counted.north,
        channel="online",
        voted_on=dt.date(2027, 5, 1),
        voter_code=counted.round.voter_codes.create(code_hash="x" * 64),
    )
    with django_capture_on_commit_callbacks(execute=True):
        tasks.outcome_pipeline.delay(counted.round.pk)
    client.force_login(counted.councillor)
    text = client.get(reverse("outcome_report", args=["city-2027"])).content.decode()
    assert "Ballots by how the voter was identified" in text
    table = text[text.index("table-identification") : text.index("staff override")]
    assert "Account checked by a manager, not on the register" in table
    assert table.count("fewer than 5") == 2  # the door code, and the 5 that would reveal it
    assert "Ticked on the register at a paper or kiosk desk</th><td>0<" in table
