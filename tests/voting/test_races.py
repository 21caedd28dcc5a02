"""The row locks of paper keying, paper reconciliation and the decision-day reveal hold when
staff click at the same moment (PostgreSQL, real threads: see ``race`` in tests/conftest.py)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from backend.accounts.models import Role
from backend.errors import Conflict, NotAllowed
from pb.counting.models import Tally
from pb.models import AuditAction, AuditEntry
from pb.rounds.models import RoundArea, RoundStyle
from pb.voting.models import (
    Ballot,
    DecisionDay,
    PaperBallot,
    PaperEntry,
    PaperStatus,
    Participation,
    PendingBallot,
    Receipt,
)
from pb.voting.sealing import ballots_seal
from pb.voting.services.casting import ballot_cast
from pb.voting.services.decision_day import decision_day_reveal_next
from pb.voting.services.paper import paper_entry_add, paper_keyings_clear, paper_reconcile
from tests.conftest import Outcome, race
from tests.factories import UserFactory
from tests.voting.conftest import VotingWorld

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 4


def _key(world: VotingWorld, who, selections) -> PaperBallot:
    return paper_entry_add(
        actor=who, round=world.round, serial="P-7", area=world.north, selections=selections
    )


def test_staff_keying_the_second_reading_at_once_count_the_ballot_once(clock):
    world = VotingWorld()
    _key(world, world.staff, [world.trees.pk])
    others = [world.staff2, world.manager]
    others += [UserFactory(role=Role.EVENT_STAFF) for _ in range(THREADS - len(others))]
    pick = threading.Lock()

    def second_keying() -> PaperBallot:
        with pick:
            who = others.pop()
        return _key(world, who, [world.trees.pk])

    outcomes = race(second_keying, threads=THREADS, hold='FROM "pb_paperentry"')

    assert [o.value.status for o in outcomes if o.ok] == [PaperStatus.COUNTED]
    assert all(isinstance(o.error, Conflict) for o in outcomes if not o.ok)
    assert PaperEntry.objects.count() == 2
    assert PendingBallot.objects.filter(channel="paper").count() == 1
    assert Participation.objects.filter(channel="paper").count() == 1


def test_the_count_and_beat_clearing_keyings_at_once_clear_each_paper_once(clock):
    """The count clears a round's keyings as it stores the tally, and beat's backstop may find
    the same round in the same second: one clearing rewrites the papers, the others find none."""
    world = VotingWorld()
    for serial in ("P-1", "P-2"):
        for who in (world.staff, world.staff2):
            paper_entry_add(
                actor=who,
                round=world.round,
                serial=serial,
                area=world.north,
                selections=[world.trees.pk],
            )
    world.set(phase="results")
    Tally.objects.create(
        round=world.round, rule=world.round.rule, inputs_hash="x", outcome={}, seconds=0
    )

    outcomes = race(
        lambda: paper_keyings_clear(round_id=world.round.pk),
        threads=THREADS,
        hold='FROM "pb_paperballot"',
    )

    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    assert sorted(o.value for o in outcomes) == [0] * (THREADS - 1) + [2]
    assert sorted(PaperBallot.objects.values_list("serial", flat=True)) == ["P-1", "P-2"]
    assert not PaperEntry.objects.exists()
    cleared = AuditEntry.objects.filter(action=AuditAction.VOTING_PAPER_KEYINGS_CLEARED)
    assert [e.details["keyings"] for e in cleared] == [4]


def test_managers_settling_the_same_paper_ballot_at_once_count_it_once(clock):
    world = VotingWorld()
    _key(world, world.staff, [world.trees.pk])
    paper = _key(world, world.staff2, [world.benches.pk])
    assert paper.status == PaperStatus.MISMATCH

    outcomes = race(
        lambda: paper_reconcile(
            actor=world.manager, paper=paper, decision="second", reason="The cross is clear."
        ),
        threads=THREADS,
        hold='FROM "pb_paperballot"',
    )

    assert [o.value.status for o in outcomes if o.ok] == [PaperStatus.RESOLVED]
    assert all(isinstance(o.error, Conflict) for o in outcomes if not o.ok)
    assert list(PendingBallot.objects.values_list("selections", flat=True)) == [
        {str(world.benches.pk): 1}
    ]


def test_revealing_the_next_bid_from_two_screens_at_once_reveals_one_each(clock):
    world = VotingWorld()
    world.set(style=RoundStyle.DECISION_DAY, phase="results")
    DecisionDay.objects.create(round=world.round, closed_at=clock.now())
    bids = {
        str(i): {"title": f"Bid {i}", "cost": "100", "score": 20 - i, "funded": True, "rank": i}
        for i in range(1, 11)
    }
    Tally.objects.create(
        round=world.round,
        area=None,
        rule="greedy",
        inputs_hash="x",
        seconds=0.01,
        outcome={"budget": "1000", "projects": bids},
    )

    outcomes = race(
        lambda: decision_day_reveal_next(actor=world.manager, round=world.round),
        threads=THREADS,
        hold='WHERE "pb_decisionday"."id" =',
    )

    assert [o.error for o in outcomes] == [None] * THREADS
    assert sorted(o.value.revealed for o in outcomes) == [1, 2, 3, 4]
    assert DecisionDay.objects.get(round=world.round).revealed == THREADS


def test_two_sealers_at_once_seal_each_pending_ballot_once(clock):
    world = VotingWorld()
    for code in world.codes(n=3):
        ballot_cast(round=world.round, voter_code=code, selections=[world.trees.pk])
    assert PendingBallot.objects.count() == 3

    outcomes = race(
        lambda: ballots_seal(round_id=world.round.pk, final=True),
        threads=THREADS,
        # Without the round lock every sealer reads the same three pending ballots here.
        hold='FROM "pb_pendingballot"',
    )

    assert [o.error for o in outcomes] == [None] * THREADS
    assert sorted(o.value for o in outcomes) == [0] * (THREADS - 1) + [3]
    assert not PendingBallot.objects.exists()
    assert Ballot.objects.filter(round=world.round).count() == 3
    assert Receipt.objects.filter(round=world.round).count() == 3


# --- Keying while the count ends ------------------------------------------------------------


def test_a_paper_keyed_as_the_count_ends_is_refused_not_left_out(clock, monkeypatch):
    """The count checks, under the round's lock, that no paper was keyed since its seal, then
    moves the round to results. A desk keying a new paper reads the round's phase first: read
    without that lock, it said counting while the count's last step ran, and the paper landed,
    waiting for a second keying nobody could make, in a counted round (its keyings were never
    cleared). Here the count pauses just after its check, lock held, and the desk keys then:
    it must be refused, or counted (stopping the count with the reason), never left out."""
    from pb.counting import services as counting

    world = VotingWorld()
    RoundArea.objects.filter(round=world.round).update(allocation=5_000_000)
    for who in (world.staff, world.staff2):
        _key(world, who, [world.trees.pk])  # P-7, counted: the count has a paper ballot
    world.set(phase="counting")
    monkeypatch.setattr(counting, "round_counted_announce", lambda *, round_id: None)
    checked = threading.Event()
    papers_checked = 'AS "a" FROM "pb_paperballot"'  # _paper_settled_since_seal's last read

    def signal_the_check(execute, sql, *args):
        result = execute(sql, *args)
        if papers_checked in sql:
            checked.set()  # race()'s hold then keeps the count here, the round's lock held
        return result

    def count():
        try:
            with connection.execute_wrapper(signal_the_check):
                return counting.round_count(round=world.round)
        finally:
            checked.set()  # a count that stopped early leaves no desk waiting

    def desk():
        assert checked.wait(timeout=30)
        return paper_entry_add(
            actor=world.staff,
            round=world.round,
            serial="P-8",
            area=world.north,
            selections=[world.trees.pk],
        )

    done: dict[str, Outcome] = {}
    turn = iter([("count", count), ("desk", desk)])
    pick = threading.Lock()

    def act() -> None:
        with pick:
            name, fn = next(turn)
        try:
            done[name] = Outcome(value=fn())
        except Exception as exc:
            done[name] = Outcome(error=exc)

    race(act, threads=2, hold=papers_checked, hold_seconds=0.5)

    world.round.refresh_from_db()
    keyed = PaperBallot.objects.filter(round=world.round, serial="P-8")
    if done["count"].ok:  # the count won: the desk waited for it and was refused
        assert world.round.phase == "results"
        assert not keyed.exists(), "a paper keyed into a counted round"
        assert isinstance(done["desk"].error, NotAllowed), done["desk"]
        assert done["desk"].error.code == "wrong_phase"
    else:  # the desk won: the count saw P-8 and stopped, saying why
        assert done["count"].error.code == "paper_pending", done["count"].error
        assert world.round.phase == "counting"
        assert keyed.get().status == PaperStatus.WAITING
    assert not PendingBallot.objects.filter(round=world.round).exists()
