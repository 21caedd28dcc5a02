"""Counting twice at once (two workers, or a worker and a manager) stores one tally per input
and moves the round on once (PostgreSQL, real threads: see ``race`` in tests/conftest.py)."""

from __future__ import annotations

import pytest

from pb.counting import services
from pb.counting.models import Tally
from pb.models import AuditEntry
from tests.conftest import race
from tests.counting.conftest import CountWorld

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 4


def _counting_world() -> CountWorld:
    world = CountWorld()
    world.cast(world.north, world.bench, world.lights)
    world.cast(world.north, world.bench)
    world.cast(world.south, world.mural)
    world.set_phase("counting")
    return world


def test_two_workers_storing_the_same_count_store_one_tally(clock):
    world = _counting_world()

    outcomes = race(
        lambda: services.tally_store(round=world.round, area=world.north),
        threads=THREADS,
        hold='FROM "pb_tally"',
    )

    assert [o.error for o in outcomes] == [None] * THREADS
    (only,) = Tally.objects.filter(round=world.round, area=world.north)
    assert {o.value.pk for o in outcomes} == {only.pk}
    assert only.outcome["winners"] == [str(world.bench.pk), str(world.lights.pk)]
    assert not AuditEntry.objects.filter(action="round.recounted").exists()


def test_counting_a_round_twice_at_once_moves_it_to_results_once(clock, monkeypatch):
    world = _counting_world()
    started = []
    # The outcome pipeline is another test's business (eager Celery is not made for tasks in
    # several threads of one process); record that every count asks for it.
    monkeypatch.setattr(
        services, "round_counted_announce", lambda *, round_id: started.append(round_id)
    )

    # Each count locks the round three times: once per area's tally, then to move it on; the
    # pause goes after the third.
    outcomes = race(
        lambda: services.round_count(round=world.round),
        threads=THREADS,
        hold='FROM "pb_round"',
        hold_at=3,
    )

    assert [o.error for o in outcomes] == [None] * THREADS
    world.round.refresh_from_db()
    assert world.round.phase == "results"
    assert Tally.objects.filter(round=world.round).count() == 2
    assert AuditEntry.objects.filter(round=world.round, action="round.counted").count() == 1
    assert started == [world.round.pk] * THREADS
