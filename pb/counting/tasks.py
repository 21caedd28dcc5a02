"""Celery adapter for counting: thin, idempotent, keyed by what it computes."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings

from backend.errors import DomainError
from pb.counting.selectors import rounds_stalled_in_counting, tally_result
from pb.counting.services import round_count
from pb.models import AuditAction
from pb.rounds.models import Round
from pb.services.audit import audit


@shared_task(
    # The name it had when it lived in pb.tasks: messages already queued still find it.
    name="pb.tasks.tally_round",
    acks_late=True,
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def tally_round(round_id: int) -> list[dict[str, object]]:
    """Count a closed round. Keyed by round and the hash of its inputs, so running it twice (a
    worker killed mid-count redoes it under ``acks_late``) stores one tally per input."""
    round_ = Round.objects.filter(pk=round_id).first()
    if round_ is None:  # deleted since the task was queued: nothing to count
        return []
    try:
        tallies = round_count(round=round_)
    except DomainError as exc:
        # Retrying cannot fix missing inputs: record why for the managers, who fix the round
        # and count again from its count page.
        last = round_.audit_entries.order_by("-at", "-pk").values("action", "reason").first()
        if last != {
            "action": AuditAction.ROUND_COUNT_FAILED,
            "reason": exc.message,
        }:  # once, not every retry
            audit(
                actor=None, action=AuditAction.ROUND_COUNT_FAILED, round=round_, reason=exc.message
            )
        return []
    return [
        {
            "tally": t.pk,
            "area": t.area_id,
            "inputs_hash": t.inputs_hash,
            "winners": list(tally_result(t).winners),
        }
        for t in tallies
    ]


@shared_task(acks_late=True)
def resume_stalled_counts() -> list[int]:
    """Beat's sweeper: count again every round left in counting (its count task was lost with
    the broker, or its worker died for good). Counting is keyed by its inputs, so a round whose
    count is in fact still running gets one tally all the same."""
    stalled = rounds_stalled_in_counting(older_than=dt.timedelta(seconds=settings.SWEEP_GRACE))
    for round_id in stalled:
        tally_round.delay(round_id)
    return stalled
