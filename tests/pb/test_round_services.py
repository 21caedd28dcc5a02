from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from backend.errors import Conflict, DomainError, NotAllowed
from pb.models import AuditEntry
from pb.phases import PHASE_ACTIONS, Action, Phase, allows
from pb.rounds.models import Round
from pb.rounds.services import (
    round_advance_due_phases,
    round_advance_phase,
    round_create,
    round_set_phase_windows,
    round_update_rules,
)
from pb.split import selectors as split_selectors
from pb.split.models import ThemeRanking
from pb.split.services import themes_rank

pytestmark = pytest.mark.django_db


def test_a_manager_creates_a_round_for_their_areas(world):
    round_ = round_create(
        actor=world.manager, name="North 2028", budget=500_000, areas=[world.north]
    )
    assert round_.phase == Phase.DRAFT
    assert list(round_.areas.all()) == [world.north]
    assert AuditEntry.objects.filter(round=round_, action="round.create").exists()


def test_a_manager_cannot_create_a_round_for_someone_elses_area(world):
    with pytest.raises(NotAllowed):
        round_create(actor=world.manager, name="Grab", budget=1, areas=[world.south])
    assert not Round.objects.filter(name="Grab").exists()


@pytest.mark.parametrize("budget", [0, -100])
def test_a_round_needs_a_positive_budget(world, budget):
    with pytest.raises(DomainError) as info:
        round_create(actor=world.manager, name="Zero", budget=budget, areas=[world.north])
    assert "budget" in info.value.fields


def test_rules_can_change_before_voting_and_are_frozen_after(world):
    round_update_rules(
        actor=world.manager,
        round=world.round,
        budget=12_000_000,
        reason="Extra money from the parks fund",
    )
    entry = AuditEntry.objects.get(action="round.update")
    assert entry.details["before"]["budget"] == 10_000_000
    assert entry.details["after"]["budget"] == 12_000_000
    world.set_phase("voting")
    for change in ({"budget": 1}, {"rule": "mes"}, {"min_age": 18}):
        with pytest.raises(NotAllowed) as info:
            round_update_rules(actor=world.manager, round=world.round, **change)
        assert info.value.code == "frozen"
    world.round.refresh_from_db()
    assert world.round.budget == 12_000_000 and world.round.rule == "greedy"


def test_residents_cannot_change_rules(world):
    with pytest.raises(NotAllowed):
        round_update_rules(actor=world.resident, round=world.round, budget=1)


def test_advancing_by_hand_needs_a_reason_and_only_goes_forward(world):
    with pytest.raises(DomainError) as info:
        round_advance_phase(actor=world.manager, round=world.round, to_phase="review", reason=" ")
    assert "reason" in info.value.fields
    round_advance_phase(
        actor=world.manager,
        round=world.round,
        to_phase="review",
        reason="Intake closed early: enough ideas",
    )
    world.round.refresh_from_db()
    assert world.round.phase == "review"
    with pytest.raises(Conflict):
        round_advance_phase(
            actor=world.manager, round=world.round, to_phase="intake", reason="Oops"
        )
    entry = AuditEntry.objects.get(action="phase.advance")
    assert entry.reason == "Intake closed early: enough ideas" and entry.details["by_hand"]


def test_beat_moves_rounds_along_their_dates(world):
    now = timezone.now()
    round_set_phase_windows(
        actor=world.manager,
        round=world.round,
        windows=[
            ("intake", now - dt.timedelta(days=20), now - dt.timedelta(days=10)),
            ("review", now - dt.timedelta(days=10), now - dt.timedelta(days=1)),
            ("voting", now + dt.timedelta(days=1), now + dt.timedelta(days=5)),
        ],
    )
    moved = round_advance_due_phases(now=now)
    assert moved == [(world.round.pk, "review")]
    assert round_advance_due_phases(now=now) == []  # idempotent
    assert round_advance_due_phases(now=now + dt.timedelta(days=2)) == [(world.round.pk, "voting")]


def test_a_timetable_with_overlapping_phases_is_refused(world):
    now = timezone.now()
    with pytest.raises(DomainError):
        round_set_phase_windows(
            actor=world.manager,
            round=world.round,
            windows=[
                ("intake", now, now + dt.timedelta(days=10)),
                ("review", now + dt.timedelta(days=5), now + dt.timedelta(days=15)),
            ],
        )
    with pytest.raises(DomainError):
        round_set_phase_windows(
            actor=world.manager,
            round=world.round,
            windows=[
                ("intake", now, now - dt.timedelta(days=1)),
            ],
        )


# What each phase allows, written out here rather than read back from pb/phases.py, so a change
# to the table has to be made (and seen) in both places.
EXPECTED_ACTIONS = {
    "draft": {"edit_rules", "moderate", "split"},
    "intake": {
        "comment",
        "edit_own",
        "edit_rules",
        "moderate",
        "split",
        "submit",
        "support",
        "withdraw",
    },
    "review": {"comment", "edit_rules", "moderate", "review", "split", "withdraw"},
    "priorities": {"comment", "edit_rules", "moderate", "rank_themes", "split", "withdraw"},
    "deliberation": {"comment", "edit_rules", "moderate", "split", "withdraw"},
    "voting": {"comment", "key_paper", "moderate", "vote"},
    "counting": {"comment", "count", "key_paper", "moderate"},
    "results": {"comment", "moderate"},
    "implementation": {"comment", "moderate", "track_delivery"},
}


def test_the_phase_table_names_every_phase():
    assert set(EXPECTED_ACTIONS) == {p.value for p in Phase} == set(PHASE_ACTIONS)


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("action", list(Action))
def test_phase_table_is_complete_and_freezes_rules_from_voting(phase, action):
    allowed = allows(phase, action)
    assert allowed == (action.value in EXPECTED_ACTIONS[phase.value])
    frozen = phase in {Phase.VOTING, Phase.COUNTING, Phase.RESULTS, Phase.IMPLEMENTATION}
    if action in {Action.EDIT_RULES, Action.SPLIT, Action.SUBMIT, Action.WITHDRAW}:
        assert not (frozen and allowed)
    if action == Action.VOTE:
        assert allowed == (phase == Phase.VOTING)


def test_theme_priorities_sum_points_per_area(world, user_factory):
    world.set_phase("priorities")
    themes_rank(actor=world.resident, round=world.round, themes=[world.parks, world.roads])
    neighbour = user_factory()
    neighbour.profile.home_area = world.north
    neighbour.profile.verified = True
    neighbour.profile.save()
    themes_rank(actor=neighbour, round=world.round, themes=[world.roads])
    # parks: 4 (1st); roads: 3 (2nd) + 4 (1st)
    assert split_selectors.theme_priorities(round=world.round) == {
        world.north.pk: {world.parks.pk: 4, world.roads.pk: 7}
    }
    # Ranking again replaces the earlier ranking.
    themes_rank(actor=world.resident, round=world.round, themes=[world.roads])
    assert ThemeRanking.objects.filter(user=world.resident).count() == 1


def test_ranking_themes_is_refused_for_non_residents_and_duplicates(world, user_factory):
    world.set_phase("priorities")
    with pytest.raises(NotAllowed):
        themes_rank(actor=user_factory(), round=world.round, themes=[world.parks])
    with pytest.raises(DomainError):
        themes_rank(actor=world.resident, round=world.round, themes=[world.parks, world.parks])
