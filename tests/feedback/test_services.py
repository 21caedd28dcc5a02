"""The outcome pipeline, survey and delivery at the service level."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.utils import timezone

from backend.accounts.models import Notification
from backend.errors import Conflict, DomainError, NotAllowed
from feedback import selectors, services, tasks
from feedback.models import (
    Milestone,
    NotificationSent,
    OutcomeReport,
    PendingSurveyAnswer,
    PipelineStep,
    ProjectFollow,
    SurveyAnswer,
    SurveyInvitation,
)
from pb.counting.models import Tally
from pb.counting.services import round_count

pytestmark = pytest.mark.django_db


def run(counted):
    return tasks.outcome_pipeline.delay(counted.round.pk).get()


def test_the_pipeline_builds_the_report_tells_everyone_and_publishes_open_data(
    counted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report_id = run(counted)
    report = OutcomeReport.objects.get(pk=report_id)
    assert report.is_built and report.published_at is not None
    assert [s.status for s in report.steps.order_by("id")] == ["done", "done", "done"]
    figures = report.figures
    assert figures["inclusion"]["total_voters"] == 5
    assert [a["area"] for a in figures["results"]] == ["North", "South"]
    # 5 voters + 1 author, one message each
    assert NotificationSent.objects.filter(round=counted.round).count() == 6
    assert Notification.objects.filter(user=counted.author).count() == 1
    body = Notification.objects.get(user=counted.author).body
    assert "“Brighter lights” was not funded" in body and "money left" in body
    assert len(mail.outbox) == 6
    names = {f["name"] for f in report.open_data}
    assert {"tally.json", "indicators.csv"} <= names
    for f in report.open_data:
        if "path" in f:
            assert default_storage.exists(f["path"])


def test_running_the_pipeline_twice_makes_one_report_and_one_message_each(
    counted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = run(counted)
        second = run(counted)
    assert first == second
    assert OutcomeReport.objects.filter(round=counted.round).count() == 1
    assert Notification.objects.count() == 6
    assert len(mail.outbox) == 6
    assert PipelineStep.objects.get(report_id=first, name="notify").attempts == 1


def test_a_notify_step_killed_half_way_finishes_the_rest_once(counted):
    report = services.report_start(round_id=counted.round.pk)
    services.report_build(report_id=report.pk)
    # A first worker sends one batch of two, then dies with the step still "running".
    step = PipelineStep.objects.get(report=report, name="notify")
    original = selectors.recipients_pending
    calls = {"n": 0}

    def dies_after_first_batch(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")
        return original(**kwargs)

    selectors.recipients_pending = dies_after_first_batch
    try:
        with pytest.raises(SystemExit):
            services.report_notify(report_id=report.pk, batch=2)
    finally:
        selectors.recipients_pending = original
    assert NotificationSent.objects.count() == 2
    step.refresh_from_db()
    assert step.status == "running"
    services.report_notify(report_id=report.pk, batch=2)
    assert NotificationSent.objects.count() == 6
    assert Notification.objects.count() == 6


def test_a_new_count_makes_a_new_report_and_keeps_the_commentary(counted):
    first = services.report_start(round_id=counted.round.pk)
    services.report_set_commentary(actor=counted.manager, report=first, text="Good turnout.")
    Tally.objects.create(
        round=counted.round,
        area=counted.north,
        rule="greedy",
        inputs_hash="n2",
        outcome=counted.north_tally.outcome,
        seconds=0.1,
    )
    second = services.report_start(round_id=counted.round.pk)
    assert second.pk != first.pk and second.commentary == "Good turnout."


def test_a_round_without_a_tally_has_no_report(db, round_factory):
    round_ = round_factory(phase="voting")
    assert tasks.outcome_pipeline.delay(round_.pk).get() is None
    assert not OutcomeReport.objects.exists()


def test_a_failing_step_is_recorded_and_a_manager_can_run_it_again(
    counted, monkeypatch, django_capture_on_commit_callbacks
):
    report = services.report_start(round_id=counted.round.pk)

    def broken(**kwargs):
        raise RuntimeError("storage is down")

    monkeypatch.setitem(services.STEP_FUNCTIONS, "report", broken)
    monkeypatch.setattr(tasks.build_outcome_report, "max_retries", 0)
    with pytest.raises(RuntimeError):
        tasks.build_outcome_report.apply(args=[report.pk], throw=True)
    step = PipelineStep.objects.get(report=report, name="report")
    assert step.status == "failed" and "storage is down" in step.error
    monkeypatch.undo()
    with pytest.raises(NotAllowed):
        services.step_rerun(actor=counted.councillor, report=report, name="report")
    with django_capture_on_commit_callbacks(execute=True):
        services.step_rerun(actor=counted.manager, report=report, name="report")
    statuses = dict(PipelineStep.objects.filter(report=report).values_list("name", "status"))
    assert statuses == {"report": "done", "notify": "done", "open_data": "done"}
    with pytest.raises(Conflict):
        services.step_rerun(actor=counted.manager, report=report, name="report")


def test_people_who_turned_e_mail_off_get_a_dashboard_message_only(
    counted, django_capture_on_commit_callbacks
):
    for voter in counted.voters:
        voter.profile.email_notifications = False
        voter.profile.save()
    with django_capture_on_commit_callbacks(execute=True):
        run(counted)
    assert Notification.objects.count() == 6
    assert [m.to for m in mail.outbox] == [["author@example.org"]]


def test_e_mail_copies_are_sent_at_most_once(counted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run(counted)
    ids = list(NotificationSent.objects.values_list("pk", flat=True))
    assert services.outcome_emails_send(sent_ids=ids) == 0
    assert len(mail.outbox) == 6


# --- Survey ---------------------------------------------------------------------------------


def test_a_voter_answers_the_survey_once_and_the_second_answer_keeps_the_first(counted):
    voter = counted.voters[0]
    services.survey_answer(
        actor=voter, round=counted.round, influence="tend_to_agree", satisfaction=4, comment="Ok"
    )
    with pytest.raises(Conflict):
        services.survey_answer(actor=voter, round=counted.round, influence="definitely_disagree")
    answer = PendingSurveyAnswer.objects.get()
    assert answer.influence == "tend_to_agree" and answer.area == counted.north
    assert SurveyInvitation.objects.get(user=voter).answered
    for model in (SurveyAnswer, PendingSurveyAnswer):
        assert not any(f.name == "user" for f in model._meta.get_fields())


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"influence": "maybe"}, "influence"),
        ({"satisfaction": 9}, "satisfaction"),
        ({}, "influence"),
    ],
)
def test_bad_survey_answers_get_field_errors(counted, kwargs, field):
    with pytest.raises(DomainError) as error:
        services.survey_answer(actor=counted.voters[0], round=counted.round, **kwargs)
    assert field in error.value.fields
    assert not PendingSurveyAnswer.objects.exists()


def test_only_voters_answer_the_survey(counted):
    with pytest.raises(NotAllowed):
        services.survey_answer(actor=counted.author, round=counted.round, influence="dont_know")


def test_the_influence_figures_count_survey_answers_by_area(counted):
    for voter, answer in zip(
        counted.voters,
        ["definitely_agree", "tend_to_disagree", "dont_know", "tend_to_agree", "tend_to_agree"],
        strict=True,
    ):
        services.survey_answer(actor=voter, round=counted.round, influence=answer)
    # Five answers are fewer than a batch: the figures show them once the survey closes.
    assert services.survey_answers_seal(round_id=counted.round.pk) == 0
    assert services.survey_answers_seal(round_id=counted.round.pk, final=True) == 5
    report = services.report_build(report_id=services.report_start(round_id=counted.round.pk).pk)
    influence = selectors.influence_report(round=counted.round, figures=report.figures)
    assert influence.ni4.agreeing.part == 3 and influence.ni4.base == 4
    by_area = {r.area_id: (r.agreeing.part, r.base) for r in influence.ni4_by_area}
    assert by_area == {"North": (1, 2), "South": (2, 2)}
    assert influence.resident_decided.part == 1_000_000


# --- Delivery -------------------------------------------------------------------------------


def test_a_manager_records_a_milestone_and_followers_hear_once(
    counted, django_capture_on_commit_callbacks
):
    follower = counted.voters[0]
    services.project_follow(actor=follower, proposal=counted.bench)
    services.project_follow(actor=follower, proposal=counted.bench)
    assert ProjectFollow.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        milestone = services.milestone_record(
            actor=counted.manager,
            proposal=counted.bench,
            status="delayed",
            date=timezone.localdate(),
            spend=50_000,
            delay_reason="Supplier late",
        )
    assert Notification.objects.filter(user=follower).count() == 1
    assert "delayed" in Notification.objects.get(user=follower).body
    assert services.milestone_tell_followers(milestone_id=milestone.pk) == 0
    assert (
        selectors.delivery_by_proposal(proposal_ids=[counted.bench.pk])[counted.bench.pk]["status"]
        == "delayed"
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"date": dt.date(2000, 1, 1)}, "date"),
        ({"spend": -1}, "spend"),
        ({"status": "delayed"}, "delay_reason"),
        ({"status": "finished"}, "status"),
    ],
)
def test_bad_milestones_get_field_errors(counted, changes, field):
    kwargs = {"status": "in_progress", "date": timezone.localdate(), "spend": 0, **changes}
    with pytest.raises(DomainError) as error:
        services.milestone_record(actor=counted.manager, proposal=counted.bench, **kwargs)
    assert field in error.value.fields
    assert not Milestone.objects.exists()


def test_milestones_are_for_funded_projects_and_the_areas_managers(counted):
    today = timezone.localdate()
    with pytest.raises(DomainError):
        services.milestone_record(
            actor=counted.manager, proposal=counted.lights, status="planned", date=today
        )
    with pytest.raises(NotAllowed):
        services.milestone_record(
            actor=counted.councillor, proposal=counted.bench, status="planned", date=today
        )


def test_counting_a_closed_round_runs_the_whole_pipeline_with_no_manual_step(
    counted, django_capture_on_commit_callbacks
):
    Tally.objects.all().delete()
    counted.round.phase = "counting"
    counted.round.save()
    with django_capture_on_commit_callbacks(execute=True):
        round_count(round=counted.round)
    report = OutcomeReport.objects.get(round=counted.round)
    assert report.is_built and report.published_at is not None
    assert NotificationSent.objects.filter(round=counted.round).count() == 6
