"""Celery adapters for sealing cast ballots: thin, and safe to run twice.

Rounds and counting keep theirs in their packages (``pb.rounds.tasks``, ``pb.counting.tasks``).
"""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def seal_ballots(round_id: int) -> int:
    """Seal a batch of the round's pending ballots, if there are enough; safe to run twice (the
    second run finds them sealed). Enqueued on commit by the cast that makes a batch."""
    from pb.voting import sealing

    sealed = sealing.ballots_seal(round_id=round_id)
    if sealed:
        sealing.pending_vacuum()
    return sealed


@shared_task(acks_late=True)
def seal_due_ballots() -> int:
    """Beat's backstop, every minute: seal every round with a batch waiting (a cast's enqueue
    can be missed when casts race past the threshold, or the broker was down), and clear the
    paper keyings of counted rounds (``pb.voting.services.paper.paper_keyings_clear``)."""
    from pb.voting import sealing
    from pb.voting.services import paper

    sealed = sum(
        sealing.ballots_seal(round_id=round_id, final=final)
        for round_id, final in sealing.rounds_due()
    )
    if sealed:
        sealing.pending_vacuum()
    # A counted round whose paper keyings were not cleared (its count's worker died after
    # storing it, or it was counted before clearing existed): clear them now.
    paper.paper_keyings_clear_due()
    return sealed
