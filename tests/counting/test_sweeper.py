"""Beat's sweeper for counts: a round left in counting (its task lost with the broker) is
counted again; rounds waiting on purpose are left alone, and a failed count is recorded once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from pb.counting.models import Tally
from pb.counting.tasks import resume_stalled_counts, tally_round
from pb.models import AuditEntry
from pb.rounds.models import Round
from pb.voting.models import PaperBallot
from tests.counting.conftest import CountWorld

pytestmark = pytest.mark.django_db


def left_alone_for(cw: CountWorld, minutes: int) -> None:
    """Make the round's last activity ``minutes`` old, as if its count task had been lost."""
    past = timezone.now() - dt.timedelta(minutes=minutes)
    Round.objects.filter(pk=cw.round.pk).update(created_at=past)
    AuditEntry.objects.filter(round=cw.round).update(at=past)


def test_a_round_left_in_counting_is_counted_by_the_sweeper(cw: CountWorld, settings: Any):
    settings.SWEEP_GRACE = 600
    cw.cast(cw.north, cw.bench)
    cw.cast(cw.south, cw.mural)
    cw.set_phase("counting")  # the count task that should follow was lost

    assert resume_stalled_counts.delay().get() == []  # just closed: its count may be running
    assert not Tally.objects.filter(round=cw.round).exists()

    left_alone_for(cw, 11)
    assert resume_stalled_counts.delay().get() == [cw.round.pk]
    cw.round.refresh_from_db()
    assert cw.round.phase == "results"
    assert Tally.objects.filter(round=cw.round).count() == 2
    assert resume_stalled_counts.delay().get() == []  # nothing left to do


def test_a_round_whose_tallies_were_stored_but_not_moved_on_is_finished_once(cw: CountWorld):
    """A worker died between storing the tallies and moving the round to results."""
    cw.cast(cw.north, cw.bench)
    cw.set_phase("counting")
    from pb.counting.services import count_scopes, tally_store

    stored = {tally_store(round=cw.round, area=a).pk for a in count_scopes(round=cw.round)}
    left_alone_for(cw, 11)
    assert resume_stalled_counts.delay().get() == [cw.round.pk]
    assert set(Tally.objects.filter(round=cw.round).values_list("pk", flat=True)) == stored
    cw.round.refresh_from_db()
    assert cw.round.phase == "results"


def test_rounds_waiting_for_paper_ballots_are_left_alone(cw: CountWorld):
    cw.cast(cw.north, cw.bench)
    cw.set_phase("counting")
    PaperBallot.objects.create(round=cw.round, serial="P-0001")
    left_alone_for(cw, 60)
    assert resume_stalled_counts.delay().get() == []
    assert not Tally.objects.filter(round=cw.round).exists()


def test_a_count_that_cannot_run_is_recorded_once_and_waits_for_a_manager(cw: CountWorld):
    cw.cast(cw.north, cw.bench)
    cw.set_phase("counting")
    from pb.rounds.models import RoundArea

    RoundArea.objects.filter(round=cw.round, area=cw.south).update(allocation=None)
    assert tally_round.delay(cw.round.pk).get() == []
    assert tally_round.delay(cw.round.pk).get() == []  # a retry, or the sweeper
    failed = AuditEntry.objects.filter(round=cw.round, action="round.count_failed")
    assert failed.count() == 1
    assert "no money allocated" in failed.get().reason
    left_alone_for(cw, 60)
    assert resume_stalled_counts.delay().get() == []  # waits for the manager's fix

    RoundArea.objects.filter(round=cw.round, area=cw.south).update(allocation=30_000)
    AuditEntry.objects.create(round=cw.round, action="split.published")  # the fix is recorded
    left_alone_for(cw, 11)
    assert resume_stalled_counts.delay().get() == [cw.round.pk]
    cw.round.refresh_from_db()
    assert cw.round.phase == "results"
