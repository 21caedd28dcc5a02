"""The outcome pipeline's row locks hold when two workers, or two clicks, arrive at once:
each person is told once, e-mailed once, answers the survey once, and followers hear of a
milestone once (PostgreSQL, real threads: see ``race`` in tests/conftest.py)."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection

from backend.accounts.models import Notification
from backend.errors import Conflict
from feedback import services
from feedback.models import (
    Milestone,
    NotificationSent,
    PendingSurveyAnswer,
    PipelineStep,
    ProjectFollow,
    SurveyAnswer,
    SurveyInvitation,
)
from pb.voting.models import SurveyCode
from pb.voting.services.codes import survey_code_hash
from tests.conftest import race
from tests.feedback.conftest import Counted

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 4
RECIPIENTS = 6  # Counted: five voters and the author of the projects


def _built_report(world: Counted) -> int:
    report = services.report_start(round_id=world.round.pk)
    services.report_build(report_id=report.pk)
    return report.pk


def test_two_workers_notifying_at_once_tell_each_person_once(clock, monkeypatch):
    world = Counted()
    report_id = _built_report(world)
    Notification.objects.all().delete()
    mail.outbox.clear()

    outcomes = race(
        lambda: services.report_notify(report_id=report_id, batch=2),
        threads=THREADS,
        # The first read of the step is _step_begin's; the second is the batch's lock.
        hold='FROM "feedback_pipelinestep"',
        hold_at=2,
    )

    assert [o.error for o in outcomes] == [None] * THREADS
    assert sum(o.value for o in outcomes) == RECIPIENTS
    assert NotificationSent.objects.filter(round=world.round).count() == RECIPIENTS
    assert Notification.objects.count() == RECIPIENTS
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        NotificationSent.objects.filter(wants_email=True).values_list("user__email", flat=True)
    )
    assert PipelineStep.objects.get(report_id=report_id, name="notify").status == "done"


def test_a_step_begun_by_two_workers_at_once_counts_both_attempts(clock, monkeypatch):
    world = Counted()
    report = services.report_start(round_id=world.round.pk)
    begun = []
    record = threading.Lock()
    step_begin = services._step_begin

    def recording(report_id: int, name: str):
        step = step_begin(report_id, name)
        with record:
            begun.append(step is not None)
        return step

    monkeypatch.setattr(services, "_step_begin", recording)
    outcomes = race(
        lambda: services.report_build(report_id=report.pk),
        threads=THREADS,
        hold='FROM "feedback_pipelinestep"',
    )

    assert [o.error for o in outcomes] == [None] * THREADS
    step = PipelineStep.objects.get(report=report, name="report")
    assert step.status == "done" and step.attempts == sum(begun) >= 1


def test_e_mails_claimed_by_two_workers_at_once_go_out_once(clock):
    world = Counted()
    report_id = _built_report(world)
    services.report_notify(report_id=report_id)
    sent = list(NotificationSent.objects.filter(wants_email=True).values_list("pk", flat=True))
    assert len(sent) == RECIPIENTS
    # As if the first sending never ran:
    NotificationSent.objects.update(emailed_at=None, claimed_at=None)
    mail.outbox.clear()

    outcomes = race(
        lambda: services.outcome_emails_send(sent_ids=sent),
        threads=THREADS,
        hold='FROM "feedback_notificationsent"',
    )

    assert [o.error for o in outcomes] == [None] * THREADS
    assert sum(o.value for o in outcomes) == RECIPIENTS
    assert len(mail.outbox) == RECIPIENTS
    assert len({m.to[0] for m in mail.outbox}) == RECIPIENTS


def test_a_survey_answer_sent_twice_at_once_is_stored_once(clock):
    world = Counted()
    voter = world.voters[0]
    SurveyInvitation.objects.create(round=world.round, user=voter, area=world.north)

    outcomes = race(
        lambda: services.survey_answer(actor=voter, round=world.round, influence="tend_to_agree"),
        threads=THREADS,
        # get_or_create reads the invitation first; the second read is the lock.
        hold='FROM "feedback_surveyinvitation"',
        hold_at=2,
    )

    assert sum(o.ok for o in outcomes) == 1, [o.error for o in outcomes]
    assert all(isinstance(o.error, Conflict) for o in outcomes if not o.ok)
    assert PendingSurveyAnswer.objects.filter(round=world.round).count() == 1
    assert SurveyInvitation.objects.get(round=world.round, user=voter).answered


def test_a_survey_code_sent_twice_at_once_answers_once(clock):
    world = Counted()
    SurveyCode.objects.create(
        round=world.round, area=world.north, channel="paper", code_hash=survey_code_hash("ABCDEFGH")
    )

    outcomes = race(
        lambda: services.survey_answer_with_code(
            round=world.round, code="ABCD-EFGH", influence="tend_to_agree"
        ),
        threads=THREADS,
        hold='FROM "pb_surveycode"',
    )

    assert sum(o.ok for o in outcomes) == 1, [o.error for o in outcomes]
    assert all(isinstance(o.error, Conflict) for o in outcomes if not o.ok)
    assert PendingSurveyAnswer.objects.filter(round=world.round).count() == 1


def test_followers_hear_of_a_milestone_once_when_two_workers_tell_them(clock):
    world = Counted()
    for voter in world.voters[:3]:
        ProjectFollow.objects.create(user=voter, proposal=world.bench)
    milestone = Milestone.objects.create(
        proposal=world.bench, status="planned", date=clock.today(), created_by=world.manager
    )
    Notification.objects.all().delete()

    outcomes = race(
        lambda: services.milestone_tell_followers(milestone_id=milestone.pk),
        threads=THREADS,
        hold='FROM "feedback_milestone"',
    )

    assert [o.error for o in outcomes] == [None] * THREADS
    assert sorted(o.value for o in outcomes) == [0] * (THREADS - 1) + [3]
    assert Notification.objects.count() == 3


def test_a_re_run_clicked_while_a_worker_begins_the_step_is_refused(clock):
    world = Counted()
    report = services.report_start(round_id=world.round.pk)
    PipelineStep.objects.filter(report=report, name="report").update(status="failed", error="x")
    begun = threading.Event()
    roles = iter(["worker", "manager"])
    pick = threading.Lock()

    def signal_after_the_step_read(execute, sql, *args):
        result = execute(sql, *args)
        if 'FROM "feedback_pipelinestep"' in sql:
            begun.set()
        return result

    def act():
        with pick:
            role = next(roles)
        if role == "worker":  # Celery's retry of the failed step, at the manager's click
            with connection.execute_wrapper(signal_after_the_step_read):
                return services._step_begin(report.pk, "report")
        assert begun.wait(timeout=10)
        return services.step_rerun(actor=world.manager, report=report, name="report")

    outcomes = race(act, threads=2, hold='FROM "feedback_pipelinestep"')

    refused = [o.error for o in outcomes if not o.ok]
    assert len(refused) == 1 and isinstance(refused[0], Conflict), outcomes
    assert "running now" in refused[0].message
    step = PipelineStep.objects.get(report=report, name="report")
    assert step.status == "running" and step.attempts == 1


def test_two_sealers_at_once_seal_each_survey_answer_once(clock):
    world = Counted()
    for voter, answer in zip(
        world.voters[:3], ["dont_know", "tend_to_agree", "definitely_agree"], strict=True
    ):
        SurveyInvitation.objects.create(round=world.round, user=voter, area=world.north)
        services.survey_answer(actor=voter, round=world.round, influence=answer)

    outcomes = race(
        lambda: services.survey_answers_seal(round_id=world.round.pk, final=True),
        threads=THREADS,
        # Without the round lock every sealer reads the same three pending answers here.
        hold='FROM "feedback_pendingsurveyanswer"',
    )

    assert [o.error for o in outcomes] == [None] * THREADS
    assert sorted(o.value for o in outcomes) == [0] * (THREADS - 1) + [3]
    assert not PendingSurveyAnswer.objects.exists()
    assert sorted(SurveyAnswer.objects.values_list("influence", flat=True)) == [
        "definitely_agree",
        "dont_know",
        "tend_to_agree",
    ]
