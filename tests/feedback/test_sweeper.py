"""Beat's sweeper for outcome feedback: a pipeline, a step or an e-mail whose task was lost
(a broker restart, a worker gone for good) is started again, and nobody hears twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from backend.accounts.models import Notification
from feedback import services, tasks
from feedback.models import NotificationSent, OutcomeReport, PipelineStep, StepName
from pb.counting.models import Tally

pytestmark = pytest.mark.django_db

GRACE = dt.timedelta(minutes=10)


def ago(minutes: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes)


def sweep(capture: Any) -> dict[str, list[int]]:
    with capture(execute=True):
        return tasks.resume_stalled_outcomes.delay().get()


def test_a_count_whose_pipeline_task_was_lost_gets_its_report(
    counted, django_capture_on_commit_callbacks, settings
):
    settings.SWEEP_GRACE = 600
    assert sweep(django_capture_on_commit_callbacks)["pipelines"] == []  # just counted
    assert not OutcomeReport.objects.exists()

    Tally.objects.filter(round=counted.round).update(created_at=ago(11))
    assert sweep(django_capture_on_commit_callbacks)["pipelines"] == [counted.round.pk]
    report = OutcomeReport.objects.get()
    assert [s.status for s in report.steps.order_by("id")] == ["done", "done", "done"]
    assert NotificationSent.objects.count() == 6 and len(mail.outbox) == 6
    assert sweep(django_capture_on_commit_callbacks) == {
        "pipelines": [],
        "reports": [],
        "emails": [],
    }


@pytest.mark.parametrize("status", ["running", "pending", "failed"])
def test_a_report_stuck_on_a_step_resumes_from_that_step(
    counted, django_capture_on_commit_callbacks, status
):
    """The report was built; the notify step's task was lost while waiting, while running
    (its worker died for good) or after its retries ran out."""
    report = services.report_start(round_id=counted.round.pk)
    assert report is not None
    services.report_build(report_id=report.pk)
    PipelineStep.objects.filter(report=report, name=StepName.REPORT).update(
        status="done", finished_at=ago(30)
    )
    PipelineStep.objects.filter(report=report, name=StepName.NOTIFY).update(
        status=status, started_at=ago(20), finished_at=ago(20) if status == "failed" else None
    )
    before = PipelineStep.objects.get(report=report, name=StepName.REPORT).attempts

    started = sweep(django_capture_on_commit_callbacks)

    assert started["reports"] == [report.pk]
    steps = dict(PipelineStep.objects.filter(report=report).values_list("name", "status"))
    assert steps == {"report": "done", "notify": "done", "open_data": "done"}
    assert PipelineStep.objects.get(report=report, name=StepName.REPORT).attempts == before
    assert Notification.objects.count() == 6 and len(mail.outbox) == 6


def test_a_step_that_is_still_moving_is_left_alone(counted, django_capture_on_commit_callbacks):
    report = services.report_start(round_id=counted.round.pk)
    assert report is not None
    PipelineStep.objects.filter(report=report, name=StepName.REPORT).update(
        status="running", started_at=ago(2)
    )
    OutcomeReport.objects.filter(pk=report.pk).update(created_at=ago(30))
    assert sweep(django_capture_on_commit_callbacks)["reports"] == []
    assert not OutcomeReport.objects.get().is_built


def test_e_mails_lost_before_or_after_their_claim_are_sent_once_each(
    counted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.outcome_pipeline.delay(counted.round.pk).get()
    rows = list(NotificationSent.objects.order_by("pk"))
    assert len(rows) == 6 and len(mail.outbox) == 6
    mail.outbox.clear()
    never_claimed, claim_expired, in_flight, sent = rows[0:2], rows[2:4], rows[4:5], rows[5:]
    # Their batch committed but its e-mail task was lost with the broker:
    NotificationSent.objects.filter(pk__in=[r.pk for r in never_claimed]).update(
        created_at=ago(11), claimed_at=None, emailed_at=None
    )
    # A worker claimed them and died before sending:
    NotificationSent.objects.filter(pk__in=[r.pk for r in claim_expired]).update(
        claimed_at=ago(31), emailed_at=None
    )
    # A worker is sending these right now:
    NotificationSent.objects.filter(pk__in=[r.pk for r in in_flight]).update(
        claimed_at=ago(1), emailed_at=None
    )

    started = sweep(django_capture_on_commit_callbacks)

    expected = never_claimed + claim_expired
    assert started["emails"] == [r.pk for r in expected]
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.user.email for r in expected)
    assert sweep(django_capture_on_commit_callbacks)["emails"] == []
    assert len(mail.outbox) == 4
    assert set(
        NotificationSent.objects.filter(emailed_at__isnull=True).values_list("pk", flat=True)
    ) == {r.pk for r in in_flight}
    assert sent[0].emailed_at is not None


def test_an_e_mail_the_server_refused_is_tried_again_after_the_claim_deadline(
    counted, django_capture_on_commit_callbacks, monkeypatch
):
    from django.core.mail import EmailMessage

    monkeypatch.setattr(EmailMessage, "send", lambda self, fail_silently=False: 0)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.outcome_pipeline.delay(counted.round.pk).get()
    assert not NotificationSent.objects.filter(emailed_at__isnull=False).exists()
    assert sweep(django_capture_on_commit_callbacks)["emails"] == []  # claimed just now
    monkeypatch.undo()

    NotificationSent.objects.update(claimed_at=ago(31))
    assert len(sweep(django_capture_on_commit_callbacks)["emails"]) == 6
    assert len(mail.outbox) == 6
    assert not NotificationSent.objects.filter(emailed_at__isnull=True).exists()
