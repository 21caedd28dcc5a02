"""The unique constraints decide a double vote, also when the requests race (PostgreSQL)."""

from __future__ import annotations

import pytest

from backend.errors import Conflict
from pb.voting.models import Participation, PendingBallot
from pb.voting.services.casting import ballot_cast
from tests.conftest import race
from tests.voting.conftest import VotingWorld

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 16


def test_the_same_voter_code_cast_from_many_threads_stores_exactly_one_ballot(clock):
    world = VotingWorld()
    [code] = world.codes(area=world.north)
    outcomes = race(
        lambda: ballot_cast(round=world.round, voter_code=code, selections=[world.trees.pk]),
        threads=THREADS,
    )
    assert sum(o.ok for o in outcomes) == 1
    assert all(isinstance(o.error, Conflict) for o in outcomes if not o.ok)
    assert PendingBallot.objects.count() == 1 and Participation.objects.count() == 1


def test_the_same_account_voting_from_many_threads_stores_exactly_one_ballot(clock):
    world = VotingWorld()
    outcomes = race(
        lambda: ballot_cast(round=world.round, voter=world.resident, selections=[world.benches.pk]),
        threads=THREADS,
    )
    assert sum(o.ok for o in outcomes) == 1
    assert all(isinstance(o.error, Conflict) for o in outcomes if not o.ok)
    assert PendingBallot.objects.count() == 1 and Participation.objects.count() == 1
