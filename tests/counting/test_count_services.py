"""Counting a round: the stored tally, its explanations, idempotence and the phase it moves to."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from backend.errors import DomainError, NotAllowed
from pb.counting import services
from pb.counting.models import Tally
from pb.counting.selectors import latest_tallies
from pb.models import AuditEntry
from pb.rounds.models import RoundArea
from pb.tally import tally
from pb.tally.pabulib import loads
from pb.voting.services.codes import receipt_hash
from tests.counting.conftest import CountWorld


def _vote_north(cw: CountWorld) -> None:
    # Benches 3 votes, Lights 2, Trees 1: greedy funds Benches (20k) then Lights (30k) = 50k;
    # Trees no longer fits. No two projects tie, so the order does not hang on their ids.
    cw.cast(cw.north, cw.bench, cw.lights)
    cw.cast(cw.north, cw.bench)
    cw.cast(cw.north, cw.bench)
    cw.cast(cw.north, cw.lights, cw.trees)


def test_counting_a_closed_city_round_stores_an_explained_tally_per_area(cw: CountWorld):
    _vote_north(cw)
    cw.cast(cw.south, cw.mural)
    cw.set_phase("counting")

    tallies = services.round_count(round=cw.round)

    by_area = {t.area.slug: t for t in tallies}
    north = by_area["north"].outcome
    assert north["winners"] == [str(cw.bench.pk), str(cw.lights.pk)]
    assert north["total_cost"] == "50000"
    assert north["voters"] == 4
    trees = north["projects"][str(cw.trees.pk)]
    assert trees["funded"] is False and trees["reason"] == "did_not_fit"
    # The engine's own sentences, word for word (money in whole pounds, as it counts).
    assert trees["sentence"] == (
        "Not funded: 1 vote, but it costs 250 and only 0 was left when its turn came."
    )
    assert north["projects"][str(cw.bench.pk)]["sentence"] == (
        "Funded (1st): 3 votes; funded in order of score while the money lasted."
    )
    assert by_area["south"].outcome["winners"] == [str(cw.mural.pk)]
    cw.round.refresh_from_db()
    assert cw.round.phase == "results"
    assert AuditEntry.objects.filter(round=cw.round, action="round.counted").count() == 1


def test_counting_twice_returns_the_stored_tally_and_changed_ballots_make_a_new_one(
    cw: CountWorld,
):
    _vote_north(cw)
    cw.set_phase("counting")
    first = services.tally_store(round=cw.round, area=cw.north)
    again = services.tally_store(round=cw.round, area=cw.north)
    assert again.pk == first.pk
    assert Tally.objects.filter(round=cw.round, area=cw.north).count() == 1
    assert not AuditEntry.objects.filter(action="round.recounted").exists()

    cw.cast(cw.north, cw.trees)
    cw.cast(cw.north, cw.trees)
    changed = services.tally_store(round=cw.round, area=cw.north)
    assert changed.pk != first.pk and changed.inputs_hash != first.inputs_hash
    assert Tally.objects.filter(round=cw.round, area=cw.north).count() == 2
    assert latest_tallies(round=cw.round)[0].pk == changed.pk
    recount = AuditEntry.objects.get(action="round.recounted")
    assert recount.area == cw.north
    assert recount.details["before"]["inputs"] == first.inputs_hash
    assert recount.details["after"]["winners"] == changed.outcome["winners"]


def test_identical_ballots_are_merged_before_counting(cw: CountWorld):
    for _ in range(5):
        cw.cast(cw.north, cw.bench)
    inputs = services.count_inputs(round=cw.round, area=cw.north)
    assert inputs.ballots == 5
    assert [v.multiplicity for v in inputs.election.votes] == [5]


def test_a_city_area_without_money_allocated_cannot_be_counted(cw: CountWorld):
    RoundArea.objects.filter(round=cw.round, area=cw.south).update(allocation=None)
    cw.set_phase("counting")
    with pytest.raises(DomainError, match="no money allocated"):
        services.round_count(round=cw.round)


@pytest.mark.parametrize("phase", ["intake", "review", "voting"])
def test_votes_are_not_counted_while_voting_is_open(cw: CountWorld, phase: str):
    cw.set_phase(phase)
    with pytest.raises(NotAllowed, match="once voting has closed"):
        services.round_count(round=cw.round)
    assert not Tally.objects.exists()


def test_only_the_rounds_managers_can_count_by_hand(cw: CountWorld):
    cw.set_phase("counting")
    with pytest.raises(NotAllowed):
        services.round_count(round=cw.round, actor=cw.resident)
    assert services.round_count(round=cw.round, actor=cw.manager)


def test_a_decision_day_counts_scores_over_one_pot(cw: CountWorld):
    cw.decision_day()
    cw.round.ballot_type = "score"
    cw.round.save(update_fields=["ballot_type"])
    # Scores: Mural 10+9, Benches 8+8, Lights 2+1, Trees 5+5. Pot 50k:
    # Mural (30k), Benches (20k) fill it; Trees and Lights do not fit.
    cw.cast(cw.north, cw.bench, points=8)
    cw.cast(cw.south, cw.bench, points=8)
    cw.cast(cw.south, cw.mural, points=10)
    cw.cast(cw.north, cw.mural, points=9)
    cw.cast(cw.north, cw.trees, points=5)
    cw.cast(cw.south, cw.trees, points=5)
    cw.cast(cw.north, cw.lights, points=2)
    cw.cast(cw.north, cw.lights, points=1)
    cw.set_phase("counting")

    (only,) = services.round_count(round=cw.round)

    assert only.area is None
    assert only.outcome["vote_type"] == "scoring"
    assert only.outcome["winners"] == [str(cw.mural.pk), str(cw.bench.pk)]
    assert only.outcome["projects"][str(cw.mural.pk)]["score"] == 19
    assert "19 points" in only.outcome["projects"][str(cw.mural.pk)]["sentence"]


def test_mes_explains_what_supporters_paid(cw: CountWorld):
    cw.round.rule = "mes"
    cw.round.save(update_fields=["rule"])
    _vote_north(cw)
    cw.set_phase("counting")
    tally_ = services.tally_store(round=cw.round, area=cw.north)
    funded = [p for p in tally_.outcome["projects"].values() if p["funded"]]
    assert funded
    assert any("equal shares" in p["sentence"] for p in funded)


def test_the_published_ballots_recount_to_the_stored_winners(cw: CountWorld):
    _vote_north(cw)
    receipt = cw.cast(cw.north, cw.trees)
    cw.set_phase("counting")
    stored = services.tally_store(round=cw.round, area=cw.north)

    text = services.ballots_pb(round=cw.round, area=cw.north)
    election = loads(text)
    recount = tally(election, cw.round.rule)

    assert list(recount.winners) == stored.outcome["winners"]
    assert sum(v.multiplicity for v in election.votes) == 5
    csv_text = services.ballots_csv(round=cw.round, area=cw.north)
    assert csv_text.count("\n") == 7  # the comment, the header and five ballots
    assert "resident" not in csv_text and "@" not in csv_text
    # The receipt is in the receipts list, and neither ballot file carries it.
    digest = receipt_hash(receipt)
    assert digest in services.receipts_csv(round=cw.round)
    assert digest not in text and digest not in csv_text


def test_ballots_are_not_published_while_voting_is_open(cw: CountWorld):
    cw.cast(cw.north, cw.bench)
    with pytest.raises(NotAllowed, match="once voting has closed"):
        services.ballots_pb(round=cw.round, area=cw.north)
    with pytest.raises(NotAllowed):
        services.ballots_csv(round=cw.round, area=cw.north)


def test_rankings_are_counted_by_position_first_choice_highest(cw: CountWorld):
    from pb.voting.models import Ballot

    cw.round.ballot_type = "ranking"
    cw.round.save(update_fields=["ballot_type"])
    # Two voters rank Trees first, Lights second: Borda gives Trees 1+1, Lights 0, and
    # one voter ranks Lights alone (0 points). Trees (25k) is chosen first.
    for _ in range(2):
        Ballot.objects.create(
            round=cw.round,
            area=cw.north,
            channel="online",
            sealed_on="2027-05-01",
            selections={str(cw.lights.pk): 2, str(cw.trees.pk): 1},
        )
    inputs = services.count_inputs(round=cw.round, area=cw.north)
    assert inputs.election.vote_type == "ordinal"
    assert [list(v.points) for v in inputs.election.votes] == [
        [str(cw.trees.pk), str(cw.lights.pk)]
    ]
    cw.set_phase("counting")
    stored = services.tally_store(round=cw.round, area=cw.north)
    assert stored.outcome["winners"][0] == str(cw.trees.pk)


def test_a_resident_recounts_the_published_file_with_the_command_line(
    cw: CountWorld, tmp_path: Any
):
    import json
    import subprocess
    import sys

    _vote_north(cw)
    cw.set_phase("counting")
    stored = services.tally_store(round=cw.round, area=cw.north)
    path = tmp_path / "north.pb"
    path.write_text(services.ballots_pb(round=cw.round, area=cw.north), encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-m", "pb.tally", str(path), "--rule", "greedy", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    recount = json.loads(result.stdout)
    assert sorted(recount["winners"]) == sorted(stored.outcome["winners"])
    # The file counts in pounds; the stored tally keeps pence.
    assert Fraction(recount["total_cost"]) * 100 == int(stored.outcome["total_cost"])
    # The site says what the command line says, word for word.
    assert recount["explanations"] == {
        pid: p["sentence"] for pid, p in stored.outcome["projects"].items()
    }


def test_mes_with_the_budget_increase_counts_in_pounds_and_stays_within_the_money(
    cw: CountWorld,
):
    cw.round.rule = "mes-add1"
    cw.round.save(update_fields=["rule"])
    _vote_north(cw)
    for _ in range(3):
        cw.cast(cw.north, cw.trees)
    cw.set_phase("counting")

    inputs = services.count_inputs(round=cw.round, area=cw.north)
    assert inputs.election.budget == 500  # £500, counted in pounds
    stored = services.tally_store(round=cw.round, area=cw.north)

    assert stored.outcome["rule"] == "mes-add1"
    assert 0 < int(stored.outcome["total_cost"]) <= 50_000
    assert str(cw.trees.pk) in stored.outcome["winners"]
