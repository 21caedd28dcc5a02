"""When paper keyings forget what was read (as soon as the paper is settled) and when they are
deleted (pb.voting.services.paper.paper_keyings_clear: once the count is stored and no paper can
be keyed any more, by the count itself or by beat's sealing backstop), and never for a paper
that still waits to be settled. The database reader's attack is in test_paper_secrecy.py."""

from __future__ import annotations

from typing import Any

import pytest

from pb.counting.models import Tally
from pb.counting.services import round_count
from pb.models import AuditAction, AuditEntry
from pb.rounds.models import RoundArea
from pb.tasks import seal_due_ballots
from pb.voting.models import PaperBallot, PaperEntry, PaperStatus
from pb.voting.services.paper import paper_entry_add, paper_keyings_clear, paper_reconcile
from tests.voting.conftest import VotingWorld


def _key(vw: VotingWorld, serial: str, *who: Any) -> None:
    for person in who or (vw.staff, vw.staff2):
        paper_entry_add(
            actor=person, round=vw.round, serial=serial, area=vw.north, selections=[vw.trees.pk]
        )


def _cleared() -> int:
    return AuditEntry.objects.filter(action=AuditAction.VOTING_PAPER_KEYINGS_CLEARED).count()


def _readings(serial: str) -> list[dict[str, int]]:
    return list(
        PaperEntry.objects.filter(paper_ballot__serial=serial)
        .order_by("pk")
        .values_list("selections", flat=True)
    )


def test_a_keying_holds_what_was_read_only_until_the_paper_is_settled(vw: VotingWorld) -> None:
    trees = {str(vw.trees.pk): 1}
    _key(vw, "P-1", vw.staff)
    assert _readings("P-1") == [trees]  # waiting for its second keying: needed to compare
    _key(vw, "P-1", vw.staff2)
    assert _readings("P-1") == [{}, {}]  # matched and counted: the ballot holds it now
    assert PaperBallot.objects.get(serial="P-1").status == PaperStatus.COUNTED
    assert PaperEntry.objects.filter(paper_ballot__serial="P-1").count() == 2  # who keyed it


def test_keyings_in_dispute_keep_what_was_read_until_a_manager_decides(vw: VotingWorld) -> None:
    paper_entry_add(
        actor=vw.staff, round=vw.round, serial="P-2", area=vw.north, selections=[vw.trees.pk]
    )
    paper_entry_add(
        actor=vw.staff2, round=vw.round, serial="P-2", area=vw.north, selections=[vw.benches.pk]
    )
    assert _readings("P-2") == [{str(vw.trees.pk): 1}, {str(vw.benches.pk): 1}]
    paper = PaperBallot.objects.get(serial="P-2")
    paper_reconcile(actor=vw.manager, paper=paper, decision="second", reason="Cross on Benches")
    assert _readings("P-2") == [{}, {}]
    from pb.voting.models import PendingBallot

    assert PendingBallot.objects.get().selections == {str(vw.benches.pk): 1}


@pytest.fixture
def counted_papers(vw: VotingWorld) -> VotingWorld:
    RoundArea.objects.filter(round=vw.round).update(allocation=5_000_000)
    _key(vw, "P-1")
    _key(vw, "P-2")
    return vw


def test_the_count_clears_the_keyings_and_keeps_the_papers(counted_papers: VotingWorld) -> None:
    vw = counted_papers
    vw.set(phase="counting")
    round_count(round=vw.round, actor=vw.manager)
    assert not PaperEntry.objects.exists()
    assert sorted(PaperBallot.objects.values_list("serial", "status")) == [
        ("P-1", PaperStatus.COUNTED),
        ("P-2", PaperStatus.COUNTED),
    ]
    assert _cleared() == 1


def test_nothing_is_cleared_while_papers_may_still_be_keyed(counted_papers: VotingWorld) -> None:
    """During counting a paper may still be keyed or settled, and nothing is counted yet."""
    vw = counted_papers
    for phase in ("voting", "counting"):
        vw.set(phase=phase)
        assert paper_keyings_clear(round_id=vw.round.pk) == 0
    assert PaperEntry.objects.count() == 4 and _cleared() == 0


def test_nothing_is_cleared_before_a_count_is_stored(counted_papers: VotingWorld) -> None:
    vw = counted_papers
    vw.set(phase="results")  # moved on by hand, never counted
    assert paper_keyings_clear(round_id=vw.round.pk) == 0
    assert PaperEntry.objects.count() == 4


