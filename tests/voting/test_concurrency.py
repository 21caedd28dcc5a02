"""The unique constraints decide a double vote, also when the requests race (PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from backend.errors import Conflict
from pb.models import Ballot, Participation
from pb.voting.services.casting import ballot_cast
from tests.conftest import need
from tests.voting.conftest import VotingWorld

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 16


def race(cast) -> list[str]:
    """Run ``cast`` from many threads released at the same instant; what each one got."""
    barrier = threading.Barrier(THREADS)

    def attempt(_: int) -> str:
        barrier.wait()
        try:
            cast()
            return "cast"
        except Conflict:
            return "conflict"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(attempt, range(THREADS)))


def test_the_same_voter_code_cast_from_many_threads_stores_exactly_one_ballot():
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    world = VotingWorld()
    [code] = world.codes(area=world.north)
    outcomes = race(
        lambda: ballot_cast(round=world.round, voter_code=code, selections=[world.trees.pk])
    )
    assert outcomes.count("cast") == 1 and outcomes.count("conflict") == THREADS - 1
    assert Ballot.objects.count() == 1 and Participation.objects.count() == 1


def test_the_same_account_voting_from_many_threads_stores_exactly_one_ballot():
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    world = VotingWorld()
    outcomes = race(
        lambda: ballot_cast(round=world.round, voter=world.resident, selections=[world.benches.pk])
    )
    assert outcomes.count("cast") == 1
    assert Ballot.objects.count() == 1 and Participation.objects.count() == 1
