"""Kiosks, paper double keying with reconciliation, and the decision day, at the service level."""

from __future__ import annotations

import pytest

from backend.errors import Conflict, DomainError, NotAllowed
from pb.counting.models import Tally
from pb.models import AuditEntry
from pb.rounds.models import RoundArea
from pb.voting import selectors
from pb.voting.models import PaperStatus, Participation, PendingBallot
from pb.voting.services.codes import voter_codes_issue
from pb.voting.services.decision_day import (
    decision_day_close,
    decision_day_open,
    decision_day_reveal_next,
)
from pb.voting.services.kiosk import kiosk_cast, kiosk_lock, kiosk_unlock
from pb.voting.services.paper import paper_entry_add, paper_reconcile
from tests.factories import RoundFactory

pytestmark = pytest.mark.django_db


# --- Kiosk ----------------------------------------------------------------------------------


def test_event_staff_unlock_a_kiosk_that_casts_with_voter_codes_for_its_area(vw):
    kiosk = kiosk_unlock(actor=vw.staff, round=vw.round, area=vw.north, label="Hall A")
    first, second = vw.codes(2)
    r1 = kiosk_cast(kiosk=kiosk, voter_code=first, selections=[vw.trees.pk])
    r2 = kiosk_cast(kiosk=kiosk, voter_code=second, selections=[vw.benches.pk])
    assert r1.code != r2.code
    stored = list(PendingBallot.objects.values_list("channel", "area__name"))
    assert stored == [("kiosk", "North")] * 2
    assert not Participation.objects.filter(voter__isnull=False).exists()
    assert AuditEntry.objects.filter(action="voting.kiosk_unlock", actor=vw.staff).exists()


def test_a_kiosk_needs_a_code_and_stops_when_locked(vw):
    kiosk = kiosk_unlock(actor=vw.staff, round=vw.round, area=vw.north)
    with pytest.raises(DomainError):
        kiosk_cast(kiosk=kiosk, voter_code="", selections=[vw.trees.pk])
    kiosk_lock(actor=vw.staff2, kiosk=kiosk)
    [code] = vw.codes()
    with pytest.raises(NotAllowed) as exc:
        kiosk_cast(kiosk=kiosk, voter_code=code, selections=[vw.trees.pk])
    assert exc.value.code == "kiosk_locked"
    assert not PendingBallot.objects.exists()


def test_residents_cannot_unlock_kiosks_and_areas_must_be_in_the_round(vw):
    with pytest.raises(NotAllowed):
        kiosk_unlock(actor=vw.resident, round=vw.round, area=vw.north)
    with pytest.raises(DomainError):
        kiosk_unlock(actor=vw.staff, round=vw.round, area=vw.elsewhere)


# --- Paper ----------------------------------------------------------------------------------


def key(vw, who, serial="P-1", selections=None, spoilt=False, area=None):
    return paper_entry_add(
        actor=who,
        round=vw.round,
        serial=serial,
        area=area or vw.north,
        selections=[vw.trees.pk] if selections is None else selections,
        spoilt=spoilt,
    )


def test_a_paper_ballot_counts_once_two_staff_key_it_the_same(vw):
    paper = key(vw, vw.staff)
    assert paper.status == PaperStatus.WAITING and not PendingBallot.objects.exists()
    paper = key(vw, vw.staff2, serial="p-1")
    assert paper.status == PaperStatus.COUNTED
    ballot = PendingBallot.objects.get()
    assert ballot.channel == "paper" and ballot.selections == {str(vw.trees.pk): 1}
    assert Participation.objects.get().channel == "paper"


def test_the_same_person_cannot_key_a_ballot_twice(vw):
    key(vw, vw.staff)
    with pytest.raises(Conflict) as exc:
        key(vw, vw.staff)
    assert "different member of staff" in exc.value.message
    assert not PendingBallot.objects.exists()


