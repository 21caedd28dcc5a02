"""Celery adapters for outcome feedback: fetch by id, call a service, own the retry policy.

Contract with ``pb.counting``: once a round's areas are counted, in a committed transaction,
pb announces it (``pb.events``) and ``start_outcome_pipeline``, subscribed in
``FeedbackConfig.ready``, calls ``outcome_pipeline.delay(round_id)``. The pipeline is keyed
by the round and its tallies' inputs hashes (``OutcomeReport.inputs_key``), so calling it
again for the same count finds the same report and skips the steps already done. Every task
is ``acks_late``: a worker killed mid-task leaves the message on the queue and the next
worker redoes the step.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import chain, shared_task
from django.conf import settings

from feedback import services
from feedback.models import STEP_ORDER, StepName

RETRY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (Exception,),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


def _run_step(task: Any, report_id: int, name: str) -> int:
    try:
        services.STEP_FUNCTIONS[name](report_id=report_id)
    except Exception as exc:
        services.step_fail(report_id=report_id, name=name, error=f"{type(exc).__name__}: {exc}")
        raise
    return report_id


@shared_task(bind=True, **RETRY)
def build_outcome_report(self: Any, report_id: int) -> int:
    return _run_step(self, report_id, StepName.REPORT)


@shared_task(bind=True, **RETRY)
def notify_participants(self: Any, report_id: int) -> int:
    return _run_step(self, report_id, StepName.NOTIFY)


@shared_task(bind=True, **RETRY)
def publish_open_data(self: Any, report_id: int) -> int:
    return _run_step(self, report_id, StepName.OPEN_DATA)


STEP_TASKS: dict[str, Any] = {
    StepName.REPORT: build_outcome_report,
    StepName.NOTIFY: notify_participants,
    StepName.OPEN_DATA: publish_open_data,
}


@shared_task(**RETRY)
def run_steps(report_id: int, first: str = StepName.REPORT) -> None:
    """Run the pipeline's steps from ``first`` on, in order; each skips itself if done."""
    steps = STEP_ORDER[STEP_ORDER.index(first) :]
    chain(*(STEP_TASKS[name].si(report_id) for name in steps)).apply_async()


@shared_task(**RETRY)
def outcome_pipeline(round_id: int) -> int | None:
    """Build the outcome report, tell participants, publish open data; returns the report id
    (``None`` when the round has no tally yet)."""
    report = services.report_start(round_id=round_id)
    if report is None:
        return None
    run_steps.delay(report.pk)
    return report.pk


def start_outcome_pipeline(round_id: int) -> None:
    """The subscriber to pb's "round counted" event."""
    outcome_pipeline.delay(round_id)


@shared_task(**RETRY)
def send_outcome_emails(sent_ids: list[int]) -> int:
    return services.outcome_emails_send(sent_ids=sent_ids)


@shared_task(**RETRY)
def tell_followers(milestone_id: int) -> int:
    return services.milestone_tell_followers(milestone_id=milestone_id)


@shared_task(acks_late=True)
def seal_survey_answers(round_id: int) -> int:
    """Seal a batch of the round's pending survey answers, if there are enough; safe twice."""
    return services.survey_answers_seal(round_id=round_id)


@shared_task(acks_late=True)
def seal_due_survey_answers() -> int:
    """Beat's backstop, every minute: batches that reached 20, and closed surveys' remainders."""
    return services.survey_answers_seal_due()


@shared_task(acks_late=True)
def resume_stalled_outcomes() -> dict[str, list[int]]:
    """Beat's sweeper: restart pipelines, steps and e-mails that a lost task left undone."""
    return services.outcome_resume_stalled(older_than=dt.timedelta(seconds=settings.SWEEP_GRACE))