def test_a_paper_still_waiting_keeps_its_keying(counted_papers: VotingWorld) -> None:
    """A round moved to results by hand with a paper keyed once: that paper was never settled,
    so what was read on it stays for whoever sorts it out; the settled ones are cleared."""
    vw = counted_papers
    _key(vw, "P-3", vw.staff)
    vw.set(phase="results")
    Tally.objects.create(round=vw.round, rule=vw.round.rule, inputs_hash="x", outcome={}, seconds=0)
    assert paper_keyings_clear(round_id=vw.round.pk) == 2
    assert list(PaperEntry.objects.values_list("paper_ballot__serial", flat=True)) == ["P-3"]
    assert PaperBallot.objects.get(serial="P-3").status == PaperStatus.WAITING


def test_beat_clears_a_counted_round_whose_clearing_was_missed(
    counted_papers: VotingWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count's worker died between storing the count and clearing (or the round was counted
    before clearing existed): the sealing backstop clears it within a minute."""
    vw = counted_papers
    vw.set(phase="counting")
    monkeypatch.setattr("pb.counting.services.paper_keyings_clear", lambda **_kw: 0)
    round_count(round=vw.round)
    assert PaperEntry.objects.count() == 4
    seal_due_ballots()
    assert not PaperEntry.objects.exists() and _cleared() == 1
    seal_due_ballots()
    assert _cleared() == 1


def test_another_rounds_keyings_are_left_alone(counted_papers: VotingWorld) -> None:
    vw = counted_papers
    paper_entry_add(
        actor=vw.staff,
        round=vw.other_round,
        serial="P-1",
        area=vw.north,
        selections=[vw.other_round_project.pk],
    )
    vw.set(phase="counting")
    round_count(round=vw.round)
    assert list(PaperEntry.objects.values_list("paper_ballot__round", flat=True)) == [
        vw.other_round.pk
    ]


def _keyed_during_the_count(monkeypatch: pytest.MonkeyPatch, key: Any) -> list[Any]:
    """Run ``key`` once, between the count's seal and its move to results (as a desk keying
    while a manager's count runs); the tallies of each attempt, in order."""
    import pb.counting.services as counting

    real = counting.tally_store
    attempts: list[Any] = []

    def tally_store(**kwargs: Any) -> Any:
        tally = real(**kwargs)
        attempts.append(tally)
        if len(attempts) == 1:
            key()
        return tally

    monkeypatch.setattr(counting, "tally_store", tally_store)
    return attempts


def test_a_paper_settled_while_the_count_runs_is_counted_not_left_out(
    counted_papers: VotingWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pb.voting.models import Ballot, PendingBallot

    vw = counted_papers
    vw.set(phase="counting")
    attempts = _keyed_during_the_count(monkeypatch, lambda: _key(vw, "P-9"))
    tallies = round_count(round=vw.round, actor=vw.manager)
    vw.round.refresh_from_db()
    assert vw.round.phase == "results"
    assert not PendingBallot.objects.filter(round=vw.round).exists()
    assert Ballot.objects.filter(round=vw.round, channel="paper").count() == 3
    # Counted again after the paper came in: the stored count is the second, with P-9 in it.
    n = len(tallies)  # one per area counted
    assert len(attempts) == 2 * n
    assert [t.pk for t in tallies] == [t.pk for t in attempts[n:]]
    assert any(
        t.inputs_hash != first.inputs_hash for t, first in zip(tallies, attempts[:n], strict=True)
    )


def test_a_paper_keyed_once_while_the_count_runs_stops_it_with_the_reason(
    counted_papers: VotingWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backend.errors import DomainError

    vw = counted_papers
    vw.set(phase="counting")
    _keyed_during_the_count(monkeypatch, lambda: _key(vw, "P-9", vw.staff))
    with pytest.raises(DomainError, match="waits for a second keying"):
        round_count(round=vw.round, actor=vw.manager)
    vw.round.refresh_from_db()
    assert vw.round.phase == "counting"
    assert PaperEntry.objects.filter(paper_ballot__serial="P-9").count() == 1


def test_no_paper_is_keyed_once_the_count_has_moved_the_round_on(
    counted_papers: VotingWorld,
) -> None:
    """The round row is read again under its lock: a desk holding the round as it was before
    the count (a page opened during counting) is refused, not let in."""
    from backend.errors import DomainError

    vw = counted_papers
    vw.set(phase="counting")
    stale = type(vw.round).objects.get(pk=vw.round.pk)
    round_count(round=vw.round, actor=vw.manager)
    with pytest.raises(DomainError):
        paper_entry_add(
            actor=vw.staff, round=stale, serial="P-9", area=vw.north, selections=[vw.trees.pk]
        )
    assert not PaperBallot.objects.filter(serial="P-9").exists()