def test_differing_keyings_wait_for_a_manager_who_decides_with_a_reason(vw):
    key(vw, vw.staff, selections=[vw.trees.pk])
    paper = key(vw, vw.staff2, selections=[vw.benches.pk])
    assert paper.status == PaperStatus.MISMATCH and not PendingBallot.objects.exists()
    assert list(selectors.reconciliation_queue(round=vw.round)) == [paper]
    with pytest.raises(Conflict):
        key(vw, vw.manager)
    with pytest.raises(NotAllowed):
        paper_reconcile(actor=vw.staff, paper=paper, decision="second", reason="x")
    with pytest.raises(DomainError):
        paper_reconcile(actor=vw.manager, paper=paper, decision="second", reason=" ")
    paper = paper_reconcile(
        actor=vw.manager, paper=paper, decision="second", reason="The cross is on Benches."
    )
    assert paper.status == PaperStatus.RESOLVED
    assert PendingBallot.objects.get().selections == {str(vw.benches.pk): 1}
    assert not selectors.reconciliation_queue(round=vw.round).exists()
    with pytest.raises(Conflict):
        paper_reconcile(actor=vw.manager, paper=paper, decision="first", reason="again")
    assert PendingBallot.objects.count() == 1
    entry = AuditEntry.objects.get(action="voting.paper_reconcile")
    assert entry.reason == "The cross is on Benches." and entry.details["serial"] == "P-1"


def test_a_mismatch_in_area_goes_to_reconciliation_and_can_be_declared_spoilt(vw):
    key(vw, vw.staff, selections=[vw.trees.pk])
    paper = key(vw, vw.staff2, selections=[vw.south_pool.pk], area=vw.south)
    assert paper.status == PaperStatus.MISMATCH
    paper = paper_reconcile(
        actor=vw.manager, paper=paper, decision="spoilt", reason="Two areas marked."
    )
    assert paper.status == PaperStatus.SPOILT and not PendingBallot.objects.exists()


def test_a_spoilt_ballot_keyed_twice_is_recorded_as_spoilt_and_not_counted(vw):
    key(vw, vw.staff, spoilt=True, selections={})
    paper = key(vw, vw.staff2, spoilt=True, selections={})
    assert paper.status == PaperStatus.SPOILT
    assert not PendingBallot.objects.exists() and not Participation.objects.exists()
    assert selectors.turnout(round=vw.round, fresh=True)["spoilt_paper"] == 1
    with pytest.raises(Conflict):
        key(vw, vw.manager, spoilt=True)


def test_an_invalid_keying_is_refused_so_staff_mark_it_spoilt_instead(vw):
    with pytest.raises(DomainError) as exc:
        key(vw, vw.staff, selections=[vw.trees.pk, vw.lights.pk, vw.mural.pk])
    assert exc.value.code == "over_budget"
    with pytest.raises(DomainError):
        key(vw, vw.staff, serial="  ")
    vw.set(phase="results")  # counted: no more paper
    with pytest.raises(NotAllowed):
        key(vw, vw.staff)


# --- Decision day ---------------------------------------------------------------------------


@pytest.fixture
def day(vw):
    round_ = RoundFactory(
        name="In your hands",
        slug="in-your-hands",
        style="decision_day",
        phase="deliberation",
        budget=2_500_000,
        ballot_type="score",
        created_by=vw.manager,
    )
    RoundArea.objects.create(round=round_, area=vw.north)
    vw.day_bids = [
        vw.proposal(name, cost, round=round_, group=f"{name} group")
        for name, cost in [("Youth club", 1_200_000), ("Garden", 900_000), ("Choir", 800_000)]
    ]
    return round_


