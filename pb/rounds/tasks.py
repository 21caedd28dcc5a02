"""Celery adapters for rounds: thin, idempotent, keyed by what they compute."""

from __future__ import annotations

from celery import shared_task

from pb.rounds.services import round_advance_due_phases


# The name it had when it lived in pb.tasks: beat's schedule and messages already queued still
# find it.
@shared_task(acks_late=True, name="pb.tasks.advance_due_phases")
def advance_due_phases() -> list[tuple[int, str]]:
    """Beat runs this every minute; moving a round that already moved is a no-op."""
    return round_advance_due_phases()
