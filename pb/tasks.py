"""Celery adapters for rounds: thin, idempotent, keyed by what they compute.

Counting has its own module, ``pb.counting.tasks``.
"""

from __future__ import annotations

from celery import shared_task

from pb.services.rounds import round_advance_due_phases


@shared_task(acks_late=True)
def advance_due_phases() -> list[tuple[int, str]]:
    """Beat runs this every minute; moving a round that already moved is a no-op."""
    return round_advance_due_phases()