def test_a_decision_day_opens_takes_scores_closes_and_reveals_bid_by_bid(vw, day):
    # Codes are made before the doors open: once voting is open only an admin makes more.
    codes = voter_codes_issue(actor=vw.manager, round=day, count=2)
    decision_day_open(actor=vw.manager, round=day)
    day.refresh_from_db()
    assert day.phase == "voting"
    kiosk = kiosk_unlock(actor=vw.staff, round=day, area=vw.north)
    for code, scores in zip(codes, [(9, 5, 7), (8, 6, 2)], strict=True):
        kiosk_cast(
            kiosk=kiosk,
            voter_code=code,
            selections={str(b.pk): s for b, s in zip(vw.day_bids, scores, strict=True)},
        )
    assert selectors.turnout(round=day, fresh=True)["by_channel"]["kiosk"] == 2
    with pytest.raises(Conflict):
        decision_day_reveal_next(actor=vw.manager, round=day)
    decision_day_close(actor=vw.manager, round=day)
    day.refresh_from_db()
    assert day.phase == "counting"  # the count starts on commit, which this test never reaches
    youth, garden, choir = (str(b.pk) for b in vw.day_bids)
    Tally.objects.create(
        round=day,
        area=None,
        rule="greedy",
        inputs_hash="x",
        seconds=0.01,
        outcome={
            "budget": "2500000",
            "projects": {
                youth: {
                    "title": "Youth club",
                    "cost": "1200000",
                    "score": 17,
                    "funded": True,
                    "rank": 1,
                },
                garden: {
                    "title": "Garden",
                    "cost": "900000",
                    "score": 11,
                    "funded": True,
                    "rank": 2,
                },
                choir: {"title": "Choir", "cost": "800000", "score": 9, "funded": False, "rank": 3},
            },
        },
    )
    rows = selectors.reveal_rows(round=day)
    assert [(r.title, r.money_left) for r in rows] == [
        ("Youth club", 1_300_000),
        ("Garden", 400_000),
        ("Choir", 400_000),
    ]
    state = decision_day_reveal_next(actor=vw.manager, round=day)
    assert state.revealed == 1
    # The event team reads the results out on the night; only managers open and close.
    state = decision_day_reveal_next(actor=vw.staff, round=day)
    assert state.revealed == 2
    # The service counts the bids itself: a third reveal shows the last bid, a fourth nothing.
    assert decision_day_reveal_next(actor=vw.staff, round=day).revealed == 3
    assert decision_day_reveal_next(actor=vw.staff, round=day).revealed == 3
    with pytest.raises(NotAllowed):
        decision_day_reveal_next(actor=vw.resident, round=day)
    with pytest.raises(NotAllowed):
        decision_day_open(actor=vw.staff, round=day)


def test_a_decision_day_ballot_lists_every_bid_of_the_round_within_the_whole_pot(vw, day):
    spec = selectors.ballot_spec(round=day, area_id=vw.north.pk)
    assert spec.limit == 2_500_000 and len(spec.items) == 3
    with pytest.raises(DomainError):
        decision_day_open(actor=vw.manager, round=vw.round)


def test_paper_keyed_after_the_polls_close_still_counts_and_the_count_waits_for_it(vw):
    from pb.counting.services import round_count
    from pb.counting.tasks import tally_round

    RoundArea.objects.filter(round=vw.round).update(allocation=5_000_000)
    key(vw, vw.staff, serial="P-7")
    vw.set(phase="counting")  # the polls closed with P-7 keyed once

    # The count started by the closing refuses to leave P-7 out, and says why.
    assert tally_round.delay(vw.round.pk).get() == []
    failure = AuditEntry.objects.get(round=vw.round, action="round.count_failed")
    assert "1 paper ballot still waits" in failure.reason
    assert not Tally.objects.filter(round=vw.round).exists()

    # The second keying is still taken during counting; then the manager counts.
    paper = key(vw, vw.staff2, serial="P-7")
    assert paper.status == PaperStatus.COUNTED
    tallies = round_count(round=vw.round, actor=vw.manager)
    north = next(t for t in tallies if t.area == vw.north)
    assert north.outcome["voters"] == 1

    vw.round.refresh_from_db()
    with pytest.raises(NotAllowed):  # results: the paper is closed
        key(vw, vw.staff, serial="P-8")
