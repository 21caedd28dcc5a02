"""Sealing moves cast ballots into the count's table in batches: when, and how many."""

from __future__ import annotations

import pytest

from pb import tasks
from pb.voting import sealing
from pb.voting.models import Ballot, Participation, PendingBallot, Receipt
from pb.voting.services.casting import ballot_cast
from pb.voting.services.kiosk import kiosk_cast, kiosk_unlock

pytestmark = pytest.mark.django_db


def cast_codes(vw, n: int, area=None) -> None:
    area = area or vw.north
    project = vw.trees if area == vw.north else vw.south_pool
    for code in vw.codes(n, area=area):
        ballot_cast(round=vw.round, voter_code=code, selections=[project.pk])


def test_fewer_than_twenty_pending_ballots_wait_while_voting_is_open(vw):
    cast_codes(vw, sealing.MIN_BATCH - 1)
    assert sealing.ballots_seal(round_id=vw.round.pk) == 0
    assert tasks.seal_due_ballots() == 0
    assert PendingBallot.objects.count() == sealing.MIN_BATCH - 1 and not Ballot.objects.exists()


def test_twenty_pending_ballots_of_an_area_are_sealed_with_their_receipts(vw):
    cast_codes(vw, sealing.MIN_BATCH)
    cast_codes(vw, 3, area=vw.south)
    assert sealing.ballots_seal(round_id=vw.round.pk) == sealing.MIN_BATCH
    # South's three would stand out among North's twenty (the participation names the area).
    assert list(PendingBallot.objects.values_list("area", flat=True)) == [vw.south.pk] * 3
    assert Ballot.objects.filter(area=vw.north).count() == sealing.MIN_BATCH
    assert Receipt.objects.filter(area=vw.north).count() == sealing.MIN_BATCH
    assert Participation.objects.count() == sealing.MIN_BATCH + 3
    assert sealing.ballots_seal(round_id=vw.round.pk) == 0  # running it again changes nothing


def test_a_lone_kiosk_ballot_is_not_sealed_with_online_ones(vw):
    cast_codes(vw, sealing.MIN_BATCH - 1)
    [code] = vw.codes(1, area=vw.north)
    kiosk = kiosk_unlock(actor=vw.staff, round=vw.round, area=vw.north)
    kiosk_cast(kiosk=kiosk, voter_code=code, selections=[vw.trees.pk])
    assert sealing.ballots_seal(round_id=vw.round.pk) == 0
    assert not Ballot.objects.exists()


def test_the_final_remainder_is_sealed_with_ballots_taken_back_to_make_twenty(vw):
    cast_codes(vw, sealing.MIN_BATCH)
    sealing.ballots_seal(round_id=vw.round.pk)
    first = set(Ballot.objects.values_list("pk", flat=True))
    cast_codes(vw, 5)
    vw.set(phase="counting")
    assert sealing.seal_all(round=vw.round) == 5
    now = set(Ballot.objects.values_list("pk", flat=True))
    assert len(now) == sealing.MIN_BATCH + 5
    # Fifteen of the first batch were sealed again with the last five: twenty new rows.
    assert len(first & now) == 5 and len(now - first) == sealing.MIN_BATCH
    assert Receipt.objects.count() == sealing.MIN_BATCH + 5


def test_the_twentieth_cast_enqueues_sealing_when_it_commits(
    vw, django_capture_on_commit_callbacks
):
    cast_codes(vw, sealing.MIN_BATCH - 1)
    [code] = vw.codes(1, area=vw.north)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ballot_cast(round=vw.round, voter_code=code, selections=[vw.benches.pk])
    assert len(callbacks) == 1
    assert Ballot.objects.count() == sealing.MIN_BATCH and not PendingBallot.objects.exists()


def test_beat_seals_a_batch_that_no_cast_enqueued(vw):
    cast_codes(vw, sealing.MIN_BATCH + 3)  # no on-commit here: as if every enqueue was lost
    assert tasks.seal_due_ballots() == sealing.MIN_BATCH + 3
    assert Ballot.objects.count() == sealing.MIN_BATCH + 3


def test_a_remainder_waits_for_the_count_during_counting_and_is_sealed_after_it(vw):
    cast_codes(vw, 3)
    vw.set(phase="counting")  # paper may still be keyed: the count seals what is left
    assert tasks.seal_due_ballots() == 0
    vw.set(phase="results")
    assert tasks.seal_due_ballots() == 3
    assert Ballot.objects.count() == 3


def test_counting_seals_everything_first(vw):
    from pb.counting.services import round_count

    cast_codes(vw, 2)
    cast_codes(vw, 1, area=vw.south)
    vw.set(phase="counting")
    tallies = round_count(round=vw.round)
    assert not PendingBallot.objects.exists()
    assert {t.area_id: t.outcome["voters"] for t in tallies} == {vw.north.pk: 2, vw.south.pk: 1}
