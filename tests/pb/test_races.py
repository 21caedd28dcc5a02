"""A round's phase and a proposal's review are decided once when people (or beat) act at the
same moment (PostgreSQL, real threads: see ``race`` in tests/conftest.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.errors import Conflict
from pb.models import AuditEntry
from pb.proposals.models import ProposalStatus
from pb.proposals.services import proposal_create, proposal_review
from pb.rounds.models import PhaseWindow
from pb.rounds.services import round_advance_due_phases, round_advance_phase
from tests.conftest import race
from tests.pb.conftest import World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 4


def test_managers_moving_a_round_on_at_once_move_it_once(clock):
    world = World(phase="intake")

    outcomes = race(
        lambda: round_advance_phase(
            actor=world.manager, round=world.round, to_phase="review", reason="Enough ideas"
        ),
        threads=THREADS,
        hold='FROM "pb_round"',
    )

    assert sum(o.ok for o in outcomes) == 1
    assert all(isinstance(o.error, Conflict) for o in outcomes if not o.ok)
    world.round.refresh_from_db()
    assert world.round.phase == "review"
    assert AuditEntry.objects.filter(action="phase.advance").count() == 1


def test_beat_running_twice_at_once_moves_a_round_once(clock):
    world = World(phase="intake")
    now = clock.now()
    PhaseWindow.objects.create(
        round=world.round,
        phase="review",
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=1),
    )

    outcomes = race(round_advance_due_phases, threads=THREADS, hold='FROM "pb_round"')

    assert [o.error for o in outcomes] == [None] * THREADS
    assert sorted(len(o.value) for o in outcomes) == [0] * (THREADS - 1) + [1]
    world.round.refresh_from_db()
    assert world.round.phase == "review"
    assert AuditEntry.objects.filter(action="phase.advance").count() == 1


def test_two_managers_reviewing_a_proposal_at_once_decide_it_once(clock):
    world = World(phase="intake")
    proposal = proposal_create(
        author=world.resident,
        round=world.round,
        area=world.north,
        title="Benches in North Park",
        description="Six benches along the lake path.",
        estimated_cost=1_200_000,
        theme=world.parks,
    )
    world.set_phase("review")

    outcomes = race(
        lambda: proposal_review(
            actor=world.manager,
            proposal=proposal,
            decision="feasible",
            council_cost=1_500_000,
            reason="Parks team can fit these.",
        ),
        threads=THREADS,
        hold='FROM "pb_proposal"',
    )

    assert sum(o.ok for o in outcomes) == 1
    assert all(isinstance(o.error, Conflict) for o in outcomes if not o.ok)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.FEASIBLE
    assert AuditEntry.objects.filter(action="proposal.review").count() == 1
